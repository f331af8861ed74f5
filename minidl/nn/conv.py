"""Convolution layers: ``Conv1d`` and ``Conv2d``, holding the weight (F, C/G, KH, KW) and bias (F,).

Default initialization as PyTorch's: weight ``kaiming_uniform_(a=sqrt(5))``,
which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = C/G * KH * KW, and
bias from the same uniform.  A fresh model therefore has PyTorch's output scale.
"""
from .. import functional as F
from ..autograd import OpError, empty
from ..functional.geometry import conv_window, ints
from . import init
from .module import Module, Parameter, check_channels

__all__ = ["Conv1d", "Conv2d"]


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
        # stored as PyTorch stores them: tuples of n ints, padding a tuple or 'same'/'valid' as given
        self.kernel_size = ints(kernel_size, "kernel_size", name, self.n, minimum=1)
        self.stride = ints(stride, "stride", name, self.n, minimum=1)
        self.dilation = ints(dilation, "dilation", name, self.n, minimum=1)
        self.padding = padding if isinstance(padding, str) else ints(padding, "padding", name, self.n)
        # the window as a whole (e.g. 'same' needs stride 1) is checked now, naming the layer,
        # by the rule the op applies when it runs
        conv_window(name, *self._as_2d(self.kernel_size, self.stride, self.padding, self.dilation))
        self.weight = Parameter(empty(out_channels, in_channels // groups, *self.kernel_size))
        self.bias = Parameter(empty(out_channels)) if bias else None
        self.reset_parameters()

    def _as_2d(self, kernel_size, stride, padding, dilation):
        return kernel_size, stride, padding, dilation

    def reset_parameters(self):
        init.reset_affine_(self, self.weight.numel() // self.out_channels)

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
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution: x (N, C, L) -> y (N, F, OL), e.g. over the words of a sentence."""

    n = 1

    def _as_2d(self, kernel_size, stride, padding, dilation):
        """The arguments of the 2-D twin, which sees an image of height 1."""
        padding = padding if isinstance(padding, str) else (0, *padding)
        return (1, *kernel_size), (1, *stride), padding, (1, *dilation)

    def _conv(self, x):
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)
