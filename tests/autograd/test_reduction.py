"""Reductions: numerical gradients over axes and keepdims, ties, PyTorch parity."""
import numpy as np
import pytest

import minidl
from minidl import autograd as A
from minidl.autograd import OpError
from tests.conftest import make

rng = np.random.default_rng(1)


@pytest.mark.parametrize("op", [A.sum, A.mean, A.max, A.min])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_gradcheck(device, op, axis, keepdims):
    x = make(rng.permutation(24).reshape(2, 3, 4) / 7.0, device, requires_grad=True)  # no ties
    assert minidl.gradcheck(lambda x: op(x, axis, keepdims), [x])


@pytest.mark.torch
def test_max_shares_the_gradient_between_ties_like_torch_amax():
    torch = pytest.importorskip("torch")
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    x = minidl.tensor(data, requires_grad=True)
    x.max(axis=1).sum().backward()
    tx = torch.tensor(data, requires_grad=True)
    tx.amax(dim=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.torch
def test_mean_matches_torch():
    torch = pytest.importorskip("torch")
    data = rng.standard_normal((3, 4, 5)).astype(np.float32)
    x = minidl.tensor(data, requires_grad=True)
    (x.mean(axis=(0, 2)) ** 2).sum().backward()
    tx = torch.tensor(data, requires_grad=True)
    (tx.mean(dim=(0, 2)) ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_bad_axis_is_named():
    with pytest.raises(OpError, match="sum: axis 3 is out of range"):
        minidl.zeros(2, 3).sum(axis=3)
