"""Weight initialization, in place, as ``torch.nn.init``.

Every draw comes from the seeded generator of the tensor's own device
(``backend.generator(t.device)``), so ``minidl.manual_seed(s)`` followed by
building a model gives the same weights every time.

Why the scale matters: a layer with fan-in n sums n products, so unit-variance
inputs times weights of variance v give outputs of variance n v.  Keeping the
variance constant through depth needs v = 1/n (LeCun), 2/(n_in + n_out) for
both passes at once (Glorot and Bengio 2010), or 2/n behind a ReLU, which
zeroes half the signal (He et al. 2015).  A uniform U(-a, a) has variance a^2/3.
"""
import math

from .. import backend
from ..autograd import OpError

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "lecun_normal_", "skip_init"]

# True while skip_init builds a module: random draws are skipped (not thread-safe: one build at a time)
_skipping = False


def skip_init(builder, *args, **kwargs):
    """``builder(*args, **kwargs)`` (a module class or a function returning a module) without drawing
    the random initial weights, as ``torch.nn.utils.skip_init``.

    The layers, shapes and parameter counts are those of a normal build;
    the values of parameters that would be drawn at random are left as
    allocated: meaningless (possibly NaN) until loaded or initialized.
    Drawing is what takes the time of a build: VGG-16's 138 million draws
    take seconds, and even writing zeros takes one.
    """
    global _skipping
    saved, _skipping = _skipping, True
    try:
        return builder(*args, **kwargs)
    finally:
        _skipping = saved


def calculate_gain(nonlinearity, param=None):
    """The factor by which ``nonlinearity`` should scale the standard deviation (PyTorch's values).

    linear, conv and sigmoid: 1; tanh: 5/3; relu: sqrt(2);
    leaky_relu with slope ``param`` (default 0.01): sqrt(2 / (1 + param^2)); selu: 3/4.
    """
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise OpError(f"calculate_gain: negative slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise OpError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _draw(tensor, method, *args):
    if not _skipping:
        draw = getattr(backend.generator(tensor.device), method)
        tensor.data[...] = draw(*args, tensor.shape, tensor.dtype)
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    """Fill ``tensor`` with draws from U(a, b)."""
    return _draw(tensor, "uniform", a, b)


def normal_(tensor, mean=0.0, std=1.0):
    """Fill ``tensor`` with draws from N(mean, std^2)."""
    return _draw(tensor, "normal", mean, std)


def constant_(tensor, val):
    tensor.data[...] = val
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def _calculate_fan_in_and_fan_out(tensor, name):
    """fan_in = C * KH * KW and fan_out = F * KH * KW of a weight (F, C, KH, KW) (or (out, in))."""
    if tensor.ndim < 2:
        raise OpError(f"{name}: fan in and fan out need a tensor of at least 2 dims, "
                      f"got shape {tensor.shape}")
    receptive_field = 1
    for k in tensor.shape[2:]:
        receptive_field *= k
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor, mode, name):
    if mode not in ("fan_in", "fan_out"):
        raise OpError(f"{name}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor, name)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor, gain=1.0):
    """Glorot and Bengio 2010: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """Glorot and Bengio 2010: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor, "xavier_normal_")
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He et al. 2015: U(-bound, bound) with bound = gain * sqrt(3 / fan), gain of ``nonlinearity``
    (``a`` is the leaky-ReLU slope).  PyTorch's Conv and Linear use it with ``a=sqrt(5)``."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode, "kaiming_uniform_"))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He et al. 2015: N(0, std^2) with std = gain / sqrt(fan)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode, "kaiming_normal_"))
    return normal_(tensor, 0.0, std)


def lecun_normal_(tensor):
    """LeCun et al. 1998: N(0, 1 / fan_in), which keeps unit variance through linear layers."""
    return normal_(tensor, 0.0, 1.0 / math.sqrt(_fan(tensor, "fan_in", "lecun_normal_")))


def reset_affine_(module, fan_in):
    """PyTorch's default for Conv and Linear: weight kaiming_uniform_(a=sqrt(5)), which is
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and bias from the same uniform."""
    kaiming_uniform_(module.weight, a=math.sqrt(5))
    if module.bias is not None:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(module.bias, -bound, bound)
