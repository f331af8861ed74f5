"""Convolution as one matrix product: im2col, col2im, conv2d, conv1d.

conv2d computes y = W * x + b in four steps:

1. pad x once;
2. im2col: copy every KH x KW window of x into one row of a matrix A, whose
   rows are the output positions (n, oh, ow) and columns the taps (i, j, c);
3. one matrix product per group, Y = A @ Wm, where each column of Wm is
   one filter, flattened the same way;
4. backward: gWm = A^T @ gY and gA = gY @ Wm^T, then col2im adds the rows
   of gA back onto the pixels they were copied from.  With stride 1, gx is
   also a convolution: of gy with the flipped filters.  Where its im2col
   copies no more numbers than col2im would add, backward computes gx so,
   and gW from the same columns.

The products run at BLAS speed; the copies of steps 2 and 4 decide the rest.
A copy is fast when what it moves in one go is long and contiguous, so the
matrices are stored in whichever of two layouts keeps the longer run
together (the numbers are the same; only their order in memory differs):

* channels last, A stored row by row: one window tap holds C contiguous
  values of one pixel.  Best for deep layers with many channels;
* channels first, A stored column by column: one tap holds a row of OW
  neighbouring pixels of one channel.  Best for the first layers (C = 1 or 3)
  and for depthwise convolutions (one channel per group).

A holds KH*KW times as many numbers as x, so it is built for a chunk of the
batch at a time, in one buffer of at most :data:`COLUMN_BUFFER_BYTES`
(at least one sample), which backward fills again instead of keeping it.
"""
import math

from .. import backend
from ..autograd import Function, OpError, Tensor
from ._windows import add_windows, is_channels_last, new_array, output_size, pad, pair, windows

__all__ = ["im2col", "col2im", "conv2d", "conv1d", "COLUMN_BUFFER_BYTES"]

# Small enough for a chunk's columns and outputs to stay in the (last-level) cache
# between the copy and the product, large enough that the products are few and big:
# each costs BLAS a start-up and a synchronization of its threads.
COLUMN_BUFFER_BYTES = 16 << 20


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """Copy every sliding window of ``x`` into a column (``torch.nn.functional.unfold``).

    Notation, used throughout minidl:

    ======  =====================================================
    N       batch size
    C       input channels
    H, W    input height and width
    KH, KW  kernel height and width
    SH, SW  stride; DH, DW dilation; P padding
    OH, OW  output height and width: the number of window positions,
            OH = (H + 2P - DH (KH - 1) - 1) // SH + 1
    ======  =====================================================

    Args:
        x: an array (N, C, H, W) of any backend (or a Tensor, whose data is used).
        kernel_size, stride, padding, dilation: ints or pairs.

    Returns:
        cols (N, C*KH*KW, OH*OW): ``cols[n, (c*KH + i)*KW + j, oh*OW + ow]`` is
        ``x[n, c, oh*SH + i*DH - P, ow*SW + j*DW - P]`` (zero outside x).
        A convolution is then ``W.reshape(F, -1) @ cols``.
    """
    x = x.data if isinstance(x, Tensor) else x
    xp = backend.get_array_module(x)
    kernel, stride, padding, dilation, out = _geometry("im2col", x.shape, kernel_size, stride,
                                                       padding, dilation)
    N, C = x.shape[:2]
    cols = windows(pad(x, padding), kernel, stride, dilation, out)    # (N, C, KH, KW, OH, OW)
    return xp.ascontiguousarray(cols).reshape(N, C * kernel[0] * kernel[1], out[0] * out[1])


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
    H, W = pair(output_size, "output_size", "col2im", 1)
    N, CKK, L = cols.shape
    kernel, stride, padding, dilation, out = _geometry("col2im", (N, None, H, W), kernel_size,
                                                       stride, padding, dilation)
    (KH, KW), ((top, bottom), (left, right)) = kernel, padding
    if CKK % (KH * KW) or L != out[0] * out[1]:
        raise OpError(f"col2im: columns of shape {tuple(cols.shape)} do not match a {KH}x{KW} "
                      f"kernel sliding over {H}x{W} ({out[0]}x{out[1]} positions)")
    C = CKK // (KH * KW)
    x = xp.zeros((N, C, H + top + bottom, W + left + right), dtype=cols.dtype)
    add_windows(x, cols.reshape(N, C, KH, KW, *out), stride, dilation)
    return x[:, :, top:top + H, left:left + W]


class Convolution(Function):
    """y = W * x + b: cross-correlation of x with F filters, in G groups of channels.

    x (N, C, H, W), W (F, C/G, KH, KW), b (F,) or none -> y (N, F, OH, OW).
    Group g convolves input channels [g C/G, (g+1) C/G) with filters
    [g F/G, (g+1) F/G).  ``padding`` is ((top, bottom), (left, right)).
    """

    float_inputs = True

    def __init__(self, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def forward(self, x, W, b=None):
        return self._convolve(x, W, b)[0]

    def _convolve(self, x, W, b=None, z=None):
        """y = W * x + b, chunk by chunk; with z (N, F', OH, OW), also the sum of A^T @ Z,
        which is the weight gradient of this convolution for an output gradient z."""
        xp = backend.get_array_module(x)
        N, C, H, W_in = x.shape
        F, Cg, KH, KW = W.shape
        G, Fg = self.groups, F // self.groups
        self.x_shape, self.kernel, self.has_bias = x.shape, (KH, KW), b is not None
        self.out_size = OH, OW = [output_size(n, k, s, p, d) for n, k, s, p, d in
                                  zip((H, W_in), self.kernel, self.stride, self.padding, self.dilation)]
        self.channels_last = _channels_last(Cg, OW)
        self.pointwise = self.kernel == (1, 1) and self.stride == (1, 1) and not any(sum(self.padding, ()))
        # x is kept, not its padded copy: the layer before keeps x anyway, and backward pads it
        # again only where it needs the columns of x
        self.x, self.W = x, W
        padded = self._padded(x)
        # the filters as columns, each flattened in the (i, j, c) order of A's columns
        self.Wm = _matrices(W.reshape(G, Fg, Cg, KH, KW), 0, (3, 4, 2), (1,), True)
        y = new_array(xp, (N, G, Fg, OH, OW), x.dtype, self.channels_last)
        buffer = self._buffer(xp)
        if z is not None:
            z = z.reshape(N, G, z.shape[1] // G, OH, OW)
            gWm = xp.zeros((G, Cg * KH * KW, z.shape[2]), x.dtype)
            z_buffer = xp.empty(self._chunk_size() * math.prod(z.shape[1:]), x.dtype)
        for start, stop in self._chunks():
            A = self._columns(padded, start, stop, buffer)
            Y = _product(A, self.Wm, self.channels_last)
            if b is not None:
                Y += b.reshape(G, 1, Fg)
            y[start:stop] = Y.reshape(G, stop - start, OH, OW, Fg).transpose(1, 0, 4, 2, 3)
            if z is not None:
                Z = _matrices(z[start:stop], 1, (0, 3, 4), (2,), self.channels_last, z_buffer)
                gWm += _product(A.swapaxes(1, 2), Z, self.channels_last)
        return y.reshape(N, F, OH, OW), None if z is None else gWm

    def backward(self, gy):
        need_x, need_W = self.needs_input_grad[:2]
        need_b = self.has_bias and self.needs_input_grad[2]
        if need_x and self._input_gradient_is_a_convolution():
            gx, gW = self._gradients_by_convolution(gy, need_W)
            gb = gy.sum(axis=(0, 2, 3)) if need_b else None
        else:
            gx, gW, gb = self._gradients_by_chunk(gy, need_x, need_W, need_b)
        return (gx, gW, gb) if self.has_bias else (gx, gW)

    def _gradients_by_chunk(self, gy, need_x, need_W, need_b):
        """gx by col2im, gW = the sum of A^T @ gY, gb = the sum of gY, chunk by chunk."""
        if not (need_x or need_W or need_b):
            return None, None, None
        xp = backend.get_array_module(gy)
        N, C, H, W_in = self.x_shape
        G, (OH, OW), Fg = self.groups, self.out_size, self.Wm.shape[2]
        gy = gy.reshape(N, G, Fg, OH, OW)
        gWm = xp.zeros_like(self.Wm) if need_W else None
        gb = xp.zeros((G, Fg), dtype=gy.dtype) if need_b else None
        padded_size = [n + before + after for n, (before, after) in zip((H, W_in), self.padding)]
        padded_groups = (N, G, C // G, *padded_size)
        x = self._padded(self.x) if need_W else None
        gx = new_array(xp, padded_groups, gy.dtype, self.channels_last) if need_x else None
        buffer, gy_buffer = self._buffer(xp), xp.empty(self._chunk_size() * OH * OW * G * Fg, gy.dtype)
        for start, stop in self._chunks():
            gY = _matrices(gy[start:stop], 1, (0, 3, 4), (2,), self.channels_last, gy_buffer)
            if need_W:
                gWm += _product(self._columns(x, start, stop, buffer).swapaxes(1, 2), gY, self.channels_last)
            if need_b:
                gb += gY.sum(axis=1)
            if need_x:
                add_windows(gx[start:stop], self._column_gradient(gY, stop - start), self.stride,
                            self.dilation)
        if need_x:
            (top, _), (left, _) = self.padding
            gx = gx.reshape(N, C, *gx.shape[3:])[:, :, top:top + H, left:left + W_in]
        gW = None if gWm is None else _filters(gWm, self.kernel)
        return gx, gW, None if gb is None else gb.reshape(G * Fg)

    # -- the layout of x and A, and the chunks of the batch ---------------------------
    def _padded(self, x):
        """x padded, in the chosen layout (x itself when that needs no copy)."""
        if any(sum(self.padding, ())) or not (self.pointwise or is_channels_last(x) == self.channels_last):
            return pad(x, self.padding, 0.0, self.channels_last)
        return x

    def _columns(self, padded, start, stop, buffer):
        """A (G, m*OH*OW, KH*KW*C/G) of the padded input for the m samples start:stop,
        copied into ``buffer``."""
        x = padded[start:stop]
        x = x.reshape(stop - start, self.groups, x.shape[1] // self.groups, *x.shape[2:])
        taps = windows(x, self.kernel, self.stride, self.dilation, self.out_size)
        # a 1x1 convolution's windows are x itself: A is x, copied only if its layout differs
        return _matrices(taps, 1, (0, 5, 6), (3, 4, 2), self.channels_last,
                         None if self.pointwise else buffer)

    def _input_gradient_is_a_convolution(self):
        """Whether gx is better computed as a convolution of gy than by col2im.

        Only for stride 1 and padding P <= D(K-1), and only when a group has no
        more filters than channels: the im2col of gy copies KH*KW values per
        filter and pixel, where col2im adds KH*KW values per channel and pixel
        (and an add costs more than a copy).
        """
        _, Kg, Fg = self.Wm.shape
        return (self.stride == (1, 1) and Fg <= Kg // math.prod(self.kernel)
                and all(p <= d * (k - 1) for k, d, pads in zip(self.kernel, self.dilation, self.padding)
                        for p in pads))

    def _gradients_by_convolution(self, gy, need_W):
        """gx and gW for stride 1, both from one im2col: of gy.

        x[h] met W[i] in y[h + P - iD], so gx[h] = sum_i gy[h + P - iD] W[i]:
        a convolution of gy, padded by D(K-1) - P, with the filters flipped
        and their channel axes swapped.  Its columns B also give
        gW[i] = sum_h x[h] gy[h + P - iD] = X^T @ B (taps flipped back): to
        this convolution, x is what gy is to the forward one.  So one copy,
        the im2col of gy, replaces the adds of col2im and a second im2col of x.
        """
        padding = tuple((d * (k - 1) - before, d * (k - 1) - after)
                        for k, d, (before, after) in zip(self.kernel, self.dilation, self.padding))
        x = self.x if need_W else None
        transposed = Convolution((1, 1), padding, self.dilation, self.groups)
        gx, gWm = transposed._convolve(gy, _flipped(self.W, self.groups), z=x)
        return gx, None if gWm is None else _flipped(_filters(gWm, self.kernel), self.groups)

    def _column_gradient(self, gY, m):
        """gA = gY @ Wm^T, the gradient of the columns, as (m, G, C/G, KH, KW, OH, OW)."""
        G, (OH, OW), (KH, KW) = self.groups, self.out_size, self.kernel
        gA = _product(gY, self.Wm.swapaxes(1, 2), self.channels_last)
        return gA.reshape(G, m, OH, OW, KH, KW, -1).transpose(1, 0, 6, 4, 5, 2, 3)

    def _chunk_size(self):
        """Samples per chunk: their columns and outputs fit in COLUMN_BUFFER_BYTES."""
        N, C = self.x_shape[:2]
        width = C * math.prod(self.kernel) + self.Wm.shape[0] * self.Wm.shape[2]
        per_sample = width * math.prod(self.out_size) * self.x.dtype.itemsize
        return max(1, min(N, COLUMN_BUFFER_BYTES // per_sample))

    def _chunks(self):
        N, step = self.x_shape[0], self._chunk_size()
        return [(start, min(start + step, N)) for start in range(0, N, step)]

    def _buffer(self, xp):
        rows = self._chunk_size() * math.prod(self.out_size)
        return xp.empty(rows * self.x_shape[1] * math.prod(self.kernel), dtype=self.x.dtype)


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


def _geometry(op, shape, kernel_size, stride, padding, dilation):
    """Check and normalize window arguments for an input of ``shape`` (N, C, H, W).

    Returns kernel, stride, padding ((top, bottom), (left, right)), dilation and
    the output size (OH, OW); raises OpError naming ``op`` when no window fits.
    """
    kernel = pair(kernel_size, "kernel_size", op, 1)
    stride = pair(stride, "stride", op, 1)
    dilation = pair(dilation, "dilation", op, 1)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise OpError(f"{op}: padding must be 'same', 'valid', an int or a pair, got {padding!r}")
        if padding == "same" and stride != (1, 1):
            raise OpError(f"{op}: padding='same' needs stride 1, got stride {stride}")
        # 'same' splits the D(K-1) extra pixels evenly, the odd one on the bottom/right
        total = [0 if padding == "valid" else d * (k - 1) for k, d in zip(kernel, dilation)]
        padding = tuple((t // 2, t - t // 2) for t in total)
    else:
        padding = tuple((p, p) for p in pair(padding, "padding", op, 0))
    size = shape[2:]
    out = tuple(output_size(n, k, s, p, d) for n, k, s, p, d in zip(size, kernel, stride, padding, dilation))
    if min(out) < 1:
        span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        padded = tuple(n + sum(p) for n, p in zip(size, padding))
        raise OpError(f"{op}: kernel {kernel[0]}x{kernel[1]} (dilation {dilation}, so it spans "
                      f"{span[0]}x{span[1]}) is larger than the padded input {padded[0]}x{padded[1]} "
                      f"(input {size[0]}x{size[1]}, padding {padding})")
    return kernel, stride, padding, dilation, out


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as PyTorch) of NCHW input.

    Args:
        x: input (N, C, H, W).
        weight: filters (F, C/G, KH, KW).
        bias: (F,) or None.
        stride, dilation: int or pair.
        padding: int, pair, 'valid' (none) or 'same' (output size = input size; stride 1).
        groups: G, dividing C and F: 1 is a full convolution, C a depthwise one.

    Returns:
        y (N, F, OH, OW), OH = (H + 2P - D(KH - 1) - 1) // S + 1.
    """
    _check_ranks("conv2d", x, weight, 4, "(N, C, H, W)")
    kernel, stride, padding, dilation, _ = _check_channels(
        "conv2d", x.shape, weight.shape, bias, stride, padding, dilation, groups)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Convolution(stride, padding, dilation, groups)(*inputs)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over time, as for sentences of word vectors (Kim 2014).

    x (N, C, L), weight (F, C/G, K), bias (F,) or None -> y (N, F, OL).
    stride, padding and dilation are ints (padding also 'same' or 'valid').
    It is conv2d on an image of height 1.
    """
    _check_ranks("conv1d", x, weight, 3, "(N, C, L)")
    if not (isinstance(stride, int) and isinstance(dilation, int) and isinstance(padding, (int, str))):
        raise OpError(f"conv1d: stride, padding and dilation must be ints, got stride={stride!r}, "
                      f"padding={padding!r}, dilation={dilation!r}")
    (N, C, L), (F, Cg, K) = x.shape, weight.shape
    padding = padding if isinstance(padding, str) else (0, padding)
    _, stride, padding, dilation, (_, OL) = _check_channels(
        "conv1d", (N, C, 1, L), (F, Cg, 1, K), bias, (1, stride), padding, (1, dilation), groups)
    inputs = (x.reshape(N, C, 1, L), weight.reshape(F, Cg, 1, K)) + (() if bias is None else (bias,))
    return Convolution(stride, padding, dilation, groups)(*inputs).reshape(N, F, OL)


def _check_ranks(op, x, weight, ndim, layout):
    if len(x.shape) != ndim:
        raise OpError(f"{op}: expected a {ndim}-D input {layout}, got shape {tuple(x.shape)}")
    if len(weight.shape) != ndim:
        raise OpError(f"{op}: expected a {ndim}-D weight (F, C/groups, kernel...), "
                      f"got shape {tuple(weight.shape)}")


def _check_channels(op, x_shape, w_shape, bias, stride, padding, dilation, groups):
    C, (F, Cg) = x_shape[1], w_shape[:2]
    if not isinstance(groups, int) or groups < 1:
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
    return _geometry(op, x_shape, w_shape[2:], stride, padding, dilation)
