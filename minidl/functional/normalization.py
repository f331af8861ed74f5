"""Normalization: batch normalization (Ioffe & Szegedy 2015) and AlexNet's local response norm.

Notation: x is (N, C, *) with C channels; M = N * (product of the * axes) is
the number of values each channel is normalized over (M = N for (N, C)
input, N * H * W for images).  Both ops view x as (N, C, L) so that one code
path serves 2-D, 3-D and 4-D input.
"""
import numbers

from .. import backend
from ..autograd import Function, OpError, Tensor

__all__ = ["batch_norm", "local_response_norm"]


class BatchNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, per channel.

    x: (N, C, *), weight, bias: (C,) -> y: (N, C, *).  In training the mean
    and (biased) variance are the batch's, over the M values of each channel,
    and the running statistics move towards them by ``momentum``; in
    evaluation the running statistics are used as constants.

    With xhat = (x - mean) / sqrt(var + eps) and gxhat = gy * weight, the
    training-mode gradient in compact form (the mean and variance depend on x):

        gx = inv_std / M * (M gxhat - sum(gxhat) - xhat * sum(gxhat * xhat))
        gweight = sum(gy * xhat),  gbias = sum(gy)

    with every sum over the M values of a channel.  Like PyTorch, only x (kept
    alive as an input anyway), mean and inv_std are saved, not an activation-sized
    xhat: backward folds xhat into per-channel coefficients of x.
    """

    float_inputs = True

    def __init__(self, running_mean, running_var, training, momentum, eps):
        self.running_mean, self.running_var = running_mean, running_var
        self.training, self.momentum, self.eps = training, momentum, eps

    def forward(self, x, weight, bias):
        xp = backend.get_array_module(x)
        x3 = x.reshape(x.shape[0], x.shape[1], -1)
        M = x3.shape[0] * x3.shape[2]
        if self.training:
            mean = x3.sum(axis=(0, 2)) / M
            xc = x3 - mean[:, None]
            # einsum sums the squares without materializing (x - mean)^2
            var = xp.einsum("ncl,ncl->c", xc, xc) / M
            self._update_running_stats(mean, var * (M / (M - 1)))
        else:
            mean = self.running_mean.astype(x.dtype, copy=False)
            var = self.running_var.astype(x.dtype, copy=False)
            xc = x3 - mean[:, None]
        self.x3, self.mean = x3, mean
        self.inv_std = 1 / xp.sqrt(var + self.eps)
        self.scale = weight * self.inv_std
        xc *= self.scale[:, None]       # y is written over x - mean: one buffer for both
        xc += bias[:, None]
        return xc.reshape(x.shape)

    def _update_running_stats(self, mean, unbiased_var):
        for running, batch in ((self.running_mean, mean), (self.running_var, unbiased_var)):
            if running is not None:
                running[...] = (1 - self.momentum) * running + self.momentum * batch

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        gy3 = gy.reshape(self.x3.shape)
        need_x, need_w, need_b = self.needs_input_grad
        batch_stats = need_x and self.training
        gb = gy3.sum(axis=(0, 2)) if need_b or need_w or batch_stats else None
        gw = None
        if need_w or batch_stats:
            # sum(gy * xhat) = inv_std * (sum(gy * x) - mean * sum(gy)), without forming x - mean
            gw = (xp.einsum("ncl,ncl->c", gy3, self.x3) - self.mean * gb) * self.inv_std
        gx = None
        if batch_stats:
            # the closed form above with sum(gxhat) = weight * gb, sum(gxhat * xhat) = weight * gw:
            #   gx = weight * inv_std * (gy - gb / M - xhat * gw / M),
            # where gb / M + xhat * gw / M = c1 * x + c0 per channel: one new array, three passes
            M = gy3.shape[0] * gy3.shape[2]
            c1 = self.inv_std * gw / M
            gx = self.x3 * c1[:, None]
            gx += (gb / M - c1 * self.mean)[:, None]
            xp.subtract(gy3, gx, out=gx)
            gx *= self.scale[:, None]
        elif need_x:
            gx = gy3 * self.scale[:, None]
        return (None if gx is None else gx.reshape(gy.shape),
                gw if need_w else None, gb if need_b else None)


class LocalResponseNorm(Function):
    """b_c = a_c / (k + alpha / n * sum_{c' in window(c)} a_c'^2)^beta across channels.

    x: (N, C, *) -> y: (N, C, *).  The window of n = ``size`` channels is centred
    on c (n // 2 before, (n - 1) // 2 after) and zero-padded at the ends, as
    PyTorch.  With s = k + alpha / n * window_sum(x^2), y = x s^-beta and

        gx = gy s^-beta - 2 alpha beta / n * x * window_sum^T(gy y / s),

    where window_sum^T sums over the channels whose window contains c (the
    window mirrored).
    """

    float_inputs = True

    def __init__(self, size, alpha, beta, k):
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def _window_sum(self, a, before, after):
        """Sum of a over channels c - before .. c + after, for every channel c of (N, C, L)."""
        xp = backend.get_array_module(a)
        padded = xp.pad(a, ((0, 0), (before, after), (0, 0)))
        channels = a.shape[1]
        out = padded[:, 0:channels].copy()
        for offset in range(1, self.size):
            out += padded[:, offset:offset + channels]
        return out

    def forward(self, x):
        x3 = x.reshape(x.shape[0], x.shape[1], -1)
        s = self._window_sum(x3 * x3, self.size // 2, (self.size - 1) // 2)
        s *= self.alpha / self.size
        s += self.k
        self.x3, self.s = x3, s
        self.s_pow = s ** -self.beta
        self.y = x3 * self.s_pow
        return self.y.reshape(x.shape)

    def backward(self, gy):
        gy3 = gy.reshape(self.x3.shape)
        back = self._window_sum(gy3 * self.y / self.s, (self.size - 1) // 2, self.size // 2)
        gx = gy3 * self.s_pow
        gx -= (2 * self.alpha * self.beta / self.size) * self.x3 * back
        return gx.reshape(gy.shape)


# --------------------------------------------------------------------------- #
# Public functions
# --------------------------------------------------------------------------- #
def _per_channel(name, what, value, channels, x, xp, dtype, fill=None):
    """``value`` as a (C,) array of the input's device and dtype (``fill`` when None)."""
    if value is None:
        return None if fill is None else xp.full((channels,), fill, dtype=dtype)
    shape = tuple(value.shape)
    if shape != (channels,):
        raise OpError(f"{name}: input has {channels} channels but {what} has shape {shape} "
                      f"(input shape {x.shape})")
    return value


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, num_batches_tracked=None):
    """Batch normalization over the channel axis 1 of x: (N, C) or (N, C, *).

    ``running_mean`` and ``running_var`` (C,) are arrays or Tensors, updated in
    place in training (``running_var`` with the unbiased batch variance, as
    PyTorch) and used in evaluation; in training either may be None.
    ``weight`` and ``bias`` (C,) are the optional affine scale and shift.
    ``momentum=None`` gives the cumulative average: the running statistics
    then move by 1 / ``num_batches_tracked`` (batches seen, this one included).
    """
    if x.ndim < 2:
        raise OpError(f"batch_norm: expected input of shape (N, C) or (N, C, *), got {x.shape}")
    xp = backend.get_array_module(x.data)
    channels = x.shape[1]
    stats = [s.data if isinstance(s, Tensor) else s for s in (running_mean, running_var)]
    for what, s in zip(("running_mean", "running_var"), stats):
        _per_channel("batch_norm", what, s, channels, x, xp, x.dtype)
    if not training and (stats[0] is None or stats[1] is None):
        raise OpError("batch_norm: evaluation mode (training=False) needs running_mean and running_var")
    if training and x.data.size // channels <= 1:
        raise OpError(f"batch_norm: expected more than 1 value per channel when training, "
                      f"got input of shape {x.shape}")
    if momentum is None and training:
        count = num_batches_tracked.data if isinstance(num_batches_tracked, Tensor) else num_batches_tracked
        if count is None or float(count) < 1:
            raise OpError(f"batch_norm: momentum=None (cumulative average) needs num_batches_tracked "
                          f">= 1, got {count}")
        momentum = 1.0 / float(count)
    if momentum is not None and not 0 <= momentum <= 1:
        raise OpError(f"batch_norm: momentum must be in [0, 1], got {momentum}")
    weight = _per_channel("batch_norm", "weight", weight, channels, x, xp, x.dtype, fill=1)
    bias = _per_channel("batch_norm", "bias", bias, channels, x, xp, x.dtype, fill=0)
    return BatchNorm(stats[0], stats[1], training, momentum, eps)(x, weight, bias)


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """AlexNet's local response normalization across channels of x: (N, C, *), at least 3-D."""
    if x.ndim < 3:
        raise OpError(f"local_response_norm: expected input of shape (N, C, *) with at least 3 axes, "
                      f"got {x.shape}")
    if not isinstance(size, numbers.Integral) or size < 1:
        raise OpError(f"local_response_norm: size must be a positive integer, got {size!r}")
    return LocalResponseNorm(int(size), alpha, beta, k)(x)
