"""Adagrad (Duchi et al. 2011): per-element step sizes that shrink with the sum of squared gradients."""
from .. import backend
from .optimizer import Optimizer, check_nonnegative

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad as PyTorch defines it.  At step t, with g the gradient (plus ``weight_decay * p``):

        s <- s + g^2   (s starts at ``initial_accumulator_value``)
        p <- p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10):
        check_nonnegative("Adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                          initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))

    def state_names(self, group):
        return ("step", "sum")

    def update(self, p, g, state, group):
        xp = backend.get_array_module(p.data)
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        if not state:
            state.update(step=0, sum=xp.full(p.shape, group["initial_accumulator_value"], dtype=p.dtype))
        state["step"] += 1
        s = state["sum"]
        s += g * g
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        p.data -= lr * g / (xp.sqrt(s) + group["eps"])
