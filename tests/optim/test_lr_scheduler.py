"""LR schedulers: the learning-rate sequences equal PyTorch's; the two CS5242 lab schedules."""
import math

import numpy as np
import pytest

from minidl import nn, optim
from minidl.optim import lr_scheduler

from tests.conftest import make


def _optimizer(name="SGD", lrs=(0.25,), **kwargs):
    groups = [{"params": [nn.Parameter(make(np.ones(2)))], "lr": lr} for lr in lrs]
    return getattr(optim, name)(groups, lr=lrs[0], **kwargs)


def _sequence(scheduler, opt, epochs, key="lr"):
    """The value of ``key`` in every group before each of ``epochs`` epochs."""
    values = []
    for _ in range(epochs):
        values.append([group[key] for group in opt.param_groups])
        opt.step()
        scheduler.step()
    return values


def test_cs5242_mnist_schedule_divides_by_1_5_every_5_epochs():
    opt = _optimizer()
    scheduler = lr_scheduler.StepLR(opt, step_size=5, gamma=1 / 1.5)
    lrs = [lr for (lr,) in _sequence(scheduler, opt, 15)]
    np.testing.assert_allclose(lrs, [0.25] * 5 + [0.25 / 1.5] * 5 + [0.25 / 1.5 ** 2] * 5, rtol=1e-15)


def test_cs5242_cifar_schedule_halves_at_10_14_18():
    opt = _optimizer()
    scheduler = lr_scheduler.MultiStepLR(opt, [10, 14, 18], 0.5)
    lrs = [lr for (lr,) in _sequence(scheduler, opt, 20)]
    assert lrs == [0.25] * 10 + [0.125] * 4 + [0.0625] * 4 + [0.03125] * 2
    assert scheduler.get_last_lr() == [0.03125]


# (our constructor, torch's constructor): both get the optimizer
CASES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[4, 9, 9, 20], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=6),
    "LinearLR-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=4),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda epoch: 1 / (1 + epoch)),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(o, [lambda e: 0.9 ** e, lambda e: 1 + e]),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=30),
    "OneCycleLR-linear-3-phase": lambda m, o: m.OneCycleLR(o, max_lr=1.0, epochs=5, steps_per_epoch=6,
                                                           anneal_strategy="linear", three_phase=True),
    "OneCycleLR-no-momentum": lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=30, pct_start=0.5,
                                                        cycle_momentum=False, div_factor=10),
}


def _torch_sequence(torch, make_scheduler, name, epochs, key="lr", **kwargs):
    params = [{"params": [torch.ones(2, requires_grad=True)], "lr": lr} for lr in (0.25, 0.1)]
    opt = getattr(torch.optim, name)(params, lr=0.25, **kwargs)
    return _sequence(make_scheduler(torch.optim.lr_scheduler, opt), opt, epochs, key)


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES)
def test_sequence_equals_torch(case):
    torch = pytest.importorskip("torch")
    opt = _optimizer(lrs=(0.25, 0.1), momentum=0.9)
    ours = _sequence(CASES[case](lr_scheduler, opt), opt, 30)
    theirs = _torch_sequence(torch, CASES[case], "SGD", 30, momentum=0.9)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("name,key", [("SGD", "momentum"), ("Adam", "betas")])
def test_one_cycle_cycles_momentum_like_torch(name, key):
    torch = pytest.importorskip("torch")
    kwargs = {"momentum": 0.9} if name == "SGD" else {}
    opt = _optimizer(name, lrs=(0.25, 0.1), **kwargs)
    make_scheduler = CASES["OneCycleLR"]
    ours = _sequence(make_scheduler(lr_scheduler, opt), opt, 30, key)
    theirs = _torch_sequence(torch, make_scheduler, name, 30, key, **kwargs)
    if key == "betas":
        ours = [[b[0] for b in row] for row in ours]
        theirs = [[b[0] for b in row] for row in theirs]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.torch
def test_reduce_on_plateau_equals_torch():
    torch = pytest.importorskip("torch")
    metrics = [1.0, 0.9, 0.95, 0.91, 0.92, 0.899, 0.95, 0.97, 0.98, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1]
    for kwargs in (dict(patience=2), dict(mode="max", factor=0.5, patience=1, cooldown=2),
                   dict(threshold=0.05, threshold_mode="abs", patience=1, min_lr=[0.1, 0.001])):
        opt = _optimizer(lrs=(0.25, 0.1))
        ours = lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        t_opt = torch.optim.SGD([{"params": [torch.ones(1, requires_grad=True)], "lr": lr}
                                 for lr in (0.25, 0.1)], lr=0.25)
        theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, **kwargs)
        for m in metrics:
            ours.step(m)
            theirs.step(m)
            np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-15)
        assert ours.get_last_lr() != [0.25, 0.1]


def test_cosine_closed_form():
    opt = _optimizer(lrs=(1.0,))
    lrs = [lr for (lr,) in _sequence(lr_scheduler.CosineAnnealingLR(opt, T_max=8), opt, 9)]
    np.testing.assert_allclose(lrs, [(1 + math.cos(math.pi * t / 8)) / 2 for t in range(9)], atol=1e-15)


def test_state_dict_resumes_the_schedule():
    opt = _optimizer()
    scheduler = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    _sequence(scheduler, opt, 3)
    state = scheduler.state_dict()
    assert state["last_epoch"] == 3 and "optimizer" not in state
    # the usual order: build everything afresh, then load the optimizer's state and the scheduler's
    fresh_opt = _optimizer(lrs=(1.0,))
    fresh = lr_scheduler.StepLR(fresh_opt, step_size=7, gamma=0.9)
    fresh_opt.load_state_dict(opt.state_dict())
    fresh.load_state_dict(state)
    assert _sequence(fresh, fresh_opt, 4) == _sequence(scheduler, opt, 4)


def test_lambda_state_dict_leaves_out_the_functions():
    opt = _optimizer()
    state = lr_scheduler.LambdaLR(opt, lambda e: 1.0).state_dict()
    assert "lr_lambdas" not in state and not any(callable(v) for v in state.values())


def test_errors():
    opt = _optimizer()
    with pytest.raises(ValueError, match="step_size must be a positive int"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(_optimizer(), step_size=2, last_epoch=4)
    with pytest.raises(ValueError, match="give total_steps, or epochs and steps_per_epoch"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="cycle_momentum needs an optimizer with momentum or betas"):
        lr_scheduler.OneCycleLR(_optimizer("Adagrad"), max_lr=1.0, total_steps=10)
    scheduler = lr_scheduler.OneCycleLR(_optimizer(), max_lr=1.0, total_steps=2)
    scheduler.step()
    scheduler.step()
    with pytest.raises(ValueError, match="beyond total_steps=2"):
        scheduler.step()
    with pytest.raises(ValueError, match="2 functions for 1 parameter groups"):
        lr_scheduler.LambdaLR(opt, [lambda e: 1, lambda e: 2])
    with pytest.raises(ValueError, match="factor < 1"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.5)
