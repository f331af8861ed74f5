"""Convolution layers: ``Conv1d`` and ``Conv2d``, holding the weight (F, C/G, KH, KW) and bias (F,).

Default initialization as PyTorch's: weight ``kaiming_uniform_(a=sqrt(5))``,
which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = C/G * KH * KW, and
bias from the same uniform.  A fresh model therefore has PyTorch's output scale.
"""
import math

from .. import functional as F
from ..autograd import OpError, empty
from . import init
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d"]


def _tuple(name, arg, value, n):
    values = (value,) * n if isinstance(value, int) else tuple(value)
    if len(values) != n or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise OpError(f"{name}: {arg} must be an int or a tuple of {n} ints, got {value!r}")
    return values


def reset_affine_(module, fan_in):
    """PyTorch's default for Conv and Linear: weight kaiming_uniform_(a=sqrt(5)), bias
    U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    init.kaiming_uniform_(module.weight, a=math.sqrt(5))
    if module.bias is not None:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(module.bias, -bound, bound)


def check_channels(module, x, channels, ndims=None, axis=1):
    """Raise an error naming ``module`` unless ``x`` has ``channels`` entries along ``axis`` (and,
    if given, one of ``ndims`` dims)."""
    if (ndims is not None and x.ndim not in ndims) or x.ndim == 0:
        expected = (f"a {' or '.join(str(n) for n in ndims)}-dim input" if ndims
                    else "an input of at least 1 dim")
        raise OpError(f"{module!r}: expected {expected}, got shape {x.shape}")
    if x.shape[axis] != channels:
        what = "features" if axis == -1 else "channels"
        raise OpError(f"{module!r}: input has {x.shape[axis]} {what}, expected {channels} "
                      f"(input shape {x.shape})")


class _ConvNd(Module):
    """The common part of Conv1d and Conv2d; ``n`` is the number of spatial dims."""

    n = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True):
        super().__init__()
        name = type(self).__name__
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels),
                           ("groups", groups)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise OpError(f"{name}: {arg} must be a positive int, got {value!r}")
        if in_channels % groups or out_channels % groups:
            raise OpError(f"{name}({in_channels}, {out_channels}): in_channels and out_channels "
                          f"must both be divisible by groups={groups}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _tuple(name, "kernel_size", kernel_size, self.n)
        self.stride = _tuple(name, "stride", stride, self.n)
        self.dilation = _tuple(name, "dilation", dilation, self.n)
        # like PyTorch, keep 'same'/'valid' as given (for the repr) beside the numbers the op needs
        self._pad = self._padding(name, padding)
        self.padding = padding if isinstance(padding, str) else self._pad
        if min(self.kernel_size + self.stride + self.dilation) <= 0 or min(self._pad) < 0:
            raise OpError(f"{name}: kernel_size, stride and dilation must be positive and padding "
                          f"non-negative, got kernel_size={kernel_size}, stride={stride}, "
                          f"dilation={dilation}, padding={padding}")
        self.weight = Parameter(empty(out_channels, in_channels // groups, *self.kernel_size))
        self.bias = Parameter(empty(out_channels)) if bias else None
        self.reset_parameters()

    def _padding(self, name, padding):
        """Padding as a tuple; 'valid' is no padding, 'same' keeps the size (stride 1, odd spans)."""
        if padding == "valid":
            return (0,) * self.n
        if padding == "same":
            spans = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            if any(s != 1 for s in self.stride) or any(span % 2 for span in spans):
                raise OpError(f"{name}: padding='same' needs stride 1 and an odd kernel span "
                              f"dilation * (kernel_size - 1) + 1, got kernel_size={self.kernel_size}, "
                              f"stride={self.stride}, dilation={self.dilation}")
            return tuple(span // 2 for span in spans)
        return _tuple(name, "padding", padding, self.n)

    def reset_parameters(self):
        reset_affine_(self, self.weight.numel() // self.out_channels)

    def forward(self, x):
        check_channels(self, x, self.in_channels, ndims=(self.n + 2,))
        return self._conv(x)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.n:
            s += f", padding={self.padding}"     # 'same' and 'valid' shown as given, as PyTorch does
        if self.dilation != (1,) * self.n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """2-D convolution: x (N, C, H, W) -> y (N, F, OH, OW), OH = (H + 2P - D(KH - 1) - 1) // S + 1.

    >>> import minidl
    >>> conv = Conv2d(2, 5, kernel_size=3, padding=1)
    >>> conv(minidl.rand(1, 2, 6, 6)).shape
    (1, 5, 6, 6)
    """

    n = 2

    def _conv(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self._pad, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution: x (N, C, L) -> y (N, F, OL), e.g. over the words of a sentence."""

    n = 1

    def _conv(self, x):
        return F.conv1d(x, self.weight, self.bias, self.stride[0], self._pad[0], self.dilation[0],
                        self.groups)
