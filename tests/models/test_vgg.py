"""VGG configurations A, A-LRN, B, C, D, E, with and without batch norm, and the lab's VGG-style
CIFAR-10 ConvNet.

Parity is against tests/models/torch_classic.py: torchvision's ``vgg.py``
rewritten in PyTorch, with Table 1's A-LRN (the LRN formula spelled out) and
C (1x1 convolutions) added; ``vgg_cifar`` against the benchmarks' twin in
benchmarks/torch_models.py.
"""
import numpy as np
import pytest

from minidl import nn
from minidl.models import get
from minidl.models.vgg import CONFIGS, make_features
from tests.models.common import assert_parity, default_dtype
from tests.models.checks import assert_trains, random_input, recorded_draws


def test_vgg_initialisation_is_the_lectures():
    with recorded_draws() as draws:
        model = get("vgg11_bn")
    normals = [(mean, std, size) for method, mean, std, size in draws if method == "normal"]
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.classifier if isinstance(m, nn.Linear)]
    # Kaiming normal, fan-out, ReLU gain: std sqrt(2 / (F * 3 * 3)); linear layers N(0, 0.01).
    expected = [(0.0, np.sqrt(2 / (m.out_channels * 9)), m.weight.shape) for m in convs]
    expected += [(0.0, 0.01, m.weight.shape) for m in linears]
    assert [(mean, pytest.approx(std), size) for mean, std, size in normals] == expected
    assert all(not m.bias.numpy().any() for m in convs + linears)
    norms = [m for m in model.features if isinstance(m, nn.BatchNorm2d)]
    assert all((m.weight.numpy() == 1).all() and not m.bias.numpy().any() for m in norms)


def test_vgg_bn_puts_batch_norm_after_every_convolution():
    layers = list(make_features(CONFIGS["A"], batch_norm=True))
    convs = [i for i, m in enumerate(layers) if isinstance(m, nn.Conv2d)]
    assert all(isinstance(layers[i + 1], nn.BatchNorm2d) and isinstance(layers[i + 2], nn.ReLU)
               for i in convs)


@pytest.mark.torch
@pytest.mark.parametrize("config, batch_norm", [("A-LRN", False), ("C", True)])
def test_vgg_features_match_torch_in_float32(config, batch_norm):
    pytest.importorskip("torch")
    from tests.models import torch_classic
    theirs = torch_classic.make_layers(torch_classic.cfgs[config], batch_norm)
    # Training-mode outputs are not compared: a convolution's bias in front of batch norm has a
    # gradient of exactly zero, which leaves only rounding noise to compare.
    x = random_input((1, 3, 32, 32), np.float32)
    assert_parity(make_features(CONFIGS[config], batch_norm), theirs, x, rtol=1e-4)


# Without batch norm the first layers' gradients of a 16-layer net at initialization are tiny
# sums of terms that cancel, so float32 rounding moves them by ~1e-3 relative in both
# frameworks: those networks are compared in float64.
@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.parametrize("name, config, batch_norm, dtype, rtol", [
    ("vgg11_bn", "A", True, np.float32, 1e-4), ("vgg16", "D", False, np.float64, 1e-10),
    ("vgg16_c", "C", False, np.float64, 1e-10), ("vgg11_lrn", "A-LRN", False, np.float64, 1e-10)])
def test_full_vgg_matches_torch(name, config, batch_norm, dtype, rtol):
    # At 32x32 the adaptive pool repeats the 1x1 map to the classifier's 7x7.
    pytest.importorskip("torch")
    from tests.models import torch_classic
    features = torch_classic.make_layers(torch_classic.cfgs[config], batch_norm)
    theirs = torch_classic.VGG(features, num_classes=10)
    with recorded_draws(), default_dtype(dtype):
        model = get(name, num_classes=10)
    assert_parity(model, theirs, random_input((2, 3, 32, 32), dtype), rtol=rtol)


@pytest.mark.torch
@pytest.mark.slow
def test_vgg_cifar_matches_torch_in_float32():
    pytest.importorskip("torch")
    from benchmarks import torch_models
    with recorded_draws():
        model = get("vgg_cifar")
    assert_parity(model, torch_models.VGGCifar(), random_input((2, 3, 32, 32), np.float32), rtol=1e-4)


def test_vgg_cifar_width_scales_every_block_and_the_classifier_input():
    model = get("vgg_cifar", width=4)
    assert [getattr(model.features, f"conv{i}_2").weight.shape[0] for i in range(1, 5)] == [4, 8, 16, 32]
    assert model.classifier[0].weight.shape == (4096, 32 * 2 * 2)


def test_vgg_cifar_trains():
    assert assert_trains(get("vgg_cifar"), random_input((1, 3, 32, 32)), "cpu").shape == (1, 10)
