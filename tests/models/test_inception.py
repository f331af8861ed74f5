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


# Each module (same class name in both files) on small maps.
MODULES = [("InceptionA", (192, 32), (2, 192, 3, 3)), ("InceptionB", (288,), (2, 288, 5, 5)),
           ("InceptionC", (768, 128), (2, 768, 3, 3)), ("InceptionD", (768,), (2, 768, 5, 5)),
           ("InceptionE", (1280,), (2, 1280, 2, 2)), ("InceptionV3Aux", (768, 10), (2, 768, 17, 17))]


@pytest.mark.torch
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


# The whole network in float64: in float32 its 94 layers leave the first layers' gradients, and
# batch norm over the few values per channel of the last maps, dominated by rounding.
@pytest.mark.torch
@pytest.mark.slow
def test_inception_v3_matches_torch():
    pytest.importorskip("torch")
    from tests.models import torch_inception
    with default_dtype(np.float64):
        model = get("inception_v3", num_classes=10, aux_logits=False)
    theirs = torch_inception.Inception3(num_classes=10, aux_logits=False)
    assert_parity(model, theirs, random_input((2, 3, 75, 75)), rtol=1e-10)


@pytest.mark.torch
@pytest.mark.slow
def test_inception_v3_with_aux_head_matches_torch_at_299():
    pytest.importorskip("torch")
    from tests.models import torch_inception
    with default_dtype(np.float64):
        model = get("inception_v3", num_classes=10, dropout=0.0)
    theirs = torch_inception.Inception3(num_classes=10, dropout=0.0)
    assert_parity(model, theirs, random_input((2, 3, 299, 299)), rtol=1e-10, train_outputs=True)


@pytest.mark.slow
def test_inception_v3_stage_shapes_match_the_reference():
    entry = reference("inception_v3_tv_aux")
    expected = {name: [2] + shape[1:] for name, shape in entry["stage_shapes"]}
    model = get("inception_v3").train()     # the aux head runs in training mode only
    # batch 2: batch norm in training mode needs more than one value per channel (1x1 maps in the aux head)
    assert stage_shapes(model, expected, minidl.zeros(2, *entry["input_shape"][1:])) == expected
