"""Dropout layers, active only in training mode (``model.train()``); identities after ``eval()``."""
from .. import functional as F
from ..autograd import OpError
from .module import Module

__all__ = ["Dropout", "Dropout2d", "DropPath"]


class _DropoutNd(Module):
    """Holds the drop probability ``p`` and checks it once."""

    def __init__(self, p=0.5):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise OpError(f"{type(self).__name__}: drop probability p must be in [0, 1], got {p!r}")
        self.p = p

    def extra_repr(self):
        return f"p={self.p}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (inverted dropout)."""

    def forward(self, x):
        return F.dropout(x, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Zero whole channels of x (N, C, H, W) with probability ``p``, scaling the rest by 1/(1-p)."""

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training)


class DropPath(_DropoutNd):
    """Stochastic depth: zero a residual branch for whole samples with probability ``p``.

    Its input is the branch's output x (N, ...); kept samples are scaled by 1/(1-p).
    """

    def __init__(self, p=0.0):
        super().__init__(p)

    def forward(self, x):
        return F.drop_path(x, self.p, self.training)
