"""Tensor.register_hook, against PyTorch's behaviour on the same expressions."""
import numpy as np
import pytest

import minidl.functional as F
from tests.conftest import make

X = np.array([[0.5, -1.5, 2.0], [1.0, 3.0, -0.25]])


def test_leaf_hook_sees_the_summed_gradient_of_one_backward_and_can_replace_it():
    x = make(X, requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy()))
    x.register_hook(lambda g: g * 10)
    (x * x + 3 * x).sum().backward()
    np.testing.assert_allclose(seen[0], 2 * X + 3)          # once, both uses summed
    assert len(seen) == 1
    np.testing.assert_allclose(x.grad.numpy(), 10 * (2 * X + 3))
    (x * 1).sum().backward()                                  # accumulation adds the hooked 10 * 1
    np.testing.assert_allclose(seen[1], np.ones_like(X))
    np.testing.assert_allclose(x.grad.numpy(), 10 * (2 * X + 3) + 10)


def test_intermediate_hook_replaces_what_flows_on_and_remove_takes_it_off():
    x = make(X, requires_grad=True)
    y = x * 2
    handle = y.register_hook(lambda g: g * 0 + 1)
    (y * y).sum().backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), np.full_like(X, 2))
    x.grad = None
    handle.remove()
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * X)


def test_hook_on_the_root_and_on_a_leaf_root():
    x = make(X, requires_grad=True)
    x.register_hook(lambda g: g + 1)
    x.backward(np.ones_like(X))
    np.testing.assert_allclose(x.grad.numpy(), np.full_like(X, 2))
    z = make(X, requires_grad=True)
    y = z.sum()
    y.register_hook(lambda g: g * 5)
    y.backward()
    np.testing.assert_allclose(z.grad.numpy(), np.full_like(X, 5))


def test_hook_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="does not require grad"):
        make(X).register_hook(print)
    x = make(X, requires_grad=True)
    x.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match=r"shape \(\) for a tensor of shape \(2, 3\)"):
        (x * 2).sum().backward()


def test_hook_runs_on_every_device(device):
    x = make(X, device, requires_grad=True)
    x.register_hook(lambda g: g * 3)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * X)
    assert x.grad.device == x.device


@pytest.mark.torch
def test_hooks_match_pytorch_on_a_small_network():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    W1, W2, inp = rng.standard_normal((4, 3)), rng.standard_normal((2, 4)), rng.standard_normal((5, 3))

    def run(lib, tensor):
        w1, w2 = tensor(W1), tensor(W2)
        h = lib.relu(tensor(inp, grad=False) @ w1.T)
        seen = {}

        def record(key):
            def hook(g):
                seen[key] = g.detach().numpy().copy()   # returns None: the gradient flows on unchanged
            return hook

        h.register_hook(record("h"))
        h.register_hook(lambda g: g * 2)
        w1.register_hook(record("w1"))
        ((h @ w2.T) ** 2).sum().backward()
        return seen, w1.grad.numpy(), w2.grad.numpy()

    mine = run(F, lambda a, grad=True: make(a, requires_grad=grad))
    theirs = run(torch, lambda a, grad=True: torch.tensor(a, requires_grad=grad))
    for a, b in zip(mine[1:], theirs[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    for key in ("h", "w1"):
        np.testing.assert_allclose(mine[0][key], theirs[0][key], rtol=1e-12)
