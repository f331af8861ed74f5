"""AlexNet (torchvision's and the 2012 original) and ZFNet.

Parity is against tests/models/torch_classic.py: torchvision's ``alexnet.py``
rewritten in PyTorch, and the 2012 AlexNet and ZFNet written from the papers
with the LRN formula spelled out (b = a / (2 + 1e-4 sum a^2)^0.75).  The
default suite checks the convolutional parts, where the three differ (widths,
groups, LRN, round-up pooling), on small images; the whole networks, whose
fc6 alone has 38M weights, run under -m slow.
"""
import numpy as np
import pytest

from minidl.models import alexnet, get
from tests.models.common import assert_parity, default_dtype
from tests.models.checks import DEVICES, assert_trains, random_input, recorded_draws

# registered name, features builder (in both files), the smallest input for the features, the paper's input
CASES = [("alexnet", "torchvision_features", 63, 224), ("alexnet_original", "original_features", 67, 227),
         ("zfnet", "zfnet_features", 63, 224)]


@pytest.mark.torch
@pytest.mark.parametrize("features, small", [(features, small) for _, features, small, _ in CASES])
def test_alexnet_features_match_torch(features, small):
    pytest.importorskip("torch")
    from tests.models import torch_classic
    with default_dtype(np.float64):
        ours = getattr(alexnet, features)()
    assert_parity(ours, getattr(torch_classic, features)(), random_input((2, 3, small, small)), rtol=1e-10)


@pytest.mark.parametrize("device", DEVICES)
def test_alexnet_original_features_train(device):
    out = assert_trains(alexnet.original_features(), random_input((1, 3, 67, 67)), device)
    assert out.shape == (1, 256, 1, 1)


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize("name, size", [(name, size) for name, _, _, size in CASES])
def test_alexnets_match_torch(name, size):
    # float64: in float32, near-ties in the many max-pool windows of a full-size image
    # can pick different maxima in the two frameworks and send a gradient elsewhere.
    pytest.importorskip("torch")
    from tests.models import torch_classic
    theirs = {"alexnet": torch_classic.AlexNet, "alexnet_original": torch_classic.alexnet_original,
              "zfnet": torch_classic.zfnet}[name](num_classes=10)
    with recorded_draws(), default_dtype(np.float64):
        model = get(name, num_classes=10)
    assert_parity(model, theirs, random_input((1, 3, size, size)), rtol=1e-10)
