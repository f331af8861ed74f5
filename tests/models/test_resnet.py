"""ResNet for ImageNet (v1.5 and v1), ResNeXt, Wide ResNet-50-2 and the CIFAR ResNet-18 of the benchmarks.

Parity is against tests/models/torch_resnets.py, torchvision's ResNet
rewritten in PyTorch (torchvision is not installed).  Whole bottleneck
networks are heavy, so the default suite checks the bottleneck block on its
own (stride placement, groups, width) and the whole networks run under
``-m slow``.
"""
import numpy as np
import pytest

import minidl
from minidl import nn
from minidl.models import get
from minidl.models.resnet import BasicBlock, Bottleneck, ResNet, drop_path_rates
from tests.conftest import make
from tests.models.common import assert_parity, count_params, default_dtype

NOT_CPU = ["strict", pytest.param("cuda", marks=pytest.mark.gpu)]   # the CPU runs in the parity tests


def _input(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _downsample(in_channels, out_channels, stride, torch_nn=None):
    layers = torch_nn or nn
    return layers.Sequential(layers.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                             layers.BatchNorm2d(out_channels))


@pytest.mark.parametrize("device", NOT_CPU)
def test_resnet18_forward_backward(device):
    model = get("resnet18", num_classes=10).to(device)
    out = model(make(_input((2, 3, 32, 32)), device, dtype=np.float32))
    assert out.shape == (2, 10)
    out.sum().backward()
    assert [name for name, p in model.named_parameters() if p.grad is None] == []


@pytest.mark.torch
def test_resnet18_matches_torch():
    from tests.models import torch_resnets
    with default_dtype(np.float64):
        model = get("resnet18")
    assert_parity(model, torch_resnets.ResNet(torch_resnets.BasicBlock, [2, 2, 2, 2]),
                  _input((2, 3, 32, 32)), rtol=1e-10)


@pytest.mark.parametrize("options, torch_options, dtype, rtol", [
    (dict(variant="v1.5"), dict(), np.float64, 1e-10),
    (dict(variant="v1"), dict(stride_on_1x1=True), np.float64, 1e-10),
    (dict(groups=8, width_per_group=4), dict(groups=8, base_width=4), np.float64, 1e-10),
    (dict(width_per_group=128), dict(base_width=128), np.float32, 1e-4),
])
@pytest.mark.torch
def test_bottleneck_matches_torch(options, torch_options, dtype, rtol):
    import torch
    from tests.models import torch_resnets
    with default_dtype(dtype):
        block = Bottleneck(64, 32, stride=2, downsample=_downsample(64, 128, 2), **options)
    theirs = torch_resnets.Bottleneck(64, 32, stride=2, downsample=_downsample(64, 128, 2, torch.nn),
                                      **torch_options)
    assert_parity(block, theirs, _input((2, 64, 8, 8), dtype), rtol=rtol, train_outputs=True)


@pytest.mark.torch
def test_resnet18_cifar_has_the_parameters_of_its_torch_definition():
    from benchmarks import torch_models
    theirs = torch_models.resnet18_cifar()
    assert count_params(get("resnet18_cifar")) == sum(p.numel() for p in theirs.parameters())


def test_resnet18_cifar_width_sets_the_stem_and_every_stage():
    model = get("resnet18_cifar", width=8)
    assert [model.conv1.weight.shape[0]] + [getattr(model, f"layer{i}")[1].conv2.weight.shape[0]
                                            for i in range(1, 5)] == [8, 8, 16, 32, 64]
    assert model.fc.weight.shape == (10, 64)
    assert model(make(_input((2, 3, 8, 8)), dtype=np.float32)).shape == (2, 10)


@pytest.mark.torch
@pytest.mark.slow
def test_resnet18_cifar_matches_torch():
    from benchmarks import torch_models
    with default_dtype(np.float64):
        model = get("resnet18_cifar")
    theirs = torch_models.resnet18_cifar()
    assert_parity(model, theirs, _input((2, 3, 16, 16)), rtol=1e-10, train_outputs=True)


@pytest.mark.slow
@pytest.mark.parametrize("name, options", [
    ("resnet50", dict()), ("resnext50_32x4d", dict(groups=32, width_per_group=4)),
    ("wide_resnet50_2", dict(width_per_group=128)),
])
@pytest.mark.torch
def test_bottleneck_resnets_match_torch(name, options):
    from tests.models import torch_resnets
    with default_dtype(np.float64):
        model = get(name)
    theirs = torch_resnets.ResNet(torch_resnets.Bottleneck, [3, 4, 6, 3], **options)
    assert_parity(model, theirs, _input((2, 3, 64, 64)), rtol=1e-10, train_outputs=True)


@pytest.mark.parametrize("variant, strides", [("v1.5", [(1, 1), (2, 2)]), ("v1", [(2, 2), (1, 1)])])
def test_bottleneck_stride_sits_on_the_3x3_in_v1_5_and_on_the_first_1x1_in_v1(variant, strides):
    block = Bottleneck(256, 128, stride=2, downsample=_downsample(256, 512, 2), variant=variant)
    assert [tuple(np.broadcast_to(c.stride, 2)) for c in (block.conv1, block.conv2)] == strides


def test_drop_path_rates_rise_linearly_to_the_last_block():
    assert drop_path_rates(0.2, 4) == pytest.approx([0.05, 0.1, 0.15, 0.2])
    model = get("resnet18", drop_path_rate=0.2)
    rates = [m.drop_path.p for m in model.modules() if isinstance(m, BasicBlock)]
    assert rates == pytest.approx([0.2 * (i + 1) / 8 for i in range(8)])


@pytest.mark.parametrize("block, in_channels", [(BasicBlock, 16), (Bottleneck, 64)])
def test_drop_path_is_the_identity_in_eval_mode_and_drops_branches_in_training(block, in_channels):
    dropping, plain = block(in_channels, 16, drop_path=0.5), block(in_channels, 16)
    plain.load_state_dict(dropping.state_dict())
    x = make(_input((32, in_channels, 4, 4)), dtype=np.float32)
    with minidl.no_grad():
        np.testing.assert_allclose(dropping.eval()(x).numpy(), plain.eval()(x).numpy(), rtol=1e-6)
        out, full = dropping.train()(x).numpy(), plain.train()(x).numpy()
    # a dropped sample is relu(shortcut) = relu(x); a kept one has its branch scaled by 2
    dropped = [np.allclose(o, np.maximum(xi, 0)) for o, xi in zip(out, x.numpy())]
    assert 0 < sum(dropped) < len(dropped)
    assert not np.allclose(out, full)


@pytest.mark.parametrize("name, last_bn", [("resnet18", "bn2"), ("resnet50", "bn3")])
def test_zero_init_residual_makes_each_block_start_as_the_identity(name, last_bn):
    model = get(name, zero_init_residual=True).eval()
    block = model.layer1[1]                               # no downsample: relu(0 + x) = x for x >= 0
    assert not getattr(block, last_bn).weight.numpy().any()
    channels = block.conv1.in_channels
    x = make(np.abs(_input((1, channels, 4, 4))), dtype=np.float32)
    with minidl.no_grad():
        np.testing.assert_allclose(block(x).numpy(), x.numpy(), rtol=1e-6)


@pytest.mark.parametrize("options, message", [
    (dict(variant="v2"), "variant must be 'v1' or 'v1.5'"),
    (dict(stem="tiny"), "stem must be 'imagenet' or 'cifar'"),
    (dict(groups=32), "need Bottleneck blocks"),
])
def test_bad_options_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        ResNet(BasicBlock, [2, 2, 2, 2], **options)
