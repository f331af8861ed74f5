"""Tensor factories: ``tensor``, ``zeros``, ``ones``, ``rand``, ``randn`` ... on any device."""
from .. import backend
from .core import Tensor
from .shape import shape_arg

__all__ = ["tensor", "zeros", "ones", "full", "empty", "zeros_like", "ones_like", "arange",
           "rand", "randn"]


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A tensor from a list, number or array (floats get the default dtype).

    Like ``torch.tensor``, it copies an array: a later write into the caller's
    array cannot change the tensor, nor the gradients of a graph that saved it.
    (``Tensor(array)`` shares the array, as ``torch.from_numpy``.)
    """
    if isinstance(data, Tensor):
        data = data.data
    if hasattr(data, "copy"):
        data = data.copy()
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of ``shape`` filled with ``fill_value``."""
    xp = backend.device(device).xp
    data = xp.full(shape_arg((shape,)) if isinstance(shape, int) else tuple(shape), fill_value,
                   dtype=dtype or backend.get_default_dtype())
    return Tensor(data, requires_grad=requires_grad)


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    return full(shape_arg(shape), 0, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    return full(shape_arg(shape), 1, dtype, device, requires_grad)


def empty(*shape, dtype=None, device=None, requires_grad=False):
    xp = backend.device(device).xp
    return Tensor(xp.empty(shape_arg(shape), dtype=dtype or backend.get_default_dtype()),
                  requires_grad=requires_grad)


def zeros_like(x, requires_grad=False):
    return full(x.shape, 0, x.dtype, x.device, requires_grad)


def ones_like(x, requires_grad=False):
    return full(x.shape, 1, x.dtype, x.device, requires_grad)


def arange(start, stop=None, step=1, dtype=None, device=None):
    """Evenly spaced values in [start, stop), as ``torch.arange``."""
    if stop is None:
        start, stop = 0, start
    return Tensor(backend.device(device).xp.arange(start, stop, step, dtype=dtype))


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """Uniform [0, 1) draws from the device's seeded generator."""
    data = backend.generator(device).uniform(0.0, 1.0, shape_arg(shape), dtype)
    return Tensor(data, requires_grad=requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Standard normal draws from the device's seeded generator."""
    data = backend.generator(device).normal(0.0, 1.0, shape_arg(shape), dtype)
    return Tensor(data, requires_grad=requires_grad)
