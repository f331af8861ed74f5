"""Inception v3, as torchvision defines it.

Parity is against tests/models/torch_inception.py: torchvision's
``inception.py`` rewritten in PyTorch.
"""
import numpy as np
import pytest

import minidl
from minidl.models import get, inception
from tests.models.checks import DEVICES, assert_trains, random_input, stage_shapes
from tests.models.common import assert_parity, default_dtype, reference


# Each module (same class name in both files) at the smallest maps it takes.
MODULES = [("InceptionA", (192, 32), (2, 192, 5, 5)), ("InceptionB", (288,), (2, 288, 7, 7)),
           ("InceptionC", (768, 128), (2, 768, 5, 5)), ("InceptionD", (768,), (2, 768, 7, 7)),
           ("InceptionE", (1280,), (2, 1280, 3, 3)), ("InceptionV3Aux", (768, 10), (2, 768, 17, 17))]


@pytest.mark.parametrize("name, args, shape", MODULES, ids=[name for name, _, _ in MODULES])
def test_inception_v3_modules_match_torch(name, args, shape):
    # float64 with the training-mode outputs, on the strict backend: the NumPy CPU runs the
    # whole network in the slow tests.
    pytest.importorskip("torch")
    from tests.models import torch_inception
    with default_dtype(np.float64):
        ours = getattr(inception, name)(*args)
    theirs = getattr(torch_inception, name)(*args)
    assert_parity(ours, theirs, random_input(shape), rtol=1e-10, device="strict", train_outputs=True)


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_inception_v3_trains_on_its_smallest_input(device):
    # 75x75 is the smallest input that leaves a 1x1 map after Mixed_7a; the aux head needs 299x299.
    out = assert_trains(get("inception_v3", num_classes=10, aux_logits=False), random_input((2, 3, 75, 75)),
                        device)
    assert out.shape == (2, 10)


@pytest.mark.slow
def test_inception_v3_matches_torch_in_float32():
    pytest.importorskip("torch")
    from tests.models import torch_inception
    model = get("inception_v3", num_classes=10, aux_logits=False)
    theirs = torch_inception.Inception3(num_classes=10, aux_logits=False)
    # Training-mode outputs are not compared: batch norm over the 2 values per channel of the
    # 1x1 maps at 75x75 amplifies float32 rounding (the modules are checked in float64 above).
    assert_parity(model, theirs, random_input((2, 3, 75, 75), np.float32), rtol=1e-4)


@pytest.mark.slow
def test_inception_v3_with_aux_head_matches_torch_at_299():
    pytest.importorskip("torch")
    from tests.models import torch_inception
    model = get("inception_v3", num_classes=10, dropout=0.0)
    theirs = torch_inception.Inception3(num_classes=10, dropout=0.0)
    assert_parity(model, theirs, random_input((2, 3, 299, 299), np.float32), rtol=1e-4, train_outputs=True)


@pytest.mark.slow
def test_inception_v3_stage_shapes_match_the_reference():
    entry = reference("inception_v3_tv_aux")
    expected = dict((name, shape) for name, shape in entry["stage_shapes"])
    model = get("inception_v3").train()     # the aux head runs in training mode only
    assert stage_shapes(model, expected, minidl.zeros(*entry["input_shape"])) == expected
