"""Module.register_full_backward_hook, against PyTorch's on the same small network."""
from collections import OrderedDict

import numpy as np
import pytest

import minidl
import minidl.functional as F
import minidl.nn as nn
from minidl.models import from_torch
from tests.conftest import make

rng = np.random.default_rng(0)
X, TARGET = rng.standard_normal((5, 3)), np.array([0, 1, 1, 0, 1])


def _net():
    return nn.Sequential(OrderedDict([("fc1", nn.Linear(3, 4)), ("act", nn.Tanh()),
                                      ("fc2", nn.Linear(4, 2))])).double()


def _record(calls, name):
    def hook(module, grad_input, grad_output):
        calls.append((name, [None if g is None else g.numpy() for g in grad_input],
                      [g.numpy() for g in grad_output]))
    return hook


def test_hooks_see_input_and_output_gradients_in_backward_order():
    net, calls = _net(), []
    for name in ("fc1", "act", "fc2"):
        getattr(net, name).register_full_backward_hook(_record(calls, name))
    h = make(X, requires_grad=True)
    (net(h) ** 2).sum().backward()
    assert [c[0] for c in calls] == ["fc2", "act", "fc1"]
    (_, gi2, go2), (_, gi_act, go_act), (_, gi1, go1) = calls
    np.testing.assert_allclose(go2[0], 2 * net(make(X)).numpy())
    np.testing.assert_allclose(gi2[0], go2[0] @ net.fc2.weight.numpy())
    np.testing.assert_allclose(go_act[0], gi2[0])
    np.testing.assert_allclose(gi1[0], h.grad.numpy())


def test_first_layer_on_data_gets_none_and_a_replacement_flows_on():
    net, calls = _net(), []
    net.fc1.register_full_backward_hook(_record(calls, "fc1"))
    handle = net.act.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0,))
    (net(make(X)) ** 2).sum().backward()
    assert calls[0][1] == [None]
    assert not net.fc1.weight.grad.numpy().any()        # the zeroed gradient reached fc1
    handle.remove()
    net.zero_grad()
    (net(make(X)) ** 2).sum().backward()
    assert net.fc1.weight.grad.numpy().any()


def test_hook_results_are_checked():
    net = _net()
    net.act.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="returned 2 gradients for 1 tensor inputs"):
        net(make(X)).sum().backward()


def test_no_taps_without_grad_mode():
    net, calls = _net(), []
    net.fc1.register_full_backward_hook(_record(calls, "fc1"))
    with minidl.no_grad():
        out = net(make(X))
    assert out.creator is None and calls == []


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Full backward hook is firing")  # torch notes fc1 sees data
def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    net = _net()
    twin = torch.nn.Sequential(OrderedDict([("fc1", torch.nn.Linear(3, 4)), ("act", torch.nn.Tanh()),
                                            ("fc2", torch.nn.Linear(4, 2))])).double()
    from_torch(twin, net)

    def run(model, x, loss, tensor_numpy):
        calls = []
        for name in ("fc1", "act", "fc2"):
            def hook(module, grad_input, grad_output, name=name):
                calls.append((name, [None if g is None else tensor_numpy(g) for g in grad_input],
                              [tensor_numpy(g) for g in grad_output]))
            getattr(model, name).register_full_backward_hook(hook)
        model.act.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0.5,))
        loss(model(x)).backward()
        return calls, tensor_numpy(model.fc1.weight.grad)

    mine = run(net, make(X), lambda y: F.cross_entropy(y, minidl.tensor(TARGET)), lambda t: t.numpy())
    theirs = run(twin, torch.tensor(X), lambda y: torch.nn.functional.cross_entropy(y, torch.tensor(TARGET)),
                 lambda t: t.detach().numpy())
    np.testing.assert_allclose(mine[1], theirs[1], rtol=1e-10)
    assert [c[0] for c in mine[0]] == [c[0] for c in theirs[0]]
    for (_, gi, go), (_, tgi, tgo) in zip(mine[0], theirs[0]):
        assert [g is None for g in gi] == [g is None for g in tgi]
        for a, b in zip(gi + go, tgi + tgo):
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-10)
