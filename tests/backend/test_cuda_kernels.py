"""The CUDA window kernels against the NumPy ops they mirror.

Each test runs twice: on CuPy and a GPU (``cuda``, skipped without one), and
on ``host``, where the same kernel source is compiled as C++ for the CPU by
``tests/host_cuda.py`` (skipped without a C++ compiler), so the kernels'
indexing is checked on every machine.
"""
import sys

import numpy as np
import pytest

import minidl
import minidl.functional as F
from minidl import backend
from minidl.backend import cuda_kernels
from minidl.functional.pooling import _pool_geometry
from tests import host_cuda


@pytest.fixture(params=["host", pytest.param("cuda", marks=pytest.mark.gpu)])
def to_kernel_device(request, monkeypatch):
    """Where the kernels run: a function that moves a NumPy array there."""
    cuda_kernels._kernels.cache_clear()
    request.addfinalizer(cuda_kernels._kernels.cache_clear)
    if request.param == "cuda":
        return lambda array: backend.to_device(array, "cuda")
    if not host_cuda.available():
        pytest.skip("no C++ compiler (g++) to build the kernels for the host")
    monkeypatch.setitem(sys.modules, "cupy", host_cuda.cupy)
    return lambda array: array


# (shape, kernel_size, stride, padding, dilation): square and rectangular, strided, dilated, 1x1
CONV_GEOMETRIES = [
    ((2, 3, 7, 9), 3, 1, 1, 1),
    ((2, 3, 8, 8), (2, 3), (2, 1), (1, 0), (1, 2)),
    ((1, 2, 11, 10), 5, 3, 2, 2),
    ((2, 4, 6, 6), 1, 1, 0, 1),
    ((3, 6, 12, 12), 3, 2, 1, 1),
]
# (shape, kernel_size, stride, padding, dilation, ceil_mode)
POOL_GEOMETRIES = [
    ((2, 3, 8, 8), 2, 2, 0, 1, False),
    ((2, 3, 9, 9), 3, 2, 1, 1, False),          # overlapping windows, as AlexNet's
    ((2, 2, 10, 7), 3, 2, 1, 1, True),
    ((1, 2, 9, 9), 3, 1, 1, 2, False),
    ((1, 2, 7, 7), (2, 3), (1, 2), (1, 1), 1, True),
]


@pytest.mark.parametrize("shape, kernel_size, stride, padding, dilation", CONV_GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_and_col2im_match_numpy(shape, kernel_size, stride, padding, dilation, dtype,
                                       to_kernel_device):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    cols = F.im2col(x, kernel_size, stride, padding, dilation)
    got = cuda_kernels.im2col(to_kernel_device(x), kernel_size, stride, padding, dilation)
    assert got.dtype == dtype
    np.testing.assert_array_equal(backend.to_numpy(got), cols)
    image = F.col2im(cols, shape[2:], kernel_size, stride, padding, dilation)
    got = cuda_kernels.col2im(to_kernel_device(cols), shape[2:], kernel_size, stride, padding, dilation)
    np.testing.assert_allclose(backend.to_numpy(got), image, rtol=1e-6, atol=1e-6)


def test_im2col_with_uneven_padding_matches_the_padded_input(to_kernel_device):
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 7)).astype(np.float32)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 0), (0, 2)))
    got = cuda_kernels.im2col(to_kernel_device(x), 3, 1, ((1, 0), (0, 2)))
    np.testing.assert_array_equal(backend.to_numpy(got), F.im2col(padded, 3))


def _pool_both_ways(to_kernel_device, x, gy_seed, kernel_size, stride, padding, dilation, ceil_mode):
    """NumPy's max_pool2d output and input gradient, and the kernels' (y, argmax, gx)."""
    xt = minidl.Tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, kernel_size, stride, padding, dilation, ceil_mode)
    gy = np.random.default_rng(gy_seed).standard_normal(y.shape).astype(x.dtype)
    y.backward(gy)
    kernel, stride, padding, dilation, out = _pool_geometry("max_pool2d", x, kernel_size, stride, padding,
                                                            dilation, ceil_mode)
    y_gpu, argmax = cuda_kernels.max_pool2d_forward(to_kernel_device(x), kernel, stride, padding, dilation,
                                                    out)
    gx_gpu = cuda_kernels.max_pool2d_backward(to_kernel_device(gy), argmax, x.shape[2:], kernel, stride,
                                              padding, dilation)
    return (y.numpy(), xt.grad.numpy()), tuple(backend.to_numpy(a) for a in (y_gpu, argmax, gx_gpu))


@pytest.mark.parametrize("shape, kernel_size, stride, padding, dilation, ceil_mode", POOL_GEOMETRIES)
def test_max_pool_forward_and_backward_match_numpy(shape, kernel_size, stride, padding, dilation, ceil_mode,
                                                   to_kernel_device):
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    (y, gx), (y_gpu, argmax, gx_gpu) = _pool_both_ways(to_kernel_device, x, 3, kernel_size, stride, padding,
                                                       dilation, ceil_mode)
    np.testing.assert_array_equal(y_gpu, y)
    # argmax points at the pixel holding each window's maximum, as h*W + w inside its plane
    planes = x.reshape(*shape[:2], -1)
    picked = np.take_along_axis(planes, argmax.reshape(*shape[:2], -1).astype(np.int64), axis=2)
    np.testing.assert_array_equal(picked.reshape(y.shape), y)
    np.testing.assert_allclose(gx_gpu, gx, rtol=1e-6, atol=1e-6)


def test_max_pool_ties_send_the_gradient_to_the_first_maximum(to_kernel_device):
    # after a ReLU, windows of equal zeros are common: one of them, not all, gets the gradient
    x = np.zeros((1, 1, 4, 4), dtype=np.float32)
    x[0, 0, 3, 3] = 1.0
    (y, gx), (y_gpu, argmax, gx_gpu) = _pool_both_ways(to_kernel_device, x, 4, 2, 2, 0, 1, False)
    np.testing.assert_array_equal(argmax[0, 0], [[0, 2], [8, 15]])
    np.testing.assert_array_equal(gx_gpu, gx)
