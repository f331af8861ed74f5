"""Convolution: numerical gradients, PyTorch parity, the lecture's examples, im2col/col2im, errors."""
import contextlib
import itertools

import numpy as np
import pytest

import minidl
import minidl.functional as F
from minidl.autograd import OpError
from minidl.backend import kernels
from minidl.functional import conv_tuned
from minidl.functional._windows import is_channels_last
from tests.conftest import make
from tests.functional.torch_ref import assert_close, check_against_torch

rng = np.random.default_rng(0)


def _grid():
    """(N, C, H, W, F, K, stride, padding, dilation, groups): every stride, padding and
    grouping, with dilation 1 and 2 and odd and even sizes in turn, plus kernels 1, 5 and 11."""
    cases = []
    for k, (stride, padding, groups) in enumerate(
            itertools.product([1, 2], [0, 1, "same"], ["full", "grouped", "depthwise"])):
        if padding == "same" and stride != 1:
            continue
        C, F_, G = {"full": (2, 3, 1), "grouped": (4, 2, 2), "depthwise": (3, 3, 3)}[groups]
        H, W = (6, 5) if k % 2 else (5, 6)
        cases.append((2, C, H, W, F_, 3, stride, padding, 1 + len(cases) % 2, G))
    cases += [(2, 3, 4, 5, 4, 1, 1, 0, 1, 1),       # 1x1: a plain matrix product
              (2, 4, 5, 4, 2, 1, 2, 0, 1, 2),       # strided grouped 1x1
              (1, 2, 6, 7, 2, 5, 1, 2, 1, 1),       # LeNet's 5x5 with padding 2
              (1, 1, 12, 11, 2, 11, 4, 1, 1, 1)]    # AlexNet's 11x11 stride 4
    return cases


GRID = _grid()
LAYOUTS = ["channels_first", "channels_last"]


def _case_id(case):
    N, C, H, W, F_, K, S, P, D, G = case
    return f"{C}x{H}x{W}-{F_}f-k{K}-s{S}-p{P}-d{D}-g{G}"


def _inputs(case, dtype=np.float64):
    N, C, H, W, F_, K, S, P, D, G = case
    return (rng.standard_normal((N, C, H, W)).astype(dtype),
            rng.standard_normal((F_, C // G, K, K)).astype(dtype),
            rng.standard_normal(F_).astype(dtype))


def _force_layout(monkeypatch, layout):
    """Run in one memory layout, forced, with a column buffer of a few hundred bytes,
    so that the batch is split into chunks."""
    monkeypatch.setattr(conv_tuned, "_channels_last", lambda channels, width: layout == "channels_last")
    monkeypatch.setattr(conv_tuned, "COLUMN_BUFFER_BYTES", 256)


@pytest.fixture(params=LAYOUTS)
def layout(request, monkeypatch):
    _force_layout(monkeypatch, request.param)
    return request.param


# gradcheck is slow (two forward passes per input element): each case runs in one
# layout, alternating; the PyTorch comparisons below run every case in both
@pytest.mark.parametrize("case, case_layout", [(c, LAYOUTS[i % 2]) for i, c in enumerate(GRID)],
                         ids=[f"{_case_id(c)}-{LAYOUTS[i % 2]}" for i, c in enumerate(GRID)])
def test_conv2d_gradcheck(device, monkeypatch, case, case_layout):
    _force_layout(monkeypatch, case_layout)
    N, C, H, W, F_, K, S, P, D, G = case
    x, w, b = (make(a, device, requires_grad=True) for a in _inputs(case))
    assert minidl.gradcheck(lambda x, w, b: F.conv2d(x, w, b, S, P, D, G), [x, w, b])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", GRID, ids=_case_id)
def test_conv2d_matches_torch(layout, case, dtype):
    torch = pytest.importorskip("torch")
    N, C, H, W, F_, K, S, P, D, G = case
    check_against_torch(lambda x, w, b: F.conv2d(x, w, b, S, P, D, G),
                        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, S, P, D, G),
                        _inputs(case), dtype)


@pytest.mark.torch
@pytest.mark.parametrize("case", [(8, 16, 9, 9, 8, 3, 1, 1, 1, 1), (8, 3, 16, 16, 8, 3, 2, 1, 1, 1),
                                  (4, 16, 8, 8, 16, 3, 1, 1, 1, 16), (8, 32, 4, 4, 16, 1, 1, 0, 1, 1),
                                  (4, 64, 9, 9, 8, 3, 1, 1, 1, 1)],       # Winograd, odd size
                         ids=_case_id)
def test_conv2d_matches_torch_larger_float32(case):
    """Sizes where the layout and chunk size are chosen as in real use."""
    torch = pytest.importorskip("torch")
    N, C, H, W, F_, K, S, P, D, G = case
    check_against_torch(lambda x, w, b: F.conv2d(x, w, b, S, P, D, G),
                        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, S, P, D, G),
                        _inputs(case), np.float32)


@pytest.mark.parametrize("C, F_", [(3, 4), (4, 2)])    # gx by col2im, and as a convolution of gy
def test_conv2d_without_bias_and_gradients_only_where_needed(device, C, F_):
    x, w, _ = _inputs((2, C, 5, 5, F_, 3, 1, 1, 1, 1))
    # a frozen input (the first layer) gets no gradient; the weight's is still right
    X, Wt = make(x, device), make(w, device, requires_grad=True)
    assert minidl.gradcheck(lambda w: F.conv2d(X, w, padding=1), [Wt])
    X, Wt = make(x, device, requires_grad=True), make(w, device)
    assert minidl.gradcheck(lambda x: F.conv2d(x, Wt, padding=1), [X])
    y = F.conv2d(X, Wt, padding=1)
    y.sum().backward()
    assert X.grad is not None and Wt.grad is None


@pytest.mark.torch
def test_conv_chain_keeps_layouts_consistent():
    """A channels-last output feeds pooling and another convolution as any array would."""
    torch = pytest.importorskip("torch")
    x, w1, b1 = _inputs((4, 3, 12, 12, 16, 3, 1, 1, 1, 1), np.float32)
    w2 = rng.standard_normal((8, 16, 3, 3)).astype(np.float32)
    ours = lambda x, w1, b1, w2: F.conv2d(F.max_pool2d(F.conv2d(x, w1, b1, padding=1), 2), w2, padding=1)
    tf = torch.nn.functional
    theirs = lambda x, w1, b1, w2: tf.conv2d(tf.max_pool2d(tf.conv2d(x, w1, b1, padding=1), 2), w2, padding=1)
    check_against_torch(ours, theirs, [x, w1, b1, w2], np.float32)


def test_output_keeps_float32():
    x, w, b = (minidl.tensor(a, requires_grad=True) for a in _inputs((2, 3, 6, 6, 4, 3, 1, 1, 1, 1),
                                                                      np.float32))
    y = F.conv2d(x, w, b, padding=1)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


# --------------------------------------------------------------------------- #
# The reference and the tuned engine
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("case", GRID, ids=_case_id)
def test_tuned_engine_equals_the_reference(layout, case):
    """Same outputs and gradients, on every geometry, in both layouts, chunked."""
    N, C, H, W, F_, K, S, P, D, G = case
    arrays, results = _inputs(case), {}
    for impl in ("reference", "tuned"):
        x, w, b = (minidl.tensor(a, requires_grad=True) for a in arrays)
        y = F.conv2d(x, w, b, S, P, D, G, impl=impl)
        y.backward(np.cos(np.arange(y.numel(), dtype=np.float64)).reshape(y.shape))
        results[impl] = [t.numpy() for t in (y, x.grad, w.grad, b.grad)]
    for ref, tuned in zip(results["reference"], results["tuned"]):
        np.testing.assert_allclose(tuned, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", GRID[::3], ids=_case_id)
def test_reference_gradcheck(device, case):
    N, C, H, W, F_, K, S, P, D, G = case
    x, w, b = (make(a, device, requires_grad=True) for a in _inputs(case))
    assert minidl.gradcheck(lambda x, w, b: F.conv2d(x, w, b, S, P, D, G, impl="reference"), [x, w, b])


def _engine_of_last_call(x, w):
    return type(F.conv2d(x, w).creator).__module__


def test_conv_impl_chooses_the_engine_for_a_block_and_restores_it():
    x, w = minidl.rand(1, 2, 5, 5, requires_grad=True), minidl.rand(3, 2, 3, 3)
    assert _engine_of_last_call(x, w) == "minidl.functional.conv_tuned"
    with F.conv_impl("reference"):
        assert _engine_of_last_call(x, w) == "minidl.functional.conv"
        assert type(F.conv2d(x, w, impl="tuned").creator).__module__ == "minidl.functional.conv_tuned"
        y = minidl.nn.Conv1d(2, 3, 3)(minidl.rand(1, 2, 7, requires_grad=True))
        assert "functional.conv" in type(y.creator.inputs[0].creator).__module__
    assert _engine_of_last_call(x, w) == "minidl.functional.conv_tuned"
    with pytest.raises(OpError, match=r"conv2d: impl must be one of \['reference', 'tuned'\]"):
        F.conv2d(x, w, impl="fast")


# --------------------------------------------------------------------------- #
# The lecture's examples
# --------------------------------------------------------------------------- #
IMAGE_6x6 = np.array([[1, 0, 0, 0, 0, 1],
                      [0, 1, 0, 0, 1, 0],
                      [0, 0, 1, 1, 0, 0],
                      [1, 0, 0, 0, 1, 0],
                      [0, 1, 0, 0, 1, 0],
                      [0, 0, 1, 0, 1, 0]], dtype=np.float32)
FILTER_3x3 = np.array([[1, -1, -1],
                       [-1, 1, -1],
                       [-1, -1, 1]], dtype=np.float32)


def _convolve_by_hand(image, kernel, stride):
    K = kernel.shape[0]
    O = (image.shape[0] - K) // stride + 1
    return np.array([[np.sum(image[i * stride:i * stride + K, j * stride:j * stride + K] * kernel)
                      for j in range(O)] for i in range(O)])


@pytest.mark.parametrize("stride, published", [
    (1, [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]]),
    (2, [[3, -3], [-3, 0]])])
def test_lecture_6x6_image_and_3x3_filter(device, stride, published):
    """A 6x6 input and a 3x3 filter give a 4x4 activation map (2x2 with stride 2)."""
    y = F.conv2d(make(IMAGE_6x6[None, None], device), make(FILTER_3x3[None, None], device), stride=stride)
    by_hand = _convolve_by_hand(IMAGE_6x6, FILTER_3x3, stride)
    np.testing.assert_array_equal(by_hand, published)
    np.testing.assert_allclose(y.numpy()[0, 0], by_hand)


def test_lecture_conv_layer_shapes():
    """nn.Conv2d(2, 5, kernel_size=3, padding=1) on a 1x2x6x6 input keeps the 6x6 size;
    5x5 filters need 2 rings of zeros and 7x7 filters 3 to keep it."""
    x = minidl.rand(1, 2, 6, 6)
    assert F.conv2d(x, minidl.randn(5, 2, 3, 3), padding=1).shape == (1, 5, 6, 6)
    assert F.conv2d(x, minidl.randn(5, 2, 5, 5), padding=2).shape == (1, 5, 6, 6)
    assert F.conv2d(x, minidl.randn(5, 2, 7, 7), padding=3).shape == (1, 5, 6, 6)
    assert F.conv2d(x, minidl.randn(5, 2, 7, 7), padding="same").shape == (1, 5, 6, 6)


@pytest.mark.parametrize("H, K, S, P, D", [(28, 5, 1, 2, 1), (227, 11, 4, 0, 1), (32, 3, 2, 1, 1),
                                            (10, 3, 3, 0, 2), (7, 4, 2, 1, 2), (13, 3, 1, 0, 1)])
def test_output_size_formula(H, K, S, P, D):
    """OH = floor((H + 2P - D(K-1) - 1) / S) + 1."""
    x = minidl.rand(1, 1, H, H + 1)
    y = F.conv2d(x, minidl.randn(1, 1, K, K), stride=S, padding=P, dilation=D)
    assert y.shape[2:] == ((H + 2 * P - D * (K - 1) - 1) // S + 1, (H + 1 + 2 * P - D * (K - 1) - 1) // S + 1)


# --------------------------------------------------------------------------- #
# conv1d
# --------------------------------------------------------------------------- #
CASES_1D = [(2, 3, 9, 4, 3, 1, 0, 1, 1), (2, 4, 8, 2, 2, 2, 1, 2, 2), (1, 2, 7, 2, 4, 1, "same", 1, 1),
            (2, 5, 10, 3, 5, 1, "valid", 1, 1)]       # N, C, L, F, K, stride, padding, dilation, groups


@pytest.mark.parametrize("case", CASES_1D)
def test_conv1d_gradcheck(device, case):
    N, C, L, F_, K, S, P, D, G = case
    x = make(rng.standard_normal((N, C, L)), device, requires_grad=True)
    w = make(rng.standard_normal((F_, C // G, K)), device, requires_grad=True)
    b = make(rng.standard_normal(F_), device, requires_grad=True)
    assert minidl.gradcheck(lambda x, w, b: F.conv1d(x, w, b, S, P, D, G), [x, w, b])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES_1D)
def test_conv1d_matches_torch(case, dtype):
    torch = pytest.importorskip("torch")
    N, C, L, F_, K, S, P, D, G = case
    arrays = [rng.standard_normal((N, C, L)), rng.standard_normal((F_, C // G, K)), rng.standard_normal(F_)]
    check_against_torch(lambda x, w, b: F.conv1d(x, w, b, S, P, D, G),
                        lambda x, w, b: torch.nn.functional.conv1d(x, w, b, S, P, D, G), arrays, dtype)


# --------------------------------------------------------------------------- #
# im2col and col2im
# --------------------------------------------------------------------------- #
UNFOLD_CASES = [((2, 3, 5, 6), 3, 1, 1, 1), ((1, 2, 7, 7), (2, 3), 2, 0, 1), ((2, 1, 8, 9), 3, (1, 2), 2, 2)]


@pytest.mark.torch
@pytest.mark.parametrize("shape, K, S, P, D", UNFOLD_CASES)
def test_im2col_and_col2im_match_torch_unfold_and_fold(device, shape, K, S, P, D):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape)
    cols = F.im2col(make(x, device).data, K, S, P, D)
    expected = torch.nn.functional.unfold(torch.tensor(x), K, D, P, S).numpy()
    assert_close(minidl.backend.to_numpy(cols), expected, np.float64)
    c = rng.standard_normal(expected.shape)
    back = F.col2im(make(c, device).data, shape[2:], K, S, P, D)
    assert_close(minidl.backend.to_numpy(back),
                 torch.nn.functional.fold(torch.tensor(c), shape[2:], K, D, P, S).numpy(), np.float64)


@pytest.mark.parametrize("shape, K, S, P, D", UNFOLD_CASES)
def test_col2im_is_the_adjoint_of_im2col(shape, K, S, P, D):
    """<im2col(x), c> = <x, col2im(c)> for all x and c: col2im sums what im2col copied."""
    x = rng.standard_normal(shape)
    cols = F.im2col(x, K, S, P, D)
    c = rng.standard_normal(cols.shape)
    assert np.isclose(np.sum(cols * c), np.sum(x * F.col2im(c, shape[2:], K, S, P, D)))


def test_convolution_is_one_matrix_product_over_im2col():
    x, w, _ = _inputs((2, 3, 6, 5, 4, 3, 1, 1, 1, 1))
    cols = F.im2col(x, 3, padding=1)                              # (N, C*KH*KW, OH*OW)
    y = (w.reshape(4, -1) @ cols).reshape(2, 4, 6, 5)
    np.testing.assert_allclose(F.conv2d(minidl.tensor(x), minidl.tensor(w), padding=1).numpy(), y)


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #
def test_channel_mismatch_names_both_counts():
    x, w = minidl.rand(1, 3, 8, 8), minidl.rand(64, 64, 3, 3)
    with pytest.raises(OpError, match=r"conv2d: input has 3 channels but weight expects 64 "
                                      r"\(weight shape \(64, 64, 3, 3\)\)"):
        F.conv2d(x, w)


@pytest.mark.parametrize("x_shape, w_shape, kwargs, message", [
    ((3, 8, 8), (4, 3, 3, 3), {}, r"conv2d: expected a 4-D input \(N, C, H, W\), got shape \(3, 8, 8\)"),
    ((1, 3, 8, 8), (4, 3, 3), {}, "conv2d: expected a 4-D weight"),
    ((1, 4, 8, 8), (6, 2, 3, 3), {"groups": 4}, "groups=4 does not divide the 6 output channels"),
    ((1, 6, 8, 8), (4, 2, 3, 3), {"groups": 4}, "groups=4 does not divide the 6 input channels"),
    ((1, 6, 8, 8), (4, 2, 3, 3), {"groups": 2}, r"input has 6 channels but weight expects 4 \(2 groups of 2"),
    ((1, 3, 4, 4), (2, 3, 5, 5), {}, r"conv2d: kernel 5x5 .* larger than the padded input 4x4"),
    ((1, 3, 4, 4), (2, 3, 3, 3), {"dilation": 2}, r"spans 5x5\) is larger than the padded input 4x4"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"padding": -1}, "conv2d: padding must be at least 0, got -1"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"stride": 0}, "conv2d: stride must be at least 1"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"padding": "full"}, "padding must be 'same', 'valid'"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"padding": "same", "stride": 2}, "padding='same' needs stride 1"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"groups": 0}, "groups must be a positive int"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"stride": 1.5}, "conv2d: stride must be an int or a tuple of 2 ints"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"dilation": (1, 0)}, r"conv2d: dilation must be at least 1, got \(1, 0\)"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"padding": ((1, 1), (0, -2))}, "conv2d: padding must be at least 0"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"padding": 1.0}, "conv2d: padding must be an int or a tuple of 2 ints"),
])
def test_conv2d_errors(x_shape, w_shape, kwargs, message):
    with pytest.raises(OpError, match=message):
        F.conv2d(minidl.rand(*x_shape), minidl.rand(*w_shape), **kwargs)


def test_bias_shape_error():
    with pytest.raises(OpError, match=r"bias must have shape \(4,\) for 4 filters, got \(3,\)"):
        F.conv2d(minidl.rand(1, 3, 8, 8), minidl.rand(4, 3, 3, 3), minidl.rand(3))


def test_conv1d_errors():
    with pytest.raises(OpError, match=r"conv1d: expected a 3-D input \(N, C, L\)"):
        F.conv1d(minidl.rand(1, 3, 8, 8), minidl.rand(4, 3, 3))
    with pytest.raises(OpError, match="conv1d: input has 2 channels but weight expects 3"):
        F.conv1d(minidl.rand(1, 2, 8), minidl.rand(4, 3, 3))
    with pytest.raises(OpError, match="conv1d: stride, padding and dilation must be ints"):
        F.conv1d(minidl.rand(1, 3, 8), minidl.rand(4, 3, 3), stride=(1, 2))


def test_col2im_rejects_mismatched_columns():
    with pytest.raises(OpError, match="col2im: columns of shape"):
        F.col2im(np.zeros((1, 18, 10)), (4, 4), 3, padding=1)


# (N, C, H, W, F, padding): odd sizes, no to two pixels of padding, asymmetric, one channel
DIRECT_CASES = [(2, 3, 6, 7, 4, 1), (2, 2, 5, 5, 3, 0), (1, 3, 4, 6, 2, 2), (2, 1, 5, 6, 1, "same"),
                (2, 3, 6, 5, 4, ((2, 0), (0, 1))), (3, 5, 9, 8, 6, ((0, 1), (2, 2)))]


def _direct_everywhere(monkeypatch):
    """Let the direct convolution take every 3x3 stride-1 layer, and count its calls."""
    if not kernels.available():
        pytest.skip("Numba is not installed (pip install minidl[fast])")
    monkeypatch.setattr(conv_tuned, "DIRECT_MIN_SIZE", 1)
    calls = []
    for name in ("conv_direct", "conv_direct_weight_gradient"):
        counted = getattr(kernels, name)
        monkeypatch.setattr(kernels, name, lambda *a, f=counted, n=name: calls.append(n) or f(*a))
    return calls


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", DIRECT_CASES, ids=str)
def test_direct_equals_the_reference(monkeypatch, case, dtype):
    """Narrow 3x3 stride-1 layers run the compiled direct convolution forward and backward: same
    outputs and gradients as the reference, for any padding of 0 to 2 pixels."""
    calls = _direct_everywhere(monkeypatch)
    N, C, H, W, F_, P = case
    arrays, results = [a.astype(dtype) for a in _inputs((N, C, H, W, F_, 3, 1, P, 1, 1))], {}
    for impl in ("reference", "tuned"):
        x, w, b = (minidl.tensor(a, requires_grad=True) for a in arrays)
        y = F.conv2d(x, w, b, 1, P, impl=impl)
        y.backward(np.cos(np.arange(y.numel())).astype(dtype).reshape(y.shape))
        results[impl] = [t.numpy() for t in (y, x.grad, w.grad, b.grad)]
    assert calls == ["conv_direct", "conv_direct", "conv_direct_weight_gradient"]      # y, gx, gW
    tolerance = 1e-10 if dtype == np.float64 else 1e-4
    for ref, tuned in zip(results["reference"], results["tuned"]):
        assert tuned.dtype == dtype
        np.testing.assert_allclose(tuned, ref, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("case", [(2, 1, 8, 9, 3, 5, 2), (2, 3, 7, 6, 3, 5, 0), (1, 2, 6, 7, 2, 2, 1),
                                  (2, 2, 6, 5, 3, 4, ((3, 0), (1, 2)))], ids=str)
def test_direct_other_kernel_sizes(monkeypatch, case):
    """LeNet's 5x5 layers and other kernel sizes, with padding of up to K - 1 on any side."""
    calls = _direct_everywhere(monkeypatch)
    N, C, H, W, F_, k, P = case
    arrays, results = _inputs((N, C, H, W, F_, k, 1, P, 1, 1)), {}
    for impl in ("reference", "tuned"):
        x, w, b = (minidl.tensor(a, requires_grad=True) for a in arrays)
        y = F.conv2d(x, w, b, 1, P, impl=impl)
        y.backward(np.cos(np.arange(y.numel())).reshape(y.shape))
        results[impl] = [t.numpy() for t in (y, x.grad, w.grad, b.grad)]
    assert calls == ["conv_direct", "conv_direct", "conv_direct_weight_gradient"]
    for ref, tuned in zip(results["reference"], results["tuned"]):
        np.testing.assert_allclose(tuned, ref, rtol=1e-10, atol=1e-10)


def test_direct_gradcheck(monkeypatch):
    """The direct convolution's backward against numerical gradients."""
    calls = _direct_everywhere(monkeypatch)
    x, w, b = (minidl.tensor(a, requires_grad=True) for a in _inputs((2, 3, 5, 6, 2, 3, 1, 1, 1, 1)))
    assert minidl.gradcheck(lambda x, w, b: F.conv2d(x, w, b, 1, 1), [x, w, b])
    assert "conv_direct_weight_gradient" in calls


def test_direct_gradients_alone_and_channels_last_input(monkeypatch):
    """Only the gradients asked for are computed; an input stored channels last gives the same."""
    calls = _direct_everywhere(monkeypatch)
    x, w, b = _inputs((2, 4, 7, 6, 3, 3, 1, 1, 1, 1))
    expected = {}
    x_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    for impl in ("reference", "tuned"):
        for xl in (x, x_last):
            wt = minidl.tensor(w, requires_grad=True)
            F.conv2d(minidl.tensor(xl), wt, minidl.tensor(b), padding=1, impl=impl).sum().backward()
            expected.setdefault(impl, wt.grad.numpy())
            np.testing.assert_allclose(wt.grad.numpy(), expected["reference"], rtol=1e-10)
    assert "conv_direct_weight_gradient" in calls and calls.count("conv_direct") == 2    # no gx


def test_direct_runs_where_it_pays():
    """Stride 1, not 1x1, at most 32 channels in and out, outputs of 10x10 or more and more than
    half as wide as the channels, padding of at most K - 1, compiled."""
    if not kernels.available():
        pytest.skip("Numba is not installed (pip install minidl[fast])")

    def plan(C=16, F_=16, out=32, stride=1, groups=1, k=3, padding=1):
        x = np.zeros((2, C, out * stride, out * stride), np.float32)
        pads = ((padding, padding),) * 2
        return conv_tuned._Plan(x, (F_, C // groups, k, k), (stride,) * 2, pads, (1, 1), groups, (out, out))

    assert plan().direct and plan(C=3).direct and plan(C=32, F_=32).direct and not plan().winograd
    assert plan(out=10).direct and plan(k=5, padding=4).direct and plan(C=32, out=17).direct
    for kwargs in [{"C": 64}, {"F_": 64}, {"out": 8}, {"C": 32, "out": 16}, {"F_": 21, "out": 10},
                   {"stride": 2}, {"groups": 2}, {"k": 1, "padding": 0}, {"padding": 3},
                   {"k": 5, "padding": 5}]:
        assert not plan(**kwargs).direct, kwargs
    with kernels.disabled():
        assert not plan().direct


# (N, C, H, W, F, padding): even and odd output sizes, no, one and two pixels of padding
WINOGRAD_CASES = [(3, 4, 6, 6, 5, 1), (2, 3, 7, 5, 2, 1), (2, 4, 6, 7, 3, 0), (1, 2, 4, 4, 3, 2),
                  (2, 3, 5, 6, 4, "same"), (2, 3, 6, 6, 4, ((2, 0), (0, 1)))]


@pytest.mark.parametrize("transforms", ["numpy", "compiled"])
@pytest.mark.parametrize("case", WINOGRAD_CASES, ids=str)
def test_winograd_equals_the_reference(monkeypatch, case, transforms):
    """3x3 stride-1 layers run Winograd's F(2x2, 3x3) forward and backward (here at every size): same
    outputs and gradients as the reference, chunked to one sample, with either form of its transforms."""
    if transforms == "compiled" and not kernels.available():
        pytest.skip("Numba is not installed (pip install minidl[fast])")
    N, C, H, W, F_, P = case
    _force_layout(monkeypatch, "channels_last")
    for name in ("WINOGRAD_MIN_CHANNELS", "WINOGRAD_MIN_CHANNELS_COMPILED", "WINOGRAD_MIN_SIZE"):
        monkeypatch.setattr(conv_tuned, name, 1)
    calls = []
    for name in ("convolve", "gradients"):
        counted = getattr(conv_tuned.winograd, name)
        monkeypatch.setattr(conv_tuned.winograd, name,
                            lambda *a, f=counted: calls.append(f.__name__) or f(*a))
    arrays, results = _inputs((N, C, H, W, F_, 3, 1, P, 1, 1)), {}
    with contextlib.nullcontext() if transforms == "compiled" else kernels.disabled():
        for impl in ("reference", "tuned"):
            x, w, b = (minidl.tensor(a, requires_grad=True) for a in arrays)
            y = F.conv2d(x, w, b, 1, P, impl=impl)
            y.backward(np.cos(np.arange(y.numel(), dtype=np.float64)).reshape(y.shape))
            results[impl] = [t.numpy() for t in (y, x.grad, w.grad, b.grad)]
    assert calls == ["convolve"] * N + ["gradients"] * N          # one chunk per sample
    for ref, tuned in zip(results["reference"], results["tuned"]):
        np.testing.assert_allclose(tuned, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", [(2, 3, 5, 6, 2, 1), (1, 2, 6, 6, 3, ((2, 0), (1, 1)))], ids=str)
def test_winograd_gradcheck(device, monkeypatch, case):
    """Winograd's backward against numerical gradients, on every device (CPU: the compiled transforms;
    strict and cuda: the array-module forms)."""
    N, C, H, W, F_, P = case
    for name in ("WINOGRAD_MIN_CHANNELS", "WINOGRAD_MIN_CHANNELS_COMPILED", "WINOGRAD_MIN_SIZE"):
        monkeypatch.setattr(conv_tuned, name, 1)
    x, w, b = (make(a, device, requires_grad=True) for a in _inputs((N, C, H, W, F_, 3, 1, P, 1, 1)))
    assert minidl.gradcheck(lambda x, w, b: F.conv2d(x, w, b, 1, P), [x, w, b])


def test_winograd_weight_gradient_alone():
    """A layer whose input needs no gradient (x a constant) gets W's and b's only."""
    x, w, b = _inputs((2, 64, 8, 8, 16, 3, 1, 1, 1, 1))
    grads = {}
    for impl in ("reference", "tuned"):
        wt, bt = minidl.tensor(w, requires_grad=True), minidl.tensor(b, requires_grad=True)
        F.conv2d(minidl.tensor(x), wt, bt, padding=1, impl=impl).sum().backward()
        grads[impl] = wt.grad.numpy(), bt.grad.numpy()
    np.testing.assert_allclose(grads["tuned"][0], grads["reference"][0], rtol=1e-10)
    np.testing.assert_allclose(grads["tuned"][1], grads["reference"][1], rtol=1e-10)


@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "compiled"])
def test_winograd_runs_where_it_pays(compiled):
    """From 64 channels with the NumPy transforms, from 16 with the compiled ones; 8x8 outputs or more."""
    if compiled and not kernels.available():
        pytest.skip("Numba is not installed (pip install minidl[fast])")
    same = ((1, 1), (1, 1))

    def plan(C, out, F_=16, stride=1, groups=1, k=3):
        x = np.zeros((2, C, out * stride, out * stride), np.float32)
        return conv_tuned._Plan(x, (F_, C // groups, k, k), (stride,) * 2, same, (1, 1), groups, (out, out))

    with contextlib.nullcontext() if compiled else kernels.disabled():
        fewest = 16 if compiled else 64
        assert plan(fewest, 8).winograd
        assert not plan(fewest // 2, 8).winograd
        for kwargs in [{"out": 4}, {"stride": 2}, {"groups": 2}, {"k": 5}]:
            assert not plan(**{"C": 64, "out": 8, **kwargs}).winograd, kwargs


def test_winograd_float32_is_within_rounding_of_float64():
    """In float32, y, gx and gW lie as close to the float64 results as the reference's do (the
    weight gradient sums over every tile of the batch)."""
    arrays = _inputs((16, 64, 16, 16, 32, 3, 1, 1, 1, 1))
    gy = rng.standard_normal((16, 32, 16, 16))
    results = {}
    for impl, dtype in [("reference", np.float64), ("reference", np.float32), ("tuned", np.float32)]:
        x, w, b = (minidl.tensor(a.astype(dtype), requires_grad=True) for a in arrays)
        y = F.conv2d(x, w, b, padding=1, impl=impl)
        y.backward(gy.astype(dtype))
        results[impl, dtype] = [t.numpy() for t in (y, x.grad, w.grad)]
    for i, name in enumerate(["y", "gx", "gW"]):
        exact = results["reference", np.float64][i]
        errors = [np.abs(results[impl, np.float32][i] - exact).max() / np.abs(exact).max()
                  for impl in ("reference", "tuned")]
        assert errors[1] < max(4 * errors[0], 1e-6), (name, errors)


@pytest.mark.parametrize("impl", ["reference", "tuned"])
@pytest.mark.parametrize("kernel, groups", [(3, 1), (5, 1), (3, 2), (1, 1)])
def test_empty_batch(impl, kernel, groups):
    """A batch of no samples gives no outputs and zero weight gradients, in every engine and path."""
    x = minidl.tensor(np.zeros((0, 4, 12, 12)), requires_grad=True)
    w = minidl.tensor(rng.standard_normal((6, 4 // groups, kernel, kernel)), requires_grad=True)
    b = minidl.tensor(rng.standard_normal(6), requires_grad=True)
    y = F.conv2d(x, w, b, padding=kernel // 2, groups=groups, impl=impl)
    assert y.shape == (0, 6, 12, 12)
    y.sum().backward()
    assert x.grad.shape == x.shape
    assert not w.grad.numpy().any() and not b.grad.numpy().any()


@pytest.mark.parametrize("filters", [8, 64])
def test_wide_outputs_of_channels_first_products_are_channels_last(filters):
    """A 3-channel layer's im2col matrices are channels first; from OUTPUT_CHANNELS_LAST_MIN filters
    its output is written channels last (the layout the Winograd layers after it read), with the
    same numbers as the reference's, forward and backward."""
    arrays, results = _inputs((2, 3, 9, 10, filters, 3, 1, 1, 1, 1)), {}
    for impl in ("reference", "tuned"):
        x, w, b = (minidl.tensor(a, requires_grad=True) for a in arrays)
        y = F.conv2d(x, w, b, 1, 1, impl=impl)
        y.backward(np.cos(np.arange(y.numel())).reshape(y.shape))
        results[impl] = [t.numpy() for t in (y, x.grad, w.grad, b.grad)]
        if impl == "tuned":
            assert is_channels_last(y.data) == (filters >= conv_tuned.OUTPUT_CHANNELS_LAST_MIN)
    for ref, tuned in zip(results["reference"], results["tuned"]):
        np.testing.assert_allclose(tuned, ref, rtol=1e-10, atol=1e-10)
