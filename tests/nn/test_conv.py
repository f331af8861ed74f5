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
    with pytest.raises(OpError, match="Conv2d: stride must be at least 1, got 0"):
        nn.Conv2d(1, 4, 3, stride=0)
    with pytest.raises(OpError, match="Conv2d: stride must be an int or a tuple of 2 ints, got 1.5"):
        nn.Conv2d(1, 4, 3, stride=1.5)
    with pytest.raises(OpError, match=r"Conv2d: padding must be at least 0, got \(1, -1\)"):
        nn.Conv2d(1, 4, 3, padding=(1, -1))
    with pytest.raises(OpError, match=r"Conv2d: padding='same' needs stride 1, got stride \(2, 2\)"):
        nn.Conv2d(1, 4, 3, padding="same", stride=2)
    with pytest.raises(OpError, match="Conv1d: dilation must be an int or a tuple of 1 ints, got True"):
        nn.Conv1d(1, 4, 3, dilation=True)


def test_arguments_are_stored_as_pytorch_stores_them():
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1)
    assert (conv.kernel_size, conv.stride, conv.padding, conv.dilation) == ((3, 3), (2, 2), (1, 1), (1, 1))
    assert nn.Conv2d(2, 3, 4, padding="same").padding == "same"
    conv1 = nn.Conv1d(2, 3, 5, padding=2)
    assert (conv1.kernel_size, conv1.stride, conv1.padding, conv1.dilation) == ((5,), (1,), (2,), (1,))


@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4, 5, 6, (2, 3), (4, 1)])
def test_same_padding_agrees_with_the_op_for_every_kernel_size(kernel_size, dilation):
    """Even kernels pad one pixel more on the bottom/right, in the layer as in F.conv2d."""
    import minidl.functional as F
    conv = nn.Conv2d(2, 3, kernel_size, padding="same", dilation=dilation)
    x = make(rng.standard_normal((2, 2, 7, 6)), dtype=np.float32)
    y = conv(x)
    assert y.shape == (2, 3, 7, 6)
    expected = F.conv2d(x, conv.weight, conv.bias, padding="same", dilation=dilation)
    np.testing.assert_array_equal(y.numpy(), expected.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("kernel_size", [2, 3, 4, (2, 3)])
def test_same_padding_matches_torch_for_even_kernels(kernel_size, device):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 2, 7, 6))
    assert_matches_torch(nn.Conv2d(2, 3, kernel_size, padding="same"),
                         torch.nn.Conv2d(2, 3, kernel_size, padding="same"), x, device=device)
