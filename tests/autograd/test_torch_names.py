"""PyTorch's names (minidl/autograd/torch_names.py and the top-level functions): the same results as
torch for the same calls, numerical gradients, errors."""
import numpy as np
import pytest

import minidl
from minidl.autograd import OpError
from tests.conftest import make

rng = np.random.default_rng(5)
# Distinct values: max and min have no ties, so their gradients are well defined.
DATA = rng.permutation(24).reshape(2, 3, 1, 4).astype(np.float64) / 7

CALLS = [
    ("unsqueeze", lambda t, x: x.unsqueeze(0)),
    ("unsqueeze-1", lambda t, x: t.unsqueeze(x, -1)),
    ("squeeze", lambda t, x: x.squeeze()),
    ("squeeze-dim", lambda t, x: x.squeeze(2)),
    ("squeeze-keeps-non-unit", lambda t, x: x.squeeze(1)),
    ("squeeze-dims", lambda t, x: t.squeeze(x, (0, 2))),
    ("amax", lambda t, x: x.amax(dim=(1, 3), keepdim=True)),
    ("amin", lambda t, x: t.amin(x, 1)),
    ("cat", lambda t, x: t.cat([x, x * 2], dim=1)),
    ("flatten", lambda t, x: t.flatten(x, 1)),
    ("view", lambda t, x: x.view(2, -1)),
    ("view-1", lambda t, x: x.view(-1)),
    ("relu", lambda t, x: t.relu(x - 1.05)),      # no input at the kink
    ("sigmoid", lambda t, x: t.sigmoid(x)),
    ("tanh", lambda t, x: t.tanh(x)),
]


@pytest.mark.torch
@pytest.mark.parametrize("call", [c for _, c in CALLS], ids=[name for name, _ in CALLS])
def test_same_call_same_result_as_torch(call):
    torch = pytest.importorskip("torch")
    x, tx = minidl.tensor(DATA, requires_grad=True), torch.tensor(DATA, requires_grad=True)
    y, ty = call(minidl, x), call(torch, tx)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
    w = rng.standard_normal(y.shape)
    (y * minidl.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("call", [c for _, c in CALLS], ids=[name for name, _ in CALLS])
def test_gradcheck(device, call):
    assert minidl.gradcheck(lambda x: call(minidl, x), [make(DATA, device, requires_grad=True)])


def test_size_and_dim():
    x = minidl.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.dim() == 3


def test_errors():
    x = minidl.zeros(2, 3)
    with pytest.raises(OpError, match="unsqueeze: dim 3 is out of range for a tensor with 2 axes"):
        x.unsqueeze(3)
    with pytest.raises(OpError, match="amax: axis 2 is out of range"):
        x.amax(2)
