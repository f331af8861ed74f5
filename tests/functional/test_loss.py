"""Losses: numerical gradients for every reduction, PyTorch parity, huge logits, errors."""
import numpy as np
import pytest

import minidl
import minidl.functional as F
from minidl.autograd import OpError
from tests.conftest import make
from tests.functional.torch_ref import assert_close, check_against_torch

rng = np.random.default_rng(0)

REDUCTIONS = ["none", "mean", "sum"]
C = 5


def ce_case(kind, ignore):
    """Logits, target and ignore_index for a target ``kind`` and an ``ignore`` scheme.

    kind: 'index' (N,) classes, 'spatial' (N, d1, d2) classes, 'probs' (N, C) probabilities.
    ignore: 'none' (every target counts), 'default' (some targets are -100),
    'class' (targets of class 2 are ignored, an index inside the class range).
    """
    shape = (4, C, 2, 3) if kind == "spatial" else (6, C)
    logits = rng.standard_normal(shape) * 2
    if kind == "probs":
        p = rng.uniform(0, 1, shape)
        return logits, p / p.sum(axis=1, keepdims=True), -100
    target = rng.integers(0, C, (shape[0],) + shape[2:])
    target.flat[:2] = 2
    if ignore == "default":
        target.flat[0] = -100
    return logits, target, 2 if ignore == "class" else -100


CE_GRID = [("index", "none"), ("index", "default"), ("index", "class"), ("spatial", "default"),
           ("probs", "none")]


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kind, ignore", CE_GRID)
def test_cross_entropy_gradcheck(device, kind, ignore, reduction, weighted, label_smoothing):
    logits, target, ignore_index = ce_case(kind, ignore)
    x = make(logits, device, requires_grad=True)
    t = make(target, device)
    w = make(rng.uniform(0.5, 2, C), device) if weighted else None
    assert minidl.gradcheck(lambda x: F.cross_entropy(x, t, w, ignore_index, reduction, label_smoothing),
                            [x])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kind, ignore", CE_GRID)
def test_cross_entropy_matches_torch(kind, ignore, reduction, weighted, label_smoothing, dtype):
    torch = pytest.importorskip("torch")
    logits, target, ignore_index = ce_case(kind, ignore)
    w = rng.uniform(0.5, 2, C).astype(dtype) if weighted else None
    ours_w, theirs_w = (minidl.tensor(w), torch.tensor(w)) if weighted else (None, None)
    check_against_torch(
        lambda x, t: F.cross_entropy(x, t, ours_w, ignore_index, reduction, label_smoothing),
        lambda x, t: torch.nn.functional.cross_entropy(x, t, theirs_w, ignore_index=ignore_index,
                                                       reduction=reduction, label_smoothing=label_smoothing),
        [logits, target], dtype, grad=[True, False])


@pytest.mark.torch
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kind, ignore", [c for c in CE_GRID if c[0] != "probs"])
def test_nll_loss_gradcheck_and_torch(device, kind, ignore, reduction, weighted):
    torch = pytest.importorskip("torch")
    logits, target, ignore_index = ce_case(kind, ignore)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    w = rng.uniform(0.5, 2, C) if weighted else None
    t = make(target, device)
    x = make(log_probs, device, requires_grad=True)
    ours_w = make(w, device) if weighted else None
    assert minidl.gradcheck(lambda x: F.nll_loss(x, t, ours_w, ignore_index, reduction), [x])
    theirs_w = torch.tensor(w) if weighted else None
    check_against_torch(
        lambda x, t: F.nll_loss(x, t, None if w is None else minidl.tensor(w), ignore_index, reduction),
        lambda x, t: torch.nn.functional.nll_loss(x, t, theirs_w, ignore_index=ignore_index,
                                                  reduction=reduction),
        [log_probs, target], np.float64, grad=[True, False])


def test_cross_entropy_by_hand():
    # logits (0, ln 3): softmax (1/4, 3/4); target 1 -> loss -ln(3/4)
    x = minidl.tensor(np.array([[0.0, np.log(3.0)]]), requires_grad=True)
    loss = F.cross_entropy(x, np.array([1]))
    loss.backward()
    np.testing.assert_allclose(loss.item(), -np.log(0.75), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), [[0.25, -0.25]], rtol=1e-12)   # softmax - one-hot


def test_weighted_mean_divides_by_the_weight_of_counted_targets():
    x = rng.standard_normal((4, 3))
    target, w = np.array([0, 2, 2, -100]), np.array([1.0, 2.0, 4.0])
    per_sample = F.cross_entropy(minidl.tensor(x), target, w, reduction="none").numpy()
    mean = F.cross_entropy(minidl.tensor(x), target, w).item()
    np.testing.assert_allclose(mean, per_sample.sum() / (1 + 4 + 4), rtol=1e-12)
    assert per_sample[3] == 0


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_logits_give_finite_losses_matching_torch(dtype):
    torch = pytest.importorskip("torch")
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3], [3e3, -2e3, 1e4]])
    for target in (np.array([1, 1, 0]), np.eye(3)[[1, 1, 0]]):
        check_against_torch(lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
                            lambda x, t: torch.nn.functional.cross_entropy(x, t, label_smoothing=0.1),
                            [logits, target], dtype, grad=[True, False])
    bce_target = (logits > 0).astype(float)[:, ::-1].copy()
    check_against_torch(F.binary_cross_entropy_with_logits,
                        torch.nn.functional.binary_cross_entropy_with_logits,
                        [logits, bce_target], dtype, grad=[True, False])


def test_targets_as_int_arrays_or_tensors_of_any_int_dtype(device):
    x = make(rng.standard_normal((3, 4)), device)
    losses = [F.cross_entropy(x, t).item() for t in
              (np.array([0, 3, 1]), np.array([0, 3, 1], dtype=np.int32),
               make(np.array([0, 3, 1], dtype=np.uint8), device))]
    np.testing.assert_allclose(losses, losses[0], rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_gradcheck(device, reduction):
    x = make(rng.standard_normal((3, 4)), device, requires_grad=True)
    t = make(rng.standard_normal((3, 4)), device, requires_grad=True)
    assert minidl.gradcheck(lambda x, t: F.mse_loss(x, t, reduction), [x, t])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_matches_torch(reduction, dtype):
    torch = pytest.importorskip("torch")
    check_against_torch(lambda x, t: F.mse_loss(x, t, reduction),
                        lambda x, t: torch.nn.functional.mse_loss(x, t, reduction=reduction),
                        [rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))], dtype)


BCE_OPTIONS = [(None, None), ((3, 1), None), (None, (4,)), ((4,), (4,))]   # weight, pos_weight shapes


@pytest.mark.parametrize("weight_shape, pos_weight_shape", BCE_OPTIONS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_gradcheck(device, reduction, weight_shape, pos_weight_shape):
    x = make(rng.standard_normal((3, 4)) * 3, device, requires_grad=True)
    t = make(rng.uniform(0, 1, (3, 4)), device)
    w = None if weight_shape is None else make(rng.uniform(0.5, 2, weight_shape), device)
    pw = None if pos_weight_shape is None else make(rng.uniform(0.5, 3, pos_weight_shape), device)
    assert minidl.gradcheck(
        lambda x: F.binary_cross_entropy_with_logits(x, t, w, reduction, pos_weight=pw), [x])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_shape, pos_weight_shape", BCE_OPTIONS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_torch(reduction, weight_shape, pos_weight_shape, dtype):
    torch = pytest.importorskip("torch")
    w = None if weight_shape is None else rng.uniform(0.5, 2, weight_shape).astype(dtype)
    pw = None if pos_weight_shape is None else rng.uniform(0.5, 3, pos_weight_shape).astype(dtype)
    wrap = lambda a, lib: None if a is None else lib.tensor(a)
    check_against_torch(
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, wrap(w, minidl), reduction,
                                                        pos_weight=wrap(pw, minidl)),
        lambda x, t: torch.nn.functional.binary_cross_entropy_with_logits(
            x, t, wrap(w, torch), reduction=reduction, pos_weight=wrap(pw, torch)),
        [rng.standard_normal((3, 4)) * 3, rng.integers(0, 2, (3, 4)).astype(float)], dtype,
        grad=[True, False])


def test_losses_keep_float32(device):
    x = make(rng.standard_normal((4, 3)), device, dtype=np.float32)
    t = make(np.array([0, 1, 2, 1]), device)
    assert F.cross_entropy(x, t).dtype == np.float32
    assert F.cross_entropy(x, t, make(np.ones(3), device, dtype=np.float32)).dtype == np.float32
    assert F.mse_loss(x, x).dtype == F.binary_cross_entropy_with_logits(x, x).dtype == np.float32


@pytest.mark.torch
def test_all_targets_ignored_gives_nan_like_torch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3))
    with np.errstate(invalid="ignore"):
        ours = F.cross_entropy(minidl.tensor(x), np.array([-100, -100])).item()
    theirs = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor([-100, -100])).item()
    assert np.isnan(ours) and np.isnan(theirs)
    assert_close(F.cross_entropy(minidl.tensor(x), np.array([-100, -100]), reduction="sum").numpy(),
                 0.0, np.float64)


def test_errors_name_the_op_and_values():
    x = minidl.randn(4, 3)
    with pytest.raises(OpError, match=r"cross_entropy: target holds class 3 \(1 out-of-range value\(s\)\) "
                                      r"but input has 3 classes"):
        F.cross_entropy(x, np.array([0, 1, 2, 3]))
    with pytest.raises(OpError, match=r"nll_loss: target holds class -1"):
        F.nll_loss(x, np.array([0, -1, 2, 1]))
    with pytest.raises(OpError, match=r"cross_entropy: target has shape \(3,\) but input of shape "
                                      r"\(4, 3\) needs a target of shape \(4,\)"):
        F.cross_entropy(x, np.array([0, 1, 2]))
    with pytest.raises(OpError, match=r"class-probability target has shape \(4, 2\)"):
        F.cross_entropy(x, minidl.rand(4, 2))
    with pytest.raises(OpError, match=r"cross_entropy: weight has shape \(4,\) but input has 3 classes"):
        F.cross_entropy(x, np.array([0, 1, 2, 1]), weight=minidl.ones(4))
    with pytest.raises(OpError, match=r"cross_entropy: expected input of shape \(N, C\).* got \(3,\)"):
        F.cross_entropy(minidl.randn(3), np.array(1))
    with pytest.raises(OpError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        F.cross_entropy(x, np.array([0, 1, 2, 1]), label_smoothing=1.5)
    with pytest.raises(OpError, match=r"reduction must be one of .* got 'avg'"):
        F.cross_entropy(x, np.array([0, 1, 2, 1]), reduction="avg")
    with pytest.raises(OpError, match=r"nll_loss: target must hold class indices \(integers\), got float32"):
        F.nll_loss(x, minidl.rand(4, 3))
    with pytest.raises(OpError, match=r"mse_loss: input has shape \(4, 3\) but target has shape \(4,\)"):
        F.mse_loss(x, minidl.randn(4))
    with pytest.raises(OpError, match=r"binary_cross_entropy_with_logits: target has shape \(3,\)"):
        F.binary_cross_entropy_with_logits(x, minidl.rand(3))
    with pytest.raises(OpError, match=r"pos_weight of shape \(2,\) does not broadcast to the input "
                                      r"shape \(4, 3\)"):
        F.binary_cross_entropy_with_logits(x, minidl.rand(4, 3), pos_weight=minidl.ones(2))


# -- -inf log-probabilities of classes that are not the target ------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_masked_logits_matches_torch(reduction):
    torch = pytest.importorskip("torch")
    logits = np.array([[2.0, -np.inf, 0.5], [-np.inf, 1.0, -1.0]])
    target = np.array([0, 2])
    x = minidl.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, target, reduction=reduction)
    tx = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(tx, torch.tensor(target), reduction=reduction)
    assert np.isfinite(loss.numpy()).all()
    np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-12)
    loss.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


@pytest.mark.torch
def test_nll_loss_of_the_log_of_a_zero_probability_matches_torch():
    torch = pytest.importorskip("torch")
    with np.errstate(divide="ignore"):
        logp = np.log(np.array([[0.5, 0.0, 0.5], [0.0, 0.25, 0.75]]))
    target = np.array([2, 1])
    x = minidl.tensor(logp, requires_grad=True)
    loss = F.nll_loss(x, target)
    tx = torch.tensor(logp, requires_grad=True)
    expected = torch.nn.functional.nll_loss(tx, torch.tensor(target))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    loss.backward()
    expected.backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_cross_entropy_with_masked_logits_is_finite_without_torch():
    # closed form: the masked class has probability 0, so the loss is log(1 + e^-2) for logits (2, 0)
    x = minidl.tensor([[2.0, -np.inf, 0.0]], requires_grad=True, dtype=np.float64)
    loss = F.cross_entropy(x, np.array([0]))
    assert loss.item() == pytest.approx(np.log1p(np.exp(-2.0)))
    loss.backward()
    p = np.exp(2.0) / (np.exp(2.0) + 1)
    np.testing.assert_allclose(x.grad.numpy(), [[p - 1, 0.0, 1 - p]])
