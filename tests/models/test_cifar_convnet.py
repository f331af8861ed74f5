"""The tflearn CIFAR-10 example network: PyTorch parity (tests/models/torch_classic.py) and training."""
import numpy as np
import pytest

from minidl.models import get
from tests.models.common import assert_parity, default_dtype
from tests.models.checks import DEVICES, assert_trains, random_input


@pytest.mark.parametrize("device", DEVICES)
def test_cifar_convnet_trains(device):
    assert assert_trains(get("cifar_convnet"), random_input((2, 3, 32, 32)), device).shape == (2, 10)


@pytest.mark.torch
def test_cifar_convnet_matches_torch():
    pytest.importorskip("torch")
    from tests.models import torch_classic
    with default_dtype(np.float64):
        model = get("cifar_convnet")
    assert_parity(model, torch_classic.cifar_convnet(), random_input((2, 3, 32, 32)), rtol=1e-10)
