"""Shape ops: numerical gradients (including repeated indices), PyTorch parity, errors."""
import numpy as np
import pytest

import minidl
from minidl import autograd as A
from minidl.autograd import OpError
from tests.conftest import make

rng = np.random.default_rng(2)


def _x(device, shape=(2, 3, 4)):
    return make(rng.standard_normal(shape), device, requires_grad=True)


@pytest.mark.parametrize("fn", [
    lambda x: x.reshape(6, 4),
    lambda x: x.reshape(-1),
    lambda x: x.transpose(0, 2),
    lambda x: x.permute(1, 2, 0),
    lambda x: x.T,
    lambda x: x.flatten(1),
    lambda x: x[1],
    lambda x: x[:, 1:3, ::2],
    lambda x: x[..., None, -1],
    lambda x: A.pad(x, ((0, 0), (1, 2), (2, 1)), value=3.0),
], ids=["reshape", "reshape-1", "transpose", "permute", "T", "flatten", "int", "slices",
        "ellipsis", "pad"])
def test_shape_gradcheck(device, fn):
    assert minidl.gradcheck(fn, [_x(device)])


def test_getitem_with_repeated_integer_indices_accumulates(device):
    x = _x(device, (5, 3))
    index = make(np.array([0, 2, 2, 4, 0]), device, dtype=None)
    assert minidl.gradcheck(lambda x: x[index] * 2.0, [x])
    x.grad = None
    x[index].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[:, 0], [2, 0, 2, 0, 1])


def test_concat_stack_split_gradcheck(device):
    a, b = _x(device, (2, 3)), _x(device, (2, 5))
    assert minidl.gradcheck(lambda a, b: A.concat([a, b, a], axis=1), [a, b])
    c = _x(device, (2, 3))
    assert minidl.gradcheck(lambda a, c: A.stack([a, c], axis=1), [a, c])
    x = _x(device, (7, 2))
    assert minidl.gradcheck(lambda x: A.split(x, 3)[0] * A.split(x, 3)[2].sum(), [x])
    assert minidl.gradcheck(lambda x: A.split(x, [2, 5], axis=0)[1], [x])


def test_split_unused_piece_gets_zero_gradient():
    x = minidl.randn(4, 2, requires_grad=True)
    first, _ = A.split(x, 2)
    first.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 1], [1, 1], [0, 0], [0, 0]])


@pytest.mark.torch
def test_matches_torch():
    torch = pytest.importorskip("torch")
    data = rng.standard_normal((2, 3, 4)).astype(np.float32)
    x = minidl.tensor(data, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    y = A.concat([x.permute(2, 0, 1).reshape(4, 6), x[:, 1].transpose(0, 1)], axis=1)
    ty = torch.cat([tx.permute(2, 0, 1).reshape(4, 6), tx[:, 1].transpose(0, 1)], dim=1)
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    w = rng.standard_normal(y.shape).astype(np.float32)
    (y * minidl.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_errors():
    x = minidl.zeros(2, 3)
    with pytest.raises(OpError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\)"):
        x.reshape(4, 2)
    with pytest.raises(OpError, match="concat: shapes"):
        A.concat([x, minidl.zeros(3, 3)], axis=1)
    with pytest.raises(OpError, match="split: sizes"):
        A.split(x, [1, 3], axis=1)
    with pytest.raises(OpError, match="pad: negative padding"):
        A.pad(x, ((0, 0), (-1, 0)))
    with pytest.raises(OpError, match="permute"):
        x.permute(0, 0)
