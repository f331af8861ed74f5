"""DenseNet for ImageNet (torchvision layout) and the CIFAR DenseNet / DenseNet-BC of Huang et al. 2017.

Parity is against tests/models/torch_densenet.py: torchvision's DenseNet
rewritten in PyTorch, and the paper's CIFAR network.
"""
import numpy as np
import pytest

from minidl.models import get
from minidl.models.densenet import CifarDenseNet, DenseNet
from tests.conftest import make
from tests.models.common import assert_parity, default_dtype


def _input(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("device", ["strict", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_densenet121_forward_backward(device):   # the CPU runs in the parity tests
    model = get("densenet121", num_classes=10).to(device)
    out = model(make(_input((2, 3, 32, 32)), device, dtype=np.float32))
    assert out.shape == (2, 10)
    out.sum().backward()
    assert [name for name, p in model.named_parameters() if p.grad is None] == []


@pytest.mark.torch
def test_small_imagenet_densenet_matches_torch():
    from tests.models import torch_densenet
    with default_dtype(np.float64):
        model = DenseNet(growth_rate=8, block_config=(2, 3, 2, 2), num_init_features=16, num_classes=10)
    theirs = torch_densenet.DenseNet(8, (2, 3, 2, 2), 16, num_classes=10)
    assert_parity(model, theirs, _input((2, 3, 64, 64)), rtol=1e-10, train_outputs=True)


@pytest.mark.torch
@pytest.mark.slow
def test_densenet121_matches_torch_in_float64():
    from tests.models import torch_densenet
    with default_dtype(np.float64):
        model = get("densenet121")
    assert_parity(model, torch_densenet.DenseNet(), _input((1, 3, 64, 64)), rtol=1e-10, train_outputs=True)


@pytest.mark.parametrize("name, depth, growth_rate, bottleneck", [
    ("densenet_bc_L100_k12_cifar", 100, 12, True),
    ("densenet_L40_k12_cifar", 40, 12, False),
])
@pytest.mark.torch
def test_cifar_densenets_match_torch(name, depth, growth_rate, bottleneck):
    from tests.models import torch_densenet
    with default_dtype(np.float64):
        model = get(name)
    assert_parity(model, torch_densenet.CifarDenseNet(depth, growth_rate, bottleneck), _input((1, 3, 8, 8)),
                  rtol=1e-10, train_outputs=True)


@pytest.mark.parametrize("bottleneck, depth, block1_channels, trans1_channels", [
    (False, 13, 16 + 3 * 4, 28),      # 3 layers per block from a 16-channel stem, no compression
    (True, 16, 2 * 4 + 2 * 4, 8),     # 2 bottleneck layers from a 2k-channel stem, halved
])
def test_transitions_compress_by_half_only_in_the_bc_variant(bottleneck, depth, block1_channels,
                                                             trans1_channels):
    model = CifarDenseNet(depth, growth_rate=4, bottleneck=bottleneck)
    after_block1 = model.block1(model.conv1(make(_input((1, 3, 8, 8)), dtype=np.float32)))
    assert after_block1.shape == (1, block1_channels, 8, 8)
    assert model.trans1(after_block1).shape == (1, trans1_channels, 4, 4)


def test_dense_layers_see_every_earlier_feature_map():
    model = get("densenet121")
    block = model.features.denseblock2
    widths = [layer.norm1.weight.shape[0] for layer in block.values()]
    assert widths == [128 + 32 * i for i in range(12)]


@pytest.mark.parametrize("options, message", [
    (dict(depth=41), "3 n \\+ 4"),
    (dict(depth=42, bottleneck=True), "6 n \\+ 4"),
    (dict(compression=0.0), "compression must be in"),
])
def test_bad_options_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        CifarDenseNet(**options)
