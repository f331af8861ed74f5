"""Numerical gradient check: central differences in float64 against hand-written backward.

For a function f of tensors x_1..x_k, gradcheck reduces the outputs to one
number L = sum_i <w_i, f(x)_i> with fixed random weights w_i, computes
dL/dx_j with ``backward()`` and compares it, element by element, with the
central difference

    (L(x + eps e) - L(x - eps e)) / (2 eps),

whose error is O(eps^2).  The check runs in float64: in float32 the
rounding error of L (about 1e-7 |L|) divided by 2 eps would swamp the
difference for any eps small enough to keep the O(eps^2) term negligible.

:func:`gradcheck` answers yes or no (or raises); :func:`compare_gradients`
returns the figures behind the answer, such as the largest difference,
for a report.
"""
from dataclasses import dataclass

import numpy as np

from . import backend
from .autograd import Tensor, no_grad

__all__ = ["gradcheck", "compare_gradients", "GradcheckResult", "GradcheckError"]


class GradcheckError(AssertionError):
    """The analytic and numerical gradients disagree; the message names the worst element.

    ``result`` is the :class:`GradcheckResult` of the check.
    """

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


@dataclass
class GradcheckResult:
    """What :func:`compare_gradients` found.

    ``ok``: every element within tolerance.  ``max_difference``: the largest
    |analytic - numerical| over all checked elements.  ``input``, ``index``,
    ``analytic``, ``numerical``: the element that is furthest outside (or
    least inside) its tolerance atol + rtol |numerical|.
    """
    ok: bool
    max_difference: float
    input: int
    index: tuple
    analytic: float
    numerical: float
    atol: float
    rtol: float
    shape: tuple

    def message(self):
        """'gradcheck failed for input 0 (shape (3,)) at index (1,): analytic ..., numerical ...'."""
        return (f"gradcheck failed for input {self.input} (shape {self.shape}) at index {self.index}: "
                f"analytic {self.analytic:.10g}, numerical {self.numerical:.10g}, difference "
                f"{abs(self.analytic - self.numerical):.3g} > atol {self.atol} + rtol {self.rtol} * "
                "|numerical|")


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Check ``fn``'s backward against central differences; True when they agree.

    Args:
        fn: a function of the ``inputs`` returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a sequence of them; floating ones are checked in
            float64 (copied if needed) for every one with ``requires_grad``.
        eps: the step of the central difference.
        atol, rtol: an element passes when |analytic - numeric| <= atol + rtol |numeric|.
        raise_exception: raise :class:`GradcheckError` on failure (else return False).
        seed: seeds the output weights w.

    The message of a failure gives the input, the index and both values of the
    worst element.  ``fn`` must be deterministic: reseed inside it if it draws
    random numbers (dropout).
    """
    result = compare_gradients(fn, inputs, eps, atol, rtol, seed)
    if not result.ok and raise_exception:
        raise GradcheckError(result.message(), result)
    return result.ok


def compare_gradients(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """The :class:`GradcheckResult` of comparing ``fn``'s backward with central differences.

    The arguments are those of :func:`gradcheck`, which this runs; it never raises for a mismatch.
    """
    inputs = [_float64_leaf(x) for x in _as_tuple(inputs)]
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")

    outputs = _as_tuple(fn(*inputs))
    rng = np.random.default_rng(seed)
    weights = [backend.to_device(rng.standard_normal(o.shape), o.device) for o in outputs]

    def scalar():
        with no_grad():
            outs = _as_tuple(fn(*inputs))
        return sum(float(backend.to_numpy((o.data * w).sum())) for o, w in zip(outs, weights))

    loss = sum((o * Tensor(w)).sum() for o, w in zip(outputs, weights) if o.requires_grad)
    if not isinstance(loss, Tensor):
        raise ValueError("gradcheck: no output of fn depends on an input that requires grad")
    loss.backward()

    worst, max_difference = None, 0.0
    for i in checked:
        x = inputs[i]
        analytic = x.grad.numpy() if x.grad is not None else np.zeros(x.shape)
        for idx in np.ndindex(*x.shape):
            orig = float(backend.to_numpy(x.data[idx]))
            x.data[idx] = orig + eps
            plus = scalar()
            x.data[idx] = orig - eps
            minus = scalar()
            x.data[idx] = orig
            numeric = (plus - minus) / (2 * eps)
            difference = abs(analytic[idx] - numeric)
            max_difference = max(max_difference, difference)
            excess = difference - (atol + rtol * abs(numeric))
            if worst is None or excess > worst[0]:
                worst = (excess, i, idx, analytic[idx], numeric)
    excess, i, idx, a, n = worst
    return GradcheckResult(ok=bool(excess <= 0), max_difference=float(max_difference), input=i, index=idx,
                           analytic=float(a), numerical=float(n), atol=atol, rtol=rtol,
                           shape=inputs[i].shape)


def _float64_leaf(x):
    if not isinstance(x, Tensor) or x.dtype.kind != "f":
        return x
    if x.dtype == np.float64 and x.is_leaf:
        x.grad = None
        return x
    return Tensor(x.data.astype(np.float64), requires_grad=x.requires_grad)
