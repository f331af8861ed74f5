"""Activations: numerical gradients, PyTorch parity, stability for large inputs, errors."""
import numpy as np
import pytest

import minidl
import minidl.functional as F
from minidl.autograd import OpError
from tests.conftest import make
from tests.functional.torch_ref import check_against_torch

rng = np.random.default_rng(0)


def away_from_kinks(shape, low=0.1, high=2.0):
    """Values with |x| in [low, high] and random signs: no element sits on a kink at 0."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def distinct(shape):
    """A random permutation of well-separated values: no ties for a max."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) - np.prod(shape) / 2) * 0.1


# name -> (minidl function, torch function given the torch module, input maker)
ELEMENTWISE = {
    "relu": (F.relu, lambda t: t.nn.functional.relu),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda t: lambda x: t.nn.functional.leaky_relu(x, 0.1)),
    "leaky_relu_default": (F.leaky_relu, lambda t: t.nn.functional.leaky_relu),
    "elu": (lambda x: F.elu(x, 0.7), lambda t: lambda x: t.nn.functional.elu(x, 0.7)),
    "sigmoid": (F.sigmoid, lambda t: t.sigmoid),
    "tanh": (F.tanh, lambda t: t.tanh),
    "scaled_tanh": (F.scaled_tanh, lambda t: lambda x: 1.7159 * t.tanh(2 * x / 3)),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 0.8),
                 lambda t: lambda x: t.nn.functional.hardtanh(x, -0.5, 0.8)),
    "softplus": (F.softplus, lambda t: t.nn.functional.softplus),
    "softplus_beta_threshold": (lambda x: F.softplus(x, beta=2.0, threshold=1.5),
                                lambda t: lambda x: t.nn.functional.softplus(x, beta=2.0, threshold=1.5)),
}


def elementwise_input(name, shape):
    x = away_from_kinks(shape)
    if name == "hardtanh":      # keep clear of the corners at -0.5 and 0.8
        x = np.where(np.abs(x + 0.5) < 0.05, x - 0.1, x)
        x = np.where(np.abs(x - 0.8) < 0.05, x + 0.1, x)
    if name == "softplus_beta_threshold":   # keep clear of the switch at beta x = 1.5
        x = np.where(np.abs(2 * x - 1.5) < 0.1, x + 0.2, x)
    return x


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_gradcheck(device, name):
    x = make(elementwise_input(name, (3, 4, 2)), device, requires_grad=True)
    assert minidl.gradcheck(ELEMENTWISE[name][0], [x])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_matches_torch(name, dtype):
    torch = pytest.importorskip("torch")
    fn, torch_fn = ELEMENTWISE[name]
    x = elementwise_input(name, (4, 5, 3)) * 3
    check_against_torch(fn, torch_fn(torch), [x], dtype)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
def test_softmax_gradcheck(device, fn, axis):
    x = make(rng.standard_normal((3, 4, 5)), device, requires_grad=True)
    assert minidl.gradcheck(lambda x: fn(x, axis=axis), [x])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_matches_torch(name, axis, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(F, name), getattr(torch.nn.functional, name)
    x = rng.standard_normal((3, 4, 5)) * 4
    check_against_torch(lambda x: ours(x, axis=axis), lambda x: theirs(x, dim=axis), [x], dtype)


@pytest.mark.parametrize("shape, pool_size, axis", [((2, 6, 3, 2), 2, 1), ((4, 6), 3, 1),
                                                    ((2, 3, 4), 2, -1), ((6, 2), 3, 0)])
def test_maxout_gradcheck(device, shape, pool_size, axis):
    x = make(distinct(shape), device, requires_grad=True)
    assert minidl.gradcheck(lambda x: F.maxout(x, pool_size, axis), [x])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_maxout_matches_torch_max_over_groups(dtype):
    x = distinct((2, 12, 3, 3))
    # maxout over channel groups: channels 0-2 form group 0, 3-5 group 1, ...
    check_against_torch(lambda x: F.maxout(x, 3),
                        lambda x: x.reshape(2, 4, 3, 3, 3).amax(dim=2), [x], dtype)


def test_maxout_of_the_lecture_two_pieces():
    # max(w1.x + b1, w2.x + b2) for two linear pieces stacked as two channels
    pieces = minidl.tensor([[1.0, -2.0], [0.5, 3.0]])     # (N=2, 2 pieces)
    np.testing.assert_array_equal(F.maxout(pieces, 2).numpy(), [[1.0], [3.0]])


def test_scaled_tanh_maps_plus_minus_one_to_themselves():
    # LeCun et al. chose A = 1.7159, S = 2/3 so that f(1) = 1 and f(-1) = -1
    y = F.scaled_tanh(minidl.tensor([1.0, -1.0], dtype=np.float64)).numpy()
    np.testing.assert_allclose(y, [1.0, -1.0], atol=1e-4)


@pytest.mark.parametrize("fn", [F.sigmoid, F.softplus, F.tanh, F.elu, F.scaled_tanh])
def test_large_inputs_stay_finite(device, fn):
    x = make(np.array([-1e4, -100.0, -30.0, 30.0, 100.0, 1e4], dtype=np.float32), device,
             requires_grad=True, dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is fine
        y = fn(x)
        y.sum().backward()
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()


def test_sigmoid_saturates_exactly(device):
    x = make(np.array([-1e4, 1e4, 0.0], dtype=np.float32), device, dtype=np.float32)
    np.testing.assert_array_equal(F.sigmoid(x).numpy(), [0.0, 1.0, 0.5])


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
def test_softmax_of_huge_logits_is_finite(device, fn):
    x = make(np.array([[1e4, -1e4, 0.0], [5e3, 5e3, -1e4]], dtype=np.float32), device,
             requires_grad=True, dtype=np.float32)
    y = fn(x, axis=1)
    y.sum().backward()
    probs = np.exp(y.numpy()) if fn is F.log_softmax else y.numpy()
    np.testing.assert_allclose(probs, [[1, 0, 0], [0.5, 0.5, 0]], atol=1e-7)
    assert np.isfinite(x.grad.numpy()).all()


def test_activations_keep_float32(device):
    x = make(away_from_kinks((2, 3)), device, dtype=np.float32)
    for fn, _ in ELEMENTWISE.values():
        assert fn(x).dtype == np.float32
    assert F.softmax(x).dtype == F.log_softmax(x).dtype == F.maxout(x, 3).dtype == np.float32


def test_errors_name_the_op_and_values():
    x = minidl.randn(2, 6, 4)
    with pytest.raises(OpError, match=r"maxout: pool_size 4 does not divide the 6 entries of axis 1"):
        F.maxout(x, 4)
    with pytest.raises(OpError, match=r"maxout: axis 3 is out of range .*\(2, 6, 4\)"):
        F.maxout(x, 2, axis=3)
    with pytest.raises(OpError, match=r"softmax: axis -4 is out of range"):
        F.softmax(x, axis=-4)
    with pytest.raises(OpError, match=r"log_softmax: axis 3"):
        F.log_softmax(x, axis=3)
    with pytest.raises(OpError, match=r"hardtanh: min_val 1 is greater than max_val -1"):
        F.hardtanh(x, 1, -1)
    with pytest.raises(OpError, match=r"softplus: beta must be positive, got 0"):
        F.softplus(x, beta=0)
