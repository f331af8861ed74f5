"""Xception, as timm's legacy_xception defines it (Chollet 2017).

Parity is against tests/models/torch_inception.py: timm's ``xception.py``
rewritten in PyTorch.
"""
import numpy as np
import pytest

from minidl.models import get
from minidl.models.xception import Block
from tests.models.checks import DEVICES, assert_trains, random_input, recorded_draws
from tests.models.common import assert_parity, default_dtype


@pytest.mark.parametrize("device", DEVICES)
def test_xception_trains(device):
    out = assert_trains(get("xception", num_classes=10), random_input((2, 3, 32, 32)), device)
    assert out.shape == (2, 10)


# In float32 the early layers' gradients of the whole 36-convolution network differ from
# PyTorch's by ~1e-3 relative in a few elements, rounding in both: the whole network is
# compared in float64.
@pytest.mark.torch
@pytest.mark.slow
def test_whole_xception_matches_torch():
    pytest.importorskip("torch")
    from tests.models import torch_inception
    with default_dtype(np.float64):
        model = get("xception", num_classes=10)
    assert_parity(model, torch_inception.Xception(num_classes=10), random_input((2, 3, 32, 32)), rtol=1e-10)


# block 1 (no leading ReLU), a middle-flow block, block 12 (widens on its last convolution)
@pytest.mark.torch
@pytest.mark.parametrize("in_channels, out_channels, reps, stride, start_with_relu, grow_first",
                         [(8, 16, 2, 2, False, True), (16, 16, 3, 1, True, True),
                          (16, 24, 2, 2, True, False)])
def test_xception_blocks_match_torch(in_channels, out_channels, reps, stride, start_with_relu, grow_first):
    # In float64 and with the training-mode outputs: batch norm's backward, the shortcut, the pool.
    pytest.importorskip("torch")
    from tests.models import torch_inception
    with default_dtype(np.float64):
        ours = Block(in_channels, out_channels, reps, stride, start_with_relu, grow_first)
    theirs = torch_inception.Block(in_channels, out_channels, reps, stride, start_with_relu, grow_first)
    assert_parity(ours, theirs, random_input((2, in_channels, 7, 7)), rtol=1e-10, train_outputs=True)


def test_xception_separable_convolutions_are_depthwise():
    with recorded_draws():
        model = get("xception")
    separable = [m for name, m in model.named_modules() if name.endswith("conv1") and name != "conv1"]
    assert len(separable) == 34      # Chollet 2017: 36 convolutional layers, 34 of them separable
    assert all(m.groups == m.in_channels == m.out_channels for m in separable)
