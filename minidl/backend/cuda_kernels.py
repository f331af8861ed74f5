"""CUDA kernels for the sliding-window ops: im2col, col2im, max pooling and its backward.

The NumPy versions (``minidl.functional.conv``, ``minidl.functional.pooling``)
work tap by tap: one strided slice per kernel tap (i, j), KH*KW vectorized
copies or adds.  On CuPy each of those is a separate kernel launch over a
strided view, and writing "add these windows back onto the pixels" in one
go would be a scatter-add, which on a GPU needs atomic additions (slow when
many threads hit one pixel, and summing in a different order on every run).

Each kernel here is one launch with one GPU thread per *output* element,
which computes where its value comes from:

* im2col: a thread per column entry reads the one pixel it copies;
* col2im and max-pool backward are *gathers*: a thread per input pixel
  visits the few windows that contain it and sums what they send back.  No
  two threads write the same address, so no atomics are needed, and the sum
  runs in the same tap order as the NumPy version.

Notation: N batch, C channels, H, W input size, KH, KW kernel, SH, SW
stride, DH, DW dilation, PH, PW padding before the first row / column,
OH, OW output size.  Pixel (h, w) of the padded-or-not input is seen by tap
(i, j) of window (oh, ow) when ``h = oh*SH + i*DH - PH`` and
``w = ow*SW + j*DW - PW``.

Every function takes CuPy arrays, with the signature of the NumPy function it
mirrors; ``padding`` may be an int, a pair, or ((top, bottom), (left, right)),
the form ``minidl.functional`` normalizes to (string paddings are resolved
by the caller).  CuPy is imported only when a kernel is first used.
"""
import functools

__all__ = ["im2col", "col2im", "max_pool2d_forward", "max_pool2d_backward"]

# The geometry every kernel receives, in this order, after its array arguments.
_GEOMETRY = ("int32 H, int32 W, int32 KH, int32 KW, int32 OH, int32 OW, "
             "int32 SH, int32 SW, int32 PH, int32 PW, int32 DH, int32 DW")

# Shared by the gathers: for the pixel (h, w) of this thread, loop over the taps (ki, kj)
# and the windows (oh, ow) that see it through that tap, skipping what lies outside.
_FOR_EACH_WINDOW_SEEING_PIXEL = """
    const ptrdiff_t w = i % W;
    const ptrdiff_t h = i / W % H;
    const ptrdiff_t nc = i / ((ptrdiff_t)W * H);          // n * C + c
    T sum = 0;
    for (int ki = 0; ki < KH; ++ki) {
        const ptrdiff_t row = h + PH - ki * DH;           // = oh * SH if a window row starts there
        if (row < 0 || row % SH != 0 || row / SH >= OH) continue;
        const ptrdiff_t oh = row / SH;
        for (int kj = 0; kj < KW; ++kj) {
            const ptrdiff_t col = w + PW - kj * DW;
            if (col < 0 || col % SW != 0 || col / SW >= OW) continue;
            const ptrdiff_t ow = col / SW;
"""


@functools.lru_cache(maxsize=None)
def _kernels():
    """Compile (once, on first use; CuPy caches the binaries on disk) the four kernels."""
    import cupy

    im2col = cupy.ElementwiseKernel(
        "raw T x, " + _GEOMETRY, "T cols",
        """
        // i runs over cols viewed as (N, C, KH, KW, OH, OW), row-major
        const ptrdiff_t ow = i % OW;
        const ptrdiff_t oh = i / OW % OH;
        const ptrdiff_t kj = i / ((ptrdiff_t)OW * OH) % KW;
        const ptrdiff_t ki = i / ((ptrdiff_t)OW * OH * KW) % KH;
        const ptrdiff_t nc = i / ((ptrdiff_t)OW * OH * KW * KH);
        const ptrdiff_t h = oh * SH + ki * DH - PH;
        const ptrdiff_t w = ow * SW + kj * DW - PW;
        cols = (h >= 0 && h < H && w >= 0 && w < W) ? x[(nc * H + h) * W + w] : (T)0;  // zero padding
        """, "minidl_im2col")

    col2im = cupy.ElementwiseKernel(
        "raw T cols, " + _GEOMETRY, "T x",
        _FOR_EACH_WINDOW_SEEING_PIXEL + """
                sum += cols[(((nc * KH + ki) * KW + kj) * OH + oh) * OW + ow];
            }
        }
        x = sum;
        """, "minidl_col2im")

    max_pool_forward = cupy.ElementwiseKernel(
        "raw T x, " + _GEOMETRY, "T y, int32 argmax",
        """
        // i runs over y (N, C, OH, OW); taps outside the input are skipped, as -inf padding would be
        const ptrdiff_t ow = i % OW;
        const ptrdiff_t oh = i / OW % OH;
        const ptrdiff_t nc = i / ((ptrdiff_t)OW * OH);
        T best = 0;
        int best_at = -1;
        for (int ki = 0; ki < KH; ++ki) {
            const ptrdiff_t h = oh * SH + ki * DH - PH;
            if (h < 0 || h >= H) continue;
            for (int kj = 0; kj < KW; ++kj) {
                const ptrdiff_t w = ow * SW + kj * DW - PW;
                if (w < 0 || w >= W) continue;
                const T v = x[(nc * H + h) * W + w];
                // strictly greater: the first maximum in row-major order wins a tie, as in NumPy's
                // version; a NaN wins and stays, so it propagates as in NumPy and PyTorch
                if (best_at < 0 || v > best || (isnan(v) && !isnan(best))) {
                    best = v;
                    best_at = h * W + w;
                }
            }
        }
        y = best;
        argmax = best_at;
        """, "minidl_max_pool_forward")

    max_pool_backward = cupy.ElementwiseKernel(
        "raw T gy, raw int32 argmax, " + _GEOMETRY, "T gx",
        _FOR_EACH_WINDOW_SEEING_PIXEL + """
                const ptrdiff_t o = (nc * OH + oh) * OW + ow;
                if (argmax[o] == h * W + w) sum += gy[o];       // this pixel was that window's maximum
            }
        }
        gx = sum;
        """, "minidl_max_pool_backward")
    return {"im2col": im2col, "col2im": col2im, "max_pool_forward": max_pool_forward,
            "max_pool_backward": max_pool_backward}


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _geometry(size, kernel_size, stride, padding, dilation, out_size=None):
    """The kernels' int arguments (H, W, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW) and (OH, OW).

    Without ``out_size`` it is the usual floor((H + P - D(K-1) - 1) / S) + 1.
    """
    kernel, stride, dilation = _pair(kernel_size), _pair(stride), _pair(dilation)
    padding = tuple(_pair(p) for p in _pair(padding))            # ((top, bottom), (left, right))
    if out_size is None:
        out_size = tuple((n + before + after - d * (k - 1) - 1) // s + 1
                         for n, k, s, (before, after), d in zip(size, kernel, stride, padding, dilation))
    return (*size, *kernel, *out_size, *stride, padding[0][0], padding[1][0], *dilation), tuple(out_size)


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """Mirrors ``minidl.functional.conv.im2col`` on the GPU: x (N, C, H, W) -> cols (N, C*KH*KW, OH*OW).

    ``cols[n, (c*KH + i)*KW + j, oh*OW + ow] = x[n, c, oh*SH + i*DH - PH, ow*SW + j*DW - PW]``,
    zero where that falls in the padding.  One thread per entry of cols: the
    thread's flat index i is unravelled into (n*C + c, i, j, oh, ow) and
    it copies that one pixel.
    """
    import cupy
    x = cupy.ascontiguousarray(x)        # the kernel indexes x as a plain row-major block
    N, C, H, W = x.shape
    args, (OH, OW) = _geometry((H, W), kernel_size, stride, padding, dilation)
    KH, KW = args[2:4]
    cols = cupy.empty((N, C * KH * KW, OH * OW), dtype=x.dtype)
    return _kernels()["im2col"](x, *args, cols)


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1):
    """Mirrors ``minidl.functional.conv.col2im`` on the GPU: cols (N, C*KH*KW, OH*OW) -> x (N, C, H, W).

    The adjoint of :func:`im2col`: each pixel gets the sum of the column
    entries copied from it.  One thread per pixel (h, w): for each tap
    (i, j), the window that would see it starts at row ``oh = (h + PH -
    i*DH) / SH`` and column ``ow = (w + PW - j*DW) / SW``; the tap
    contributes when both divisions are exact and land inside the OH x OW
    windows.  Gathering like this, instead of adding each column entry onto
    its pixel, keeps every write private to one thread: no atomics.
    """
    import cupy
    cols = cupy.ascontiguousarray(cols)
    H, W = _pair(output_size)
    args, _ = _geometry((H, W), kernel_size, stride, padding, dilation)
    KH, KW = args[2:4]
    N = cols.shape[0]
    x = cupy.empty((N, cols.shape[1] // (KH * KW), H, W), dtype=cols.dtype)
    return _kernels()["col2im"](cols, *args, x)


def max_pool2d_forward(x, kernel_size, stride, padding, dilation, out_size):
    """Mirrors ``MaxPooling.forward`` of ``minidl.functional.pooling``: x (N, C, H, W) -> y, argmax.

    ``y`` (N, C, OH, OW) is the largest value of each window; ``argmax``
    (N, C, OH, OW), int32, is where it was found, as ``h*W + w`` inside its
    (H, W) plane (PyTorch's ``return_indices`` convention).  ``out_size``
    (OH, OW) comes from the caller, as ``ceil_mode`` decides it.  One thread
    per output: it walks its window's taps in row-major order, skipping
    those outside x (which is what padding with -inf achieves), and keeps
    the first maximum, so ties go where the NumPy version sends them.
    """
    import cupy
    x = cupy.ascontiguousarray(x)
    N, C, H, W = x.shape
    args, (OH, OW) = _geometry((H, W), kernel_size, stride, padding, dilation, out_size)
    y = cupy.empty((N, C, OH, OW), dtype=x.dtype)
    argmax = cupy.empty((N, C, OH, OW), dtype=cupy.int32)
    _kernels()["max_pool_forward"](x, *args, y, argmax)
    return y, argmax


def max_pool2d_backward(gy, argmax, input_size, kernel_size, stride, padding, dilation):
    """Mirrors ``MaxPooling.backward``: gy (N, C, OH, OW) and forward's argmax -> gx (N, C, H, W).

    Each window's gradient goes to its maximum alone.  One thread per input
    pixel (h, w): it visits the windows that contain it (found as in
    :func:`col2im`) and adds the gradient of those whose argmax is this
    pixel: a gather, so overlapping windows (3x3 stride 2) need no atomics.
    """
    import cupy
    gy, argmax = cupy.ascontiguousarray(gy), cupy.ascontiguousarray(argmax)
    N, C, OH, OW = gy.shape
    H, W = _pair(input_size)
    args, _ = _geometry((H, W), kernel_size, stride, padding, dilation, (OH, OW))
    gx = cupy.empty((N, C, H, W), dtype=gy.dtype)
    return _kernels()["max_pool_backward"](gy, argmax, *args, gx)
