"""The engine: topological order, accumulation, graph freeing, no_grad, memory, errors."""
import gc
import re
import tracemalloc

import numpy as np
import pytest

import minidl
from minidl.autograd import Function, OpError
from minidl.gradcheck import GradcheckError
from tests.conftest import make


def test_tensor_used_twice_accumulates():
    x = minidl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x + x          # x reaches y by three paths
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 1)


def test_diamond_graph_calls_each_backward_once():
    calls = []

    class Double(Function):
        def forward(self, x):
            return 2 * x

        def backward(self, gy):
            calls.append(1)
            return 2 * gy

    x = minidl.tensor([1.0], requires_grad=True)
    h = Double()(x)
    (h * h + h.exp()).sum().backward()
    assert len(calls) == 1
    h_val = 2.0
    np.testing.assert_allclose(x.grad.numpy(), [2 * (2 * h_val + np.exp(h_val))], rtol=1e-6)


def test_leaf_grads_accumulate_across_backward_calls():
    x = minidl.tensor([1.0, -1.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


def test_long_chain_backpropagates_without_recursion():
    x = minidl.tensor([0.5], dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 10_000], rtol=1e-9)


def test_graph_is_freed_after_backward():
    x = minidl.randn(3, requires_grad=True)
    y = (x * 2).exp().sum()
    y.backward()
    with pytest.raises(RuntimeError, match="graph was freed"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = minidl.randn(3, requires_grad=True)
    y = (x * 2).exp().sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_no_grad_records_nothing():
    x = minidl.randn(3, requires_grad=True)
    with minidl.no_grad():
        y = x * 2
    assert not y.requires_grad and y.creator is None

    @minidl.no_grad()
    def f(t):
        return t * 2
    assert f(x).creator is None


def test_detach_cuts_the_graph():
    x = minidl.randn(3, requires_grad=True)
    y = (x.detach() * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), x.numpy())


def test_wrong_backward_is_caught_by_gradcheck():
    class BadSquare(Function):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, gy):
            return gy * self.x      # missing the factor 2

    x = minidl.tensor(np.linspace(0.5, 1.5, 4), requires_grad=True)
    with pytest.raises(GradcheckError) as err:
        minidl.gradcheck(lambda x: BadSquare()(x), [x])
    found = re.search(r"input 0 \(shape \(4,\)\) at index \((\d),\): analytic (\S+), numerical (\S+),",
                      str(err.value))
    assert found, str(err.value)
    analytic, numeric = float(found.group(2)), float(found.group(3))
    np.testing.assert_allclose(numeric, 2 * analytic, rtol=1e-6)   # the missing factor 2
    assert minidl.gradcheck(lambda x: BadSquare()(x), [x], raise_exception=False) is False


def test_backward_returning_a_wrong_shape_is_reported():
    class BadShape(Function):
        def forward(self, x):
            return x.sum()

        def backward(self, gy):
            return gy      # should be broadcast to x's shape

    x = minidl.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadShape.backward returned a gradient of shape \(\)"):
        BadShape()(x).backward()


def test_errors_from_the_array_library_name_the_function():
    class Broken(Function):
        def forward(self, x):
            return x.reshape(7)

    with pytest.raises(OpError, match=r"Broken: .* \(input shapes \(2, 3\)\)"):
        Broken()(minidl.zeros(2, 3))


def test_memory_does_not_grow_over_1000_training_steps():
    rng = np.random.default_rng(0)
    x = minidl.tensor(rng.standard_normal((32, 10)), dtype=np.float32)
    y = minidl.tensor(rng.standard_normal((32, 1)), dtype=np.float32)
    w1 = minidl.randn(10, 16, requires_grad=True)
    w2 = minidl.randn(16, 1, requires_grad=True)

    def step():
        loss = ((minidl.autograd.maximum(x @ w1, 0.0) @ w2 - y) ** 2).mean()
        w1.grad = w2.grad = None
        loss.backward()
        for w in (w1, w2):
            w.data -= 0.01 * w.grad.data

    def live_graph_objects():
        gc.collect()
        return sum(isinstance(o, (minidl.Tensor, Function)) for o in gc.get_objects())

    tracemalloc.start()
    for _ in range(100):
        step()
    before, snap = live_graph_objects(), tracemalloc.take_snapshot()
    for _ in range(1000):
        step()
    after = live_graph_objects()
    grown = tracemalloc.take_snapshot().compare_to(snap, "filename")
    tracemalloc.stop()
    assert after == before, f"{after - before} tensors or Functions survived 1000 steps"
    minidl_growth = sum(d.size_diff for d in grown if "minidl" in d.traceback[0].filename)
    assert minidl_growth < 64 * 1024, f"minidl's memory grew by {minidl_growth} bytes"


def test_tensor_api(device):
    x = make(np.arange(6.0).reshape(2, 3), device, requires_grad=True)
    assert x.shape == (2, 3) and x.size(1) == 3 and x.numel() == 6 and len(x) == 2
    assert x.device == device if device != "strict" else x.device.type == "strict"
    assert x[1, 2].item() == 5.0
    np.testing.assert_array_equal(x.numpy(), np.arange(6.0).reshape(2, 3))
    assert x.to("cpu").device == "cpu"
    assert x.float().dtype == np.float32
    with pytest.raises(ValueError, match="has 6 elements"):
        x.item()
    with pytest.raises(RuntimeError, match="grad can be implied only for a one-element"):
        (x * 2).backward()


@pytest.mark.parametrize("in_graph", [False, True], ids=["leaf", "inside a graph"])
def test_to_copies_once(monkeypatch, in_graph):
    """A move to another device and dtype transfers the data once, and nothing when already there."""
    from minidl import backend
    transfers = []
    to_device = backend.to_device
    monkeypatch.setattr(backend, "to_device",
                        lambda array, dev: transfers.append(dev) or to_device(array, dev))
    x = minidl.randn(3, dtype=np.float64, requires_grad=True)
    x = x * 2 if in_graph else x
    y = x.to("strict", np.float32)
    assert transfers == ["strict"] and y.device.type == "strict" and y.dtype == np.float32
    assert x.to("cpu", "float64") is x and transfers == ["strict"]


def test_to_device_is_differentiable():
    x = minidl.randn(3, requires_grad=True)
    y = (x * 2).to("strict")
    assert y.device.type == "strict"
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * x.numpy(), rtol=1e-6)


def test_the_gradient_of_a_scalar_has_the_scalars_shape(device):
    a = make(np.ones((3, 4)), device, requires_grad=True)
    b = make(np.array(2.0), device, requires_grad=True)
    (a * b).sum().backward()
    assert b.grad.shape == () and float(b.grad.numpy()) == 12.0
