"""Compiled CPU kernels, for the ops whose NumPy form is many passes over memory.

NumPy runs each vectorized operation as one pass over its arrays, on one
core.  Most ops are a few such passes, or a matrix product that BLAS runs on
every core, and NumPy is as fast as anything there.  Max pooling is not: it
is KH*KW strided passes forward, and four per tap backward.  A kernel
compiled by Numba does the same comparisons in one pass, on every core.
ReLU is one pass in NumPy too, but its backward is two, and both run on one
core: in kernels, a vgg_cifar training step took 9 to 14% less time.
Winograd's transforms (:mod:`minidl.functional.winograd`) are a handful of
additions per number, each a NumPy pass; a kernel does each transform in
one, and pads or crops at the edges as it goes.  The direct convolution
of narrow layers slides each filter over the padded planes, with no
im2col copy and no skinny matrix product.  (Batch normalization kernels
were tried too: no faster in a training step, so they were not kept.)

The kernels are optional.  Without Numba (``pip install minidl[fast]``
brings it), with the environment variable ``MINIDL_KERNELS=0``, or inside
``with kernels.disabled():``, every op takes its NumPy path.  That path is
the readable definition; the kernels are tested equal to it.

Each kernel here works on NumPy arrays of float32 or float64; callers ask
:func:`enabled_for` first and take the NumPy path otherwise (CuPy arrays,
other dtypes, and for max pooling and ReLU arrays under :data:`MIN_SIZE`
numbers).  The one difference in results: a max-pool window holding NaN
sends its gradient to its last NaN, as PyTorch does, where the NumPy path
sends it nowhere.
"""
import contextlib
import functools
import importlib.util
import os
import threading

import numpy as np

# Numba is imported at the first kernel call, not with minidl: its import takes longer than all of
# minidl's and NumPy's together.  Until then these are placeholders (see _numba).
numba, prange = None, range
_installed = importlib.util.find_spec("numba") is not None
_inlined = []           # the helpers compiled into the kernels that call them, by _numba
# the threading layer below runs one parallel kernel at a time: threads take turns
_one_at_a_time = threading.Lock()

__all__ = ["MIN_SIZE", "available", "enabled_for", "disabled", "set_num_threads", "relu", "relu_backward",
           "max_pool2d", "max_pool2d_backward", "winograd_input", "winograd_output",
           "winograd_output_gradient", "winograd_input_gradient", "conv_direct",
           "conv_direct_weight_gradient"]

_enabled = _installed and os.environ.get("MINIDL_KERNELS", "1") != "0"
# Below this many numbers, waking the threads costs more than they save (measured, forward and
# backward: ReLU is slower in a kernel at 262,144 numbers and faster at a million; 2x2 max pooling
# is slower at 100,000 and already faster at 300,000).
MIN_SIZE = 1 << 20


def available():
    """Whether the compiled kernels are installed and switched on."""
    return _enabled


def enabled_for(*arrays, min_size=None):
    """Whether the kernels take these arrays: NumPy float32 or float64 of at least ``min_size``
    numbers (by default :data:`MIN_SIZE`), kernels on."""
    min_size = MIN_SIZE if min_size is None else min_size
    return _enabled and all(type(a) is np.ndarray and a.dtype in (np.float32, np.float64)
                            and a.size >= min_size for a in arrays)


@contextlib.contextmanager
def disabled():
    """Run the NumPy paths inside the block (to compare them with the kernels, or time them)."""
    global _enabled
    before, _enabled = _enabled, False
    try:
        yield
    finally:
        _enabled = before


def set_num_threads(n):
    """Let the kernels run on at most ``n`` threads (by default they take every core)."""
    if _installed:
        with _one_at_a_time:
            nb = _numba()
        nb.set_num_threads(max(1, min(n, nb.config.NUMBA_NUM_THREADS)))


def _numba():
    """Numba, imported and set up on the first call (under ``_one_at_a_time``)."""
    global numba, prange
    if numba is None:
        import numba as nb
        if "NUMBA_THREADING_LAYER" not in os.environ:
            # Numba's own pool, whose threads sleep between kernels.  The OpenMP pool it prefers keeps
            # its threads spinning after each kernel, on the cores BLAS's threads need next (measured
            # on 2 cores, with kernels between matrix products: training steps up to 1.7x slower).
            nb.config.THREADING_LAYER = "workqueue"
        for function in _inlined:
            globals()[function.__name__] = nb.njit(inline="always")(function)
        numba, prange = nb, nb.prange
    return numba


def _jit(function=None, *, fastmath=False):
    """``function`` compiled for every core at its first call, and cached on disk, so that a new
    process does not compile it again; called by one thread at a time.  ``fastmath`` as in
    ``numba.njit``."""
    if function is None:
        return functools.partial(_jit, fastmath=fastmath)
    if not _installed:
        return function
    compiled = None

    @functools.wraps(function)
    def call(*args):
        nonlocal compiled
        with _one_at_a_time:
            if compiled is None:
                compiled = _numba().njit(parallel=True, cache=True, fastmath=fastmath)(function)
            return compiled(*args)
    return call


# --------------------------------------------------------------------------- #
# ReLU
# --------------------------------------------------------------------------- #
def relu(x):
    """y = max(x, 0) (a NaN stays NaN, as with np.maximum), in x's memory order."""
    y = np.empty_like(x)
    _relu(*_flat(x, y))
    return y


def relu_backward(gy, y):
    """gx = gy * (y > 0), in gy's memory order (y in another order: NumPy does it)."""
    if gy.strides != y.strides:
        return gy * (y > 0)
    gx = np.empty_like(gy)
    _relu_backward(*_flat(gy, y, gx))
    return gx


def _flat(*arrays):
    """1-D views of the memory of arrays of one shape and memory order (copies of any that are
    not dense)."""
    order = np.argsort(arrays[-1].strides, kind="stable")[::-1]       # slowest axis first
    return [np.ascontiguousarray(a.transpose(order)).reshape(-1) for a in arrays]


@_jit
def _relu(x, y):
    for i in prange(x.size):
        y[i] = x[i] if not x[i] <= 0 else 0      # `not <=`: a NaN is kept


@_jit
def _relu_backward(gy, y, gx):
    for i in prange(gy.size):
        gx[i] = gy[i] * (1 if y[i] > 0 else 0)      # a product, so NaN * 0 is NaN, as in NumPy


# --------------------------------------------------------------------------- #
# Max pooling
# --------------------------------------------------------------------------- #
def max_pool2d(x, kernel, stride, dilation, out_size, channels_last):
    """y (N, C, OH, OW), the max of each window of x (N, C, H, W) (padded already), and
    ``winner``: for each window, the tap i*KW + j of its first maximum in row-major order.

    As in PyTorch, a NaN is the maximum of its window (the last NaN wins).  With
    ``channels_last`` x and y are (N, H, W, C) in memory.
    """
    N, C = x.shape[:2]
    geometry = (*kernel, *stride, *dilation)
    winner_dtype = np.int8 if kernel[0] * kernel[1] <= 128 else np.int32
    if channels_last:
        y = np.empty((N, *out_size, C), x.dtype)
        winner = np.empty(y.shape, winner_dtype)
        _max_pool_pixels(x.transpose(0, 2, 3, 1), *geometry, y, winner)
        return y.transpose(0, 3, 1, 2), winner.transpose(0, 3, 1, 2)
    y = np.empty((N, C, *out_size), x.dtype)
    winner = np.empty(y.shape, winner_dtype)
    _max_pool_planes(np.ascontiguousarray(x), *geometry, y, winner)
    return y, winner


def max_pool2d_backward(gy, winner, in_size, kernel, stride, dilation, channels_last):
    """gx (N, C, H, W): each window's gradient gy (N, C, OH, OW) added onto its ``winner``."""
    N, C = gy.shape[:2]
    geometry = (kernel[1], *stride, *dilation)
    if channels_last:
        gx = np.zeros((N, *in_size, C), gy.dtype)
        _unpool_pixels(gy.transpose(0, 2, 3, 1), winner.transpose(0, 2, 3, 1), *geometry, gx)
        return gx.transpose(0, 3, 1, 2)
    gx = np.zeros((N, C, *in_size), gy.dtype)
    _unpool_planes(np.ascontiguousarray(gy), np.ascontiguousarray(winner), *geometry, gx)
    return gx


def _inline(function):
    """``function`` compiled into the kernels that call it (once Numba is imported: :func:`_numba`)."""
    _inlined.append(function)
    return function


@_inline
def _larger(v, best, tap, best_tap):
    """(value, tap) of the larger of v and best: ``v > best`` keeps the first maximum, and a NaN
    wins over every number (the last NaN, as in PyTorch).  A select, not a branch, so that the
    loops that call it become vector instructions."""
    better = (v > best) | (v != v)
    return (v if better else best), (tap if better else best_tap)


@_jit
def _max_pool_planes(x, KH, KW, SH, SW, DH, DW, y, winner):
    """x (N, C, H, W): one (n, c) plane per task; tap by tap, a whole row of windows at once."""
    N, C, H, W = x.shape
    _, _, OH, OW = y.shape
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        for oh in range(OH):
            for ow in range(OW):
                y[n, c, oh, ow] = x[n, c, oh * SH, ow * SW]
                winner[n, c, oh, ow] = 0
            for i in range(KH):
                for j in range(KW):
                    for ow in range(OW):
                        y[n, c, oh, ow], winner[n, c, oh, ow] = _larger(
                            x[n, c, oh * SH + i * DH, ow * SW + j * DW], y[n, c, oh, ow], i * KW + j,
                            winner[n, c, oh, ow])


@_jit
def _max_pool_pixels(x, KH, KW, SH, SW, DH, DW, y, winner):
    """x (N, H, W, C): one row of output pixels per task; tap by tap, the channels of a pixel at once."""
    N, H, W, C = x.shape
    _, OH, OW, _ = y.shape
    for row in prange(N * OH):
        n, oh = row // OH, row % OH
        for ow in range(OW):
            y[n, oh, ow, :] = x[n, oh * SH, ow * SW, :]
            winner[n, oh, ow, :] = 0
            for i in range(KH):
                for j in range(KW):
                    for c in range(C):
                        y[n, oh, ow, c], winner[n, oh, ow, c] = _larger(
                            x[n, oh * SH + i * DH, ow * SW + j * DW, c], y[n, oh, ow, c], i * KW + j,
                            winner[n, oh, ow, c])


@_jit
def _unpool_planes(gy, winner, KW, SH, SW, DH, DW, gx):
    """gx (N, C, H, W) of zeros += gy at each winner; one plane per task, so no two write one pixel."""
    N, C, OH, OW = gy.shape
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        for oh in range(OH):
            for ow in range(OW):
                tap = winner[n, c, oh, ow]
                gx[n, c, oh * SH + tap // KW * DH, ow * SW + tap % KW * DW] += gy[n, c, oh, ow]


@_jit
def _unpool_pixels(gy, winner, KW, SH, SW, DH, DW, gx):
    """As :func:`_unpool_planes` for gy (N, OH, OW, C), gx (N, H, W, C); one sample per task
    (overlapping windows of neighbouring rows share pixels)."""
    N, OH, OW, C = gy.shape
    for n in prange(N):
        for oh in range(OH):
            for ow in range(OW):
                for c in range(C):
                    tap = winner[n, oh, ow, c]
                    gx[n, oh * SH + tap // KW * DH, ow * SW + tap % KW * DW, c] += gy[n, oh, ow, c]


# --------------------------------------------------------------------------- #
# Winograd's F(2x2, 3x3) transforms (the formulas: minidl.functional.winograd)
# --------------------------------------------------------------------------- #
# Each is one pass where NumPy makes eight to twenty; the 16 matrix products between them go to
# BLAS.  (Kernels that did a tile's 16 products too, so that no transformed tile went to memory,
# were tried for 16 to 64 channels: at most 20% faster at 16 channels, slower at 64: not kept.)
# Tile (th, tw) covers rows 2th..2th+3 and columns 2tw..2tw+3 of x padded by (top, left); each task
# copies the four rows of one row of tiles into a zero-padded strip first, so that the transforms
# run on whole pixels of C contiguous numbers with no test at the edges.
@_jit
def winograd_input(x, top, left, V):
    """V (16, m, TH, TW, C) = B^T d B of each 4x4 tile d of x (m, H, W, C), zeros around it."""
    m, H, W, C = x.shape
    _, _, TH, TW, _ = V.shape
    for task in prange(m * TH):
        n, th = task // TH, task % TH
        strip = _strip(x, n, 2 * th - top, left, 4, 2 * TW + 2)
        t = np.empty((4, 4, C), x.dtype)                    # B^T d, one tile
        for tw in range(TW):
            w = 2 * tw
            for v in range(4):
                for c in range(C):
                    d0, d1, d2, d3 = (strip[0, w + v, c], strip[1, w + v, c], strip[2, w + v, c],
                                      strip[3, w + v, c])
                    t[0, v, c], t[1, v, c], t[2, v, c], t[3, v, c] = d0 - d2, d1 + d2, d2 - d1, d1 - d3
            for u in range(4):
                for c in range(C):
                    V[4 * u, n, th, tw, c] = t[u, 0, c] - t[u, 2, c]
                    V[4 * u + 1, n, th, tw, c] = t[u, 1, c] + t[u, 2, c]
                    V[4 * u + 2, n, th, tw, c] = t[u, 2, c] - t[u, 1, c]
                    V[4 * u + 3, n, th, tw, c] = t[u, 1, c] - t[u, 3, c]


@_jit
def winograd_output(M, b, y):
    """y (m, OH, OW, F) = A^T M A + b of each tile's M (16, m, TH, TW, F); the blocks of an odd size
    hang over the edge, and only what falls inside is written."""
    m, OH, OW, F = y.shape
    _, _, TH, TW, _ = M.shape
    for task in prange(m * TH):
        n, th = task // TH, task % TH
        s = np.empty((2, 4, F), M.dtype)                    # A^T M, one tile
        for tw in range(TW):
            for v in range(4):
                for f in range(F):
                    m0, m1, m2, m3 = M[v, n, th, tw, f], M[4 + v, n, th, tw, f], M[8 + v, n, th, tw, f], \
                        M[12 + v, n, th, tw, f]
                    s[0, v, f], s[1, v, f] = m0 + m1 + m2, m1 - m2 - m3
            for a in range(min(2, OH - 2 * th)):
                oh = 2 * th + a
                for f in range(F):
                    y[n, oh, 2 * tw, f] = s[a, 0, f] + s[a, 1, f] + s[a, 2, f] + b[f]
                if 2 * tw + 1 < OW:
                    for f in range(F):
                        y[n, oh, 2 * tw + 1, f] = s[a, 1, f] - s[a, 2, f] - s[a, 3, f] + b[f]


@_jit
def winograd_output_gradient(gy, gM):
    """gM (16, m, TH, TW, F) = A gY A^T of each 2x2 block gY of gy (m, OH, OW, F), zeros around it."""
    m, OH, OW, F = gy.shape
    _, _, TH, TW, _ = gM.shape
    for task in prange(m * TH):
        n, th = task // TH, task % TH
        g = _strip(gy, n, 2 * th, 0, 2, 2 * TW)
        for tw in range(TW):
            w = 2 * tw
            for f in range(F):
                g00, g01, g10, g11 = g[0, w, f], g[0, w + 1, f], g[1, w, f], g[1, w + 1, f]
                # A gY: rows g0, g0 + g1, g0 - g1, -g1; then the same on the columns
                _put_row(gM, 0, n, th, tw, f, g00, g01)
                _put_row(gM, 4, n, th, tw, f, g00 + g10, g01 + g11)
                _put_row(gM, 8, n, th, tw, f, g00 - g10, g01 - g11)
                _put_row(gM, 12, n, th, tw, f, -g10, -g11)


@_inline
def _put_row(gM, i, n, th, tw, f, r0, r1):
    """Row (r0, r1) of A gY, times A^T: gM[i..i+3] = r0, r0 + r1, r0 - r1, -r1."""
    gM[i, n, th, tw, f], gM[i + 1, n, th, tw, f] = r0, r0 + r1
    gM[i + 2, n, th, tw, f], gM[i + 3, n, th, tw, f] = r0 - r1, -r1


def winograd_input_gradient(gV, top, left, gx):
    """gx (m, H, W, C) += B gV B^T of each tile's gV (16, m, TH, TW, C), onto the tile's pixels that
    fall inside x.  Rows of tiles next to each other share two rows of pixels, so even rows of
    tiles go first, odd ones second."""
    for phase in range(2):
        _add_tile_gradients(gV, top, left, gx, phase)


@_jit
def _add_tile_gradients(gV, top, left, gx, phase):
    """The rows of tiles th = phase, phase + 2, ...: one per task, so that no two write one pixel."""
    m, H, W, C = gx.shape
    _, _, TH, TW, _ = gV.shape
    rows = (TH - phase + 1) // 2
    for task in prange(m * rows):
        n, th = task // rows, phase + 2 * (task % rows)
        strip = np.zeros((4, 2 * TW + 2, C), gV.dtype)      # the gradient of the row's four rows
        t = np.empty((4, 4, C), gV.dtype)                   # gV B^T, one tile
        for tw in range(TW):
            w = 2 * tw
            for u in range(4):
                for c in range(C):
                    g0, g1, g2, g3 = gV[4 * u, n, th, tw, c], gV[4 * u + 1, n, th, tw, c], \
                        gV[4 * u + 2, n, th, tw, c], gV[4 * u + 3, n, th, tw, c]
                    t[u, 0, c], t[u, 1, c], t[u, 2, c], t[u, 3, c] = g0, g1 - g2 + g3, g1 + g2 - g0, -g3
            for v in range(4):                              # then B (gV B^T); tiles overlap in the strip
                for c in range(C):
                    strip[0, w + v, c] += t[0, v, c]
                    strip[1, w + v, c] += t[1, v, c] - t[2, v, c] + t[3, v, c]
                    strip[2, w + v, c] += t[1, v, c] + t[2, v, c] - t[0, v, c]
                    strip[3, w + v, c] -= t[3, v, c]
        for u in range(4):
            h = 2 * th + u - top
            if 0 <= h < H:
                for p in range(max(0, left), min(2 * TW + 2, left + W)):
                    for c in range(C):
                        gx[n, h, p - left, c] += strip[u, p, c]


@_inline
def _strip(x, n, h0, left, rows, width):
    """Rows h0..h0 + rows - 1 of x[n] (H, W, C), shifted right by ``left`` columns and cut to
    ``width``, zeros where they fall outside x: (rows, width, C)."""
    _, H, W, C = x.shape
    strip = np.zeros((rows, width, C), x.dtype)
    for u in range(rows):
        h = h0 + u
        if 0 <= h < H:
            for p in range(max(0, left), min(width, left + W)):
                for c in range(C):
                    strip[u, p, c] = x[n, h, p - left, c]
    return strip


# --------------------------------------------------------------------------- #
# Direct convolution, stride 1, for few channels
# --------------------------------------------------------------------------- #
# With few channels im2col's product is skinny, (N*OH*OW, KH*KW*C) x (KH*KW*C, F), and BLAS runs it
# at a fraction of its speed; Winograd's transforms then cost more than its products save.  Here
# each filter slides over the padded planes directly.  A plane of width Wp stored row after row
# puts pixel (oh + i, ow + j) at oh*Wp + ow + (i*Wp + j): computed at all Wp columns of its rows
# (the last Wp - OW of each are thrown away), an output plane is the sum over channels and taps of
# shifted runs of the input plane, each times one weight: long contiguous loops that vectorize.
# Measured at batch 128 with 16 channels on 32x32 maps (benchmarks/conv_paths.py), a 3x3 layer's
# forward and backward took 0.64-0.78x the time of Winograd's algorithm, 0.52-0.61x that of im2col.
# Both kernels compute two filters per pass over a run: each number loaded feeds two sums, which
# halves the loads per multiply-add.  Against one filter per pass, in one process on that layer:
# forward 0.68-0.72x the time (156 against 106 GFLOP/s), weight gradient 0.66x; four filters per
# pass were slower than two (more streams than the loads and registers keep up with).
_RUN = 64       # positions per plane are rounded up to a multiple, so that no loop has a scalar tail


def conv_direct(x, W, b, padding, y):
    """y (N, F, OH, OW) = W * x + b for x (N, C, H, W), W (F, C, KH, KW) and b (F,) or None, stride
    1, padding ((top, bottom), (left, right)) of zeros."""
    planes, Wp, run = _padded_planes(x, padding, W.shape[2:], y.shape[2:])
    b = np.zeros(W.shape[0], x.dtype) if b is None else b
    _direct_kernel(*W.shape[2:])(planes, Wp, run, np.ascontiguousarray(W), b, y)


def conv_direct_weight_gradient(x, gy, padding, kernel):
    """gW (F, C, KH, KW) of :func:`conv_direct` for its output gradient gy (N, F, OH, OW)."""
    planes, Wp, run = _padded_planes(x, padding, kernel, gy.shape[2:])
    g = _planes(gy, 0, 0, Wp, run)                   # zero in the columns thrown away
    with _one_at_a_time:
        threads = _numba().get_num_threads()
    parts = np.zeros((threads, gy.shape[1], x.shape[1], *kernel), x.dtype)
    _direct_weight_gradient(planes, Wp, g, x.dtype.type(0), parts)
    return parts.sum(axis=0)


def _padded_planes(x, padding, kernel, out_size):
    """x padded, as planes of rows of width Wp that hold every pixel a run of output positions
    reads; with Wp and the run (rounded up)."""
    (top, _), (left, _) = padding
    (KH, KW), (OH, OW) = kernel, out_size
    Wp = OW + KW - 1
    run = -(-((OH - 1) * Wp + OW) // _RUN) * _RUN
    return _planes(x, top, left, Wp, (KH - 1) * Wp + KW - 1 + run), Wp, run


def _planes(x, top, left, Wp, length):
    """x (N, C, H, W) as planes (N, C, length) of rows of width Wp, shifted by (top, left), zeros
    around and after."""
    planes = np.empty((*x.shape[:2], length), x.dtype)
    _place(x, top, left, Wp, planes)
    return planes


@_jit
def _place(x, top, left, Wp, planes):
    N, C, H, W = x.shape
    for task in prange(N * C):
        n, c = task // C, task % C
        plane = planes[n, c]
        plane[:] = 0
        for h in range(H):
            start = (top + h) * Wp + left
            plane[start:start + W] = x[n, c, h]


@functools.lru_cache(maxsize=None)
def _direct_kernel(KH, KW):
    """The forward kernel for KH x KW filters: compiled for these sizes, so that the taps of a row
    unroll into the loop over positions, which then vectorizes."""
    @_jit(fastmath={"contract"})
    def direct(planes, Wp, run, W, b, y):
        """One task per pair of output planes (n, f) and (n, g = f + 1; the last filter twice when F
        is odd): for each channel and row of taps, a pass over the positions adding KW shifted runs
        to both, each times its weight, so that each number read feeds two sums."""
        N, C, _ = planes.shape
        F, OH, OW = y.shape[1:]
        pairs = (F + 1) // 2
        for task in prange(N * pairs):
            n, f = task // pairs, 2 * (task % pairs)
            g = min(f + 1, F - 1)
            out_f, out_g = np.empty(run, planes.dtype), np.empty(run, planes.dtype)
            out_f[:] = b[f]
            out_g[:] = b[g]
            for c in range(C):
                for i in range(KH):
                    w_f, w_g = W[f, c, i], W[g, c, i]
                    # a slice per row, so that the indices below are never negative (and compile to
                    # plain vector loads)
                    row = planes[n, c, i * Wp:i * Wp + run + KW - 1]
                    for p in range(run):
                        s_f = out_f[p]
                        s_g = out_g[p]
                        for j in range(KW):
                            s_f += w_f[j] * row[p + j]
                            s_g += w_g[j] * row[p + j]
                        out_f[p] = s_f
                        out_g[p] = s_g
            for oh in range(OH):
                y[n, f, oh] = out_f[oh * Wp:oh * Wp + OW]
                y[n, g, oh] = out_g[oh * Wp:oh * Wp + OW]
    return direct


@_jit(fastmath={"contract", "reassoc"})
def _direct_weight_gradient(planes, Wp, g, zero, parts):
    """gW[f, c, i, j] = the sum over samples and positions of g[n, f, p] * planes[n, c, p + i*Wp + j]:
    each thread sums its share of the samples into its own parts[t], two filters f and h = f + 1 at
    a time (the last one alone when F is odd), so that each shifted number read feeds two sums."""
    N, C, _ = planes.shape
    T, F, _, KH, KW = parts.shape
    run = g.shape[2]
    for t in prange(T):
        for n in range(t * N // T, (t + 1) * N // T):
            for f in range(0, F, 2):
                h = min(f + 1, F - 1)
                g_f, g_h = g[n, f], g[n, h]
                for c in range(C):
                    for i in range(KH):
                        for j in range(KW):
                            shifted = planes[n, c, i * Wp + j:i * Wp + j + run]
                            s_f = s_h = zero
                            for p in range(run):
                                s_f += g_f[p] * shifted[p]
                                s_h += g_h[p] * shifted[p]
                            parts[t, f, c, i, j] += s_f
                            if h != f:
                                parts[t, h, c, i, j] += s_h
