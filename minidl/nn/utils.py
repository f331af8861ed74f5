"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_``, called between ``backward()``
and ``optimizer.step()``.  Each replaces ``p.grad`` with a clipped copy."""
import math

from .. import backend
from ..autograd import OpError, Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _with_grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their joint ``norm_type``-norm is at most ``max_norm``.

    The norm is taken over all gradients as if concatenated into one vector;
    when it exceeds ``max_norm`` every gradient is multiplied by
    max_norm / (norm + 1e-6), so their directions are kept.  Returns the
    norm before clipping (a Tensor of the gradients' dtype), as PyTorch does.
    """
    params = _with_grads(parameters)
    norm_type = float(norm_type)
    if norm_type <= 0:
        raise OpError(f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type}")
    norms = []
    for p in params:
        xp = backend.get_array_module(p.grad.data)
        g = xp.abs(p.grad.data)
        norms.append(float(g.max()) if norm_type == math.inf else float((g ** norm_type).sum()))
    if norm_type == math.inf:
        total = max(norms, default=0.0)
    else:
        total = sum(norms) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total {norm_type}-norm of the gradients is {total}")
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for p in params:
            p.grad = Tensor(p.grad.data * p.grad.data.dtype.type(coef))
    if not params:
        return Tensor(total)
    return Tensor(total, dtype=params[0].grad.dtype, device=params[0].grad.device)


def clip_grad_value_(parameters, clip_value):
    """Clip every gradient element to [-clip_value, clip_value]."""
    if clip_value < 0:
        raise OpError(f"clip_grad_value_: clip_value must be non-negative, got {clip_value}")
    for p in _with_grads(parameters):
        xp = backend.get_array_module(p.grad.data)
        p.grad = Tensor(xp.clip(p.grad.data, -clip_value, clip_value))
