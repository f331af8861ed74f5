"""Tensor methods under PyTorch's names, so that code written for torch runs with its imports changed.

    import minidl as torch            # instead of: import torch
    import minidl.nn as nn            # instead of: import torch.nn as nn

The functions themselves live with their kind (:func:`~minidl.autograd.shape.unsqueeze`,
:func:`~minidl.autograd.reduction.amax` ...); this module only attaches them to
:class:`Tensor`, beside the methods it defines itself (``size()``, ``view``).
"""
from . import reduction, shape
from .core import Tensor


def _dim(self):
    """The number of axes (``torch.Tensor.dim``)."""
    return self.ndim


Tensor.unsqueeze = shape.unsqueeze
Tensor.squeeze = shape.squeeze
Tensor.amax = reduction.amax
Tensor.amin = reduction.amin
Tensor.dim = _dim
