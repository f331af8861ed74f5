"""Activation layers: each wraps the function of :mod:`minidl.functional.activation` of the same name.

``inplace`` is accepted where PyTorch has it, so that PyTorch code reads the
same; minidl always returns a new tensor (backward may still need the input).
"""
from .. import functional as F
from ..autograd import OpError
from .module import Module

__all__ = ["ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Hardtanh", "Softplus", "Softmax",
           "LogSoftmax", "Maxout", "ScaledTanh"]


class ReLU(Module):
    """max(0, x)."""

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x if x >= 0 else negative_slope * x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x if x >= 0 else alpha (e^x - 1)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class Sigmoid(Module):
    """1 / (1 + e^-x)."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x):
        return F.tanh(x)


class ScaledTanh(Module):
    """LeNet-5's squashing function 1.7159 tanh(2x/3) (LeCun et al. 1998, Appendix A)."""

    def forward(self, x):
        return F.scaled_tanh(x)


class Hardtanh(Module):
    """x clipped to [min_val, max_val]."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val >= max_val:
            raise OpError(f"Hardtanh: min_val {min_val} must be below max_val {max_val}")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Softplus(Module):
    """log(1 + e^(beta x)) / beta, linear above ``threshold`` for stability."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """e^x / sum e^x along ``dim`` (the last by default; PyTorch makes you choose)."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log softmax along ``dim``, computed stably as x - logsumexp(x)."""

    def forward(self, x):
        return F.log_softmax(x, self.dim)


class Maxout(Module):
    """Goodfellow et al. 2013: the max over groups of ``pool_size`` consecutive channels along ``dim``:
    (N, C, ...) -> (N, C / pool_size, ...)."""

    def __init__(self, pool_size, dim=1):
        super().__init__()
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size <= 0:
            raise OpError(f"Maxout: pool_size must be a positive int, got {pool_size!r}")
        self.pool_size, self.dim = pool_size, dim

    def forward(self, x):
        return F.maxout(x, self.pool_size, self.dim)

    def extra_repr(self):
        return f"pool_size={self.pool_size}, dim={self.dim}"
