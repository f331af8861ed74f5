"""Conv1d and Conv2d layers: PyTorch parity, argument handling and errors naming the layer."""
import numpy as np
import pytest

from minidl import nn
from minidl.autograd import OpError

from tests.conftest import make
from tests.nn.common import assert_matches_torch

rng = np.random.default_rng(0)

CONV2D = [
    ((2, 5), dict(kernel_size=3, padding=1)),                  # the lab's nn.Conv2d(2, 5, 3, padding=1)
    ((4, 6), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), bias=False)),
    ((4, 6), dict(kernel_size=3, dilation=2, groups=2)),
    ((4, 4), dict(kernel_size=3, padding="same", groups=4)),
    ((4, 6), dict(kernel_size=5, padding="valid")),
]


@pytest.mark.torch
@pytest.mark.parametrize("args,kwargs", CONV2D, ids=[str(k) for _, k in CONV2D])
def test_conv2d_matches_torch(args, kwargs, device):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, args[0], 7, 6))
    assert_matches_torch(nn.Conv2d(*args, **kwargs), torch.nn.Conv2d(*args, **kwargs), x, device=device)


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [dict(kernel_size=3), dict(kernel_size=2, stride=2, padding=1, bias=False),
                                    dict(kernel_size=3, dilation=2, groups=3, padding="same")])
def test_conv1d_matches_torch(kwargs, device):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 9))
    assert_matches_torch(nn.Conv1d(3, 6, **kwargs), torch.nn.Conv1d(3, 6, **kwargs), x, device=device)


def test_lab_example_keeps_the_6x6_size():
    conv = nn.Conv2d(2, 5, kernel_size=3, padding=1)
    assert conv.weight.shape == (5, 2, 3, 3)
    assert conv(make(rng.uniform(size=(1, 2, 6, 6)), dtype=np.float32)).shape == (1, 5, 6, 6)


def test_wrong_channel_count_names_the_layer():
    with pytest.raises(OpError, match=r"Conv2d\(3, 64, kernel_size=\(3, 3\), stride=\(1, 1\)\): "
                                      r"input has 1 channels, expected 3 \(input shape \(8, 1, 28, 28\)\)"):
        nn.Conv2d(3, 64, 3)(make(np.zeros((8, 1, 28, 28))))
    with pytest.raises(OpError, match=r"Conv1d\(3, 6, .*\): expected a 3-dim input, got shape \(3, 9\)"):
        nn.Conv1d(3, 6, 3)(make(np.zeros((3, 9))))


def test_constructor_errors():
    with pytest.raises(OpError, match=r"Conv2d\(6, 4\): in_channels and out_channels must both be "
                                      r"divisible by groups=4"):
        nn.Conv2d(6, 4, 3, groups=4)
    with pytest.raises(OpError, match="Conv2d: in_channels must be a positive int, got 0"):
        nn.Conv2d(0, 4, 3)
    with pytest.raises(OpError, match=r"Conv2d: kernel_size must be an int or a tuple of 2 ints"):
        nn.Conv2d(1, 4, (3, 3, 3))
    with pytest.raises(OpError, match="Conv2d: kernel_size, stride and dilation must be positive"):
        nn.Conv2d(1, 4, 3, stride=0)
    with pytest.raises(OpError, match="Conv2d: padding='same' needs stride 1 and an odd kernel span"):
        nn.Conv2d(1, 4, 4, padding="same")
