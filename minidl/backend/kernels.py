"""Compiled CPU kernels, for the ops whose NumPy form is many passes over memory.

NumPy runs each vectorized operation as one pass over its arrays, on one
core.  Most ops are a few such passes, or a matrix product that BLAS runs on
every core, and NumPy is as fast as anything there.  Max pooling is not: it
is KH*KW strided passes forward, and four per tap backward.  A kernel
compiled by Numba does the same comparisons in one pass, on every core.

The kernels are optional.  Without Numba (``pip install minidl[fast]``
brings it), with the environment variable ``MINIDL_KERNELS=0``, or inside
``with kernels.disabled():``, every op takes its NumPy path.  That path is
the readable definition; the kernels are tested equal to it.

Each kernel here works on NumPy arrays of float32 or float64; callers ask
:func:`enabled_for` first and take the NumPy path otherwise (CuPy arrays,
other dtypes).
"""
import contextlib
import os

import numpy as np

try:
    import numba
    from numba import prange
except ImportError:     # the NumPy paths run instead
    numba, prange = None, range

__all__ = ["available", "enabled_for", "disabled", "set_num_threads", "max_pool2d", "max_pool2d_backward"]

_enabled = numba is not None and os.environ.get("MINIDL_KERNELS", "1") != "0"


def available():
    """Whether the compiled kernels are installed and switched on."""
    return _enabled


def enabled_for(*arrays):
    """Whether the kernels take these arrays: NumPy float32 or float64, kernels on."""
    return _enabled and all(type(a) is np.ndarray and a.dtype in (np.float32, np.float64) for a in arrays)


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
    """Compiled for every core, cached on disk so a new process does not compile again."""
    return numba.njit(parallel=True, cache=True)(function) if numba is not None else function


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


# `v > best` keeps the first maximum; `or v != v` lets a NaN win over all (and the last NaN win)


@_jit
def _max_pool_planes(x, KH, KW, SH, SW, DH, DW, y, winner):
    """x (N, C, H, W): one (n, c) plane per task, its windows one by one."""
    N, C, H, W = x.shape
    _, _, OH, OW = y.shape
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        for oh in range(OH):
            for ow in range(OW):
                best, tap = x[n, c, oh * SH, ow * SW], 0
                for i in range(KH):
                    for j in range(KW):
                        v = x[n, c, oh * SH + i * DH, ow * SW + j * DW]
                        if v > best or v != v:
                            best, tap = v, i * KW + j
                y[n, c, oh, ow] = best
                winner[n, c, oh, ow] = tap


@_jit
def _max_pool_pixels(x, KH, KW, SH, SW, DH, DW, y, winner):
    """x (N, H, W, C): one row of output pixels per task, the channels of a pixel side by side."""
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
                        v = x[n, oh * SH + i * DH, ow * SW + j * DW, c]
                        if v > y[n, oh, ow, c] or v != v:
                            y[n, oh, ow, c] = v
                            winner[n, oh, ow, c] = i * KW + j


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
