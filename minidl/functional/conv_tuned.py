"""The tuned convolution engine: the reference's algorithm, arranged for speed.

:class:`Convolution` here computes exactly what the reference
:class:`minidl.functional.conv.Convolution` computes, with the same
interface, and is tested equal to it on every geometry and layout.  It is
what ``conv2d`` runs unless asked for the reference.  Three things make it
faster, none of which changes the maths:

* **Two memory layouts.**  The products run at BLAS speed; the copies of
  im2col and col2im decide the rest.  A copy is fast when what it moves in
  one go is long and contiguous, so the matrices are stored in whichever
  of two layouts keeps the longer run together (the numbers are the same;
  only their order in memory differs):

  - channels last, A stored row by row: one window tap holds C contiguous
    values of one pixel.  Best for deep layers with many channels;
  - channels first, A stored column by column: one tap holds a row of OW
    neighbouring pixels of one channel.  Best for the first layers (C = 1
    or 3) and for depthwise convolutions (one channel per group).

* **Chunks of the batch.**  A holds KH*KW times as many numbers as x, so it
  is built for a chunk of the batch at a time, in one buffer of at most
  :data:`COLUMN_BUFFER_BYTES` (at least one sample), which backward fills
  again instead of keeping it.

* **A second backward algorithm.**  With stride 1, gx is also a
  convolution: of gy with the flipped filters.  Where its im2col copies no
  more numbers than col2im would add, backward computes gx so, and gW from
  the same columns (see :meth:`Convolution._gradients_by_convolution`).

* **No copies for narrow layers.**  A stride-1 convolution of few
  channels runs a compiled direct convolution
  (:func:`minidl.backend.kernels.conv_direct`), forward and backward:
  there im2col's product is too skinny for BLAS to run fast.

* **Fewer multiplications for wider 3x3 layers.**  A 3x3 stride-1 convolution
  of many channels on maps of 8x8 or more (the bulk of VGG and ResNet)
  runs Winograd's F(2x2, 3x3) (:mod:`.winograd`), forward and backward:
  16 products where im2col's has 36 per 2x2 block of outputs.  Its results
  differ from the product's only by float rounding.

Here A's rows are the output positions (n, oh, ow) and its columns the taps
(i, j, c), so that in channels last a row of A is a run of whole pixels.
"""
import math

from .. import backend
from ..autograd import Function
from ..backend import kernels
from . import winograd
from ._windows import add_windows, is_channels_last, new_array, pad, windows

__all__ = ["Convolution", "COLUMN_BUFFER_BYTES", "DIRECT_MAX_CHANNELS", "DIRECT_MIN_SIZE",
           "OUTPUT_CHANNELS_LAST_MIN", "WINOGRAD_MIN_CHANNELS", "WINOGRAD_MIN_CHANNELS_COMPILED",
           "WINOGRAD_MIN_SIZE"]

# Small enough for a chunk's columns and outputs to stay in the (last-level) cache
# between the copy and the product, large enough that the products are few and big:
# each costs BLAS a start-up and a synchronization of its threads.
COLUMN_BUFFER_BYTES = 16 << 20
# The smallest input channels and output size whose 3x3 layers run Winograd's algorithm: its
# transforms add whole pixels of channels, worth it where those are long and the maps hold enough
# 4x4 tiles.  Measured, forward and backward at batch 128: with the compiled transforms 0.73-0.89x
# the time of im2col from 16 channels and 8x8 outputs up, 1.04x at 8 channels, 1.10-1.15x at 4x4;
# the NumPy transforms, many passes each, pay from 64 channels.
WINOGRAD_MIN_CHANNELS, WINOGRAD_MIN_CHANNELS_COMPILED, WINOGRAD_MIN_SIZE = 64, 16, 8
# The stride-1 layers (not 1x1) that run the compiled direct convolution: at most this many channels
# in and out, on output maps of at least this size and more than half as wide as the channels.
# Measured, forward and backward, against the im2col or Winograd path alternating in one process:
# 0.52x and 0.81x the time for LeNet's 5x5 layers at batch 64, 0.59-0.90x for 3x3 layers of 8 to 32
# channels on 16x16 and 32x32 maps at batch 128; but 1.05x for 32 channels on 16x16 (and a resnet20
# step 7% slower with them), 1.9x on 8x8 maps, 1.25x for 3 -> 64 channels.  For 16 channels on 32x32
# maps, im2col's time is 0.89-1.05x the direct one's at batch 16 to 96, 1.6-1.9x at 128 and 256.
# Those figures were taken with one filter per pass.  With two (kernels.py), by conv_paths.py at
# batch 128 (one run each), 32 channels on 16x16 maps still take 1.33x Winograd's time, and 16
# channels on 32x32 maps 0.74x im2col's and 0.59x Winograd's: the rule stands.
DIRECT_MAX_CHANNELS, DIRECT_MIN_SIZE = 32, 10
# The fewest filters whose im2col output is channels last even where its matrices are channels first
# (the first layers of VGG and the CIFAR ResNet-18, 3 -> 64 channels, feed Winograd's layers).
# Measured at batch 128 in one process, against channels-first outputs: that layer alone 1.27x the
# time forward and backward, but followed by a 64-channel Winograd layer 0.96x, a vgg_cifar step
# 0.92-0.97x and a resnet18_cifar step 0.84-0.90x (their Winograd layers had copied it twice a step).
OUTPUT_CHANNELS_LAST_MIN = 64


class Convolution(Function):
    """y = W * x + b, as the reference Convolution: x (N, C, H, W), W (F, C/G, KH, KW), b (F,)
    or none -> y (N, F, OH, OW), for a checked ``window`` (:class:`.geometry.Window`)."""
    float_inputs = True

    def __init__(self, window, groups, out_size):
        self.stride, self.padding, self.dilation = window.stride, window.padding, window.dilation
        self.groups, self.out_size = groups, out_size

    def forward(self, x, W, b=None):
        self.plan = _Plan(x, W.shape, self.stride, self.padding, self.dilation, self.groups, self.out_size)
        # x is kept, not its padded copy: the layer before keeps x anyway, and backward pads it
        # again only where it needs the columns of x
        self.x, self.W, self.has_bias = x, W, b is not None
        if self.plan.direct:
            y = backend.get_array_module(x).empty((x.shape[0], W.shape[0], *self.out_size), x.dtype)
            kernels.conv_direct(x, W, b, self.padding, y)
            return y
        self.Wm = _filter_matrices(W, self.groups, self.plan.channels_last)
        if self.plan.winograd:
            self.U = winograd.filter_transform(W)
            return _convolve_winograd(self.plan, x, self.U, b)
        return _convolve(self.plan, x, self.Wm, b)

    def backward(self, gy):
        need_x, need_W = self.needs_input_grad[:2]
        need_b = self.has_bias and self.needs_input_grad[2]
        if self.plan.direct:
            gx, gW = self._direct_gradients(gy, need_x, need_W)
            gb = gy.sum(axis=(0, 2, 3)) if need_b else None
        elif self.plan.winograd and (need_x or need_W):
            gx, gW = _winograd_gradients(self.plan, self.x, self.U, gy, need_x, need_W)
            gb = gy.sum(axis=(0, 2, 3)) if need_b else None
        elif need_x and self._input_gradient_is_a_convolution():
            gx, gW = self._gradients_by_convolution(gy, need_W)
            gb = gy.sum(axis=(0, 2, 3)) if need_b else None
        else:
            gx, gW, gb = self._gradients_by_chunk(gy, need_x, need_W, need_b)
        return (gx, gW, gb) if self.has_bias else (gx, gW)

    def _direct_gradients(self, gy, need_x, need_W):
        """gx and gW of the direct convolution.  gx is a direct convolution too: of gy padded by
        K - 1 - P, with the flipped filters (see :meth:`_gradients_by_convolution`)."""
        gx = gW = None
        kernel = self.plan.kernel
        if need_x:
            gx = backend.get_array_module(gy).empty(self.x.shape, gy.dtype)
            padding = tuple((k - 1 - a, k - 1 - b) for k, (a, b) in zip(kernel, self.padding))
            kernels.conv_direct(gy, _flipped(self.W, 1), None, padding, gx)
        if need_W:
            gW = kernels.conv_direct_weight_gradient(self.x, gy, self.padding, kernel)
        return gx, gW

    def _gradients_by_chunk(self, gy, need_x, need_W, need_b):
        """gx by col2im, gW = the sum of A^T @ gY, gb = the sum of gY, chunk by chunk."""
        if not (need_x or need_W or need_b):
            return None, None, None
        xp, plan = backend.get_array_module(gy), self.plan
        (N, C, *in_size), G, (OH, OW), Fg = plan.x_shape, self.groups, self.out_size, self.Wm.shape[2]
        gy = gy.reshape(N, G, Fg, OH, OW)
        gWm = xp.zeros_like(self.Wm) if need_W else None
        gb = xp.zeros((G, Fg), dtype=gy.dtype) if need_b else None
        padded_size = [n + before + after for n, (before, after) in zip(in_size, self.padding)]
        x = plan.padded(self.x) if need_W else None
        gx = new_array(xp, (N, G, C // G, *padded_size), gy.dtype, plan.channels_last) if need_x else None
        buffer, gy_buffer = plan.buffer(xp), xp.empty(plan.chunk * OH * OW * G * Fg, gy.dtype)
        for start, stop in plan.chunks():
            gY = _output_matrices(gy[start:stop], plan.channels_last, gy_buffer)
            if need_W:
                gWm += _product(plan.columns(x, start, stop, buffer).swapaxes(1, 2), gY, plan.channels_last)
            if need_b:
                gb += gY.sum(axis=1)
            if need_x:
                add_windows(gx[start:stop], self._column_gradient(gY, stop - start), self.stride,
                            self.dilation)
        if need_x:
            (top, _), (left, _) = self.padding
            gx = gx.reshape(N, C, *padded_size)[:, :, top:top + in_size[0], left:left + in_size[1]]
        gW = None if gWm is None else _filters(gWm, plan.kernel)
        return gx, gW, None if gb is None else gb.reshape(G * Fg)

    def _column_gradient(self, gY, m):
        """gA = gY @ Wm^T, the gradient of the columns, as (m, G, C/G, KH, KW, OH, OW)."""
        G, (OH, OW), (KH, KW) = self.groups, self.out_size, self.plan.kernel
        gA = _product(gY, self.Wm.swapaxes(1, 2), self.plan.channels_last)
        # gA (G, m*OH*OW, KH*KW*C/G) with rows (n, oh, ow) and columns (i, j, c)
        return gA.reshape(G, m, OH, OW, KH, KW, -1).transpose(1, 0, 6, 4, 5, 2, 3)

    def _input_gradient_is_a_convolution(self):
        """Whether gx is better computed as a convolution of gy than by col2im.

        Only for stride 1 and padding P <= D(K-1), and only when a group has no
        more filters than channels: the im2col of gy copies KH*KW values per
        filter and pixel, where col2im adds KH*KW values per channel and pixel
        (and an add costs more than a copy).
        """
        _, Kg, Fg = self.Wm.shape
        kernel = self.plan.kernel
        return (self.stride == (1, 1) and Fg <= Kg // math.prod(kernel)
                and all(p <= d * (k - 1) for k, d, pads in zip(kernel, self.dilation, self.padding)
                        for p in pads))

    def _gradients_by_convolution(self, gy, need_W):
        """gx and gW for stride 1, both from one im2col: of gy.

        x[h] met W[i] in y[h + P - iD], so gx[h] = sum_i gy[h + P - iD] W[i]:
        a convolution of gy, padded by D(K-1) - P, with the filters flipped
        and their channel axes swapped; its output has x's size.  Its columns
        B also give gW[i] = sum_h x[h] gy[h + P - iD] = X^T @ B (taps flipped
        back): to this convolution, x is what gy is to the forward one.  So
        one copy, the im2col of gy, replaces the adds of col2im and a second
        im2col of x.
        """
        kernel = self.plan.kernel
        padding = tuple((d * (k - 1) - before, d * (k - 1) - after)
                        for k, d, (before, after) in zip(kernel, self.dilation, self.padding))
        flipped = _flipped(self.W, self.groups)
        plan = _Plan(gy, flipped.shape, (1, 1), padding, self.dilation, self.groups, self.plan.x_shape[2:])
        Wm = _filter_matrices(flipped, self.groups, plan.channels_last)
        if not need_W:
            return _convolve(plan, gy, Wm), None
        gx, gWm = _convolve_and_correlate(plan, gy, Wm, self.x)
        return gx, _flipped(_filters(gWm, kernel), self.groups)


class _Plan:
    """How one convolution of x (N, C, H, W) with filters of ``W_shape`` runs: its geometry,
    the memory layout of its matrices and the chunks of the batch."""

    def __init__(self, x, W_shape, stride, padding, dilation, groups, out_size):
        N, C = x.shape[:2]
        F, Cg, KH, KW = W_shape
        self.x_shape, self.kernel, self.out_size, self.groups = x.shape, (KH, KW), out_size, groups
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.channels_last = _channels_last(Cg, out_size[1])
        # y is channels last too where the layers after it read that layout (Winograd's, im2col's of
        # many channels): written so chunk by chunk, while Y is in the cache, it saves them a copy of
        # it in each of their forward and backward passes
        self.output_channels_last = self.channels_last or F >= OUTPUT_CHANNELS_LAST_MIN
        self.pointwise = self.kernel == (1, 1) and stride == (1, 1) and not any(sum(padding, ()))
        compiled = kernels.enabled_for(x, min_size=0)
        plain = stride == (1, 1) and dilation == (1, 1) and groups == 1
        # which paths can compute this layer (im2col always); gx of the direct convolution is a
        # direct convolution too, of gy padded by K - 1 - P: P is at most K - 1
        self.direct_possible = (compiled and plain and self.kernel != (1, 1)
                                and all(max(pads) < k for k, pads in zip(self.kernel, padding)))
        self.winograd_possible = plain and self.kernel == (3, 3)
        # and which one runs: where it was measured to pay
        self.direct = (self.direct_possible and max(C, F) <= DIRECT_MAX_CHANNELS
                       and min(out_size) >= DIRECT_MIN_SIZE and 2 * min(out_size) > max(C, F))
        min_channels = WINOGRAD_MIN_CHANNELS_COMPILED if compiled else WINOGRAD_MIN_CHANNELS
        self.winograd = (self.winograd_possible and not self.direct and C >= min_channels
                         and min(out_size) >= WINOGRAD_MIN_SIZE)
        # samples per chunk: their columns and outputs fit in COLUMN_BUFFER_BYTES
        per_sample = (C * KH * KW + F) * math.prod(out_size) * x.dtype.itemsize
        self.chunk = max(1, min(N, COLUMN_BUFFER_BYTES // per_sample))
        self.dtype = x.dtype

    def chunks(self):
        N = self.x_shape[0]
        return [(start, min(start + self.chunk, N)) for start in range(0, N, self.chunk)]

    def buffer(self, xp):
        """A flat buffer for the columns of one chunk."""
        rows = self.chunk * math.prod(self.out_size)
        return xp.empty(rows * self.x_shape[1] * math.prod(self.kernel), dtype=self.dtype)

    def padded(self, x):
        """x padded, in the chosen layout (x itself when that needs no copy)."""
        if any(sum(self.padding, ())) or not (self.pointwise or is_channels_last(x) == self.channels_last):
            return pad(x, self.padding, 0.0, self.channels_last)
        return x

    def columns(self, padded, start, stop, buffer):
        """A (G, m*OH*OW, KH*KW*C/G) of the padded input for the m samples start:stop,
        copied into ``buffer``."""
        x = padded[start:stop]
        x = x.reshape(stop - start, self.groups, x.shape[1] // self.groups, *x.shape[2:])
        taps = windows(x, self.kernel, self.stride, self.dilation, self.out_size)
        # taps (m, G, C/G, KH, KW, OH, OW): rows (n, oh, ow), columns (i, j, c)
        # a 1x1 convolution's windows are x itself: A is x, copied only if its layout differs
        return _matrices(taps, 1, (0, 5, 6), (3, 4, 2), self.channels_last,
                         None if self.pointwise else buffer)


def _convolve(plan, x, Wm, b=None):
    """y = W * x + b (N, F, OH, OW), chunk by chunk, for the filter matrices Wm."""
    return _convolve_and_correlate(plan, x, Wm, b=b)[0]


def _convolve_and_correlate(plan, x, Wm, z=None, b=None):
    """y = W * x + b as :func:`_convolve`, and, given z (N, F', OH, OW), the sum of A^T @ Z
    over the chunks: the weight gradient of this convolution for an output gradient z,
    computed from the same columns A while they are in the cache."""
    xp = backend.get_array_module(x)
    N = x.shape[0]
    G, Fg, (OH, OW) = plan.groups, Wm.shape[2], plan.out_size
    padded = plan.padded(x)
    y = new_array(xp, (N, G, Fg, OH, OW), x.dtype, plan.output_channels_last)
    buffer = plan.buffer(xp)
    if z is not None:
        z = z.reshape(N, G, z.shape[1] // G, OH, OW)
        gWm = xp.zeros((G, Wm.shape[1], z.shape[2]), x.dtype)
        z_buffer = xp.empty(plan.chunk * math.prod(z.shape[1:]), x.dtype)     # N may be 0
    for start, stop in plan.chunks():
        A = plan.columns(padded, start, stop, buffer)
        Y = _product(A, Wm, plan.channels_last)
        if b is not None:
            Y += b.reshape(G, 1, Fg)
        # Y (G, m*OH*OW, F/G) with rows (n, oh, ow), back to (m, G, F/G, OH, OW)
        y[start:stop] = Y.reshape(G, stop - start, OH, OW, Fg).transpose(1, 0, 4, 2, 3)
        if z is not None:
            gWm += _product(A.swapaxes(1, 2), _output_matrices(z[start:stop], plan.channels_last, z_buffer),
                            plan.channels_last)
    return y.reshape(N, G * Fg, OH, OW), None if z is None else gWm


def _convolve_winograd(plan, x, U, b=None):
    """y = W * x + b (N, F, OH, OW), channels last, by Winograd's F(2x2, 3x3) on chunks of the batch,
    for the transformed filters U (16, C, F)."""
    xp = backend.get_array_module(x)
    y = new_array(xp, (x.shape[0], U.shape[2], *plan.out_size), x.dtype, True)
    y_last, x_last = y.transpose(0, 2, 3, 1), _pixels(xp, x)         # (N, OH, OW, F), (N, H, W, C)
    chunks, (V, M) = _winograd_chunks(plan, U.shape, xp)
    for start, stop in chunks:
        winograd.convolve(x_last[start:stop], U, b, y_last[start:stop], _winograd_padding(plan), V, M)
    return y


def _winograd_gradients(plan, x, U, gy, need_x, need_W):
    """gx (N, C, H, W) and gW (F, C, 3, 3) of :func:`_convolve_winograd` for its output gradient gy
    (None where not needed), by its formula in reverse (:func:`.winograd.gradients`), chunk by chunk."""
    xp = backend.get_array_module(x)
    x_last, gy_last = _pixels(xp, x), _pixels(xp, gy)
    gx = new_array(xp, x.shape, x.dtype, True) if need_x else None
    gx_last = None if gx is None else gx.transpose(0, 2, 3, 1)
    gU = xp.zeros(U.shape, x.dtype)
    chunks, (V, gM) = _winograd_chunks(plan, U.shape, xp)
    for start, stop in chunks:
        gU += winograd.gradients(x_last[start:stop], U, gy_last[start:stop],
                                 None if gx is None else gx_last[start:stop], _winograd_padding(plan), V, gM)
    return gx, winograd.filter_gradient(gU) if need_W else None


def _winograd_chunks(plan, U_shape, xp):
    """The chunks of the batch, and flat buffers for one chunk's transformed tiles (16 x C numbers
    per 2x2 block of outputs) and products (16 x F), which fit in COLUMN_BUFFER_BYTES."""
    (N, C), (OH, OW), F = plan.x_shape[:2], plan.out_size, U_shape[2]
    tiles = 16 * -(-OH // 2) * -(-OW // 2)                                  # per sample
    chunk = max(1, min(N, COLUMN_BUFFER_BYTES // (tiles * (C + F) * plan.dtype.itemsize)))
    buffers = xp.empty(chunk * tiles * C, plan.dtype), xp.empty(chunk * tiles * F, plan.dtype)
    return [(start, min(start + chunk, N)) for start in range(0, N, chunk)], buffers


def _winograd_padding(plan):
    """(top, left): the zeros before the first row and column (those after follow from the tiles)."""
    (top, _), (left, _) = plan.padding
    return top, left


def _pixels(xp, x):
    """x (N, C, H, W) as (N, H, W, C) pixels of C contiguous numbers (a copy unless x is channels last)."""
    return xp.ascontiguousarray(x.transpose(0, 2, 3, 1))


def _filter_matrices(W, groups, channels_last):
    """Wm (G, KH*KW*C/G, F/G): each column one filter, flattened in the (i, j, c) order of A's columns."""
    F, Cg, KH, KW = W.shape
    # W as (G, F/G, C/G, KH, KW): rows (i, j, c), columns the filters
    return _matrices(W.reshape(groups, F // groups, Cg, KH, KW), 0, (3, 4, 2), (1,), channels_last)


def _output_matrices(gy, channels_last, buffer):
    """gY (G, m*OH*OW, F/G) of gy (m, G, F/G, OH, OW): rows (n, oh, ow), columns the filters."""
    return _matrices(gy, 1, (0, 3, 4), (2,), channels_last, buffer)


def _filters(Wm, kernel):
    """The filters W (F, C/G, KH, KW) from their columns Wm (G, KH*KW*C/G, F/G)."""
    G, _, Fg = Wm.shape
    return Wm.reshape(G, *kernel, -1, Fg).transpose(0, 4, 3, 1, 2).reshape(G * Fg, -1, *kernel)


def _flipped(W, groups):
    """W (F, C/G, KH, KW) -> (C, F/G, KH, KW): each kernel turned by 180 degrees and, in
    each group, filters and channels swapped.  Flipping twice gives W back."""
    F, Cg, KH, KW = W.shape
    W = W.reshape(groups, F // groups, Cg, KH, KW)[..., ::-1, ::-1].swapaxes(1, 2)
    return W.reshape(groups * Cg, F // groups, KH, KW)


def _channels_last(channels, width):
    """The layout whose copies move longer runs: the C/G channels of a pixel, or a row of OW pixels."""
    return channels >= width


def _matrices(a, group, rows, cols, channels_last, out=None):
    """Copy ``a`` into one matrix per group: (G, prod(rows), prod(cols)).

    ``group``, ``rows`` and ``cols`` are axes of ``a``.  Channels last stores
    each matrix row by row, channels first column by column.  The copy goes
    into ``out`` (a flat buffer) when given; else it is skipped when ``a``
    already has that layout.
    """
    xp = backend.get_array_module(a)
    order = (group, *rows, *cols) if channels_last else (group, *cols, *rows)
    a_t = a.transpose(order)
    if out is None:
        m = xp.ascontiguousarray(a_t)
    else:
        m = out[:a_t.size].reshape(a_t.shape)
        m[...] = a_t
    R, K = math.prod(a.shape[i] for i in rows), math.prod(a.shape[i] for i in cols)
    return m.reshape(-1, R, K) if channels_last else m.reshape(-1, K, R).transpose(0, 2, 1)


def _product(a, b, channels_last):
    """a @ b for stacks of matrices, in the layout's orientation (see _matrices).

    Channels first computes (b^T @ a^T)^T, the same numbers, so that BLAS
    reads each operand along its contiguous axis and writes rows of pixels.
    """
    xp = backend.get_array_module(a)
    if channels_last:
        return xp.matmul(a, b)
    return xp.matmul(b.swapaxes(-1, -2), a.swapaxes(-1, -2)).swapaxes(-1, -2)
