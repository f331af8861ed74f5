"""Seeing inside a network: its computation graph, gradients and what its filters respond to.

* ``draw_graph``, ``collapse``: the graph behind a tensor as Graphviz DOT.
* ``saliency``: the gradient of a class score with respect to the input.
* ``grad_cam``: Grad-CAM class activation maps on a named layer.
* ``top_activations``: the inputs and patches that excite one filter most (ZFNet's question).
* ``feature_maps``, ``plot_filters``, ``plot_feature_maps``: filter and feature-map grids.
* ``GradientFlow``, ``plot_gradient_flow``: mean and max |gradient| per layer over training steps.

matplotlib and graphviz are imported only by the functions that draw
(``pip install -e ".[viz]"``), so ``import minidl.viz`` needs neither.
"""
from .graph import DotGraph, GraphvizNotFoundError, ModuleCalls, collapse, draw_graph
from .gradcam import grad_cam, resize_bilinear
from .saliency import input_gradient, saliency
from .grids import feature_maps, image_grid, plot_feature_maps, plot_filters, plot_heatmaps
from .top_activations import Activation, plot_top_activations, top_activations
from .gradient_flow import GradientFlow, plot_gradient_flow
