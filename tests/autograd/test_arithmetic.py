"""Elementwise arithmetic and matmul: numerical gradients, PyTorch parity, errors."""
import numpy as np
import pytest

import minidl
from minidl import autograd as A
from minidl.autograd import OpError
from tests.conftest import make

rng = np.random.default_rng(0)

# pairs of shapes that broadcast: equal, scalar-like, row, column, new leading axes
BROADCAST = [((3, 4), (3, 4)), ((3, 4), ()), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1))]


def _positive(shape):
    return rng.uniform(0.5, 2.0, shape)


@pytest.mark.parametrize("op", [A.add, A.sub, A.mul, A.div, A.maximum, A.minimum])
@pytest.mark.parametrize("shapes", BROADCAST)
def test_binary_gradcheck(device, op, shapes):
    a = make(_positive(shapes[0]), device, requires_grad=True)
    b = make(_positive(shapes[1]) + 0.25, device, requires_grad=True)   # no ties for max/min
    assert minidl.gradcheck(op, [a, b])


@pytest.mark.parametrize("fn", [A.exp, A.log, A.sqrt, A.abs, A.neg,
                                lambda x: A.clip(x, 0.8, 1.6), lambda x: x ** 3, lambda x: 2.0 ** x,
                                lambda x: 1.0 / x, lambda x: 3.0 - x])
def test_unary_gradcheck(device, fn):
    x = make(_positive((3, 5)), device, requires_grad=True)
    assert minidl.gradcheck(fn, [x])


def test_gradcheck_on_non_contiguous_input(device):
    base = make(_positive((4, 6)), device)
    x = minidl.Tensor(base.data[:, ::2].T, requires_grad=True)      # strided, transposed view
    assert not x.data.flags.c_contiguous
    w = make(rng.standard_normal((4, 2)), device, requires_grad=True)
    assert minidl.gradcheck(lambda x, w: (x @ w).exp(), [x, w])


def test_pow_tensor_exponent(device):
    a = make(_positive((2, 3)), device, requires_grad=True)
    b = make(rng.standard_normal((3,)), device, requires_grad=True)
    assert minidl.gradcheck(A.pow, [a, b])


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 3, 4), (4, 2)), ((4,), (4, 3)),
                                    ((3, 4), (4,)), ((2, 1, 3, 4), (5, 4, 2))])
def test_matmul_gradcheck(device, shapes):
    a = make(rng.standard_normal(shapes[0]), device, requires_grad=True)
    b = make(rng.standard_normal(shapes[1]), device, requires_grad=True)
    assert minidl.gradcheck(A.matmul, [a, b])


def test_where_gradcheck(device):
    cond = make(rng.standard_normal((3, 4)) > 0, device)
    a = make(rng.standard_normal((3, 4)), device, requires_grad=True)
    b = make(rng.standard_normal((4,)), device, requires_grad=True)
    assert minidl.gradcheck(lambda a, b: A.where(cond, a, b), [a, b])


@pytest.mark.torch
def test_matches_torch_float32():
    torch = pytest.importorskip("torch")
    a_np = rng.standard_normal((2, 3, 4)).astype(np.float32)
    b_np = rng.uniform(0.5, 2, (4, 5)).astype(np.float32)
    a, b = minidl.tensor(a_np, requires_grad=True), minidl.tensor(b_np, requires_grad=True)
    ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    out = ((a @ b).exp() / (b.sum(axis=0) + 1.0) - A.maximum(a @ b, 0.5) ** 2).mean()
    tout = ((ta @ tb).exp() / (tb.sum(0) + 1.0) - torch.maximum(ta @ tb, torch.tensor(0.5)) ** 2).mean()
    out.backward()
    tout.backward()
    np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-5)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_errors_name_the_op_and_shapes():
    with pytest.raises(OpError, match=r"add: shapes \(3, 4\) and \(5,\)"):
        minidl.zeros(3, 4) + minidl.zeros(5)
    with pytest.raises(OpError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) do not match"):
        minidl.zeros(3, 4) @ minidl.zeros(5, 2)
    with pytest.raises(OpError, match="different floating dtypes"):
        minidl.zeros(3) + minidl.zeros(3, dtype=np.float64)
    with pytest.raises(OpError, match="different devices"):
        minidl.zeros(3) * make(np.zeros(3), "strict")


def test_python_scalars_keep_the_tensor_dtype():
    x = minidl.ones(3)
    assert (x * 2.5 + 1).dtype == np.float32
    assert (2.5 * x).dtype == np.float32
