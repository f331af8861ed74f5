"""Convolution as one matrix product: im2col, col2im, conv2d, conv1d.

Notation, used throughout minidl:

======  =====================================================
N       batch size
C, F    input channels, filters (output channels); G groups
H, W    input height and width
KH, KW  kernel height and width
SH, SW  stride; DH, DW dilation; P padding
OH, OW  output height and width: the number of window positions,
        OH = (H + 2P - DH (KH - 1) - 1) // SH + 1
======  =====================================================

conv2d computes y = W * x + b in three steps, which the reference
:class:`Convolution` below is and nothing else:

1. im2col: copy every KH x KW window of the padded x into one column of a
   matrix A (C*KH*KW, OH*OW) per sample;
2. one matrix product per group, y = Wm @ A, where each row of Wm is one
   filter, flattened the same way;
3. backward: gW = gy @ A^T and gA = Wm^T @ gy, then col2im adds the rows
   of gA back onto the pixels they were copied from.

By default conv2d runs the same maths arranged for speed, the tuned engine
of :mod:`minidl.functional.conv_tuned` (memory layouts, chunks of the
batch, a second backward algorithm, Winograd's algorithm for the forward of
wide 3x3 layers); it is tested equal to the reference.
``conv2d(..., impl="reference")`` runs the reference for one call, and
``with conv_impl("reference"):`` for a block of code.
"""
import contextlib
import contextvars
import math

from .. import backend
from ..autograd import Function, OpError, Tensor
from . import conv_tuned
from ._windows import add_windows, pad, windows
from .geometry import conv_window, ints, one_dimensional

__all__ = ["im2col", "col2im", "conv2d", "conv1d", "conv_impl", "Convolution"]


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """Copy every sliding window of ``x`` into a column (``torch.nn.functional.unfold``).

    Args:
        x: an array (N, C, H, W) of any backend (or a Tensor, whose data is used).
        kernel_size, stride, dilation: ints or pairs.
        padding: an int, a pair, ((top, bottom), (left, right)), 'same' or 'valid'.

    Returns:
        cols (N, C*KH*KW, OH*OW): ``cols[n, (c*KH + i)*KW + j, oh*OW + ow]`` is
        ``x[n, c, oh*SH + i*DH - P, ow*SW + j*DW - P]`` (zero outside x).
        A convolution is then ``W.reshape(F, -1) @ cols``.
    """
    x = x.data if isinstance(x, Tensor) else x
    xp = backend.get_array_module(x)
    window = conv_window("im2col", kernel_size, stride, padding, dilation)
    (N, C), (KH, KW), (OH, OW) = x.shape[:2], window.kernel, window.output_size(x.shape[2:])
    cols = windows(pad(x, window.padding), window.kernel, window.stride, window.dilation, (OH, OW))
    return xp.ascontiguousarray(cols).reshape(N, C * KH * KW, OH * OW)    # from (N, C, KH, KW, OH, OW)


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1):
    """Add columns back onto the pixels they came from (``torch.nn.functional.fold``).

    The adjoint of :func:`im2col` (not its inverse): a pixel seen by several
    windows receives the sum of their values.

    Args:
        cols: an array (N, C*KH*KW, OH*OW), laid out as :func:`im2col` returns it.
        output_size: (H, W) of the image to rebuild.
        kernel_size, stride, padding, dilation: as given to :func:`im2col`.

    Returns:
        x (N, C, H, W).
    """
    cols = cols.data if isinstance(cols, Tensor) else cols
    xp = backend.get_array_module(cols)
    H, W = ints(output_size, "output_size", "col2im", minimum=1)
    window = conv_window("col2im", kernel_size, stride, padding, dilation)
    N, CKK, L = cols.shape
    (KH, KW), ((top, bottom), (left, right)) = window.kernel, window.padding
    out = window.output_size((H, W))
    if CKK % (KH * KW) or L != out[0] * out[1]:
        raise OpError(f"col2im: columns of shape {tuple(cols.shape)} do not match a {KH}x{KW} "
                      f"kernel sliding over {H}x{W} ({out[0]}x{out[1]} positions)")
    C = CKK // (KH * KW)
    x = xp.zeros((N, C, H + top + bottom, W + left + right), dtype=cols.dtype)
    add_windows(x, cols.reshape(N, C, KH, KW, *out), window.stride, window.dilation)
    return x[:, :, top:top + H, left:left + W]


class Convolution(Function):
    """y = W * x + b: cross-correlation of x with F filters, in G groups of channels.

    x (N, C, H, W), W (F, C/G, KH, KW), b (F,) or none -> y (N, F, OH, OW).
    Group g convolves input channels [g C/G, (g+1) C/G) with filters
    [g F/G, (g+1) F/G).  ``window`` is a checked :class:`.geometry.Window`.
    This is the reference: the tuned engine computes the same numbers faster.
    """

    float_inputs = True

    def __init__(self, window, groups, out_size):
        self.window, self.groups, self.out_size = window, groups, out_size

    def forward(self, x, W, b=None):
        w, G, (N, F) = self.window, self.groups, (x.shape[0], W.shape[0])
        self.x_size, self.has_bias = x.shape[2:], b is not None
        # A (N, G, C/G*KH*KW, OH*OW): a column per output position, split into the groups' channels
        cols = im2col(x, w.kernel, w.stride, w.padding, w.dilation)
        self.A = cols.reshape(N, G, cols.shape[1] // G, math.prod(self.out_size))
        self.Wm = W.reshape(G, F // G, -1)                 # (G, F/G, C/G*KH*KW): a row per filter
        y = self.Wm @ self.A                               # (N, G, F/G, OH*OW): one product per group
        if b is not None:
            y += b.reshape(G, F // G, 1)
        return y.reshape(N, F, *self.out_size)

    def backward(self, gy):
        w, G, (N, F) = self.window, self.groups, gy.shape[:2]
        gY = gy.reshape(N, G, F // G, self.A.shape[-1])    # (N, G, F/G, OH*OW)
        gW = (gY @ self.A.swapaxes(-1, -2)).sum(axis=0)    # (G, F/G, C/G*KH*KW), summed over the batch
        gA = self.Wm.swapaxes(-1, -2) @ gY                 # (N, G, C/G*KH*KW, OH*OW)
        gx = col2im(gA.reshape(N, G * gA.shape[2], gA.shape[-1]), self.x_size, w.kernel, w.stride,
                    w.padding, w.dilation)
        gW = gW.reshape(F, -1, *w.kernel)
        return (gx, gW, gy.sum(axis=(0, 2, 3))) if self.has_bias else (gx, gW)


# --------------------------------------------------------------------------- #
# Choosing the engine: the tuned one unless asked for the reference
# --------------------------------------------------------------------------- #
_ENGINES = {"reference": Convolution, "tuned": conv_tuned.Convolution}
_engine = contextvars.ContextVar("conv_impl", default="tuned")


@contextlib.contextmanager
def conv_impl(impl):
    """Run every conv2d and conv1d inside the block (and the layers that call them) with ``impl``,
    'reference' or 'tuned' (the default)::

        with F.conv_impl("reference"):
            loss = model(x).sum()
            loss.backward()
    """
    token = _engine.set(_engine_name("conv_impl", impl))
    try:
        yield
    finally:
        _engine.reset(token)


def _engine_name(op, impl):
    if impl is None:
        return _engine.get()
    if impl not in _ENGINES:
        raise OpError(f"{op}: impl must be one of {sorted(_ENGINES)} or None, got {impl!r}")
    return impl


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, impl=None):
    """2-D convolution (cross-correlation, as PyTorch) of NCHW input.

    Args:
        x: input (N, C, H, W).
        weight: filters (F, C/G, KH, KW).
        bias: (F,) or None.
        stride, dilation: int or pair.
        padding: int, pair, ((top, bottom), (left, right)), 'valid' (none) or 'same'
            (output size = input size; stride 1; an odd extra pixel goes bottom/right).
        groups: G, dividing C and F: 1 is a full convolution, C a depthwise one.
        impl: 'reference' or 'tuned'; None uses the one :func:`conv_impl` chose ('tuned').

    Returns:
        y (N, F, OH, OW), OH = (H + 2P - D(KH - 1) - 1) // S + 1.
    """
    _check_ranks("conv2d", x, weight, 4, "(N, C, H, W)")
    engine = _ENGINES[_engine_name("conv2d", impl)]
    _check_channels("conv2d", x.shape, weight.shape, bias, groups)
    window = conv_window("conv2d", weight.shape[2:], stride, padding, dilation)
    out = window.output_size(x.shape[2:])
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return engine(window, groups, out)(*inputs)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, impl=None):
    """1-D convolution over time, as for sentences of word vectors (Kim 2014).

    x (N, C, L), weight (F, C/G, K), bias (F,) or None -> y (N, F, OL).
    stride, padding and dilation are ints (padding also 'same' or 'valid').
    It is conv2d on an image of height 1.
    """
    _check_ranks("conv1d", x, weight, 3, "(N, C, L)")
    engine = _ENGINES[_engine_name("conv1d", impl)]
    pairs = one_dimensional("conv1d", stride=stride, padding=padding, dilation=dilation)
    (N, C, L), (F, Cg, K) = x.shape, weight.shape
    _check_channels("conv1d", x.shape, weight.shape, bias, groups)
    window = conv_window("conv1d", (1, K), **pairs)
    out = window.output_size((1, L))
    inputs = (x.reshape(N, C, 1, L), weight.reshape(F, Cg, 1, K)) + (() if bias is None else (bias,))
    return engine(window, groups, out)(*inputs).reshape(N, F, out[1])


def _check_ranks(op, x, weight, ndim, layout):
    if len(x.shape) != ndim:
        raise OpError(f"{op}: expected a {ndim}-D input {layout}, got shape {tuple(x.shape)}")
    if len(weight.shape) != ndim:
        raise OpError(f"{op}: expected a {ndim}-D weight (F, C/groups, kernel...), "
                      f"got shape {tuple(weight.shape)}")


def _check_channels(op, x_shape, w_shape, bias, groups):
    C, (F, Cg) = x_shape[1], w_shape[:2]
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise OpError(f"{op}: groups must be a positive int, got {groups!r}")
    if F % groups:
        raise OpError(f"{op}: groups={groups} does not divide the {F} output channels "
                      f"(weight shape {tuple(w_shape)})")
    if C % groups:
        raise OpError(f"{op}: groups={groups} does not divide the {C} input channels")
    if Cg * groups != C:
        per_group = "" if groups == 1 else f" ({groups} groups of {Cg})"
        raise OpError(f"{op}: input has {C} channels but weight expects {Cg * groups}{per_group} "
                      f"(weight shape {tuple(w_shape)})")
    if bias is not None and tuple(bias.shape) != (F,):
        raise OpError(f"{op}: bias must have shape ({F},) for {F} filters, got {tuple(bias.shape)}")
