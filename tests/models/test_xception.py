"""Xception, as timm's legacy_xception defines it (Chollet 2017).

Parity is against tests/models/torch_inception.py: timm's ``xception.py``
rewritten in PyTorch.
"""
import numpy as np
import pytest

import minidl
from minidl.models import get
from tests.models.checks import assert_trains, random_input, stage_shapes
from tests.models.common import assert_parity, default_dtype, reference


def test_xception_trains(device):
    out = assert_trains(get("xception", num_classes=10), random_input((2, 3, 32, 32)), device)
    assert out.shape == (2, 10)


def test_xception_matches_torch():
    pytest.importorskip("torch")
    from tests.models import torch_inception
    with default_dtype(np.float64):
        model = get("xception", num_classes=10)
    assert_parity(model, torch_inception.Xception(num_classes=10), random_input((2, 3, 32, 32)), rtol=1e-10,
                  train_outputs=True)


def test_xception_separable_convolutions_are_depthwise():
    model = get("xception")
    separable = [m for name, m in model.named_modules() if name.endswith("conv1") and name != "conv1"]
    assert len(separable) == 34      # Chollet 2017: 36 convolutional layers, 34 of them separable
    assert all(m.groups == m.in_channels == m.out_channels for m in separable)


@pytest.mark.slow
def test_xception_stage_shapes_match_the_reference():
    entry = reference("xception_timm")
    expected = dict((name, shape) for name, shape in entry["stage_shapes"])
    model = get("xception").eval()
    assert stage_shapes(model, expected, minidl.zeros(*entry["input_shape"])) == expected
