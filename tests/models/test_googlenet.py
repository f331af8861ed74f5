"""GoogLeNet: torchvision's BN variant and the paper's, with and without the auxiliary heads.

Parity is against tests/models/torch_inception.py: torchvision's
``googlenet.py`` rewritten in PyTorch, and the paper's network (Szegedy et al.
2014 Table 1, as the authors' Caffe model) written from it.
"""
import numpy as np
import pytest

import minidl
from minidl import nn
from minidl.models import get
from minidl.models.googlenet import ConvReLU, InceptionAux
from tests.models.checks import DEVICES, assert_trains, random_input, stage_shapes
from tests.models.common import assert_parity, default_dtype, reference


@pytest.mark.parametrize("device", DEVICES)
def test_googlenet_returns_aux_logits_in_training_mode_only(device):
    # At 32x32 inception4 sees 2x2 maps, which the aux heads' adaptive pool repeats to 4x4.
    model = get("googlenet", num_classes=10)
    logits, aux2, aux1 = assert_trains(model, random_input((2, 3, 32, 32)), device)
    assert logits.shape == aux2.shape == aux1.shape == (2, 10)
    with minidl.no_grad():
        out = model.eval()(minidl.zeros(2, 3, 32, 32, device=device))
    assert isinstance(out, minidl.Tensor) and out.shape == (2, 10)


@pytest.mark.torch
def test_torchvision_googlenet_matches_torch():
    pytest.importorskip("torch")
    from tests.models import torch_inception
    with default_dtype(np.float64):
        model = get("googlenet", num_classes=10, dropout=0.0, dropout_aux=0.0)
    theirs = torch_inception.GoogLeNet(num_classes=10, dropout=0.0, dropout_aux=0.0)
    # With dropout off the training-mode outputs (logits, aux2, aux1) are compared too, which
    # checks batch norm's backward through the batch statistics.
    assert_parity(model, theirs, random_input((2, 3, 48, 48)), rtol=1e-10, train_outputs=True)


@pytest.mark.torch
def test_paper_googlenet_matches_torch():
    pytest.importorskip("torch")
    from tests.models import torch_inception
    with default_dtype(np.float64):
        model = get("googlenet", num_classes=10, variant="paper", aux_logits=False)
    theirs = torch_inception.GoogLeNet(num_classes=10, aux_logits=False, paper=True)
    assert_parity(model, theirs, random_input((2, 3, 32, 32)), rtol=1e-10)


@pytest.mark.torch
def test_paper_auxiliary_head_matches_torch():
    pytest.importorskip("torch")
    from tests.models import torch_inception
    with default_dtype(np.float64):
        ours = InceptionAux(512, 10, ConvReLU, nn.AvgPool2d(5, stride=3), dropout=0.0)
    theirs = torch_inception.InceptionAux(512, 10, torch_inception.CaffeConv, paper=True, dropout=0.0)
    assert_parity(ours, theirs, random_input((2, 512, 14, 14)), rtol=1e-10)


def test_googlenet_rejects_an_unknown_variant():
    with pytest.raises(ValueError, match="variant"):
        get("googlenet", variant="v2")


@pytest.mark.torch
@pytest.mark.slow
def test_paper_googlenet_with_aux_heads_matches_torch_at_224():
    pytest.importorskip("torch")
    from tests.models import torch_inception
    with default_dtype(np.float64):     # in float32 the first layers' tiny gradients are mostly rounding
        model = get("googlenet", num_classes=10, variant="paper", dropout=0.0, dropout_aux=0.0)
    theirs = torch_inception.GoogLeNet(num_classes=10, paper=True, dropout=0.0, dropout_aux=0.0)
    assert_parity(model, theirs, random_input((1, 3, 224, 224)), rtol=1e-10, train_outputs=True)


@pytest.mark.slow
def test_googlenet_stage_shapes_match_the_reference():
    entry = reference("googlenet_tv_aux")
    expected = dict((name, shape) for name, shape in entry["stage_shapes"])
    model = get("googlenet").train()     # the aux heads run in training mode only
    x = minidl.tensor(random_input(entry["input_shape"], np.float32))
    assert stage_shapes(model, expected, x) == expected
