"""Pooling layers: PyTorch parity and reprs."""
import numpy as np
import pytest

import minidl
from minidl import nn

from tests.nn.common import assert_matches_torch

rng = np.random.default_rng(0)
# distinct values, so that the max of every window is unique (ties make gradients ambiguous)
X = rng.permutation(2 * 3 * 8 * 7).reshape(2, 3, 8, 7) / 10.0

CASES = [
    ("MaxPool2d", (2,), {}),                                   # the lab's nn.MaxPool2d(2, 2)
    ("MaxPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True)),
    ("MaxPool2d", ((2, 3),), dict(stride=1, dilation=2)),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False, ceil_mode=True)),
    ("AdaptiveAvgPool2d", ((3, 2),), {}),
    ("AdaptiveAvgPool2d", (1,), {}),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{n}{a}{k}" for n, a, k in CASES])
def test_matches_torch(name, args, kwargs, device):
    torch = pytest.importorskip("torch")
    assert_matches_torch(getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs), X,
                         device=device)


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [dict(), dict(stride=1, padding=1, ceil_mode=True)])
def test_max_pool1d_matches_torch(kwargs, device):
    torch = pytest.importorskip("torch")
    x = X.reshape(2, 3, 56)
    assert_matches_torch(nn.MaxPool1d(3, **kwargs), torch.nn.MaxPool1d(3, **kwargs), x, device=device,
                         same_repr=False)


def test_lab_example_pools_6x6_to_3x3():
    x = rng.permutation(72).reshape(1, 2, 6, 6).astype(np.float32)
    y = nn.MaxPool2d(2, 2)(minidl.tensor(x))
    np.testing.assert_array_equal(y.numpy(), x.reshape(1, 2, 3, 2, 3, 2).max(axis=(3, 5)))


def test_stride_defaults_to_the_kernel_size():
    assert nn.MaxPool2d(3).stride == 3 and nn.AvgPool2d(2).stride == 2 and nn.MaxPool1d(4).stride == 4
    assert repr(nn.MaxPool1d(2)) == "MaxPool1d(kernel_size=2, stride=2, padding=0, ceil_mode=False)"
