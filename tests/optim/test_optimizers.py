"""Optimizers: trajectories equal PyTorch's on the same problem, state dicts, groups, devices."""
import numpy as np
import pytest

from minidl import backend, nn, optim
from minidl.autograd import Tensor
from minidl.serialization import load, save

from tests.conftest import make

rng = np.random.default_rng(0)
X = rng.standard_normal((8, 4))
Y = rng.standard_normal((8, 3))
W0 = rng.standard_normal((4, 3))
B0 = rng.standard_normal(3)

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.5, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9, centered=True, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.1)),
]
IDS = [f"{name}-{'-'.join(kwargs)}" for name, kwargs in CONFIGS]


def _loss(W, b, x, y):
    err = x @ W + b - y
    return (err * err).mean() + (W * W * W * W).sum() * 0.01


def _minidl_run(name, kwargs, steps, device="cpu", groups=False, opt_state=None):
    W, b = (nn.Parameter(make(a, device)) for a in (W0, B0))
    params = [{"params": [W]}, {"params": [b], "lr": kwargs["lr"] * 3}] if groups else [W, b]
    opt = getattr(optim, name)(params, **kwargs)
    if opt_state is not None:
        W.data[...] = backend.to_device(opt_state["W"], device)
        b.data[...] = backend.to_device(opt_state["b"], device)
        opt.load_state_dict(opt_state["optimizer"])
    x, y = make(X, device), make(Y, device)
    for _ in range(steps):
        opt.zero_grad()
        _loss(W, b, x, y).backward()
        opt.step()
    return W, b, opt


def _torch_run(torch, name, kwargs, steps, groups=False):
    W = torch.tensor(W0, requires_grad=True)
    b = torch.tensor(B0, requires_grad=True)
    params = [{"params": [W]}, {"params": [b], "lr": kwargs["lr"] * 3}] if groups else [W, b]
    opt = getattr(torch.optim, name)(params, **kwargs)
    x, y = torch.tensor(X), torch.tensor(Y)
    for _ in range(steps):
        opt.zero_grad()
        _loss(W, b, x, y).backward()
        opt.step()
    return W.detach().numpy(), b.detach().numpy()


@pytest.mark.torch
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_trajectory_equals_torch(name, kwargs, device):
    torch = pytest.importorskip("torch")
    W, b, _ = _minidl_run(name, kwargs, 25, device)
    tW, tb = _torch_run(torch, name, kwargs, 25)
    assert not np.allclose(tW, W0)     # the problem really moves the weights
    np.testing.assert_allclose(W.numpy(), tW, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.numpy(), tb, rtol=1e-10, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("name,kwargs", [CONFIGS[1], CONFIGS[5], CONFIGS[9], CONFIGS[11]],
                         ids=["SGD", "Adam", "RMSprop", "Adagrad"])
def test_parameter_groups_equal_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    W, b, opt = _minidl_run(name, kwargs, 10, groups=True)
    tW, tb = _torch_run(torch, name, kwargs, 10, groups=True)
    assert opt.param_groups[1]["lr"] == kwargs["lr"] * 3
    np.testing.assert_allclose(W.numpy(), tW, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.numpy(), tb, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_state_dict_resumes_exactly(name, kwargs, tmp_path, device):
    W, b, opt = _minidl_run(name, kwargs, 4, device)
    save({"W": W, "b": b, "optimizer": opt.state_dict()}, tmp_path / "ckpt.npz")
    resumed_W, resumed_b, _ = _minidl_run(name, kwargs, 3, device, opt_state=load(tmp_path / "ckpt.npz"))
    straight_W, straight_b, _ = _minidl_run(name, kwargs, 7, device)
    np.testing.assert_array_equal(resumed_W.numpy(), straight_W.numpy())
    np.testing.assert_array_equal(resumed_b.numpy(), straight_b.numpy())


def test_state_lives_on_the_parameter_device_and_dtype():
    p = nn.Parameter(make(np.ones(3), "strict", dtype=np.float32))
    for opt in (optim.SGD([p], lr=0.1, momentum=0.9), optim.Adam([p], amsgrad=True),
                optim.RMSprop([p], momentum=0.5, centered=True), optim.Adagrad([p])):
        p.grad = make(np.ones(3), "strict", dtype=np.float32)
        opt.step()
        arrays = [v for v in opt.state[p].values() if hasattr(v, "shape")]
        assert arrays and all(str(backend.device_of(a)) == "strict:0" and a.dtype == np.float32
                              for a in arrays)
    assert p.dtype == np.float32


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_step_updates_data_in_place_and_leaves_grad_alone(name, kwargs):
    p = nn.Parameter(make(W0))
    opt = getattr(optim, name)([p], **kwargs)
    data = p.data
    for _ in range(2):
        grad = make(rng.standard_normal(W0.shape))
        p.grad = grad
        saved = grad.numpy().copy()
        opt.step()
        assert p.grad is grad
        np.testing.assert_array_equal(grad.numpy(), saved)
    assert p.data is data and not np.allclose(data, W0)


def test_parameters_without_grad_are_skipped_and_zero_grad_clears():
    a, b = nn.Parameter(make(np.ones(2))), nn.Parameter(make(np.ones(2)))
    opt = optim.SGD([a, b], lr=1.0)
    a.grad = make(np.ones(2))
    opt.step()
    np.testing.assert_array_equal(a.numpy(), [0, 0])
    np.testing.assert_array_equal(b.numpy(), [1, 1])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), [0, 0])
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_step_with_closure_returns_the_loss():
    p = nn.Parameter(make(np.array([2.0])))
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 4.0
    np.testing.assert_array_equal(p.numpy(), [1.0])     # 2 - 0.25 * 2 * 2


def test_errors():
    p = nn.Parameter(make(np.ones(2)))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr must be non-negative"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum needs momentum > 0"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas must be two numbers"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="more than one group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        optim.SGD([{"params": [p], "momentun": 0.9}], lr=0.1)
    with pytest.raises(TypeError, match="only Tensors"):
        optim.Adam([np.ones(2)])
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match=r"saved groups hold \[2\] parameters"):
        opt.load_state_dict(optim.SGD([p, nn.Parameter(make(np.ones(1)))], lr=0.1).state_dict())


# --------------------------------------------------------------------------- #
# Gradient clipping
# --------------------------------------------------------------------------- #
@pytest.mark.torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_equals_torch(norm_type, max_norm, device):
    torch = pytest.importorskip("torch")
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    ours = [nn.Parameter(make(np.zeros_like(g), device)) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad = make(g, device)
        t.grad = torch.tensor(g)
    originals = [p.grad for p in ours]
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert total.item() == pytest.approx(expected.item(), rel=1e-12)
    for p, t, g, original in zip(ours, theirs, grads, originals):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12)
        np.testing.assert_array_equal(original.numpy(), g)   # a new grad, the old array untouched


@pytest.mark.torch
def test_clip_grad_value_equals_torch():
    torch = pytest.importorskip("torch")
    g = rng.standard_normal((4, 4))
    p = nn.Parameter(make(np.zeros_like(g)))
    p.grad = make(g)
    t = torch.zeros(4, 4, dtype=torch.float64, requires_grad=True)
    t.grad = torch.tensor(g)
    nn.utils.clip_grad_value_([p], 0.5)
    torch.nn.utils.clip_grad_value_([t], 0.5)
    np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_clip_errors():
    p = nn.Parameter(make(np.zeros(2)))
    p.grad = Tensor(np.array([np.inf, 1.0]))
    with pytest.raises(RuntimeError, match="norm of the gradients is inf"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="clip_value must be non-negative"):
        nn.utils.clip_grad_value_([p], -1)
