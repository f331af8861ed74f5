"""The CUDA window kernels against the NumPy ops they mirror (needs CuPy and a GPU; skipped otherwise)."""
import numpy as np
import pytest

import minidl
import minidl.functional as F
from minidl import backend
from minidl.backend import cuda_kernels
from minidl.functional.pooling import _pool_geometry

pytestmark = pytest.mark.gpu

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


def _gpu(array):
    return backend.to_device(array, "cuda")


@pytest.mark.parametrize("shape, kernel_size, stride, padding, dilation", CONV_GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_and_col2im_match_numpy(shape, kernel_size, stride, padding, dilation, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    cols = F.im2col(x, kernel_size, stride, padding, dilation)
    got = cuda_kernels.im2col(_gpu(x), kernel_size, stride, padding, dilation)
    assert got.dtype == dtype
    np.testing.assert_array_equal(backend.to_numpy(got), cols)
    image = F.col2im(cols, shape[2:], kernel_size, stride, padding, dilation)
    got = cuda_kernels.col2im(_gpu(cols), shape[2:], kernel_size, stride, padding, dilation)
    np.testing.assert_allclose(backend.to_numpy(got), image, rtol=1e-6, atol=1e-6)


def test_im2col_with_uneven_padding_matches_the_padded_input():
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 7)).astype(np.float32)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 0), (0, 2)))
    got = cuda_kernels.im2col(_gpu(x), 3, 1, ((1, 0), (0, 2)))
    np.testing.assert_array_equal(backend.to_numpy(got), F.im2col(padded, 3))


def _pool_both_ways(x, gy_seed, kernel_size, stride, padding, dilation, ceil_mode):
    """NumPy's max_pool2d output and input gradient, and the kernels' (y, argmax, gx)."""
    xt = minidl.Tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, kernel_size, stride, padding, dilation, ceil_mode)
    gy = np.random.default_rng(gy_seed).standard_normal(y.shape).astype(x.dtype)
    y.backward(gy)
    kernel, stride, padding, dilation, out = _pool_geometry("max_pool2d", x, kernel_size, stride, padding,
                                                            dilation, ceil_mode)
    y_gpu, argmax = cuda_kernels.max_pool2d_forward(_gpu(x), kernel, stride, padding, dilation, out)
    gx_gpu = cuda_kernels.max_pool2d_backward(_gpu(gy), argmax, x.shape[2:], kernel, stride, padding,
                                              dilation)
    return (y.numpy(), xt.grad.numpy()), tuple(backend.to_numpy(a) for a in (y_gpu, argmax, gx_gpu))


@pytest.mark.parametrize("shape, kernel_size, stride, padding, dilation, ceil_mode", POOL_GEOMETRIES)
def test_max_pool_forward_and_backward_match_numpy(shape, kernel_size, stride, padding, dilation, ceil_mode):
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    (y, gx), (y_gpu, argmax, gx_gpu) = _pool_both_ways(x, 3, kernel_size, stride, padding, dilation,
                                                       ceil_mode)
    np.testing.assert_array_equal(y_gpu, y)
    # argmax points at the pixel holding each window's maximum, as h*W + w inside its plane
    planes = x.reshape(*shape[:2], -1)
    picked = np.take_along_axis(planes, argmax.reshape(*shape[:2], -1).astype(np.int64), axis=2)
    np.testing.assert_array_equal(picked.reshape(y.shape), y)
    np.testing.assert_allclose(gx_gpu, gx, rtol=1e-6, atol=1e-6)


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    # after a ReLU, windows of equal zeros are common: one of them, not all, gets the gradient
    x = np.zeros((1, 1, 4, 4), dtype=np.float32)
    x[0, 0, 3, 3] = 1.0
    (y, gx), (y_gpu, argmax, gx_gpu) = _pool_both_ways(x, 4, 2, 2, 0, 1, False)
    np.testing.assert_array_equal(argmax[0, 0], [[0, 2], [8, 15]])
    np.testing.assert_array_equal(gx_gpu, gx)
