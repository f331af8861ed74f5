"""Losses as modules: PyTorch parity with every option."""
import numpy as np
import pytest

from minidl import nn
from minidl.autograd import OpError

from tests.nn.common import assert_matches_torch

rng = np.random.default_rng(0)
LOGITS = rng.standard_normal((6, 4))
TARGET = np.array([0, 3, 1, 1, 2, 3])
CLASS_WEIGHT = np.array([1.0, 2.0, 0.5, 1.5])


def _pair(torch, name, **kwargs):
    ours = {k: v for k, v in kwargs.items()}
    theirs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    return getattr(nn, name)(**ours), getattr(torch.nn, name)(**theirs)


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [dict(), dict(weight=CLASS_WEIGHT), dict(ignore_index=1),
                                    dict(reduction="sum", label_smoothing=0.1),
                                    dict(reduction="none", weight=CLASS_WEIGHT)],
                         ids=["plain", "weight", "ignore", "sum-smoothing", "none"])
def test_cross_entropy_matches_torch(kwargs, device):
    torch = pytest.importorskip("torch")
    assert_matches_torch(*_pair(torch, "CrossEntropyLoss", **kwargs), LOGITS, TARGET, device=device)


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [dict(), dict(weight=CLASS_WEIGHT, reduction="sum"), dict(ignore_index=3)])
def test_nll_matches_torch(kwargs, device):
    torch = pytest.importorskip("torch")
    log_probs = LOGITS - np.log(np.exp(LOGITS).sum(axis=1, keepdims=True))
    assert_matches_torch(*_pair(torch, "NLLLoss", **kwargs), log_probs, TARGET, device=device)


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_matches_torch(reduction, device):
    torch = pytest.importorskip("torch")
    assert_matches_torch(*_pair(torch, "MSELoss", reduction=reduction), LOGITS, rng.standard_normal((6, 4)),
                         device=device, grad_inputs=[0])


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [dict(), dict(weight=np.array([1.0, 2.0, 0.5, 1.0])),
                                    dict(pos_weight=np.array([3.0, 1.0, 0.5, 2.0]), reduction="sum")],
                         ids=["plain", "weight", "pos_weight"])
def test_bce_with_logits_matches_torch(kwargs, device):
    torch = pytest.importorskip("torch")
    target = rng.uniform(0, 1, (6, 4))
    assert_matches_torch(*_pair(torch, "BCEWithLogitsLoss", **kwargs), LOGITS, target, device=device,
                         grad_inputs=[0])


def test_class_weights_are_buffers_that_move_with_the_module():
    loss = nn.CrossEntropyLoss(weight=CLASS_WEIGHT).to("strict")
    assert [name for name, _ in loss.named_buffers()] == ["weight"]
    assert str(loss.weight.device) == "strict:0"


def test_errors():
    with pytest.raises(OpError, match="MSELoss: reduction must be one of"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(OpError, match=r"label_smoothing must be in \[0, 1\]"):
        nn.CrossEntropyLoss(label_smoothing=2)
