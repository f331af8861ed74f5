"""The version counter: backward refuses data changed since forward, and gradients of another dtype."""
import numpy as np
import pytest

import minidl
from minidl import nn, optim
from minidl.autograd import BackwardError, Function, OpError


def test_assigning_data_between_forward_and_backward_is_refused():
    w = minidl.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    w.data = np.array([5.0, 5.0], np.float32)     # the gradient would have been 2 * 5, not 2 * w
    with pytest.raises(BackwardError, match=r"backward through Mul: its input 0 of shape \(2,\) was "
                                            r"modified in place"):
        loss.backward()


def test_optimizer_step_between_two_retained_backwards_is_refused():
    layer = nn.Linear(3, 2)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    loss = (layer(minidl.ones(4, 3)) ** 2).sum()
    loss.backward(retain_graph=True)
    opt.step()      # p.data -= lr * g: the saved weights are no longer what forward used
    with pytest.raises(BackwardError, match="e.g. by optimizer.step"):
        loss.backward()


def test_an_edit_through_a_detached_alias_is_seen():
    x = minidl.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()          # Exp saves its output for backward
    alias = y.detach()
    alias.data -= 1
    with pytest.raises(BackwardError, match="Exp: its output 0"):
        y.sum().backward()


def test_changes_before_the_forward_or_after_the_backward_are_fine():
    w = minidl.tensor([1.0, 2.0], requires_grad=True)
    w.data = w.data * 3
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [6.0, 12.0])
    w.data -= 1      # the graph is freed: nothing to check


def test_a_gradient_of_another_dtype_is_refused():
    class ToFloat64Gradient(Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return (gy * 2).astype(np.float64)

    x = minidl.tensor([1.0, 2.0], dtype=np.float32, requires_grad=True)
    with pytest.raises(BackwardError, match="ToFloat64Gradient.backward returned a float64 gradient for a "
                                            "float32 input"):
        ToFloat64Gradient()(x).sum().backward()
    y = x * 2
    with pytest.raises(OpError, match=r"backward: grad is \(2,\) float64 but the tensor is \(2,\) float32"):
        y.backward(np.ones(2))


def test_a_tensor_made_by_minidl_tensor_does_not_alias_the_callers_array():
    a = np.array([1.0, 2.0])
    w = minidl.tensor(a, requires_grad=True)
    loss = (w * w).sum()
    a[...] = 5.0       # this used to change w, and the gradient below to 2 * 5
    loss.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])
