"""Pooling: max and average over sliding windows, adaptive and global averages.

Max and average pooling visit the KH x KW taps of all windows at once: for
each tap (i, j), ``x[index]`` is an (N, C, OH, OW) slice holding that tap of
every window (see :func:`._windows.taps`), so a pooling is KH*KW vectorized
maxima or sums, and its backward KH*KW vectorized writes.  Windows that do
not overlap (stride = kernel, the usual 2x2 pooling) tile the input, so
there each tap's slice is written once instead of accumulated, and max
pooling's backward works on whole rows instead (:meth:`MaxPooling._backward_by_tiles`).

Those passes are the definition, and what runs without Numba.  With it, max
pooling runs one compiled pass on every core (:mod:`minidl.backend.kernels`,
tested equal to the passes), which keeps each window's winning tap for
backward instead of the input.
"""
import math

from .. import backend
from ..backend import kernels
from ..autograd import Function, OpError, mean
from ._windows import add_windows, is_channels_last, new_array, pad, taps
from .geometry import one_dimensional, pool_window

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "global_avg_pool2d", "max_pool1d"]


class _Pooling(Function):
    """What max and average pooling share: the geometry and the padded input."""

    float_inputs = True

    def __init__(self, window, out_size):
        self.kernel, self.stride, self.padding = window.kernel, window.stride, window.padding
        self.dilation, self.out_size = window.dilation, out_size

    def _padded(self, x, value):
        """x padded with ``value``, in its own layout, with extra rows and columns
        on the bottom/right for the last partial window of ``ceil_mode``."""
        self.x_shape, self.channels_last = x.shape, is_channels_last(x)
        geometry = zip(x.shape[2:], self.kernel, self.stride, self.padding, self.dilation, self.out_size)
        padding = tuple((before, max(after, (o - 1) * s + d * (k - 1) + 1 - n - before))
                        for n, k, s, (before, after), d, o in geometry)
        self.full_padding = padding
        padded = pad(x, padding, value, self.channels_last) if any(sum(padding, ())) else x
        self.padded_shape = padded.shape
        return padded

    def _taps(self):
        """(index of the tap's pixels, whether no earlier tap saw them) for each kernel tap."""
        return [(index, first) for _, _, index, first in
                taps(self.kernel, self.stride, self.dilation, self.out_size)]

    def _zeros_like_input(self, xp, dtype):
        """The zeros that backward's gradient lands on, in the padded input's layout."""
        return new_array(xp, self.padded_shape, dtype, self.channels_last)

    def _crop(self, gx):
        (top, _), (left, _) = self.full_padding
        H, W = self.x_shape[2:]
        return gx[:, :, top:top + H, left:left + W]


class MaxPooling(_Pooling):
    """y = the largest value of each window.

    x (N, C, H, W) -> y (N, C, OH, OW).  The gradient of each output goes to
    one input, the first maximum of its window in row-major order (as
    PyTorch): after ReLU, windows of equal zeros are common, and sending
    the gradient to all of them would multiply it.
    """

    def forward(self, x):
        # padding with -inf, never 0, so that a padded pixel cannot win over negative inputs
        padded = self._padded(x, -math.inf)
        if kernels.enabled_for(padded):
            # one compiled pass; backward needs each window's winning tap, not x
            y, self.winner = kernels.max_pool2d(padded, self.kernel, self.stride, self.dilation,
                                                self.out_size, self.channels_last)
            return y
        self.padded = padded
        xp = backend.get_array_module(x)
        (first, _), *others = self._taps()
        y = xp.copy(self.padded[first], order="K")
        for index, _ in others:
            xp.maximum(y, self.padded[index], out=y)
        self.y = y
        return y

    def backward(self, gy):
        if hasattr(self, "winner"):
            return self._crop(kernels.max_pool2d_backward(gy, self.winner, self.padded_shape[2:], self.kernel,
                                                          self.stride, self.dilation, self.channels_last))
        xp = backend.get_array_module(gy)
        if self._tiles():
            return self._crop(self._backward_by_tiles(xp, gy))
        gx = self._zeros_like_input(xp, gy.dtype)
        remaining = xp.copy(gy)     # the gradient of the windows whose maximum is not found yet
        hit, share = xp.empty_like(remaining, dtype=bool), xp.empty_like(remaining)   # gy's layout
        all_taps = self._taps()
        for k, (index, first) in enumerate(all_taps):
            xp.equal(self.padded[index], self.y, out=hit)
            xp.multiply(remaining, hit, out=share)
            if first:
                gx[index] = share
            else:
                gx[index] += share
            if k + 1 < len(all_taps):
                remaining -= share
        return self._crop(gx)


    def _tiles(self):
        """Whether the windows tile the padded input exactly: stride = kernel, no dilation, no
        pixel left over."""
        return (self.stride == self.kernel and self.dilation == (1, 1)
                and tuple(self.padded_shape[2:]) == tuple(o * k for o, k in zip(self.out_size, self.kernel)))

    def _backward_by_tiles(self, xp, gy):
        """The gradient when the windows tile the input, without one strided pass per tap.

        Splitting H into (OH, KH) makes each band of KH rows one slice of a
        view x5 (N, C, OH, KH, W) of the input itself; y and gy, repeated KW
        times along their rows, line up with every row of the band.  So one
        comparison finds every window's maxima and one product writes gx in
        the input's own memory order, both over whole rows; only the ties are
        settled tap by tap, on boolean arrays.
        """
        N, C, (OH, OW), (KH, KW) = *self.padded_shape[:2], self.out_size, self.kernel
        x5 = self.padded.reshape(N, C, OH, KH, OW * KW)
        hit = x5 == xp.repeat(self.y, KW, axis=-1)[:, :, :, None, :]
        seen = None
        for i in range(KH):             # keep only the first maximum of each window, in row-major order
            for j in range(KW):
                tap = hit[:, :, :, i, j::KW]
                if seen is None:
                    seen = tap.copy()
                else:
                    tap &= ~seen
                    seen |= tap
        return (hit * xp.repeat(gy, KW, axis=-1)[:, :, :, None, :]).reshape(self.padded_shape)


class AvgPooling(_Pooling):
    """y = the mean of each window.

    x (N, C, H, W) -> y (N, C, OH, OW).  The divisor counts the window's
    pixels inside the input, plus its zero padding if ``count_include_pad``;
    never the extra pixels a ``ceil_mode`` window hangs over the edge.
    """

    def __init__(self, window, out_size, count_include_pad):
        super().__init__(window, out_size)
        self.count_include_pad = count_include_pad

    def forward(self, x):
        xp = backend.get_array_module(x)
        padded = self._padded(x, 0.0)
        (first, _), *others = self._taps()
        y = xp.copy(padded[first], order="K")
        for index, _ in others:
            y += padded[index]
        self.divisor = self._divisor(xp, x.shape[2:], x.dtype)
        y /= self.divisor
        return y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        g = gy / self.divisor
        KH, KW = self.kernel
        every_tap = xp.broadcast_to(g[:, :, None, None], (*g.shape[:2], KH, KW, *g.shape[2:]))
        return self._crop(add_windows(self._zeros_like_input(xp, gy.dtype), every_tap, self.stride,
                                      self.dilation))

    def _divisor(self, xp, size, dtype):
        """The (OH, OW) number of pixels each window averages over (as PyTorch counts them)."""
        counts = []
        for n, k, s, (p, _), o in zip(size, self.kernel, self.stride, self.padding, self.out_size):
            start = [i * s - p for i in range(o)]
            end = [min(b + k, n + p) for b in start]
            if not self.count_include_pad:
                start, end = [max(b, 0) for b in start], [min(e, n) for e in end]
            counts.append([e - b for b, e in zip(start, end)])
        rows, cols = (xp.asarray(c, dtype=dtype) for c in counts)
        return rows[:, None] * cols[None, :]


class AdaptiveAvgPooling(Function):
    """y = the mean of each of OH x OW bins: x (N, C, H, W) -> y (N, C, OH, OW).

    Bin (i, j) covers rows floor(i H/OH) to ceil((i+1) H/OH) - 1, and columns
    likewise (PyTorch's bins; they overlap when OH does not divide H).
    Averaging is linear, so the whole op is one matrix product with
    M (OH*OW, H*W), M[(i, j), (h, w)] = [h in bin i][w in bin j] / bin size.
    """

    float_inputs = True

    def __init__(self, out_size):
        self.out_size = out_size

    def forward(self, x):
        xp = backend.get_array_module(x)
        N, C, H, W = self.x_shape = x.shape
        rows, cols = (_bin_matrix(xp, n, o, x.dtype) for n, o in zip((H, W), self.out_size))
        self.M = (rows[:, None, :, None] * cols[None, :, None, :]).reshape(-1, H * W)
        return _bin_means(xp, x.reshape(N * C, H * W), self.M).reshape(N, C, *self.out_size)

    def backward(self, gy):
        N, C = gy.shape[:2]
        return (gy.reshape(N * C, self.M.shape[0]) @ self.M).reshape(self.x_shape)     # N may be 0


def _bin_means(xp, x, M):
    """x (R, H*W) @ M^T, where a NaN or an infinity reaches only the bins that hold it.

    In the product, 0 * NaN and 0 * inf are NaN: one non-finite pixel would
    spoil every bin.  So the product runs on the finite pixels, and the bins
    holding NaN, +inf or -inf (or both infinities) get the mean those give.
    """
    finite = xp.isfinite(x)
    if bool(finite.all()):
        return x @ M.T
    inside = (M.T > 0).astype(x.dtype)
    pos, neg, nan = ((mask.astype(x.dtype) @ inside) > 0
                     for mask in (x == xp.inf, x == -xp.inf, xp.isnan(x)))
    y = xp.where(pos, xp.inf, xp.where(neg, -xp.inf, xp.where(finite, x, 0) @ M.T))
    return xp.where(nan | (pos & neg), xp.nan, y)


def _bin_matrix(xp, size, out, dtype):
    """(out, size): row i averages the pixels of bin i of an axis of ``size`` pixels."""
    i = xp.arange(out)[:, None]
    h = xp.arange(size)[None, :]
    start, end = (i * size) // out, ((i + 1) * size + out - 1) // out
    inside = (h >= start) & (h < end)
    return (inside / (end - start)).astype(dtype)


# --------------------------------------------------------------------------- #
# Public functions: check arguments once, here
# --------------------------------------------------------------------------- #
def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Max pooling over KH x KW windows: x (N, C, H, W) -> (N, C, OH, OW).

    ``stride`` defaults to the kernel size; padding (at most half the kernel)
    adds -inf around x; ``ceil_mode`` keeps a last, partial window.
    OH = (H + 2P - D(KH - 1) - 1) / SH + 1, rounded down (up with ceil_mode).
    """
    _check_rank("max_pool2d", x)
    window = pool_window("max_pool2d", kernel_size, stride, padding, dilation, ceil_mode)
    return MaxPooling(window, window.output_size(x.shape[2:]))(x)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Average pooling over KH x KW windows: x (N, C, H, W) -> (N, C, OH, OW).

    As :func:`max_pool2d`, with zero padding; ``count_include_pad`` counts
    the padding zeros in each window's divisor (PyTorch's default).
    """
    _check_rank("avg_pool2d", x)
    window = pool_window("avg_pool2d", kernel_size, stride, padding, 1, ceil_mode)
    return AvgPooling(window, window.output_size(x.shape[2:]), count_include_pad)(x)


def max_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Max pooling over time: x (N, C, L) -> (N, C, OL); ints as in :func:`max_pool2d`.

    Kim (2014)'s max-over-time pooling is ``max_pool1d(x, L)``.
    """
    if len(x.shape) != 3:
        raise OpError(f"max_pool1d: expected a 3-D input (N, C, L), got shape {tuple(x.shape)}")
    pairs = one_dimensional("max_pool1d", kernel_size=kernel_size, stride=stride, padding=padding)
    window = pool_window("max_pool1d", **pairs, ceil_mode=ceil_mode)
    N, C, L = x.shape
    out = window.output_size((1, L))
    return MaxPooling(window, out)(x.reshape(N, C, 1, L)).reshape(N, C, out[1])


def adaptive_avg_pool2d(x, output_size):
    """Average pooling to a fixed output size: x (N, C, H, W) -> (N, C, OH, OW).

    ``output_size`` is an int or a pair (None keeps that input size), as in
    PyTorch; AlexNet's and VGG's heads pool to 6x6 and 7x7 whatever the input.
    """
    _check_rank("adaptive_avg_pool2d", x)
    size = x.shape[2:]
    sizes = (output_size, output_size) if output_size is None or isinstance(output_size, int) else output_size
    if len(sizes) != 2:
        raise OpError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {output_size!r}")
    out = tuple(n if o is None else o for n, o in zip(size, sizes))
    if not all(isinstance(o, int) and o >= 1 for o in out):
        raise OpError(f"adaptive_avg_pool2d: output_size must be positive ints, got {output_size!r}")
    return AdaptiveAvgPooling(out)(x)


def global_avg_pool2d(x):
    """The mean of each channel: x (N, C, H, W) -> (N, C), as NIN's and GoogLeNet's heads."""
    _check_rank("global_avg_pool2d", x)
    return mean(x, axis=(2, 3))


def _check_rank(op, x):
    if len(x.shape) != 4:
        raise OpError(f"{op}: expected a 4-D input (N, C, H, W), got shape {tuple(x.shape)}")
