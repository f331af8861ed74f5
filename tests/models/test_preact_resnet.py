"""Pre-activation ResNets (He et al. 2016) and Wide ResNets (Zagoruyko & Komodakis 2016).

Parity is against tests/models/torch_resnets.py's PreActResNet (projection
shortcut on the pre-activated input, as timm's resnetv2).
"""
import numpy as np
import pytest

import minidl
from minidl import nn
from minidl.models import get
from minidl.models.preact_resnet import PreActBasicBlock, PreActBottleneck, PreActResNet, wide_resnet
from tests.conftest import make
from tests.models.common import assert_parity, default_dtype

IMAGENET_WIDTHS = (64, 128, 256, 512)
NOT_CPU = ["strict", pytest.param("cuda", marks=pytest.mark.gpu)]   # the CPU runs in the parity tests


def _input(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("device", NOT_CPU)
def test_preact_resnet164_forward_backward(device):
    model = get("preact_resnet164").to(device)
    out = model(make(_input((2, 3, 8, 8)), device, dtype=np.float32))
    assert out.shape == (2, 10)
    out.sum().backward()
    assert [name for name, p in model.named_parameters() if p.grad is None] == []


@pytest.mark.torch
@pytest.mark.parametrize("name, block", [("preact_resnet110", "PreActBasicBlock"),
                                         ("preact_resnet164", "PreActBottleneck")])
def test_cifar_preact_resnets_match_torch(name, block):
    from tests.models import torch_resnets
    with default_dtype(np.float64):
        model = get(name)
    theirs = torch_resnets.PreActResNet(getattr(torch_resnets, block), [18, 18, 18], (16, 32, 64), 10)
    assert_parity(model, theirs, _input((2, 3, 8, 8)), rtol=1e-10, train_outputs=True)


@pytest.mark.torch
def test_wrn_16_4_matches_torch():
    from tests.models import torch_resnets
    with default_dtype(np.float64):
        model = get("wrn_16_4")
    theirs = torch_resnets.PreActResNet(torch_resnets.PreActBasicBlock, [2, 2, 2], (64, 128, 256), 10,
                                        stage_name="block")
    assert_parity(model, theirs, _input((2, 3, 8, 8)), rtol=1e-10)


@pytest.mark.torch
def test_wide_resnet_matches_torch_in_float32():
    from tests.models import torch_resnets
    model = wide_resnet(depth=10, widen_factor=2)
    theirs = torch_resnets.PreActResNet(torch_resnets.PreActBasicBlock, [1, 1, 1], (32, 64, 128), 10,
                                        stage_name="block")
    assert_parity(model, theirs, _input((2, 3, 16, 16), np.float32), rtol=1e-4, train_outputs=True)


@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.parametrize("name, block, layers", [("preact_resnet18", "PreActBasicBlock", [2, 2, 2, 2]),
                                                 ("preact_resnet50", "PreActBottleneck", [3, 4, 6, 3])])
def test_imagenet_preact_resnets_match_torch(name, block, layers):
    from tests.models import torch_resnets
    with default_dtype(np.float64):
        model = get(name)
    theirs = torch_resnets.PreActResNet(getattr(torch_resnets, block), layers, IMAGENET_WIDTHS, 1000)
    assert_parity(model, theirs, _input((2, 3, 64, 64)), rtol=1e-10, train_outputs=True)


def test_wide_resnet_dropout_sits_between_the_convolutions_and_is_off_in_eval():
    dropping, plain = wide_resnet(10, 2, dropout_rate=0.3), wide_resnet(10, 2)
    blocks = [b for b in dropping.modules() if isinstance(b, PreActBasicBlock)]
    assert blocks and all(isinstance(b.dropout, nn.Dropout) for b in blocks)
    plain.load_state_dict(dropping.state_dict())
    x = make(_input((2, 3, 8, 8)), dtype=np.float32)
    with minidl.no_grad():
        np.testing.assert_allclose(dropping.eval()(x).numpy(), plain.eval()(x).numpy(), rtol=1e-6)


@pytest.mark.parametrize("block, in_channels", [(PreActBasicBlock, 16), (PreActBottleneck, 64)])
def test_drop_path_is_the_identity_in_eval_mode_and_drops_branches_in_training(block, in_channels):
    dropping, plain = block(in_channels, 16, drop_path=0.5), block(in_channels, 16)
    plain.load_state_dict(dropping.state_dict())
    x = make(_input((32, in_channels, 4, 4)), dtype=np.float32)
    with minidl.no_grad():
        np.testing.assert_allclose(dropping.eval()(x).numpy(), plain.eval()(x).numpy(), rtol=1e-6)
        out = dropping.train()(x).numpy()
    dropped = [np.array_equal(o, xi) for o, xi in zip(out, x.numpy())]     # x + 0: the identity path
    assert 0 < sum(dropped) < len(dropped)


def test_drop_path_rates_rise_linearly_over_the_blocks():
    model = get("preact_resnet18", drop_path_rate=0.4)
    rates = [b.drop_path.p for b in model.modules() if isinstance(b, PreActBasicBlock)]
    assert rates == pytest.approx([0.4 * (i + 1) / 8 for i in range(8)])


@pytest.mark.parametrize("build, message", [
    (lambda: wide_resnet(depth=17, widen_factor=2), "6n \\+ 4"),
    (lambda: PreActResNet(PreActBottleneck, [1, 1, 1], (16, 32, 64), stem="cifar", dropout_rate=0.3),
     "needs PreActBasicBlock"),
    (lambda: PreActResNet(PreActBasicBlock, [1, 1], (16, 32, 64)), "2 stage depths"),
    (lambda: PreActResNet(PreActBasicBlock, [1, 1, 1], (16, 32, 64), stem="tiny"), "stem must be"),
])
def test_bad_options_are_rejected(build, message):
    with pytest.raises(ValueError, match=message):
        build()
