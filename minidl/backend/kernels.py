"""Compiled CPU kernels, for the ops whose NumPy form is many passes over memory.

NumPy runs each vectorized operation as one pass over its arrays, on one
core.  Most ops are a few such passes, or a matrix product that BLAS runs on
every core, and NumPy is as fast as anything there.  Max pooling is not: it
is KH*KW strided passes forward, and four per tap backward.  A kernel
compiled by Numba does the same comparisons in one pass, on every core.
ReLU is one pass in NumPy too, but its backward is two, and both run on one
core: in kernels, a vgg_cifar training step took 9 to 14% less time.
(Batch normalization kernels were tried too: no faster in a training step,
so they were not kept.)

The kernels are optional.  Without Numba (``pip install minidl[fast]``
brings it), with the environment variable ``MINIDL_KERNELS=0``, or inside
``with kernels.disabled():``, every op takes its NumPy path.  That path is
the readable definition; the kernels are tested equal to it.

Each kernel here works on NumPy arrays of float32 or float64 of at least
:data:`MIN_SIZE` numbers; callers ask :func:`enabled_for` first and take the
NumPy path otherwise (CuPy arrays, other dtypes, small arrays).  The one
difference in results: a max-pool window holding NaN sends its gradient to
its last NaN, as PyTorch does, where the NumPy path sends it nowhere.
"""
import contextlib
import functools
import os
import threading

import numpy as np

try:
    import numba
    from numba import prange
except ImportError:     # the NumPy paths run instead
    numba, prange = None, range

if numba is not None and "NUMBA_THREADING_LAYER" not in os.environ:
    # Numba's own pool, whose threads sleep between kernels.  The OpenMP pool it prefers keeps its
    # threads spinning after each kernel, on the cores BLAS's threads need next (measured on 2
    # cores, with kernels between matrix products: training steps up to 1.7x slower).
    numba.config.THREADING_LAYER = "workqueue"
# that pool runs one parallel kernel at a time: threads take turns
_one_at_a_time = threading.Lock()

__all__ = ["MIN_SIZE", "available", "enabled_for", "disabled", "set_num_threads", "relu", "relu_backward",
           "max_pool2d", "max_pool2d_backward"]

_enabled = numba is not None and os.environ.get("MINIDL_KERNELS", "1") != "0"
# Below this many numbers, waking the threads costs more than they save (measured, forward and
# backward: ReLU is slower in a kernel at 262,144 numbers and faster at a million; 2x2 max pooling
# is slower at 100,000 and already faster at 300,000).
MIN_SIZE = 1 << 20


def available():
    """Whether the compiled kernels are installed and switched on."""
    return _enabled


def enabled_for(*arrays):
    """Whether the kernels take these arrays: NumPy float32 or float64 of at least :data:`MIN_SIZE`
    numbers, kernels on."""
    return _enabled and all(type(a) is np.ndarray and a.dtype in (np.float32, np.float64)
                            and a.size >= MIN_SIZE for a in arrays)


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
    if numba is not None:
        numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))


def _jit(function):
    """``function`` compiled for every core, and cached on disk, so that a new process does not
    compile it again; called by one thread at a time."""
    if numba is None:
        return function
    compiled = numba.njit(parallel=True, cache=True)(function)

    @functools.wraps(function)
    def call(*args):
        with _one_at_a_time:
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
    """``function`` compiled into the kernels that call it."""
    return numba.njit(inline="always")(function) if numba is not None else function


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
