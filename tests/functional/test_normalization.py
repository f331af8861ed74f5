"""Batch norm and local response norm: numerical gradients, PyTorch parity, running stats, errors."""
import numpy as np
import pytest

import minidl
import minidl.functional as F
from minidl.autograd import OpError
from tests.conftest import make
from tests.functional.torch_ref import assert_close, check_against_torch

rng = np.random.default_rng(0)

SHAPES = [(6, 3), (4, 3, 5), (3, 4, 3, 2)]       # (N, C), (N, C, L), (N, C, H, W)


def bn_inputs(shape):
    C = shape[1]
    x = rng.standard_normal(shape) * 2 + 1
    return x, rng.standard_normal(C) * 0.5, rng.uniform(0.5, 2, C), rng.uniform(0.5, 1.5, C), \
        rng.standard_normal(C)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_gradcheck(device, shape, training, affine):
    x, mean, var, w, b = bn_inputs(shape)
    x = make(x, device, requires_grad=True)
    stats = [make(mean, device), make(var, device)]
    params = [make(w, device, requires_grad=True), make(b, device, requires_grad=True)] if affine else []

    def fn(x, *wb):
        # fresh copies: every call of a training step moves the running stats
        rm, rv = (minidl.Tensor(s.data.copy()) for s in stats)
        return F.batch_norm(x, rm, rv, *wb, training=training, eps=1e-3)
    assert minidl.gradcheck(fn, [x, *params])


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck_of_weight_and_bias_alone(device, training):
    x, mean, var, w, b = bn_inputs((3, 4, 2, 2))
    x, mean, var = make(x, device), make(mean, device), make(var, device)
    params = [make(w, device, requires_grad=True), make(b, device, requires_grad=True)]
    assert minidl.gradcheck(
        lambda w, b: F.batch_norm(x, mean.data.copy(), var.data.copy(), w, b, training=training), params)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5, 6)])
def test_batch_norm_matches_torch(shape, training, affine, dtype):
    torch = pytest.importorskip("torch")
    x, mean, var, w, b = bn_inputs(shape)
    arrays = [x, w, b] if affine else [x]
    ours_stats = [mean.astype(dtype), var.astype(dtype)]
    theirs_stats = [torch.tensor(s) for s in ours_stats]
    ours_stats = [s.copy() for s in ours_stats]       # raw arrays, updated in place
    check_against_torch(
        lambda *a: F.batch_norm(a[0], *ours_stats, *a[1:], training=training, momentum=0.3),
        lambda *a: torch.nn.functional.batch_norm(a[0], *theirs_stats, *a[1:], training=training,
                                                  momentum=0.3),
        arrays, dtype)
    for ours, theirs in zip(ours_stats, theirs_stats):
        assert_close(ours, theirs.numpy(), dtype, "running statistics")


@pytest.mark.torch
def test_running_stats_follow_torch_over_steps_including_cumulative_average():
    torch = pytest.importorskip("torch")
    batches = [rng.standard_normal((5, 4, 3, 3)).astype(np.float32) * s for s in (1, 2, 3)]
    for momentum in (0.1, None):
        ours = [minidl.zeros(4), minidl.ones(4)]     # Tensors, updated in place
        module = torch.nn.BatchNorm2d(4, momentum=momentum)
        for step, x in enumerate(batches, start=1):
            F.batch_norm(minidl.tensor(x), *ours, training=True, momentum=momentum,
                         num_batches_tracked=step)
            module(torch.tensor(x))
        assert_close(ours[0].numpy(), module.running_mean.numpy(), np.float32, "running_mean")
        assert_close(ours[1].numpy(), module.running_var.numpy(), np.float32, "running_var")


def test_cumulative_average_is_the_mean_of_the_batch_statistics():
    batches = [rng.standard_normal((6, 2)) + k for k in range(3)]
    running_mean, running_var = np.zeros(2), np.ones(2)
    for step, x in enumerate(batches, start=1):
        F.batch_norm(minidl.tensor(x), running_mean, running_var, training=True, momentum=None,
                     num_batches_tracked=step)
    np.testing.assert_allclose(running_mean, np.mean([x.mean(0) for x in batches], axis=0), rtol=1e-12)
    np.testing.assert_allclose(running_var, np.mean([x.var(0, ddof=1) for x in batches], axis=0),
                               rtol=1e-12)


def test_batch_norm_training_output_is_normalized(device):
    x = make(rng.standard_normal((16, 3, 4, 4)) * 5 + 3, device, dtype=np.float32)
    y = F.batch_norm(x, None, None, training=True).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)    # eps = 1e-5 of 25
    assert y.dtype == np.float32


def test_running_stats_update_under_no_grad(device):
    running_mean = make(np.zeros(3), device)
    x = make(rng.standard_normal((8, 3)) + 2, device)
    with minidl.no_grad():
        F.batch_norm(x, running_mean, None, training=True, momentum=1.0)
    np.testing.assert_allclose(running_mean.numpy(), x.numpy().mean(axis=0), rtol=1e-12)


def test_eval_mode_leaves_running_stats_alone():
    mean, var = np.array([0.5, -1.0]), np.array([2.0, 0.5])
    x = rng.standard_normal((4, 2))
    y = F.batch_norm(minidl.tensor(x), mean, var, training=False, eps=0.0).numpy()
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var), rtol=1e-12)
    np.testing.assert_array_equal(mean, [0.5, -1.0])
    np.testing.assert_array_equal(var, [2.0, 0.5])


def test_batch_norm_errors_name_the_op_and_values():
    x = minidl.randn(4, 3, 5, 5)
    rm, rv = minidl.zeros(64), minidl.ones(64)
    with pytest.raises(OpError, match=r"batch_norm: input has 3 channels but running_mean has shape "
                                      r"\(64,\) \(input shape \(4, 3, 5, 5\)\)"):
        F.batch_norm(x, rm, rv)
    with pytest.raises(OpError, match=r"batch_norm: input has 3 channels but weight has shape \(2,\)"):
        F.batch_norm(x, minidl.zeros(3), minidl.ones(3), weight=minidl.ones(2))
    with pytest.raises(OpError, match=r"batch_norm: expected input of shape \(N, C\).* got \(5,\)"):
        F.batch_norm(minidl.randn(5), None, None, training=True)
    with pytest.raises(OpError, match=r"evaluation mode .* needs running_mean and running_var"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(OpError, match=r"more than 1 value per channel .* \(1, 3\)"):
        F.batch_norm(minidl.randn(1, 3), None, None, training=True)
    with pytest.raises(OpError, match=r"momentum must be in \[0, 1\], got 1.5"):
        F.batch_norm(x, None, None, training=True, momentum=1.5)
    with pytest.raises(OpError, match=r"momentum=None .* needs num_batches_tracked >= 1, got None"):
        F.batch_norm(x, None, None, training=True, momentum=None)


@pytest.mark.parametrize("size", [1, 2, 3, 5])
@pytest.mark.parametrize("shape", [(2, 6, 3), (2, 5, 2, 3)])
def test_local_response_norm_gradcheck(device, shape, size):
    x = make(rng.standard_normal(shape), device, requires_grad=True)
    # a large alpha makes the cross-channel terms of the gradient matter
    assert minidl.gradcheck(lambda x: F.local_response_norm(x, size, alpha=0.5, beta=0.75, k=2.0), [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.torch
@pytest.mark.parametrize("size, alpha, beta, k", [(5, 1e-4, 0.75, 2.0), (2, 0.3, 0.5, 1.0),
                                                  (4, 1.0, 1.2, 1.5)])
def test_local_response_norm_matches_torch(size, alpha, beta, k, dtype):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 7, 4, 3)) * 2
    check_against_torch(lambda x: F.local_response_norm(x, size, alpha, beta, k),
                        lambda x: torch.nn.functional.local_response_norm(x, size, alpha, beta, k),
                        [x], dtype)


def test_local_response_norm_by_hand():
    # one position, channels a = (1, 2, 3), n = 3: the window of channel 0 is {0, 1} (zero padding)
    a = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)
    y = F.local_response_norm(minidl.tensor(a), 3, alpha=3.0, beta=1.0, k=1.0).numpy().ravel()
    np.testing.assert_allclose(y, [1 / (1 + 1 + 4), 2 / (1 + 1 + 4 + 9), 3 / (1 + 4 + 9)])


def test_local_response_norm_errors():
    with pytest.raises(OpError, match=r"local_response_norm: .* at least 3 axes, got \(4, 3\)"):
        F.local_response_norm(minidl.randn(4, 3), 2)
    with pytest.raises(OpError, match=r"local_response_norm: size must be a positive integer, got 0"):
        F.local_response_norm(minidl.randn(2, 4, 3, 3), 0)
