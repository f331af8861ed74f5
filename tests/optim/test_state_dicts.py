"""Optimizers and schedulers refuse, with a named error and no change, a state dict that is not theirs."""
import numpy as np
import pytest

from minidl import nn, optim
from minidl.optim import StateDictError
from minidl.optim.lr_scheduler import ExponentialLR, ReduceLROnPlateau, StepLR

from tests.conftest import make


def _stepped(opt_class, shape=(3,), **kwargs):
    p = nn.Parameter(make(np.ones(shape)))
    opt = opt_class([p], **kwargs)
    p.grad = make(np.full(shape, 0.5))
    opt.step()
    return opt


def test_adam_refuses_the_state_of_sgd():
    # this used to load, and Adam.step() then failed with KeyError: 'step'
    sgd = _stepped(optim.SGD, lr=0.1, momentum=0.9)
    adam = _stepped(optim.Adam)
    before = adam.state_dict()
    with pytest.raises(StateDictError, match=r"Adam.load_state_dict: the saved groups have hyperparameters "
                                             r"\['dampening', 'lr', 'momentum'.*another optimizer"):
        adam.load_state_dict(sgd.state_dict())
    after = adam.state_dict()
    assert after["param_groups"] == before["param_groups"]
    np.testing.assert_array_equal(after["state"][0]["exp_avg"], before["state"][0]["exp_avg"])


def test_state_of_missing_names_or_wrong_shapes_is_refused():
    adam = _stepped(optim.Adam)
    state = adam.state_dict()
    del state["state"][0]["exp_avg_sq"]
    with pytest.raises(StateDictError, match=r"parameter 0 has state \['exp_avg', 'step'\], but Adam"):
        _stepped(optim.Adam).load_state_dict(state)
    # amsgrad keeps one more array, which a state saved with amsgrad must hold
    state = _stepped(optim.Adam, amsgrad=True).state_dict()
    del state["state"][0]["max_exp_avg_sq"]
    with pytest.raises(StateDictError, match="keeps \\['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step'\\]"):
        _stepped(optim.Adam).load_state_dict(state)
    with pytest.raises(StateDictError, match=r"parameter 0 of shape \(4,\) has exp_avg of shape \(3,\)"):
        _stepped(optim.Adam, shape=(4,)).load_state_dict(adam.state_dict())
    state = adam.state_dict()
    state["state"][0]["step"] = -1
    with pytest.raises(StateDictError, match="has step -1, not a count"):
        _stepped(optim.Adam).load_state_dict(state)
    with pytest.raises(StateDictError, match="expected a dict with 'state' and 'param_groups'"):
        adam.load_state_dict({"state": {}})


@pytest.mark.parametrize("opt_class, kwargs", [(optim.SGD, dict(lr=0.1, momentum=0.5)), (optim.Adam, {}),
                                               (optim.RMSprop, dict(momentum=0.5, centered=True)),
                                               (optim.Adagrad, {})])
def test_every_optimizer_accepts_its_own_state(opt_class, kwargs):
    opt = _stepped(opt_class, **kwargs)
    fresh = _stepped(opt_class, **kwargs)
    fresh.load_state_dict(opt.state_dict())
    fresh.step()


def test_schedulers_refuse_the_state_of_another_schedule():
    opt = _stepped(optim.SGD, lr=0.1)
    step = StepLR(opt, step_size=2)
    with pytest.raises(StateDictError, match=r"ExponentialLR.load_state_dict: the saved state has fields "
                                             r".*'step_size'.*another scheduler"):
        ExponentialLR(_stepped(optim.SGD, lr=0.1), gamma=0.5).load_state_dict(step.state_dict())
    with pytest.raises(StateDictError, match="another scheduler"):
        ReduceLROnPlateau(_stepped(optim.SGD, lr=0.1)).load_state_dict(step.state_dict())
    state = step.state_dict()
    state["base_lrs"] = [0.1, 0.1]
    with pytest.raises(StateDictError, match="saved base_lrs has 2 entries, this optimizer has 1"):
        StepLR(_stepped(optim.SGD, lr=0.1), step_size=2).load_state_dict(state)
