"""The graph keeps what backward needs and nothing else, as PyTorch's: a Function keeps the
nodes of its made inputs (where their gradients go), not their data."""
import gc
import weakref

import numpy as np

import minidl
import minidl.functional as F


def _leaf():
    return minidl.tensor(np.array([-1.0, 0.5, 2.0]), requires_grad=True)


def test_an_activation_no_backward_needs_is_freed_after_the_forward():
    x = _leaf()
    h = x * 2.0                  # Mul keeps x and 2, not its output
    data = weakref.ref(h.data)
    y = F.relu(h)                # ReLU keeps its output, not its input
    del h
    gc.collect()
    assert data() is None
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 2.0, 2.0])


def test_an_activation_a_backward_needs_stays_alive():
    x = _leaf()
    h = x * 2.0
    data = weakref.ref(h.data)
    y = h * h                    # Mul keeps both inputs
    del h
    gc.collect()
    assert data() is not None
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 8.0 * x.numpy())


def test_a_hook_on_a_dropped_intermediate_still_runs():
    x = _leaf()
    h = x * 2.0
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = (h * 3.0).sum()
    del h
    gc.collect()
    y.backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0, 6.0])


def test_a_hook_that_replaces_an_intermediate_gradient_changes_what_flows_on():
    x = _leaf()
    h = x * 2.0
    h.register_hook(lambda g: g * 0.0)
    (h * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])
