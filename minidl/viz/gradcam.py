"""Grad-CAM: where in the image a convolutional layer found the evidence for a class.

Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization", ICCV 2017, Eq. 1-2: for feature maps A (N, K,
h, w) of a chosen layer and the class score S_c,

    alpha_k = mean over (i, j) of dS_c/dA_k[i, j]        (how much map k matters)
    L_c     = ReLU(sum over k of alpha_k A_k)              (N, h, w)

upsampled bilinearly to the image size.  The last convolutional stage gives
the usual maps: fine enough to localise, deep enough to mean something.
"""
import numpy as np

from .. import backend
from .probe import LayerCapture, as_batch, class_scores_gradient, held_still

__all__ = ["grad_cam", "resize_bilinear"]


def grad_cam(model, images, layer, target=None, upsample=True):
    """The Grad-CAM map of each image for its ``target`` class at ``layer``, a NumPy array.

    images (N, C, H, W); ``layer`` a dotted module name (``"layer4"``,
    ``"features.10"``) whose output is (N, K, h, w); ``target`` None (each
    image's predicted class), one class index or N of them.  Returns
    (N, H, W) maps, or (N, h, w) with ``upsample=False``; not normalised
    (divide by each map's max to show it).  The model runs in eval mode and
    its parameters' ``.grad`` are left as they were.
    """
    with held_still(model), LayerCapture(model, layer, as_leaf=True) as maps:
        x = as_batch(model, images, "grad_cam")
        scores = model(x)
        seed, target = class_scores_gradient(scores, target, "grad_cam")
        scores.backward(seed)
    A, dA = maps.output.data, maps.output.grad.data
    if A.ndim != 4:
        raise ValueError(f"grad_cam: layer {layer!r} gives maps of shape {tuple(A.shape)}; "
                         "pick a convolutional layer, whose output is (N, K, h, w)")
    xp = backend.get_array_module(A)
    alpha = dA.mean(axis=(2, 3), keepdims=True)
    cam = backend.to_numpy(xp.maximum((alpha * A).sum(axis=1), 0))
    return resize_bilinear(cam, x.shape[2:]) if upsample else cam


def resize_bilinear(maps, size):
    """Maps (N, h, w) resized to ``size`` (H, W) by bilinear interpolation, a NumPy array.

    Pixel centres are aligned (PyTorch's ``interpolate(..., mode="bilinear",
    align_corners=False)``): output pixel i samples the input at
    ``(i + 0.5) * h / H - 0.5``, clamped at the edges.
    """
    maps = backend.to_numpy(maps)
    for axis, (old, new) in enumerate(zip(maps.shape[1:], size), start=1):
        position = np.clip((np.arange(new) + 0.5) * old / new - 0.5, 0, old - 1)
        low = np.floor(position).astype(np.intp)
        high = np.minimum(low + 1, old - 1)
        weight = (position - low).astype(maps.dtype)
        shape = [1, 1, 1]
        shape[axis] = new
        weight = weight.reshape(shape)
        maps = np.take(maps, low, axis=axis) * (1 - weight) + np.take(maps, high, axis=axis) * weight
    return maps
