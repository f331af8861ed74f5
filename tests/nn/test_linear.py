"""Linear and Embedding layers."""
import numpy as np
import pytest

from minidl import nn
from minidl.autograd import OpError

from tests.conftest import make
from tests.nn.common import assert_matches_torch

rng = np.random.default_rng(0)


@pytest.mark.torch
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 7)])
def test_linear_matches_torch(shape, bias, device):
    torch = pytest.importorskip("torch")
    assert_matches_torch(nn.Linear(7, 4, bias=bias), torch.nn.Linear(7, 4, bias=bias),
                         rng.standard_normal(shape), device=device)


def test_linear_parameters_follow_torch_layout():
    layer = nn.Linear(3, 2)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert nn.Linear(3, 2, bias=False).bias is None


@pytest.mark.torch
@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding_matches_torch(padding_idx, device):
    torch = pytest.importorskip("torch")
    indices = np.array([[1, 4, 0], [4, 4, 2]])
    assert_matches_torch(nn.Embedding(6, 3, padding_idx=padding_idx),
                         torch.nn.Embedding(6, 3, padding_idx=padding_idx), indices, device=device)


def test_errors():
    with pytest.raises(OpError, match=r"Linear\(in_features=4900, out_features=100, bias=True\): "
                                      r"input has 4096 features, expected 4900"):
        nn.Linear(4900, 100)(make(np.zeros((2, 4096))))
    with pytest.raises(OpError, match="Linear: in_features must be a positive int, got 0"):
        nn.Linear(0, 3)
    with pytest.raises(OpError, match="Embedding: embedding_dim must be a positive int"):
        nn.Embedding(3, 2.5)
    with pytest.raises(OpError, match=r"Embedding\(3, 2\): padding_idx 3 is out of range"):
        nn.Embedding(3, 2, padding_idx=3)


def test_a_scalar_input_names_the_dimensions_it_needs():
    with pytest.raises(OpError, match=r"Linear\(.*\): expected an input of at least 1 dim, got shape \(\)"):
        nn.Linear(3, 2)(make(np.array(1.0)))
