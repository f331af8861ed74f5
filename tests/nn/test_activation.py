"""Activation layers: PyTorch parity (and closed forms where PyTorch has no such layer)."""
import numpy as np
import pytest

from minidl import nn
from minidl.autograd import OpError

from tests.conftest import make
from tests.nn.common import assert_matches_torch

rng = np.random.default_rng(0)
# no values near the kinks of ReLU, LeakyReLU, ELU, Hardtanh (at 0 and +-1)
X = rng.uniform(0.1, 0.9, (3, 4, 5)) * rng.choice([-1, 1], (3, 4, 5)) * rng.choice([1, 2], (3, 4, 5))

LAYERS = [
    ("ReLU", (), ()),
    ("LeakyReLU", (0.1,), ()),
    ("ELU", (), dict(alpha=0.5)),
    ("Sigmoid", (), ()),
    ("Tanh", (), ()),
    ("Hardtanh", (), dict(min_val=-1.5, max_val=0.5)),
    ("Softplus", (), dict(beta=2.0, threshold=1.0)),
    ("Softmax", (), dict(dim=1)),
    ("LogSoftmax", (), dict(dim=-1)),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,args,kwargs", LAYERS, ids=[c[0] for c in LAYERS])
def test_matches_torch(name, args, kwargs, device):
    torch = pytest.importorskip("torch")
    kwargs = dict(kwargs)
    assert_matches_torch(getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs), X,
                         device=device)


def test_inplace_is_accepted_and_the_input_kept():
    x = make(X)
    y = nn.ReLU(inplace=True)(x)
    np.testing.assert_array_equal(x.numpy(), X)
    np.testing.assert_array_equal(y.numpy(), np.maximum(X, 0))


def test_scaled_tanh_is_lecuns_squashing_function():
    np.testing.assert_allclose(nn.ScaledTanh()(make(X)).numpy(), 1.7159 * np.tanh(2 * X / 3), rtol=1e-12)


def test_maxout_takes_the_max_over_consecutive_channel_groups():
    x = rng.standard_normal((2, 6, 3))
    y = nn.Maxout(3)(make(x)).numpy()
    np.testing.assert_array_equal(y, x.reshape(2, 2, 3, 3).max(axis=2))
    y = nn.Maxout(2, dim=-1)(make(rng.standard_normal((2, 3, 4)))).shape
    assert y == (2, 3, 2)
    assert repr(nn.Maxout(2)) == "Maxout(pool_size=2, dim=1)"


def test_errors():
    with pytest.raises(OpError, match="Hardtanh: min_val 1 must be below max_val 0"):
        nn.Hardtanh(1, 0)
    with pytest.raises(OpError, match="Maxout: pool_size must be a positive int"):
        nn.Maxout(0)
