"""Linear and embedding: numerical gradients, PyTorch parity, errors."""
import numpy as np
import pytest

import minidl
import minidl.functional as F
from minidl.autograd import OpError
from tests.conftest import make
from tests.functional.torch_ref import check_against_torch

rng = np.random.default_rng(0)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape", [(5,), (4, 5), (2, 3, 5)])
def test_linear_gradcheck(device, x_shape, bias):
    x = make(rng.standard_normal(x_shape), device, requires_grad=True)
    W = make(rng.standard_normal((3, 5)), device, requires_grad=True)
    b = [make(rng.standard_normal(3), device, requires_grad=True)] if bias else []
    assert minidl.gradcheck(F.linear, [x, W, *b])


def test_linear_gradient_of_weight_only(device):
    x = make(rng.standard_normal((4, 5)), device)
    W = make(rng.standard_normal((3, 5)), device, requires_grad=True)
    assert minidl.gradcheck(lambda W: F.linear(x, W), [W])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias, dtype):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal((2, 7, 20)), rng.standard_normal((9, 20))]
    if bias:
        arrays.append(rng.standard_normal(9))
    check_against_torch(F.linear, torch.nn.functional.linear, arrays, dtype)


def test_linear_is_x_times_w_transposed_plus_b():
    x = minidl.tensor([[1.0, 2.0]])
    W = minidl.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_array_equal(F.linear(x, W, minidl.tensor([0.5, 0.0, -1.0])).numpy(),
                                  [[1.5, 2.0, 2.0]])


def test_linear_errors_name_the_shapes():
    with pytest.raises(OpError, match=r"linear: input of shape \(4, 5\) needs a weight of shape "
                                      r"\(out_features, 5\), got \(3, 6\)"):
        F.linear(minidl.randn(4, 5), minidl.randn(3, 6))
    with pytest.raises(OpError, match=r"linear: bias has shape \(4,\) but weight \(3, 5\) has 3 outputs"):
        F.linear(minidl.randn(4, 5), minidl.randn(3, 5), minidl.randn(4))


def test_embedding_gradcheck_with_repeated_indices(device):
    indices = make(np.array([[0, 2, 2], [5, 0, 1]]), device)     # 0 and 2 repeat
    W = make(rng.standard_normal((6, 4)), device, requires_grad=True)
    assert minidl.gradcheck(lambda W: F.embedding(indices, W), [W])


def test_embedding_padding_row_gets_no_gradient(device):
    # by design not the true derivative (so no gradcheck): the padding row stays fixed
    W = make(rng.standard_normal((6, 4)), device, requires_grad=True)
    F.embedding(make(np.array([2, 2, 3]), device), W, padding_idx=2).sum().backward()
    expected = np.zeros((6, 4))
    expected[3] = 1
    np.testing.assert_array_equal(W.grad.numpy(), expected)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding_idx", [None, 1, -2])
def test_embedding_matches_torch(padding_idx, dtype):
    torch = pytest.importorskip("torch")
    indices = rng.integers(0, 10, (4, 7))
    indices[0, :3] = 1                                             # the padding row appears
    check_against_torch(lambda i, W: F.embedding(i, W, padding_idx),
                        lambda i, W: torch.nn.functional.embedding(i, W, padding_idx),
                        [indices, rng.standard_normal((10, 6))], dtype)


def test_embedding_takes_int_arrays_and_keeps_index_shape(device):
    W = make(rng.standard_normal((5, 3)), device, dtype=np.float32)
    y = F.embedding(np.array([[4], [0]]), W)
    assert y.shape == (2, 1, 3) and y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy()[:, 0], W.numpy()[[4, 0]])


def test_embedding_errors():
    W = minidl.randn(5, 3)
    with pytest.raises(OpError, match=r"embedding: indices range over \[0, 7\] but weight has 5 rows"):
        F.embedding(minidl.tensor(np.array([0, 7])), W)
    with pytest.raises(OpError, match=r"embedding: indices range over \[-1, 2\]"):
        F.embedding(np.array([-1, 2]), W)
    with pytest.raises(OpError, match=r"embedding: indices must be integers, got dtype float32"):
        F.embedding(minidl.tensor([1.0, 2.0]), W)
    with pytest.raises(OpError, match=r"embedding: weight must be \(num_embeddings, embedding_dim\), "
                                      r"got \(5,\)"):
        F.embedding(np.array([1]), minidl.randn(5))
    with pytest.raises(OpError, match=r"embedding: padding_idx 5 is out of range for 5 rows"):
        F.embedding(np.array([1]), W, padding_idx=5)
