"""RMSprop (Hinton's lecture 6e): divide the gradient by a running root mean square of its history."""
from .. import backend
from .optimizer import Optimizer, check_nonnegative

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop as PyTorch defines it.  With g the gradient (plus ``weight_decay * p``):

        s <- alpha s + (1 - alpha) g^2;   centered: a <- alpha a + (1 - alpha) g, s~ = s - a^2
        d <- g / (sqrt(s~ or s) + eps);   momentum: b <- momentum b + d, d <- b
        p <- p - lr d
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        check_nonnegative("RMSprop", lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                          momentum=momentum)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def state_names(self, group):
        return (("step", "square_avg") + (("momentum_buffer",) if group["momentum"] else ())
                + (("grad_avg",) if group["centered"] else ()))

    def update(self, p, g, state, group):
        xp = backend.get_array_module(p.data)
        alpha = group["alpha"]
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        if not state:
            state.update(step=0, square_avg=xp.zeros_like(p.data))
            if group["momentum"]:
                state["momentum_buffer"] = xp.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p.data)
        state["step"] += 1
        s = state["square_avg"]
        s *= alpha
        s += (1 - alpha) * (g * g)
        if group["centered"]:
            a = state["grad_avg"]
            a *= alpha
            a += (1 - alpha) * g
            avg = xp.sqrt(s - a * a) + group["eps"]
        else:
            avg = xp.sqrt(s) + group["eps"]
        d = g / avg
        if group["momentum"]:
            b = state["momentum_buffer"]
            b *= group["momentum"]
            b += d
            d = b
        p.data -= group["lr"] * d
