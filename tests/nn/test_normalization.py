"""BatchNorm1d/2d and LocalResponseNorm: PyTorch parity of outputs, gradients and running statistics."""
import numpy as np
import pytest

from minidl import nn
from minidl.autograd import OpError

from tests.conftest import make
from tests.nn.common import assert_matches_torch

rng = np.random.default_rng(0)

CONFIGS = [dict(), dict(momentum=0.3, eps=1e-3), dict(momentum=None), dict(affine=False), dict(bias=False),
           dict(track_running_stats=False)]


@pytest.mark.torch
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda k: "-".join(f"{a}={v}" for a, v in k.items()))
def test_batch_norm2d_matches_torch(kwargs, train, device):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.BatchNorm2d(3, **kwargs)
    if theirs.track_running_stats:      # statistics away from 0 and 1, so swapping them would show
        theirs.running_mean.uniform_(-1, 1)
        theirs.running_var.uniform_(0.5, 2)
    if theirs.weight is not None:
        theirs.weight.data.uniform_(0.5, 1.5)
    if theirs.bias is not None:
        theirs.bias.data.uniform_(-0.5, 0.5)
    x = rng.standard_normal((4, 3, 5, 5)) * 2 + 1
    assert_matches_torch(nn.BatchNorm2d(3, **kwargs), theirs, x, device=device, train=train)


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(6, 4), (6, 4, 7)])
def test_batch_norm1d_matches_torch(shape, device):
    torch = pytest.importorskip("torch")
    assert_matches_torch(nn.BatchNorm1d(4), torch.nn.BatchNorm1d(4), rng.standard_normal(shape) + 3,
                         device=device, train=True)


@pytest.mark.torch
def test_running_statistics_over_several_batches():
    torch = pytest.importorskip("torch")
    for momentum in (0.1, None):
        ours = nn.BatchNorm2d(2, momentum=momentum).double()
        theirs = torch.nn.BatchNorm2d(2, momentum=momentum).double()
        for i in range(4):
            x = rng.standard_normal((3, 2, 4, 4)) * (i + 1) + i
            ours(make(x))
            theirs(torch.tensor(x))
        assert ours.num_batches_tracked.item() == 4
        for name in ("running_mean", "running_var"):
            np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(), rtol=1e-12)


@pytest.mark.torch
def test_local_response_norm_matches_torch(device):
    torch = pytest.importorskip("torch")
    assert_matches_torch(nn.LocalResponseNorm(5, alpha=1e-2, beta=0.75, k=2.0),
                         torch.nn.LocalResponseNorm(5, alpha=1e-2, beta=0.75, k=2.0),
                         rng.standard_normal((2, 7, 3, 3)), device=device)


def test_errors():
    bn = nn.BatchNorm2d(64)
    with pytest.raises(OpError, match=r"BatchNorm2d\(64, .*\): input has 32 channels, expected 64"):
        bn(make(np.zeros((2, 32, 4, 4))))
    with pytest.raises(OpError, match=r"BatchNorm2d\(64, .*\): expected a 4-dim input, got shape \(2, 64\)"):
        bn(make(np.zeros((2, 64))))
    with pytest.raises(OpError, match=r"BatchNorm1d\(3, .*\): expected a 2 or 3-dim input"):
        nn.BatchNorm1d(3)(make(np.zeros((2, 3, 4, 4))))
    with pytest.raises(OpError, match="BatchNorm1d: num_features must be a positive int"):
        nn.BatchNorm1d(0)
    with pytest.raises(OpError, match=r"BatchNorm2d\(4\): momentum must be in \[0, 1\] or None"):
        nn.BatchNorm2d(4, momentum=2)
    with pytest.raises(OpError, match="LocalResponseNorm: size must be a positive int"):
        nn.LocalResponseNorm(0)
