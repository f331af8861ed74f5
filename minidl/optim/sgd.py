"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""
from .optimizer import Optimizer, check_nonnegative

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD as PyTorch defines it.  With g the gradient plus ``weight_decay * p``:

        b <- g  at the first step,  b <- momentum * b + (1 - dampening) * g  afterwards
        d <- g + momentum * b  (nesterov)  or  b  (momentum > 0)  or  g
        p <- p - lr * d

    The CS5242 MNIST lab: ``SGD(model.parameters(), lr=0.25)`` with
    ``StepLR(optimizer, step_size=5, gamma=1 / 1.5)``.
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        check_nonnegative("SGD", lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def state_names(self, group):
        return ("momentum_buffer",) if group["momentum"] else ()

    def update(self, p, g, state, group):
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        momentum = group["momentum"]
        if momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.copy()
            else:
                b = state["momentum_buffer"]
                b *= momentum
                b += (1 - group["dampening"]) * g
            b = state["momentum_buffer"]
            g = g + momentum * b if group["nesterov"] else b
        p.data -= group["lr"] * g
