"""Dropout (Srivastava et al. 2014) and its relatives: zero random parts of x while training.

All three use inverted scaling: kept values are multiplied by 1 / (1 - p), so
the expected output equals x and evaluation (``training=False``) is the
identity.  They differ only in what one random draw covers:

    dropout     each element        mask shape = x.shape
    dropout2d   each channel map    mask shape (N, C, 1, 1)  (GoogLeNet, AlexNet-style convnets)
    drop_path   each sample         mask shape (N, 1, ..., 1) (stochastic depth of a residual branch)

Masks come from the seeded generator of x's device (``minidl.manual_seed``).
"""
from .. import backend
from ..autograd import Function, OpError

__all__ = ["dropout", "dropout2d", "drop_path"]


class Dropout(Function):
    """y = x * mask, gx = gy * mask, for a fixed ``mask`` of 0 and 1 / (1 - p) (broadcast to x)."""

    float_inputs = True

    def __init__(self, mask):
        self.mask = mask

    def forward(self, x):
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def _masked(name, x, p, training, mask_shape):
    if not 0 <= p <= 1:
        raise OpError(f"{name}: dropout probability p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    xp = backend.get_array_module(x.data)
    if p == 1:
        return Dropout(xp.zeros(mask_shape, dtype=x.dtype))(x)
    keep = backend.generator(x.device).uniform(size=mask_shape, dtype=x.dtype) >= p
    return Dropout(keep * x.dtype.type(1 / (1 - p)))(x)


def dropout(x, p=0.5, training=True):
    """Zero each element of x with probability ``p``; scale the rest by 1 / (1 - p)."""
    return _masked("dropout", x, p, training, x.shape)


def dropout2d(x, p=0.5, training=True):
    """Zero whole channels of x: (N, C, H, W) or (C, H, W), each with probability ``p``."""
    if x.ndim not in (3, 4):
        raise OpError(f"dropout2d: expected input of shape (N, C, H, W) or (C, H, W), got {x.shape}")
    return _masked("dropout2d", x, p, training, x.shape[:-2] + (1, 1))


def drop_path(x, p=0.0, training=True):
    """Zero whole samples of x: (N, *) with probability ``p`` (stochastic depth, Huang et al. 2016).

    Applied to a residual branch, a zeroed sample skips the block through its shortcut.
    """
    if x.ndim < 1:
        raise OpError(f"drop_path: expected input of shape (N, *), got {x.shape}")
    return _masked("drop_path", x, p, training, x.shape[:1] + (1,) * (x.ndim - 1))
