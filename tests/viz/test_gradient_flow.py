"""GradientFlow: each backward's own gradient statistics, per layer, and their plot."""
import numpy as np
import pytest

import minidl
import minidl.functional as F
from minidl import viz
from tests.viz.twins import tiny_convnet

rng = np.random.default_rng(0)
X, Y = rng.standard_normal((6, 2, 8, 8)), rng.integers(0, 4, 6)


def loss(model):
    return F.cross_entropy(model(minidl.Tensor(X)), minidl.tensor(Y))


def test_records_each_backward_of_each_weight():
    model = tiny_convnet()
    with viz.GradientFlow(model) as flow:
        assert flow.names == ["conv.weight", "fc.weight"]
        loss(model).backward()
        first = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
        loss(model).backward()                      # accumulates: the hook sees this step's gradient only
    loss(model).backward()                          # after removal: not recorded
    for name in flow.names:
        assert len(flow.mean[name]) == 2
        assert flow.mean[name][0] == pytest.approx(np.abs(first[name]).mean(), rel=1e-12)
        assert flow.max[name][1] == pytest.approx(np.abs(first[name]).max(), rel=1e-12)
    names, mean, largest = flow.averages()
    assert mean[0] == pytest.approx(np.abs(first["conv.weight"]).mean(), rel=1e-12)
    assert largest.shape == (2,)


def test_chosen_names_and_errors():
    model = tiny_convnet()
    flow = viz.GradientFlow(model, names=["fc.bias"])
    with pytest.raises(ValueError, match="no gradient recorded yet for fc.bias"):
        flow.averages()
    with pytest.raises(KeyError, match="conv.kernel not a parameter"):
        viz.GradientFlow(model, names=["conv.kernel"])


def test_plot_compares_networks():
    pytest.importorskip("matplotlib")
    flows = {}
    for label in ("a", "b"):
        model = tiny_convnet()
        with viz.GradientFlow(model) as flows[label]:
            for _ in range(3):
                model.zero_grad()
                loss(model).backward()
    fig = viz.plot_gradient_flow(flows, title="two nets")
    per_layer, per_step = fig.axes[:2]
    assert len(per_layer.lines) == 4 and len(per_step.lines) == 4
    np.testing.assert_allclose(per_step.lines[0].get_ydata(), flows["a"].mean["conv.weight"])
