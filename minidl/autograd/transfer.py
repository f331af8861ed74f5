"""Moving a tensor to another device or dtype: the Function behind :meth:`Tensor.to`.

On a tensor inside a graph the move must be differentiable: the gradient
comes back the same way, to the source's device and dtype.
"""
from .. import backend
from .core import Function

__all__ = ["to_device_and_dtype"]


class ToDeviceAndDtype(Function):
    """A copy to another device and/or dtype; the gradient goes back the same way."""

    def __init__(self, device, dtype):
        self.device, self.dtype = device, dtype

    def forward(self, x):
        self.src = backend.device_of(x), x.dtype
        y = x if self.device is None else backend.to_device(x, self.device)
        return y if self.dtype is None else y.astype(self.dtype, copy=False)

    def backward(self, gy):
        return backend.to_device(gy, self.src[0]).astype(self.src[1], copy=False)


def to_device_and_dtype(x, device=None, dtype=None):
    """A differentiable copy of ``x`` onto ``device`` and/or with ``dtype``."""
    return ToDeviceAndDtype(device, dtype)(x)
