"""Reductions (sum, mean, max, min over axes), each with its backward beside it."""
import builtins

from .. import backend
from .core import Function, OpError

__all__ = ["sum", "mean", "max", "min", "amax", "amin"]


def _normalize_axis(name, axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise OpError(f"{name}: axis {a} is out of range for a tensor with {ndim} axes")
    return tuple(sorted(a % builtins.max(ndim, 1) for a in axes))


def _expand(gy, axes, keepdims, shape):
    """Reshape a reduced gradient so it broadcasts against the input ``shape``."""
    if not keepdims:
        gy = gy.reshape([1 if i in axes else n for i, n in enumerate(shape)])
    return gy


class Sum(Function):
    """y = sum of x over ``axes``: gx = gy broadcast back to x's shape."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        self.shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        return xp.broadcast_to(_expand(gy, self.axes, self.keepdims, self.shape), self.shape)


class Mean(Sum):
    """y = mean of x over ``axes``: gx = gy / count, broadcast back.

    Floating x only, as PyTorch: in an integer or boolean dtype the count
    itself would wrap around (a bool count of 2 is True, a uint8 count of 300 is 44).
    """

    float_inputs = True

    def forward(self, x):
        self.count = 1
        for a in self.axes:
            self.count *= x.shape[a]
        return super().forward(x) / x.dtype.type(self.count)

    def backward(self, gy):
        return super().backward(gy / gy.dtype.type(self.count))


class Max(Function):
    """y = max of x over ``axes`` (``sign=-1``: min).

    The gradient goes to the elements equal to the extreme value, shared
    equally between ties (as ``torch.amax``).
    """

    def __init__(self, axes, keepdims, sign=1):
        self.axes, self.keepdims, self.sign = axes, keepdims, sign

    def forward(self, x):
        self.x = x
        y = x.max(axis=self.axes, keepdims=True) if self.sign > 0 else x.min(axis=self.axes, keepdims=True)
        self.y = y
        return y if self.keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, gy):
        mask = (self.x == self.y).astype(gy.dtype)
        mask /= mask.sum(axis=self.axes, keepdims=True)
        return mask * _expand(gy, self.axes, self.keepdims, self.x.shape)


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (int, tuple or None for all)."""
    return Sum(_normalize_axis("sum", axis, x.ndim), keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (int, tuple or None for all)."""
    return Mean(_normalize_axis("mean", axis, x.ndim), keepdims)(x)


def _check_nonempty(name, x, axes):
    if any(x.shape[a] == 0 for a in axes):
        raise OpError(f"{name}: cannot reduce an empty axis (input shape {x.shape})")


def _extreme(name, x, axis, keepdims, sign):
    axes = _normalize_axis(name, axis, x.ndim)
    _check_nonempty(name, x, axes)
    return Max(axes, keepdims, sign=sign)(x)


def max(x, axis=None, keepdims=False):
    """Maximum over ``axis`` (int, tuple or None for all)."""
    return _extreme("max", x, axis, keepdims, 1)


def min(x, axis=None, keepdims=False):
    """Minimum over ``axis`` (int, tuple or None for all)."""
    return _extreme("min", x, axis, keepdims, -1)


def amax(x, dim=None, keepdim=False):
    """:func:`max` under PyTorch's name and argument names (``torch.amax(x, dim, keepdim)``)."""
    return _extreme("amax", x, dim, keepdim, 1)


def amin(x, dim=None, keepdim=False):
    """:func:`min` under PyTorch's name and argument names (``torch.amin(x, dim, keepdim)``)."""
    return _extreme("amin", x, dim, keepdim, -1)
