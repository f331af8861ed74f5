"""ResNet for ImageNet (v1.5 and v1), ResNeXt, Wide ResNet-50-2 and the CIFAR ResNet-18 of the benchmarks.

Parity is against tests/models/torch_resnets.py, torchvision's ResNet
rewritten in PyTorch (torchvision is not installed).
"""
import numpy as np
import pytest

import minidl
from minidl.models import get
from minidl.models.resnet import BasicBlock, Bottleneck, ResNet, drop_path_rates
from tests.conftest import make
from tests.models.common import assert_parity, count_params, default_dtype


def _input(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _blocks(model):
    return [m for m in model.modules() if isinstance(m, (BasicBlock, Bottleneck))]


def test_resnet18_forward_backward(device):
    model = get("resnet18", num_classes=10).to(device)
    out = model(make(_input((2, 3, 32, 32)), device, dtype=np.float32))
    assert out.shape == (2, 10)
    out.sum().backward()
    assert [name for name, p in model.named_parameters() if p.grad is None] == []


def test_resnet18_matches_torch():
    from tests.models import torch_resnets
    with default_dtype(np.float64):
        model = get("resnet18")
    assert_parity(model, torch_resnets.ResNet(torch_resnets.BasicBlock, [2, 2, 2, 2]),
                  _input((2, 3, 32, 32)), rtol=1e-10, train_outputs=True)


@pytest.mark.parametrize("variant, stride_on_1x1", [("v1.5", False), ("v1", True)])
def test_bottleneck_stride_placement_matches_torch(variant, stride_on_1x1):
    from tests.models import torch_resnets
    with default_dtype(np.float64):
        model = ResNet(Bottleneck, [1, 1, 1, 1], num_classes=10, variant=variant)
    theirs = torch_resnets.ResNet(torch_resnets.Bottleneck, [1, 1, 1, 1], num_classes=10,
                                  stride_on_1x1=stride_on_1x1)
    assert_parity(model, theirs, _input((2, 3, 32, 32)), rtol=1e-10, train_outputs=True)


def test_grouped_bottleneck_matches_torch_in_float32():
    from tests.models import torch_resnets
    model = ResNet(Bottleneck, [1, 1, 1, 1], num_classes=10, groups=4, width_per_group=8)
    theirs = torch_resnets.ResNet(torch_resnets.Bottleneck, [1, 1, 1, 1], num_classes=10,
                                  groups=4, width_per_group=8)
    assert_parity(model, theirs, _input((2, 3, 32, 32), np.float32), rtol=1e-4, train_outputs=True)


def test_resnet18_cifar_matches_torch():
    from tests.models import torch_resnets
    with default_dtype(np.float64):
        model = get("resnet18_cifar")
    theirs = torch_resnets.ResNet(torch_resnets.BasicBlock, [2, 2, 2, 2], num_classes=10, cifar_stem=True)
    assert count_params(model) == sum(p.numel() for p in theirs.parameters()) == 11_173_962
    assert_parity(model, theirs, _input((2, 3, 8, 8)), rtol=1e-10, train_outputs=True)


@pytest.mark.slow
@pytest.mark.parametrize("name, groups, width", [("resnet50", 1, 64), ("resnext50_32x4d", 32, 4),
                                                 ("wide_resnet50_2", 1, 128)])
def test_bottleneck_resnets_match_torch(name, groups, width):
    from tests.models import torch_resnets
    with default_dtype(np.float64):
        model = get(name)
    theirs = torch_resnets.ResNet(torch_resnets.Bottleneck, [3, 4, 6, 3], groups=groups,
                                  width_per_group=width)
    assert_parity(model, theirs, _input((1, 3, 64, 64)), rtol=1e-10, train_outputs=True)


def test_stride_sits_on_the_3x3_in_v1_5_and_on_the_first_1x1_in_v1():
    def strides(block):
        return [tuple(np.broadcast_to(c.stride, 2)) for c in (block.conv1, block.conv2)]
    assert strides(get("resnet50").layer2[0]) == [(1, 1), (2, 2)]
    assert strides(get("resnet50", variant="v1").layer2[0]) == [(2, 2), (1, 1)]


def test_drop_path_rates_rise_linearly_to_the_last_block():
    assert drop_path_rates(0.2, 4) == pytest.approx([0.05, 0.1, 0.15, 0.2])
    model = get("resnet18", drop_path_rate=0.2)
    rates = [b.drop_path.p for b in _blocks(model)]
    assert rates == pytest.approx([0.2 * (i + 1) / 8 for i in range(8)])


def test_drop_path_is_the_identity_in_eval_mode_and_random_in_training():
    x = make(_input((2, 3, 32, 32)), dtype=np.float32)
    dropping = get("resnet18", num_classes=10, drop_path_rate=0.5)
    plain = get("resnet18", num_classes=10)
    plain.load_state_dict(dropping.state_dict())
    dropping.eval()
    plain.eval()
    with minidl.no_grad():
        np.testing.assert_allclose(dropping(x).numpy(), plain(x).numpy(), rtol=1e-6)
        dropping.train()
        plain.train()
        assert not np.allclose(dropping(x).numpy(), plain(x).numpy(), rtol=1e-3)


def test_zero_init_residual_makes_each_block_start_as_the_identity():
    model = get("resnet50", zero_init_residual=True).eval()
    block = model.layer1[1]                               # no downsample: relu(0 + x) = x for x >= 0
    x = make(np.abs(_input((1, 256, 4, 4))), dtype=np.float32)
    with minidl.no_grad():
        np.testing.assert_allclose(block(x).numpy(), x.numpy(), rtol=1e-6)


@pytest.mark.parametrize("options, message", [
    (dict(variant="v2"), "variant must be 'v1' or 'v1.5'"),
    (dict(stem="tiny"), "stem must be 'imagenet' or 'cifar'"),
    (dict(groups=32), "need Bottleneck blocks"),
])
def test_bad_options_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        get("resnet18", **options)
