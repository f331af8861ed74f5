"""VGG configurations A, A-LRN, B, C, D, E, with and without batch norm.

Parity is against tests/models/torch_classic.py: torchvision's ``vgg.py``
rewritten in PyTorch, with Table 1's A-LRN (the LRN formula spelled out) and
C (1x1 convolutions) added.
"""
import numpy as np
import pytest

import minidl
from minidl import nn
from minidl.models import get
from minidl.models.vgg import CONFIGS, make_features
from tests.models.common import assert_parity, default_dtype, reference
from tests.models.checks import random_input, weights_from_torch_only  # noqa: F401


@pytest.fixture(scope="module")
def vgg11():
    return get("vgg11")


def test_vgg_initialisation_is_the_lectures(vgg11):
    convs = [m for m in vgg11.features if isinstance(m, nn.Conv2d)]
    linears = [m for m in vgg11.classifier if isinstance(m, nn.Linear)]
    for conv in convs:
        fan_out = conv.out_channels * 3 * 3
        assert np.std(conv.weight.numpy()) == pytest.approx(np.sqrt(2 / fan_out), rel=0.05)
    for linear in linears:
        assert np.std(linear.weight.numpy()) == pytest.approx(0.01, rel=0.05)
    assert all(not m.bias.numpy().any() for m in convs + linears)


def test_vgg11_trains_on_a_cifar_image(vgg11):
    # The adaptive pool repeats the 1x1 map of a 32x32 image to the classifier's 7x7.
    vgg11.train()
    out = vgg11(minidl.tensor(random_input((1, 3, 32, 32), np.float32)))
    assert out.shape == (1, 1000)
    out.sum().backward()
    assert [name for name, p in vgg11.named_parameters() if p.grad is None] == []


def test_vgg_bn_puts_batch_norm_after_every_convolution():
    layers = list(make_features(CONFIGS["A"], batch_norm=True))
    convs = [i for i, m in enumerate(layers) if isinstance(m, nn.Conv2d)]
    assert all(isinstance(layers[i + 1], nn.BatchNorm2d) and isinstance(layers[i + 2], nn.ReLU)
               for i in convs)


@pytest.mark.usefixtures("weights_from_torch_only")
def test_vgg11_bn_matches_torch_in_float32():
    pytest.importorskip("torch")
    from tests.models import torch_classic
    theirs = torch_classic.VGG(torch_classic.make_layers(torch_classic.cfgs["A"], batch_norm=True),
                               num_classes=10, dropout=0.0)
    assert_parity(get("vgg11_bn", num_classes=10, dropout=0.0), theirs,
                  random_input((2, 3, 32, 32), np.float32), rtol=1e-4, train_outputs=True)


@pytest.mark.parametrize("config", ["A-LRN", "C"])
def test_paper_only_configurations_match_torch(config):
    pytest.importorskip("torch")
    from tests.models import torch_classic
    with default_dtype(np.float64):
        ours = make_features(CONFIGS[config])
    theirs = torch_classic.make_layers(torch_classic.cfgs[config])
    assert_parity(ours, theirs, random_input((2, 3, 32, 32)), rtol=1e-10, train_outputs=True)


@pytest.mark.slow
@pytest.mark.usefixtures("weights_from_torch_only")
@pytest.mark.parametrize("name, config", [("vgg16", "D"), ("vgg16_c", "C"), ("vgg11_lrn", "A-LRN")])
def test_full_vgg_matches_torch_in_float32(name, config):
    pytest.importorskip("torch")
    from tests.models import torch_classic
    theirs = torch_classic.VGG(torch_classic.make_layers(torch_classic.cfgs[config]))
    assert_parity(get(name), theirs, random_input((1, 3, 64, 64), np.float32), rtol=1e-4)


@pytest.mark.slow
def test_vgg16_summary_matches_the_reference():
    entry = reference("vgg16")
    result = minidl.summary(get("vgg16"), entry["input_shape"][1:], verbose=False)
    for stage, shape in entry["stage_shapes"]:
        # A stage's output is that of the last layer inside it to run (rows are in execution order).
        last = [shapes for name, _, shapes, _, _ in result.rows
                if name == stage or name.startswith(stage + ".")][-1]
        assert last == [tuple(shape[1:])], stage
    assert (result.total_params, result.total_macs) == (entry["params"], entry["macs"])
