"""nn.init: gains, fans and the distributions of each initializer, and the layers' defaults."""
import math

import numpy as np
import pytest

import minidl
from minidl import nn
from minidl.autograd import OpError
from minidl.nn import init

from tests.conftest import make


@pytest.mark.torch
@pytest.mark.parametrize("nonlinearity,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                                ("tanh", None), ("relu", None), ("leaky_relu", None),
                                                ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)),
                                                ("selu", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-12)


def _empty(shape, device="cpu"):
    return make(np.zeros(shape), device, dtype=np.float32)


# (initializer, kwargs, closed form of the target std for a (F=64, C=32, 3, 3) weight:
#  fan_in = 32 * 9 = 288, fan_out = 64 * 9 = 576)
CASES = [
    (init.uniform_, dict(a=-2.0, b=2.0), 4 / math.sqrt(12)),
    (init.normal_, dict(mean=0.0, std=0.5), 0.5),
    (init.xavier_uniform_, {}, math.sqrt(2 / (288 + 576))),
    (init.xavier_normal_, dict(gain=2.0), 2 * math.sqrt(2 / (288 + 576))),
    (init.kaiming_uniform_, dict(nonlinearity="relu"), math.sqrt(2 / 288)),
    (init.kaiming_normal_, dict(mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 576)),
    (init.kaiming_uniform_, dict(a=math.sqrt(5)), math.sqrt(2 / (1 + 5) / 288)),
    (init.lecun_normal_, {}, math.sqrt(1 / 288)),
]


@pytest.mark.parametrize("fn,kwargs,std", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_initializers_have_the_documented_spread(fn, kwargs, std, device):
    w = _empty((64, 32, 3, 3), device)
    assert fn(w, **kwargs) is w
    values = w.numpy()
    assert w.dtype == np.float32 and str(w.device).startswith(device)
    # 18,432 draws: the sample std is within 3% of the true one with overwhelming probability
    assert values.std() == pytest.approx(std, rel=0.03)
    assert abs(values.mean() - kwargs.get("mean", 0.0)) < 0.05 * std
    if "uniform" in fn.__name__:
        bound = math.sqrt(3) * std
        assert values.min() >= -bound and values.max() <= bound and values.max() > 0.99 * bound


def test_constant_zeros_ones():
    w = _empty((2, 3))
    np.testing.assert_array_equal(init.constant_(w, 0.25).numpy(), np.full((2, 3), 0.25))
    np.testing.assert_array_equal(init.ones_(w).numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(init.zeros_(w).numpy(), np.zeros((2, 3)))


def test_same_seed_same_weights():
    minidl.manual_seed(42)
    a = nn.Conv2d(3, 8, 3).weight.numpy()
    minidl.manual_seed(42)
    b = nn.Conv2d(3, 8, 3).weight.numpy()
    c = nn.Conv2d(3, 8, 3).weight.numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


@pytest.mark.parametrize("make_ours,make_theirs", [
    (lambda nn: nn.Conv2d(16, 32, 3), lambda t: t.nn.Conv2d(16, 32, 3)),
    (lambda nn: nn.Conv2d(16, 32, 5, groups=4), lambda t: t.nn.Conv2d(16, 32, 5, groups=4)),
    (lambda nn: nn.Conv1d(32, 64, 3), lambda t: t.nn.Conv1d(32, 64, 3)),
    (lambda nn: nn.Linear(300, 200), lambda t: t.nn.Linear(300, 200)),
])
@pytest.mark.torch
def test_default_layer_init_has_torchs_distribution(make_ours, make_theirs):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ours, theirs = make_ours(nn), make_theirs(torch)
    bound = 1 / math.sqrt(ours.weight.numel() // ours.weight.shape[0])   # 1/sqrt(fan_in)
    for name in ("weight", "bias"):
        a = getattr(ours, name).numpy()
        b = getattr(theirs, name).detach().numpy()
        assert a.shape == b.shape
        assert np.abs(a).max() <= bound and np.abs(b).max() <= bound
    # weight: U(-bound, bound), std bound/sqrt(3) for both
    a, b = ours.weight.numpy(), theirs.weight.detach().numpy()
    assert a.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert a.std() == pytest.approx(b.std(), rel=0.05)


def test_batch_norm_and_embedding_defaults():
    bn = nn.BatchNorm2d(4)
    np.testing.assert_array_equal(bn.weight.numpy(), np.ones(4))
    np.testing.assert_array_equal(bn.bias.numpy(), np.zeros(4))
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(4))
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.item() == 0
    emb = nn.Embedding(1000, 16, padding_idx=0)
    assert emb.weight.numpy()[1:].std() == pytest.approx(1.0, rel=0.05)
    np.testing.assert_array_equal(emb.weight.numpy()[0], np.zeros(16))


def test_errors():
    with pytest.raises(OpError, match="at least 2 dims"):
        init.xavier_uniform_(_empty((5,)))
    with pytest.raises(OpError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(_empty((5, 5)), mode="fan_avg")
    with pytest.raises(OpError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_skip_init_builds_the_same_layers_without_drawing():
    minidl.manual_seed(0)
    state = minidl.backend.generator("cpu").get_state()
    model = init.skip_init(lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.Linear(8, 4)))
    assert minidl.backend.generator("cpu").get_state() == state           # nothing was drawn
    assert [tuple(p.shape) for p in model.parameters()] == [(8, 3, 3, 3), (8,), (4, 8), (4,)]


def test_skip_init_ends_with_its_build_even_a_failed_one():
    with pytest.raises(KeyError):
        init.skip_init(lambda: nn.Linear(20, 20) and {}["a model that fails to build"])
    state = minidl.backend.generator("cpu").get_state()
    assert nn.Linear(20, 20).weight.numpy().all()
    assert minidl.backend.generator("cpu").get_state() != state
