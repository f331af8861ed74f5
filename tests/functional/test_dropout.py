"""Dropout, dropout2d, drop_path: gradients with a fixed mask, mask statistics, eval identity, errors."""
import numpy as np
import pytest

import minidl
import minidl.functional as F
from minidl.autograd import OpError
from tests.conftest import make

rng = np.random.default_rng(0)

OPS = [(F.dropout, (4, 5)), (F.dropout2d, (3, 4, 2, 2)), (F.drop_path, (6, 3, 2))]


@pytest.mark.parametrize("p", [0.25, 0.6])
@pytest.mark.parametrize("op, shape", OPS)
def test_gradcheck_with_a_fixed_mask(device, op, shape, p):
    x = make(rng.standard_normal(shape), device, requires_grad=True)

    def fn(x):
        minidl.manual_seed(3)       # the same mask on every call
        return op(x, p, training=True)
    assert minidl.gradcheck(fn, [x])


@pytest.mark.parametrize("p", [0.2, 0.5])
@pytest.mark.parametrize("op, shape", OPS)
def test_kept_values_are_scaled_and_gradient_is_the_mask(device, op, shape, p):
    x = make(rng.uniform(0.5, 1.5, shape), device, requires_grad=True)
    y = op(x, p)
    y.sum().backward()
    ratio = y.numpy() / x.numpy()
    kept = ratio != 0
    np.testing.assert_allclose(ratio[kept], 1 / (1 - p), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), ratio, rtol=1e-12)


def test_drop_rates_and_mask_shapes(device):
    p = 0.3
    x = make(np.ones((200, 50, 4, 4)), device, dtype=np.float32)
    elements = F.dropout(x, p).numpy() == 0
    channels = F.dropout2d(x, p).numpy() == 0
    samples = F.drop_path(x, p).numpy() == 0
    # whole channel maps and whole samples are dropped together
    assert (channels.all(axis=(2, 3)) == channels.any(axis=(2, 3))).all()
    assert (samples.reshape(200, -1).all(axis=1) == samples.reshape(200, -1).any(axis=1)).all()
    # drop rates within 4 binomial standard deviations of p
    for dropped, trials in ((elements, elements.size), (channels[:, :, 0, 0], 10_000),
                            (samples[:, 0, 0, 0], 200)):
        assert abs(dropped.mean() - p) < 4 * np.sqrt(p * (1 - p) / trials), dropped.mean()


@pytest.mark.torch
def test_scaling_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.ones((64, 32, 3, 3), dtype=np.float32)
    for ours, theirs in ((F.dropout, torch.nn.functional.dropout),
                         (F.dropout2d, torch.nn.functional.dropout2d)):
        kept = ours(minidl.tensor(x), 0.3).numpy()
        kept_torch = theirs(torch.tensor(x), 0.3).numpy()
        np.testing.assert_allclose(np.unique(kept), np.unique(kept_torch), rtol=1e-6)
        for train in (False, True):
            np.testing.assert_array_equal(ours(minidl.tensor(x), 0.0, training=train).numpy(),
                                          theirs(torch.tensor(x), 0.0, training=train).numpy())
        np.testing.assert_array_equal(ours(minidl.tensor(x), 1.0).numpy(),
                                      theirs(torch.tensor(x), 1.0).numpy())


@pytest.mark.parametrize("op, shape", OPS)
def test_identity_in_eval_mode_and_for_p_zero(device, op, shape):
    x = make(rng.standard_normal(shape), device, requires_grad=True)
    assert op(x, 0.5, training=False) is x
    assert op(x, 0.0, training=True) is x


@pytest.mark.parametrize("op, shape", OPS)
def test_p_one_drops_everything(device, op, shape):
    x = make(rng.standard_normal(shape), device, requires_grad=True)
    y = op(x, 1.0)
    y.sum().backward()
    assert not y.numpy().any() and not x.grad.numpy().any()


def test_masks_follow_the_seed(device):
    x = make(np.ones((8, 16)), device)
    minidl.manual_seed(7)
    first = F.dropout(x, 0.5).numpy()
    second = F.dropout(x, 0.5).numpy()
    minidl.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), first)
    assert (first != second).any()


def test_dropout_keeps_float32(device):
    x = make(np.ones((4, 3, 2, 2)), device, dtype=np.float32)
    assert F.dropout(x).dtype == F.dropout2d(x).dtype == F.drop_path(x, 0.2).dtype == np.float32


def test_errors_name_the_op_and_values():
    x = minidl.randn(2, 3, 4, 4)
    with pytest.raises(OpError, match=r"dropout: dropout probability p must be in \[0, 1\], got 1.5"):
        F.dropout(x, 1.5)
    with pytest.raises(OpError, match=r"dropout2d: .* got -0.1"):
        F.dropout2d(x, -0.1, training=False)
    with pytest.raises(OpError, match=r"drop_path: .* got 2"):
        F.drop_path(x, 2)
    with pytest.raises(OpError, match=r"dropout2d: expected input of shape \(N, C, H, W\) or \(C, H, W\), "
                                      r"got \(2, 3\)"):
        F.dropout2d(minidl.randn(2, 3))
