"""The compiled CPU kernels: equal to the NumPy paths they replace, on every geometry and layout.

The rest of the suite (gradcheck, PyTorch parity with ties) runs them too
whenever Numba is installed; here each kernel meets the NumPy path directly.
"""
import contextlib
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

import minidl
import minidl.functional as F
from minidl.backend import kernels

pytestmark = pytest.mark.skipif(not kernels.available(),
                                reason="Numba is not installed (pip install minidl[fast])")

rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def kernels_for_every_size(monkeypatch):
    """The small arrays here take the kernels too (ops give arrays below MIN_SIZE to NumPy)."""
    monkeypatch.setattr(kernels, "MIN_SIZE", 0)

# (H, W, kernel, stride, padding, dilation, ceil_mode): tiling, overlapping (3x3/2), padded,
# dilated, ceil-mode and one-pixel windows, rectangular kernels, odd and even sizes
POOL_CASES = [(H, W, K, S, P, D, ceil)
              for (H, W), K, S, P, D, ceil in itertools.product([(8, 8), (9, 7)], [1, 2, 3, (2, 3)],
                                                                [1, 2, 3], [0, 1], [1, 2], [False, True])
              if 2 * P <= min(np.broadcast_to(K, 2)) and (D == 1 or K != 1)]


def _pool_both_ways(x, *args):
    """y and gx of max_pool2d, by the kernels and by the NumPy path, for one random gy of small
    integers (whose sums, where windows overlap, are exact in any order)."""
    results = []
    for off in (False, True):
        t = minidl.Tensor(x, requires_grad=True)      # x itself, in its memory order
        with kernels.disabled() if off else contextlib.nullcontext():
            y = F.max_pool2d(t, *args)
            gy = np.random.default_rng(1).integers(-4, 5, y.shape).astype(x.dtype)
            y.backward(minidl.tensor(gy))
        results.append((y.numpy(), t.grad.numpy()))
    return results


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: "-".join(map(str, c)))
def test_max_pool_kernel_equals_numpy_path(case, channels_last):
    """Same maxima, and each gradient on the same pixel: ties (ReLU's zeros, a coarse grid of
    values) go to the first maximum in row-major order by both."""
    H, W, K, S, P, D, ceil = case
    x = np.maximum(np.round(rng.standard_normal((2, 3, H, W)) * 2) / 2, 0).astype(np.float32)
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    (y, gx), (y_ref, gx_ref) = _pool_both_ways(x, K, S, P, D, ceil)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(gx, gx_ref)
    assert (y.strides[1] < y.strides[3]) == channels_last, "y keeps x's memory order"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_kernel_with_infinities(dtype):
    x = rng.standard_normal((2, 4, 7, 7)).astype(dtype)
    x[0, 0, :3, :3] = -np.inf          # a window of -inf only: its first tap wins
    x[1, 2, 4, 4] = np.inf
    (y, gx), (y_ref, gx_ref) = _pool_both_ways(x, 3, 2, 1)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(gx, gx_ref)


def test_max_pool_kernel_sends_a_nan_windows_gradient_to_its_last_nan():
    """A NaN is the maximum of its window; its gradient goes to the last NaN (as in PyTorch)."""
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan
    t = minidl.tensor(x, requires_grad=True)
    y = F.max_pool2d(t, 2)
    y.sum().backward()
    assert np.isnan(y.numpy()[0, 0, 0, 0]) and y.numpy()[0, 0, 1, 1] == 15
    expected = np.zeros((4, 4), np.float32)
    expected[1, 0] = expected[1, 3] = expected[3, 1] = expected[3, 3] = 1
    np.testing.assert_array_equal(t.grad.numpy()[0, 0], expected)


def test_disabled_restores_the_kernels(monkeypatch):
    with kernels.disabled():
        assert not kernels.enabled_for(np.zeros(2, np.float32))
    assert kernels.enabled_for(np.zeros(2, np.float32))
    assert not kernels.enabled_for(np.zeros(2, np.float16)), "float16 takes the NumPy path"
    monkeypatch.setattr(kernels, "MIN_SIZE", 3)
    assert not kernels.enabled_for(np.zeros(2, np.float32)), "small arrays take the NumPy path"


def test_environment_variable_switches_the_kernels_off():
    code = "from minidl.backend import kernels; print(kernels.available())"
    env = dict(os.environ, MINIDL_KERNELS="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_relu_kernel_equals_numpy_path():
    """Same y and gx, NaN, zeros of both signs and channels-last input included."""
    x = rng.standard_normal((4, 6, 5, 7)).astype(np.float32)
    x[0, 0, 0, :3] = [np.nan, 0.0, -0.0]
    gy = rng.standard_normal(x.shape).astype(np.float32)
    channels_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    for a in (x, channels_last):
        results = []
        for off in (False, True):
            t = minidl.Tensor(a, requires_grad=True)
            with kernels.disabled() if off else contextlib.nullcontext():
                y = F.relu(t)
                y.backward(minidl.tensor(gy))
            results.append((y.numpy(), t.grad.numpy(), y.data.strides))
        (y, gx, strides), (y_ref, gx_ref, _) = results
        np.testing.assert_array_equal(y, y_ref)
        np.testing.assert_array_equal(gx, gx_ref)
        assert strides == a.strides, "y keeps x's memory order"
    y = np.array([1.0, 0.0, -1.0, np.nan], np.float32)
    gy = np.array([np.nan, np.nan, np.inf, 1.0], np.float32)
    with np.errstate(invalid="ignore"):         # NaN and inf times 0 are NaN, in both
        np.testing.assert_array_equal(kernels.relu_backward(gy, y), gy * (y > 0))
