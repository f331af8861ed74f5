"""Losses: cross-entropy (from logits), negative log-likelihood, MSE and BCE with logits.

Every loss computes one value per sample l, then reduces it:
``reduction='none'`` returns l, ``'sum'`` its sum and ``'mean'`` its sum
divided by a count (the number of samples, or for weighted class targets the
total weight of the targets that are not ignored, as PyTorch).

Cross-entropy and NLL share one idea: with class indices t, label smoothing
eps and class weights w, the loss of a sample is -sum_c Q_c log p_c for the
target weights

    Q_c = w_c ((1 - eps) [c = t] + eps / C)    (0 for an ignored sample),

and for probability targets q, Q_c = w_c ((1 - eps) q_c + eps / C).
"""
from .. import backend
from ..autograd import Function, OpError, Tensor
from .activation import log_softmax_array, stable_sigmoid

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy_with_logits"]

REDUCTIONS = ("none", "mean", "sum")


def _reduce(l, reduction, count):
    if reduction == "none":
        return l
    total = l.sum()
    return total / count if reduction == "mean" else total


def _unreduce(gy, reduction, count, shape):
    """The gradient of the reduction: gy spread back over the per-sample losses of ``shape``."""
    if reduction == "none":
        return gy
    xp = backend.get_array_module(gy)
    return xp.broadcast_to(gy / count if reduction == "mean" else gy, shape)


class CrossEntropy(Function):
    """l = -sum_c Q_c y_c along the class axis 1, y = log_softmax(x) (x itself for NLL, from_logits=False).

    x: (N, C, *), Q: (N, C, *) constant target weights -> l: (N, *), then reduced.
    gx = -Q gl for log-probabilities; through the log-softmax it becomes
    gx = (softmax(x) sum_c Q_c - Q) gl.
    """

    float_inputs = True

    def __init__(self, Q, reduction, count, from_logits):
        self.Q, self.reduction, self.count, self.from_logits = Q, reduction, count, from_logits

    def forward(self, x):
        xp = backend.get_array_module(x)
        logp = log_softmax_array(x, 1) if self.from_logits else x
        # a class with no target weight adds nothing, even where its log-probability is -inf
        # (a masked logit, or the log of a zero probability): 0 * -inf would be NaN
        l = -(self.Q * xp.where(self.Q == 0, 0, logp)).sum(axis=1)
        self.l_shape = l.shape
        if self.from_logits:
            self.logp = logp
        return _reduce(l, self.reduction, self.count)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        gl = xp.expand_dims(_unreduce(gy, self.reduction, self.count, self.l_shape), 1)
        if not self.from_logits:
            return -self.Q * gl
        return (xp.exp(self.logp) * self.Q.sum(axis=1, keepdims=True) - self.Q) * gl


def _check_reduction(name, reduction):
    if reduction not in REDUCTIONS:
        raise OpError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _array_on(name, value, x):
    """A Tensor or array ``value`` as a raw array on x's device."""
    data = value.data if isinstance(value, Tensor) else value
    if not hasattr(data, "dtype"):
        raise OpError(f"{name}: expected a Tensor or an array, got {type(value).__name__}")
    return backend.to_device(data, x.device)


def _target_weights(name, x, target, weight, ignore_index, label_smoothing):
    """Q (the target weights above) and the count that 'mean' divides by."""
    if x.ndim < 2:
        raise OpError(f"{name}: expected input of shape (N, C) or (N, C, *), got {x.shape}")
    xp = backend.get_array_module(x.data)
    N, C = x.shape[:2]
    t = _array_on(name, target, x)
    class_shape = (1, C) + (1,) * (x.ndim - 2)     # broadcasts a (C,) vector along axis 1
    w = 1
    if weight is not None:
        w = _array_on(name, weight, x)
        if tuple(w.shape) != (C,):
            raise OpError(f"{name}: weight has shape {tuple(w.shape)} but input has {C} classes "
                          f"(input shape {x.shape})")
        w = w.astype(x.dtype, copy=False).reshape(class_shape)
    if not 0 <= label_smoothing <= 1:
        raise OpError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    smooth = x.dtype.type(label_smoothing / C)
    if t.dtype.kind == "f":
        if tuple(t.shape) != x.shape:
            raise OpError(f"{name}: class-probability target has shape {tuple(t.shape)} but input "
                          f"has shape {x.shape}")
        Q = (t.astype(x.dtype, copy=False) * x.dtype.type(1 - label_smoothing) + smooth) * w
        return Q, x.data.size // C
    if t.dtype.kind not in "iu":
        raise OpError(f"{name}: target must hold class indices (integers) or class probabilities "
                      f"(floats), got dtype {t.dtype}")
    if tuple(t.shape) != (N,) + x.shape[2:]:
        raise OpError(f"{name}: target has shape {tuple(t.shape)} but input of shape {x.shape} "
                      f"needs a target of shape {(N,) + x.shape[2:]}")
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= C))
    if bool(bad.any()):
        wrong = backend.to_numpy(t[bad])
        raise OpError(f"{name}: target holds class {int(wrong[0])} ({wrong.size} out-of-range "
                      f"value(s)) but input has {C} classes (valid: 0..{C - 1} or ignore_index "
                      f"{ignore_index})")
    valid = xp.expand_dims(valid, 1)
    one_hot = (xp.expand_dims(t, 1) == xp.arange(C).reshape(class_shape)) & valid
    Q = (one_hot * x.dtype.type(1 - label_smoothing) + valid * smooth) * w
    return Q, (one_hot * w).sum().astype(x.dtype)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy of logits input: (N, C) or (N, C, *) against a target, fusing log-softmax and NLL.

    target: class indices (N,) or (N, *) as an integer Tensor or array, or
    class probabilities of the input's shape (a constant).  ``weight`` (C,)
    rescales each class; targets equal to ``ignore_index`` contribute nothing.
    Stable for any logits: the log-softmax never exponentiates a positive number.
    """
    _check_reduction("cross_entropy", reduction)
    Q, count = _target_weights("cross_entropy", input, target, weight, ignore_index, label_smoothing)
    return CrossEntropy(Q, reduction, count, from_logits=True)(input)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities input: (N, C) or (N, C, *) at class indices target."""
    _check_reduction("nll_loss", reduction)
    t = target.data if isinstance(target, Tensor) else target
    if getattr(t, "dtype", None) is None or t.dtype.kind not in "iu":
        raise OpError(f"nll_loss: target must hold class indices (integers), got "
                      f"{getattr(t, 'dtype', type(t).__name__)}")
    Q, count = _target_weights("nll_loss", input, target, weight, ignore_index, 0.0)
    return CrossEntropy(Q, reduction, count, from_logits=False)(input)


class MSELoss(Function):
    """l = (x - target)^2 elementwise, then reduced; gx = 2 (x - target) gl = -gtarget."""

    float_inputs = True

    def __init__(self, reduction):
        self.reduction = reduction

    def forward(self, x, target):
        self.diff = x - target
        return _reduce(self.diff * self.diff, self.reduction, self.diff.size)

    def backward(self, gy):
        gx = 2 * self.diff * _unreduce(gy, self.reduction, self.diff.size, self.diff.shape)
        return gx if self.needs_input_grad[0] else None, -gx if self.needs_input_grad[1] else None


def mse_loss(input, target, reduction="mean"):
    """Mean squared error between input and target of the same shape."""
    _check_reduction("mse_loss", reduction)
    if tuple(target.shape) != input.shape:
        raise OpError(f"mse_loss: input has shape {input.shape} but target has shape "
                      f"{tuple(target.shape)}")
    return MSELoss(reduction)(input, target)


class BCEWithLogits(Function):
    """l = w ((1 - t) x + L softplus(-x)) with L = 1 + (pos_weight - 1) t; gx = w (1 - t - L sigmoid(-x)) gl.

    With pos_weight = 1 this is the familiar max(x, 0) - x t + log(1 + e^-|x|):
    the binary cross-entropy of sigmoid(x) without forming log(sigmoid(x)).
    x, t: (*), w and pos_weight broadcast against them.  t is a constant.
    """

    float_inputs = True

    def __init__(self, target, weight, pos_weight, reduction):
        self.t, self.w, self.pos_weight, self.reduction = target, weight, pos_weight, reduction

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.x = x
        self.L = 1 if self.pos_weight is None else 1 + (self.pos_weight - 1) * self.t
        softplus_neg = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
        l = (1 - self.t) * x + self.L * softplus_neg
        if self.w is not None:
            l = l * self.w
        self.l_shape = l.shape
        return _reduce(l, self.reduction, l.size)

    def backward(self, gy):
        gx = (1 - self.t) - self.L * stable_sigmoid(-self.x)
        if self.w is not None:
            gx = gx * self.w
        gl = _unreduce(gy, self.reduction, gx.size, self.l_shape)
        return gx * gl


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Binary cross-entropy of sigmoid(input) against target in [0, 1] of the same shape.

    ``weight`` rescales each element (broadcast); ``pos_weight`` (broadcast along
    the last axis, usually (C,)) weighs the positive term of each class.
    """
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    t = _array_on(name, target, input)
    if tuple(t.shape) != input.shape:
        raise OpError(f"{name}: target has shape {tuple(t.shape)} but input has shape {input.shape}")
    t = t.astype(input.dtype, copy=False)
    extras = []
    for what, value in (("weight", weight), ("pos_weight", pos_weight)):
        if value is not None:
            value = _array_on(name, value, input).astype(input.dtype, copy=False)
            try:
                backend.get_array_module(value).broadcast_to(value, input.shape)
            except ValueError:
                raise OpError(f"{name}: {what} of shape {tuple(value.shape)} does not broadcast to "
                              f"the input shape {input.shape}") from None
        extras.append(value)
    return BCEWithLogits(t, extras[0], extras[1], reduction)(input)
