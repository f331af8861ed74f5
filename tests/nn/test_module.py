"""Module: registration, traversal, modes, devices, hooks, state dicts and repr."""
from collections import OrderedDict

import numpy as np
import pytest

import minidl
from minidl import backend, nn
from minidl.autograd import Tensor


class Affine(nn.Module):
    """A module with a parameter, a persistent and a non-persistent buffer."""

    def __init__(self, n):
        super().__init__()
        self.scale = nn.Parameter(minidl.ones(n))
        self.register_buffer("count", minidl.zeros(n))
        self.register_buffer("cache", minidl.zeros(n), persistent=False)
        self.note = "a plain attribute"

    def forward(self, x):
        return x * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Affine(3)
        self.body = nn.Sequential(OrderedDict([("inner", Affine(3)), ("act", nn.Identity())]))
        self.head = Affine(3)

    def forward(self, x):
        return self.head(self.body(self.first(x)))


def test_attributes_register_parameters_buffers_and_submodules():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["first.scale", "body.inner.scale", "head.scale"]
    assert [n for n, _ in net.named_buffers()] == [
        "first.count", "first.cache", "body.inner.count", "body.inner.cache", "head.count", "head.cache"]
    assert [n for n, _ in net.named_children()] == ["first", "body", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "first", "body", "body.inner", "body.act", "head"]
    assert list(net.children())[1] is net.body
    assert net.first.note == "a plain attribute"
    assert "note" not in net.first._parameters


def test_state_dict_has_pytorch_names_and_skips_non_persistent_buffers():
    net = Net()
    assert list(net.state_dict()) == ["first.scale", "first.count", "body.inner.scale",
                                      "body.inner.count", "head.scale", "head.count"]
    # the values share memory with the parameters, as PyTorch's do
    net.state_dict()["head.scale"].data[0] = 7
    assert net.head.scale.data[0] == 7


def test_shared_parameter_is_listed_once():
    net = Net()
    net.head.scale = net.first.scale
    assert [n for n, _ in net.named_parameters()] == ["first.scale", "body.inner.scale"]


def test_reassigning_replaces_the_registration():
    m = Affine(2)
    m.scale = None
    assert list(m.named_parameters()) == []
    with pytest.raises(TypeError, match="parameter 'scale'"):
        Affine(2).scale = minidl.ones(2)     # a plain Tensor is not a Parameter
    with pytest.raises(TypeError, match="buffer 'count'"):
        Affine(2).count = np.zeros(2)
    del m.count
    assert [n for n, _ in m.named_buffers()] == ["cache"]


def test_assignment_before_super_init_is_explained():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(minidl.ones(1))

    with pytest.raises(AttributeError, match=r"called super\(\)\.__init__\(\)"):
        Broken()


def test_train_eval_reach_every_module():
    net = Net()
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_apply_visits_children_before_parents():
    seen = []
    Net().apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Affine", "Affine", "Identity", "Sequential", "Affine", "Net"]


def test_zero_grad_and_requires_grad():
    net = Net()
    net(minidl.ones(3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(np.abs(p.grad.numpy()).sum()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_to_moves_in_place_and_keeps_parameter_identity():
    net = Net()
    params = list(net.parameters())
    net(minidl.ones(3)).sum().backward()
    net.to("strict")
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(str(t.device) == "strict:0" for t in list(net.parameters()) + list(net.buffers()))
    assert all(str(p.grad.device) == "strict:0" for p in net.parameters())
    out = net(Tensor(backend.to_device(np.full(3, 2.0, np.float32), "strict")))
    np.testing.assert_array_equal(out.numpy(), np.full(3, 2.0))
    net.double().to("cpu")
    assert all(p.dtype == np.float64 and p.device.type == "cpu" for p in net.parameters())


def test_forward_hook_sees_inputs_and_output_and_can_be_removed():
    m = Affine(2)
    calls = []
    handle = m.register_forward_hook(lambda mod, inputs, out: calls.append((mod, inputs[0].shape, out.shape)))
    m(minidl.ones(4, 2))
    handle.remove()
    m(minidl.ones(4, 2))
    assert calls == [(m, (4, 2), (4, 2))]
    m.register_forward_hook(lambda mod, inputs, out: out * 0)
    assert float(m(minidl.ones(2)).sum().item()) == 0


def test_load_state_dict_copies_in_place_from_numpy_arrays():
    src, dst = Net(), Net()
    for i, p in enumerate(src.parameters()):
        p.data[...] = i + 1
    target = dst.head.scale
    result = dst.load_state_dict({k: v.numpy() for k, v in src.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert dst.head.scale is target
    np.testing.assert_array_equal(dst.head.scale.numpy(), np.full(3, 3.0))


def test_load_state_dict_reports_missing_unexpected_and_shape_mismatch_by_name():
    state = Net().state_dict()
    del state["head.count"]
    state["extra.weight"] = np.zeros(1)
    state["first.scale"] = np.zeros(5)
    with pytest.raises(RuntimeError) as info:
        Net().load_state_dict(state)
    message = str(info.value)
    assert "first.scale (checkpoint (5,), model (3,))" in message
    assert "missing keys: head.count" in message
    assert "unexpected keys: extra.weight" in message


def test_load_state_dict_non_strict_returns_the_differences():
    state = Net().state_dict()
    del state["head.count"]
    state["extra"] = np.zeros(1)
    result = Net().load_state_dict(state, strict=False)
    assert result.missing_keys == ["head.count"] and result.unexpected_keys == ["extra"]
    state["first.scale"] = np.zeros(5)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        Net().load_state_dict(state, strict=False)


@pytest.mark.torch
def test_repr_is_an_indented_tree():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Conv2d(1, 8, 3), nn.Sequential(nn.ReLU(), nn.Flatten()), nn.Linear(8, 2))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3),
                                 torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Flatten()),
                                 torch.nn.Linear(8, 2))
    assert repr(ours) == repr(theirs)


def test_parameter_shares_data_and_requires_grad():
    t = minidl.ones(2)
    p = nn.Parameter(t)
    assert p.requires_grad and p.data is t.data
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:")
