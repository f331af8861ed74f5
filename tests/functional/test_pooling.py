"""Pooling: numerical gradients, PyTorch parity, ties, the lecture's examples, output sizes, errors."""
import itertools
import math

import numpy as np
import pytest

import minidl
import minidl.functional as F
from minidl.autograd import OpError
from tests.conftest import make
from tests.functional.torch_ref import check_against_torch

rng = np.random.default_rng(0)


def distinct(shape):
    """Values at least 0.1 apart, so no window has a tie within gradcheck's step."""
    return rng.permutation(math.prod(shape)).reshape(shape) * 0.1 - 1.0


def _switches(i):
    """Two on/off switches for case i that meet each other and i % 2 in all combinations."""
    return (i // 4 + i) % 2, (i // 2 + i) % 2


# (H, W, kernel, stride, padding, dilation, ceil_mode): kernels 1-3, the default stride
# (= kernel) and 2, padding and ceil mode, with dilation 1 and 2 and odd and even sizes in turn
MAX_GRID = [((5, 6), (7, 7))[a] + (K, S, P, 1 + b if K > 1 else 1, ceil)
            for i, (K, S, P, ceil) in enumerate(itertools.product([1, 2, 3], [None, 2], [0, 1],
                                                                  [False, True]))
            for a, b in [_switches(i)] if 2 * P <= K]
# (H, W, kernel, stride, padding, ceil_mode, count_include_pad)
AVG_GRID = [((5, 6), (6, 6))[a] + (K, S, P, ceil, b == 0)
            for i, (K, S, P, ceil) in enumerate(itertools.product([2, 3], [None, 2], [0, 1], [False, True]))
            for a, b in [_switches(i)]]
AVG_GRID += [(6, 5, 3, 1, 1, False, False), (5, 5, 2, 1, 0, True, True)]


def _id(case):
    return "-".join(str(v) for v in case)


@pytest.mark.parametrize("case", MAX_GRID, ids=_id)
def test_max_pool2d_gradcheck(device, case):
    H, W, K, S, P, D, ceil = case
    x = make(distinct((2, 2, H, W)), device, requires_grad=True)
    assert minidl.gradcheck(lambda x: F.max_pool2d(x, K, S, P, D, ceil), [x])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", MAX_GRID, ids=_id)
def test_max_pool2d_matches_torch_with_ties(case, dtype):
    """After ReLU many windows hold equal zeros: each must route its gradient to
    exactly one of them (the first, as PyTorch)."""
    torch = pytest.importorskip("torch")
    H, W, K, S, P, D, ceil = case
    x = np.maximum(rng.standard_normal((3, 4, H, W)), 0)
    check_against_torch(lambda x: F.max_pool2d(x, K, S, P, D, ceil),
                        lambda x: torch.nn.functional.max_pool2d(x, K, S, P, D, ceil), [x], dtype)


@pytest.mark.parametrize("case", AVG_GRID, ids=_id)
def test_avg_pool2d_gradcheck(device, case):
    H, W, K, S, P, ceil, include = case
    x = make(rng.standard_normal((2, 2, H, W)), device, requires_grad=True)
    assert minidl.gradcheck(lambda x: F.avg_pool2d(x, K, S, P, ceil, include), [x])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", AVG_GRID, ids=_id)
def test_avg_pool2d_matches_torch(case, dtype):
    torch = pytest.importorskip("torch")
    H, W, K, S, P, ceil, include = case
    check_against_torch(lambda x: F.avg_pool2d(x, K, S, P, ceil, include),
                        lambda x: torch.nn.functional.avg_pool2d(x, K, S, P, ceil, include),
                        [rng.standard_normal((3, 4, H, W))], dtype)


ADAPTIVE = [((6, 6), (6, 6)), ((13, 13), 6), ((7, 5), (3, 2)), ((5, 9), (4, None)), ((4, 4), 1), ((3, 5), 4)]


@pytest.mark.parametrize("size, out", ADAPTIVE)
def test_adaptive_avg_pool2d_gradcheck(device, size, out):
    x = make(rng.standard_normal((2, 2, *size)), device, requires_grad=True)
    assert minidl.gradcheck(lambda x: F.adaptive_avg_pool2d(x, out), [x])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size, out", ADAPTIVE)
def test_adaptive_avg_pool2d_matches_torch(size, out, dtype):
    torch = pytest.importorskip("torch")
    check_against_torch(lambda x: F.adaptive_avg_pool2d(x, out),
                        lambda x: torch.nn.functional.adaptive_avg_pool2d(x, out),
                        [rng.standard_normal((3, 4, *size))], dtype)


def test_adaptive_avg_pool2d_bins_by_hand():
    """Bins run from floor(i H / OH) to ceil((i + 1) H / OH): for H = 5, OH = 3
    they are rows 0-1, 1-3 and 3-4, overlapping."""
    x = rng.standard_normal((1, 1, 5, 1))
    y = F.adaptive_avg_pool2d(minidl.tensor(x), (3, 1)).numpy()[0, 0, :, 0]
    column = x[0, 0, :, 0]
    np.testing.assert_allclose(y, [column[0:2].mean(), column[1:4].mean(), column[3:5].mean()])


def test_global_avg_pool2d(device):
    x = make(rng.standard_normal((2, 3, 4, 5)), device, requires_grad=True)
    np.testing.assert_allclose(F.global_avg_pool2d(x).numpy(), x.numpy().mean(axis=(2, 3)))
    assert minidl.gradcheck(F.global_avg_pool2d, [x])


MAX_1D = [(7 + i % 2, *case) for i, case in enumerate(itertools.product([2, 3], [None, 1], [0, 1],
                                                                          [False, True]))]


@pytest.mark.parametrize("case", MAX_1D, ids=_id)
def test_max_pool1d_gradcheck(device, case):
    L, K, S, P, ceil = case
    x = make(distinct((2, 3, L)), device, requires_grad=True)
    assert minidl.gradcheck(lambda x: F.max_pool1d(x, K, S, P, ceil), [x])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", MAX_1D, ids=_id)
def test_max_pool1d_matches_torch(case, dtype):
    torch = pytest.importorskip("torch")
    L, K, S, P, ceil = case
    check_against_torch(lambda x: F.max_pool1d(x, K, S, P, ceil),
                        lambda x: torch.nn.functional.max_pool1d(x, K, S, P, ceil_mode=ceil),
                        [np.maximum(rng.standard_normal((2, 3, L)), 0)], dtype)


def test_max_over_time(device):
    """Kim (2014): one number per filter, the largest over the sentence."""
    x = make(distinct((2, 3, 9)), device, requires_grad=True)
    np.testing.assert_allclose(F.max_pool1d(x, 9).numpy()[:, :, 0], x.numpy().max(axis=2))


# --------------------------------------------------------------------------- #
# The lecture's examples and properties
# --------------------------------------------------------------------------- #
def test_lecture_6x6_max_pool_2x2_gives_3x3(device):
    x = rng.standard_normal((6, 6))
    by_hand = np.array([[x[i:i + 2, j:j + 2].max() for j in range(0, 6, 2)] for i in range(0, 6, 2)])
    y = F.max_pool2d(make(x[None, None], device), 2, 2)
    assert y.shape == (1, 1, 3, 3)
    np.testing.assert_array_equal(y.numpy()[0, 0], by_hand)


def test_lecture_maxpool_layer_on_1x2x6x6():
    assert F.max_pool2d(minidl.rand(1, 2, 6, 6), 2, 2).shape == (1, 2, 3, 3)


def test_overlapping_windows_accumulate(device):
    """AlexNet's 3x3 stride-2 pooling: a pixel that wins two windows gets both gradients."""
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0                                 # the maximum of all four windows
    X = make(x + rng.uniform(0, 0.1, x.shape), device, requires_grad=True)
    y = F.max_pool2d(X, 3, 2)
    gy = np.array([[1.0, 2.0], [3.0, 4.0]])
    y.backward(make(gy[None, None], device))
    expected = np.zeros((5, 5))
    expected[2, 2] = gy.sum()
    np.testing.assert_allclose(X.grad.numpy()[0, 0], expected)


@pytest.mark.parametrize("K, S", [(2, 2), (3, 2), (3, 1)])
def test_max_pool_sends_each_gradient_to_one_input(K, S):
    """With ties everywhere (all zeros) the gradient still sums to the upstream gradient."""
    x = minidl.tensor(np.zeros((2, 3, 8, 8)), requires_grad=True)
    y = F.max_pool2d(x, K, S)
    gy = rng.standard_normal(y.shape)
    y.backward(minidl.tensor(gy))
    np.testing.assert_allclose(x.grad.numpy().sum(axis=(2, 3)), gy.sum(axis=(2, 3)))
    assert np.count_nonzero(x.grad.numpy()) <= gy.size


def test_max_pool_pads_with_minus_infinity(device):
    x = make(-1 - rng.uniform(size=(1, 1, 4, 4)), device)      # all negative
    y = F.max_pool2d(x, 3, 1, padding=1)
    assert (y.numpy() < -1).all()


@pytest.mark.torch
@pytest.mark.parametrize("H, K, S, P", [(5, 2, 2, 0), (6, 3, 2, 1), (5, 3, 3, 1), (7, 3, 2, 0), (4, 2, 3, 1),
                                        (13, 3, 2, 0), (224, 3, 2, 1), (6, 1, 4, 0)])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_output_size(H, K, S, P, ceil_mode):
    """(H + 2P - K) / S + 1, rounded down, or up with ceil_mode, but then without a last
    window that would start in the right padding (5x5 input, 3x3 windows, stride 3,
    padding 1: the third window would start at padded row 6 > 5)."""
    rounded = (math.ceil if ceil_mode else math.floor)((H + 2 * P - K) / S) + 1
    if ceil_mode and (rounded - 1) * S >= H + P:
        rounded -= 1
    y = F.max_pool2d(minidl.rand(1, 1, H, H), K, S, P, ceil_mode=ceil_mode)
    assert y.shape[2:] == (rounded, rounded)
    torch = pytest.importorskip("torch")
    assert y.shape == tuple(torch.nn.functional.max_pool2d(torch.rand(1, 1, H, H), K, S, P,
                                                           ceil_mode=ceil_mode).shape)


def test_pooling_keeps_layout_and_dtype_of_channels_last_input():
    """Pooling a channels-last array (as conv2d may return) gives the same numbers."""
    x = rng.standard_normal((2, 6, 8, 8)).astype(np.float32)
    nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    for fn in (lambda t: F.max_pool2d(t, 3, 2, 1), lambda t: F.avg_pool2d(t, 2)):
        a, b = minidl.tensor(x, requires_grad=True), minidl.tensor(nhwc, requires_grad=True)
        ya, yb = fn(a), fn(b)
        assert yb.dtype == np.float32
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
        ya.sum().backward()
        yb.sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("fn, shape, message", [
    (lambda x: F.max_pool2d(x, 2), (3, 8, 8), r"max_pool2d: expected a 4-D input \(N, C, H, W\), got shape"),
    (lambda x: F.max_pool2d(x, 3, padding=2), (1, 1, 8, 8), "max_pool2d: padding .* at most half the kernel"),
    (lambda x: F.max_pool2d(x, 5), (1, 1, 4, 4), "max_pool2d: kernel 5x5 is larger than the padded"),
    (lambda x: F.max_pool2d(x, 2, padding=-1), (1, 1, 4, 4), "max_pool2d: padding must be at least 0"),
    (lambda x: F.max_pool2d(x, 2, stride=0), (1, 1, 4, 4), "max_pool2d: stride must be at least 1"),
    (lambda x: F.max_pool2d(x, (2, 2, 2)), (1, 1, 4, 4), "kernel_size must be an int or a tuple of 2 ints"),
    (lambda x: F.avg_pool2d(x, 3, padding=2), (1, 1, 8, 8), "avg_pool2d: padding .* at most half"),
    (lambda x: F.avg_pool2d(x, 3), (1, 1, 2, 2), "avg_pool2d: kernel 3x3 is larger"),
    (lambda x: F.max_pool1d(x, 2), (1, 8), r"max_pool1d: expected a 3-D input \(N, C, L\)"),
    (lambda x: F.max_pool1d(x, 9), (1, 1, 8), "max_pool1d: kernel 1x9 is larger than the padded input 1x8"),
    (lambda x: F.max_pool1d(x, (2, 2)), (1, 1, 8), "max_pool1d: kernel_size, stride and padding must"),
    (lambda x: F.adaptive_avg_pool2d(x, 0), (1, 1, 4, 4), "adaptive_avg_pool2d: output_size must be pos"),
    (lambda x: F.adaptive_avg_pool2d(x, (1, 2, 3)), (1, 1, 4, 4), "output_size must be an int or a pair"),
    (lambda x: F.global_avg_pool2d(x), (4, 4), "global_avg_pool2d: expected a 4-D input"),
])
def test_pooling_errors(fn, shape, message):
    with pytest.raises(OpError, match=message):
        fn(minidl.rand(*shape))
