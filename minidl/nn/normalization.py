"""Normalization layers: ``BatchNorm1d``, ``BatchNorm2d`` and AlexNet's ``LocalResponseNorm``.

Batch normalization (Ioffe and Szegedy 2015) normalizes each channel with the
mean and variance of the mini-batch in training, and with running estimates
(buffers ``running_mean``, ``running_var``, updated with ``momentum``) in
evaluation, then scales by ``weight`` (gamma) and shifts by ``bias`` (beta).
"""
from .. import functional as F
from ..autograd import OpError, ones, zeros
from .module import Module, Parameter, check_channels

__all__ = ["BatchNorm1d", "BatchNorm2d", "LocalResponseNorm"]


class _BatchNorm(Module):
    """PyTorch's arguments, parameters and buffers; ``ndims`` are the accepted input ranks.

    ``affine`` gives the learnable scale ``weight`` and shift ``bias`` (``bias=False``: scale only).
    """

    ndims = None

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *,
                 bias=True):
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features <= 0:
            raise OpError(f"{name}: num_features must be a positive int, got {num_features!r}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise OpError(f"{name}({num_features}): momentum must be in [0, 1] or None, got {momentum}")
        if eps <= 0:
            raise OpError(f"{name}({num_features}): eps must be positive, got {eps}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(ones(num_features)) if affine else None
        self.bias = Parameter(zeros(num_features)) if affine and bias else None
        tracked = track_running_stats
        self.register_buffer("running_mean", zeros(num_features) if tracked else None)
        self.register_buffer("running_var", ones(num_features) if tracked else None)
        self.register_buffer("num_batches_tracked", zeros((), dtype="int64") if tracked else None)

    def forward(self, x):
        check_channels(self, x, self.num_features, ndims=self.ndims)
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
        # without running statistics there is nothing to update (so no momentum, not even None's
        # cumulative average), and nothing to use in evaluation: batch statistics
        momentum = self.momentum if self.track_running_stats else 0.0
        use_batch_stats = self.training or not self.track_running_stats
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch_stats, momentum, self.eps, self.num_batches_tracked)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over x (N, C) or (N, C, L), statistics per channel C."""

    ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over x (N, C, H, W), statistics per channel C over N, H and W."""

    ndims = (4,)


class LocalResponseNorm(Module):
    """AlexNet's LRN across channels: b_c = a_c / (k + alpha/n * sum_{|j-c| <= n/2} a_j^2)^beta."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise OpError(f"LocalResponseNorm: size must be a positive int, got {size!r}")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
