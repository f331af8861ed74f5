"""Activations: the non-linearities between layers, each a forward and its backward.

Without them a stack of convolutions collapses into one linear map.  Every
Function here is elementwise except maxout (a max over groups of channels)
and softmax / log_softmax (over one axis).  Each backward keeps only what it
needs: the output (relu, sigmoid, tanh, softmax), a boolean mask
(hardtanh) or the input (leaky_relu, softplus).
"""
from .. import backend
from ..backend import kernels
from ..autograd import Function, OpError

__all__ = ["relu", "leaky_relu", "elu", "sigmoid", "tanh", "scaled_tanh", "hardtanh", "softplus",
           "maxout", "softmax", "log_softmax"]


def stable_sigmoid(x):
    """1 / (1 + e^-x) without overflow: only e^-|x| <= 1 is ever computed."""
    xp = backend.get_array_module(x)
    e = xp.exp(-xp.abs(x))
    r = 1 / (1 + e)
    return xp.where(x >= 0, r, e * r)


class ReLU(Function):
    """y = max(x, 0); gx = gy where y > 0, else 0."""

    def forward(self, x):
        # keeping y, not a mask x > 0: the next layer keeps y for its own backward anyway
        if kernels.enabled_for(x):
            self.y = kernels.relu(x)            # the same, on every core
        else:
            self.y = backend.get_array_module(x).maximum(x, 0)
        return self.y

    def backward(self, gy):
        if kernels.enabled_for(gy, self.y):
            return kernels.relu_backward(gy, self.y)
        return gy * (self.y > 0)


class LeakyReLU(Function):
    """y = x if x > 0 else negative_slope * x; gx = gy or negative_slope * gy."""

    float_inputs = True

    def __init__(self, negative_slope):
        self.negative_slope = negative_slope

    def forward(self, x):
        self.positive = x > 0
        return backend.get_array_module(x).where(self.positive, x, x * self.negative_slope)

    def backward(self, gy):
        return backend.get_array_module(gy).where(self.positive, gy, gy * self.negative_slope)


class ELU(Function):
    """y = x if x > 0 else alpha (e^x - 1); for x <= 0, dy/dx = alpha e^x = y + alpha."""

    float_inputs = True

    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.positive = x > 0
        # expm1 keeps e^x - 1 accurate for small |x|, where exp(x) - 1 cancels
        self.y = xp.where(self.positive, x, self.alpha * xp.expm1(xp.minimum(x, 0)))
        return self.y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        return xp.where(self.positive, gy, gy * (self.y + self.alpha))


class Sigmoid(Function):
    """y = 1 / (1 + e^-x); gx = gy y (1 - y)."""

    float_inputs = True

    def forward(self, x):
        self.y = stable_sigmoid(x)
        return self.y

    def backward(self, gy):
        return gy * self.y * (1 - self.y)


class Tanh(Function):
    """y = amplitude tanh(slope x); gx = gy slope (amplitude - y^2 / amplitude)."""

    float_inputs = True

    def __init__(self, amplitude=1.0, slope=1.0):
        self.amplitude, self.slope = amplitude, slope

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.y = xp.tanh(x * self.slope) if self.slope != 1 else xp.tanh(x)
        if self.amplitude != 1:
            self.y = self.y * self.amplitude
        return self.y

    def backward(self, gy):
        a = self.amplitude
        return gy * (self.slope * (a - self.y * self.y / a))


class Hardtanh(Function):
    """y = clip(x, min_val, max_val); gx = gy strictly inside (min_val, max_val), else 0."""

    float_inputs = True     # the bounds are real numbers: on integers PyTorch truncates them

    def __init__(self, min_val, max_val):
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        self.inside = (x > self.min_val) & (x < self.max_val)
        return backend.get_array_module(x).clip(x, self.min_val, self.max_val)

    def backward(self, gy):
        return gy * self.inside


class Softplus(Function):
    """y = log(1 + e^(beta x)) / beta, or x where beta x > threshold; gx = gy sigmoid(beta x)."""

    float_inputs = True

    def __init__(self, beta, threshold):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.bx = x * self.beta
        # log(1 + e^z) = max(z, 0) + log(1 + e^-|z|): e^z never overflows
        soft = (xp.maximum(self.bx, 0) + xp.log1p(xp.exp(-xp.abs(self.bx)))) / self.beta
        return xp.where(self.bx > self.threshold, x, soft)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        return xp.where(self.bx > self.threshold, gy, gy * stable_sigmoid(self.bx))


class Maxout(Function):
    """y = the maximum over each group of ``pool_size`` consecutive entries of ``axis``.

    x: (A, G * pool_size, B) viewed as (A, G, pool_size, B) -> y: (A, G, B), where
    A and B stand for the axes before and after ``axis``.  gx routes gy to the
    winner of each group (the first one on ties, as max pooling).
    """

    def __init__(self, pool_size, axis):
        self.pool_size, self.axis = pool_size, axis

    def forward(self, x):
        shape = x.shape
        a = 1
        for n in shape[:self.axis]:
            a *= n
        self.x_shape = shape
        x4 = x.reshape(a, shape[self.axis] // self.pool_size, self.pool_size, -1)
        self.winner = x4.argmax(axis=2)
        y = x4.max(axis=2)
        return y.reshape(shape[:self.axis] + (y.shape[1],) + shape[self.axis + 1:])

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        win = self.winner[:, :, None, :]
        one_hot = xp.arange(self.pool_size).reshape(1, 1, -1, 1) == win
        gy4 = gy.reshape(win.shape)
        return (one_hot * gy4).reshape(self.x_shape)


class Softmax(Function):
    """y_i = e^(x_i - m) / sum_j e^(x_j - m) along ``axis`` (m = the max, for stability).

    gx = y (gy - sum(gy y)): the Jacobian diag(y) - y y^T applied to gy.
    """

    float_inputs = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = backend.get_array_module(x)
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        e /= e.sum(axis=self.axis, keepdims=True)
        self.y = e
        return e

    def backward(self, gy):
        y = self.y
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - m - log(sum_j e^(x_j - m)) along ``axis``; gx = gy - softmax(x) sum(gy)."""

    float_inputs = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        self.y = log_softmax_array(x, self.axis)
        return self.y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        return gy - xp.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)


def log_softmax_array(x, axis):
    """log softmax of a raw array; e^(x - max) <= 1, so no overflow for any logits."""
    xp = backend.get_array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


# --------------------------------------------------------------------------- #
# Public functions
# --------------------------------------------------------------------------- #
def relu(x):
    """max(x, 0) elementwise."""
    return ReLU()(x)


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, else ``negative_slope * x``."""
    return LeakyReLU(negative_slope)(x)


def elu(x, alpha=1.0):
    """x where x > 0, else ``alpha * (e^x - 1)``."""
    return ELU(alpha)(x)


def sigmoid(x):
    """1 / (1 + e^-x), computed without overflow for any x."""
    return Sigmoid()(x)


def tanh(x):
    """The hyperbolic tangent."""
    return Tanh()(x)


def scaled_tanh(x):
    """LeNet-5's squashing function 1.7159 tanh(2x/3) (LeCun et al. 1998, appendix A).

    The constants make f(1) = 1 and f(-1) = -1, so targets of +-1 sit where the
    gain is highest rather than at the saturated asymptotes.
    """
    return Tanh(amplitude=1.7159, slope=2.0 / 3.0)(x)


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """x clipped to [min_val, max_val]."""
    if min_val > max_val:
        raise OpError(f"hardtanh: min_val {min_val} is greater than max_val {max_val}")
    return Hardtanh(min_val, max_val)(x)


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + e^(beta x)) / beta, a smooth ReLU; linear where beta x > threshold."""
    if beta <= 0:
        raise OpError(f"softplus: beta must be positive, got {beta}")
    return Softplus(beta, threshold)(x)


def _axis(name, axis, x):
    if not -x.ndim <= axis < x.ndim:
        raise OpError(f"{name}: axis {axis} is out of range for input of shape {x.shape}")
    return axis % x.ndim


def maxout(x, pool_size, axis=1):
    """The maximum over groups of ``pool_size`` consecutive channels (Goodfellow et al. 2013).

    x: (N, G * pool_size, ...) -> (N, G, ...) for the default ``axis=1``.
    """
    axis = _axis("maxout", axis, x)
    if not isinstance(pool_size, int) or pool_size < 1 or x.shape[axis] % pool_size:
        raise OpError(f"maxout: pool_size {pool_size} does not divide the {x.shape[axis]} "
                      f"entries of axis {axis} (input shape {x.shape})")
    return Maxout(pool_size, axis)(x)


def softmax(x, axis=-1):
    """e^x normalized to sum to 1 along ``axis``."""
    return Softmax(_axis("softmax", axis, x))(x)


def log_softmax(x, axis=-1):
    """log(softmax(x)) along ``axis``, computed without forming softmax (no log of 0)."""
    return LogSoftmax(_axis("log_softmax", axis, x))(x)
