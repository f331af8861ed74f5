"""LeNet-5 (original and modern) and the CS5242 MNIST ConvNet.

Parity is against PyTorch definitions written from LeCun et al. 1998 and the
CS5242 lab slides: tests/models/torch_classic.py, and for the benchmarked nets
benchmarks/torch_models.py (one set of twins for both).
"""
import numpy as np
import pytest

from minidl.models import get
from minidl.models.lenet import C3_TABLE
from tests.models.common import assert_parity, count_params, default_dtype, reference
from tests.models.checks import DEVICES, assert_trains, random_input


@pytest.mark.parametrize("device", DEVICES)
def test_lenet5_original_trains_and_keeps_rbf_centres_fixed(device):
    model = get("lenet5_original")
    out = assert_trains(model, random_input((2, 1, 32, 32)), device)
    assert out.shape == (2, 10)
    assert not model.rbf.weight.requires_grad
    assert set(np.unique(model.rbf.weight.numpy())) == {-1.0, 1.0}


def test_lenet5_original_counts_match_the_paper():
    entry = reference("lenet5_original")
    model = get("lenet5_original")
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert (count_params(model), trainable) == (entry["params"], entry["trainable_params"])
    # LeCun 1998 Sec. II-B, layer by layer.
    per_layer = {name: count_params(getattr(model, name)) for name in ("c1", "s2", "c3", "s4", "c5", "f6")}
    assert per_layer == {"c1": 156, "s2": 12, "c3": 1516, "s4": 32, "c5": 48120, "f6": 10164}
    assert [list(maps) for maps in C3_TABLE] == entry["c3_connection_table"]


@pytest.mark.torch
def test_lenet5_original_matches_torch():
    torch = pytest.importorskip("torch")
    from tests.models import torch_classic
    with default_dtype(np.float64):
        model = get("lenet5_original")
    torch.manual_seed(0)
    assert_parity(model, torch_classic.LeNet5Original(), random_input((2, 1, 32, 32)), rtol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize("activation, pool, input_size", [("relu", "max", 28), ("tanh", "avg", 32)])
def test_lenet5_matches_torch(activation, pool, input_size):
    torch = pytest.importorskip("torch")
    from benchmarks import torch_models
    with default_dtype(np.float64):
        model = get("lenet5", activation=activation, pool=pool, input_size=input_size)
    theirs = torch_models.lenet5(act={"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[activation],
                                 pool={"max": torch.nn.MaxPool2d, "avg": torch.nn.AvgPool2d}[pool],
                                 padding=(32 - input_size) // 2)
    assert_parity(model, theirs, random_input((2, 1, input_size, input_size)), rtol=1e-10)


@pytest.mark.parametrize("device", DEVICES)
def test_lenet5_trains(device):
    assert assert_trains(get("lenet5"), random_input((2, 1, 28, 28)), device).shape == (2, 10)


@pytest.mark.parametrize("options, message", [({"activation": "sigmoid"}, "activation"),
                                              ({"pool": "lp"}, "pool"),
                                              ({"input_size": 30}, "input_size")])
def test_lenet5_rejects_unknown_options(options, message):
    with pytest.raises(ValueError, match=message):
        get("lenet5", **options)


@pytest.mark.parametrize("device", DEVICES)
def test_mnist_convnet_trains(device):
    assert assert_trains(get("mnist_convnet"), random_input((2, 1, 28, 28)), device).shape == (2, 10)


@pytest.mark.torch
def test_mnist_convnet_matches_torch():
    pytest.importorskip("torch")
    from benchmarks import torch_models
    with default_dtype(np.float64):
        model = get("mnist_convnet")
    assert_parity(model, torch_models.mnist_convnet(), random_input((2, 1, 28, 28)), rtol=1e-10)
