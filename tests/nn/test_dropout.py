"""Dropout layers: identities in evaluation, the right masks in training."""
import numpy as np
import pytest

import minidl
from minidl import nn
from minidl.autograd import OpError

from tests.conftest import make


@pytest.mark.parametrize("layer", [nn.Dropout(0.5), nn.Dropout2d(0.5), nn.DropPath(0.5)])
def test_identity_in_eval_mode(layer, device):
    x = make(np.random.default_rng(0).standard_normal((4, 3, 2, 2)), device)
    np.testing.assert_array_equal(layer.eval()(x).numpy(), x.numpy())


@pytest.mark.parametrize("layer,kept_unit", [
    (nn.Dropout(0.25), lambda y: y),                       # each element on its own
    (nn.Dropout2d(0.25), lambda y: y[:, :, 0, 0]),         # whole channels
    (nn.DropPath(0.25), lambda y: y[:, 0, 0, 0]),          # whole samples
])
def test_training_masks_keep_whole_units_scaled_by_1_over_1_minus_p(layer, kept_unit, device):
    x = make(np.ones((400, 8, 2, 2)), device)
    y = layer.train()(x).numpy()
    assert set(np.unique(y)) == {0.0, 1 / 0.75}
    units = kept_unit(y)
    # within a unit every element shares the fate of the first
    assert np.array_equal(np.broadcast_to(units.reshape(units.shape + (1,) * (4 - units.ndim)), y.shape), y)
    assert abs((units == 0).mean() - 0.25) < 0.05


def test_same_seed_same_mask():
    x = minidl.ones(50, 50)
    minidl.manual_seed(3)
    a = nn.Dropout()(x).numpy()
    minidl.manual_seed(3)
    np.testing.assert_array_equal(nn.Dropout()(x).numpy(), a)


def test_repr_and_errors():
    assert repr(nn.DropPath(0.1)) == "DropPath(p=0.1)"
    assert nn.DropPath().p == 0.0
    for layer in (nn.Dropout, nn.Dropout2d, nn.DropPath):
        with pytest.raises(OpError, match=f"{layer.__name__}: drop probability p must be in"):
            layer(1.5)
