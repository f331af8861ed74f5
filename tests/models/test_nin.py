"""Network in Network (CIFAR-10 and ImageNet configurations).

Parity is against tests/models/torch_classic.py, the authors' Caffe
configurations written in PyTorch.
"""
import numpy as np
import pytest

from minidl.models import get
from tests.models.common import assert_parity, default_dtype
from tests.models.checks import DEVICES, assert_trains, random_input


@pytest.mark.parametrize("device", DEVICES)
def test_nin_cifar_trains(device):
    assert assert_trains(get("nin"), random_input((2, 3, 16, 16)), device).shape == (2, 10)


@pytest.mark.torch
def test_nin_cifar_matches_torch():
    pytest.importorskip("torch")
    from tests.models import torch_classic
    with default_dtype(np.float64):
        model = get("nin")
    assert_parity(model, torch_classic.nin("cifar"), random_input((2, 3, 16, 16)), rtol=1e-10)


@pytest.mark.torch
def test_nin_imagenet_matches_torch():
    pytest.importorskip("torch")
    from tests.models import torch_classic
    with default_dtype(np.float64):
        model = get("nin", variant="imagenet", num_classes=10)
    # 67x67 is the smallest input that leaves a 1x1 map after the third pool.
    assert_parity(model, torch_classic.nin("imagenet", num_classes=10), random_input((1, 3, 67, 67)),
                  rtol=1e-10)


def test_nin_default_classes_follow_the_variant():
    assert get("nin").block3[-2].out_channels == 10
    assert get("nin", variant="imagenet").block4[-2].out_channels == 1000


def test_nin_rejects_an_unknown_variant():
    with pytest.raises(ValueError, match="variant"):
        get("nin", variant="mnist")
