"""The CIFAR ResNets of He et al. 2015 (option A shortcuts) and their plain counterparts.

Parity is against tests/models/torch_resnets.py's CifarResNet (option A
written with torch's F.pad, as in akamaster/pytorch_resnet_cifar10), and
ResNet-20 (at its default and a narrower width) against the benchmarks' twin
in benchmarks/torch_models.py.
"""
import numpy as np
import pytest

import minidl
from minidl.models import get
from minidl.models.cifar_resnet import ZeroPadShortcut
from minidl.models.resnet import BasicBlock
from tests.conftest import make
from tests.models.common import assert_parity, count_params, default_dtype, reference


def _input(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("device", ["strict", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_resnet20_forward_backward(device):      # the CPU runs in the parity tests
    model = get("resnet20").to(device)
    out = model(make(_input((2, 3, 16, 16)), device, dtype=np.float32))
    assert out.shape == (2, 10)
    out.sum().backward()
    assert [name for name, p in model.named_parameters() if p.grad is None] == []


@pytest.mark.torch
@pytest.mark.parametrize("name, residual", [("resnet20", True), ("plain20", False)])
def test_matches_torch(name, residual):
    from tests.models import torch_resnets
    with default_dtype(np.float64):
        model = get(name)
    assert_parity(model, torch_resnets.CifarResNet(20, residual=residual), _input((2, 3, 8, 8)),
                  rtol=1e-10, train_outputs=True)


@pytest.mark.torch
@pytest.mark.parametrize("width", [16, 6])
def test_resnet20_matches_the_benchmarks_twin(width):
    from benchmarks import torch_models
    with default_dtype(np.float64):
        model = get("resnet20", width=width)
    assert_parity(model, torch_models.resnet20(width=width), _input((2, 3, 8, 8)), rtol=1e-10,
                  train_outputs=True)


def test_width_sets_the_channels_of_every_stage():
    model = get("resnet20", width=8)
    assert [model.layer1[0].conv1.weight.shape[0], model.layer2[0].conv1.weight.shape[0],
            model.layer3[2].conv2.weight.shape[0]] == [8, 16, 32]
    assert model.fc.weight.shape == (10, 32)
    assert model(make(_input((2, 3, 8, 8)), dtype=np.float32)).shape == (2, 10)


@pytest.mark.torch
@pytest.mark.slow
def test_resnet110_matches_torch():
    from tests.models import torch_resnets
    with default_dtype(np.float64):
        model = get("resnet110")
    assert_parity(model, torch_resnets.CifarResNet(110), _input((2, 3, 8, 8)), rtol=1e-10,
                  train_outputs=True)


def test_option_a_shortcut_subsamples_and_pads_with_zero_channels(device):
    x = _input((2, 16, 8, 8))
    expected = np.zeros((2, 32, 4, 4))
    expected[:, 8:24] = x[:, :, ::2, ::2]
    out = ZeroPadShortcut(16, 32, stride=2)(make(x, device))
    np.testing.assert_array_equal(out.numpy(), expected)


def test_option_a_shortcut_passes_gradients_to_the_kept_pixels_only(device):
    x = make(_input((1, 16, 4, 4)), device, requires_grad=True)
    ZeroPadShortcut(16, 32, stride=2)(x).sum().backward()
    expected = np.zeros((1, 16, 4, 4))
    expected[:, :, ::2, ::2] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)


@pytest.mark.parametrize("plain, resnet", [("plain20", "resnet20_cifar"), ("plain56", "resnet56_cifar")])
def test_plain_networks_have_the_parameters_of_their_resnets(plain, resnet):
    # Option A shortcuts carry no parameters, so removing them changes no count.
    assert count_params(get(plain)) == reference(resnet)["params"]


def test_plain_network_differs_from_the_resnet_only_by_its_shortcuts():
    resnet, plain = get("resnet20").eval(), get("plain20").eval()
    plain.load_state_dict(resnet.state_dict())
    x = make(_input((1, 3, 8, 8)), dtype=np.float32)
    with minidl.no_grad():
        assert not np.allclose(resnet(x).numpy(), plain(x).numpy(), rtol=1e-3)
    assert all(not b.residual for b in plain.modules() if isinstance(b, BasicBlock))


def test_drop_path_rates_rise_linearly_over_the_blocks():
    model = get("resnet20", drop_path_rate=0.1)
    rates = [b.drop_path.p for b in model.modules() if isinstance(b, BasicBlock)]
    assert rates == pytest.approx([0.1 * (i + 1) / 9 for i in range(9)])


@pytest.mark.parametrize("depth", [19, 21, 2])
def test_depth_must_be_6n_plus_2(depth):
    from minidl.models.cifar_resnet import CifarResNet
    with pytest.raises(ValueError, match="6n \\+ 2"):
        CifarResNet(depth)
