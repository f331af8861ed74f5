"""Learning-rate schedules, as ``torch.optim.lr_scheduler``: call ``scheduler.step()`` once per epoch
(or per batch for ``OneCycleLR``), after ``optimizer.step()``.

Each schedule here is a closed form: the learning rate of epoch ``t`` is a
function of ``t`` and the group's initial rate ``base_lr``, written in one line
in ``lr_at``.  The two schedules of the CS5242 labs::

    StepLR(optimizer, step_size=5, gamma=1 / 1.5)     # MNIST: 0.25, divided by 1.5 every 5 epochs
    MultiStepLR(optimizer, [10, 14, 18], gamma=0.5)   # CIFAR-10: 0.25, halved at epochs 10, 14, 18
"""
import bisect
import math

from .optimizer import StateDictError

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
           "LambdaLR", "OneCycleLR", "ReduceLROnPlateau"]


class LRScheduler:
    """Base class: sets each group's ``lr`` to ``lr_at(i, base_lr, epoch)`` at every ``step()``.

    Constructing a scheduler performs the first step, so the optimizer's
    learning rate is the epoch-0 value right away, as in PyTorch.
    """

    def __init__(self, optimizer, last_epoch=-1):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            if last_epoch == -1:
                group["initial_lr"] = group["lr"]
            elif "initial_lr" not in group:
                raise KeyError(f"{type(self).__name__}: resuming at last_epoch={last_epoch} needs "
                               "'initial_lr' in every parameter group (load the optimizer's state first)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, i, base_lr, epoch):
        raise NotImplementedError(f"{type(self).__name__} must implement lr_at")

    def step(self):
        self.last_epoch += 1
        for i, (group, base_lr) in enumerate(zip(self.optimizer.param_groups, self.base_lrs)):
            group["lr"] = self.lr_at(i, base_lr, self.last_epoch)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self):
        """Everything but the optimizer and functions (such as LambdaLR's lambdas)."""
        return {k: v for k, v in self.__dict__.items()
                if k != "optimizer" and not callable(v) and k != "lr_lambdas"}

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` returned; :class:`StateDictError` for another's state."""
        check_scheduler_state(self, state_dict)
        self.__dict__.update(state_dict)


def check_scheduler_state(scheduler, state_dict):
    """The saved state must have this scheduler's fields, one entry per parameter group in its lists."""
    name = f"{type(scheduler).__name__}.load_state_dict"
    own = scheduler.state_dict()
    if not isinstance(state_dict, dict) or set(state_dict) != set(own):
        got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
        raise StateDictError(f"{name}: the saved state has fields {got}, {type(scheduler).__name__} has "
                             f"{sorted(own)}: is this the state of another scheduler?")
    for key, value in own.items():
        if isinstance(value, list) and len(state_dict[key]) != len(value):
            raise StateDictError(f"{name}: the saved {key} has {len(state_dict[key])} entries, "
                                 f"this optimizer has {len(value)} parameter groups")


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size).

    The CS5242 MNIST lab: 0.25, divided by 1.5 every 5 epochs.

    >>> import minidl
    >>> opt = minidl.optim.SGD([minidl.nn.Parameter(minidl.zeros(1))], lr=0.25)
    >>> scheduler = StepLR(opt, step_size=5, gamma=1 / 1.5)
    >>> lrs = []
    >>> for epoch in range(11):
    ...     lrs.append(round(opt.param_groups[0]["lr"], 4))    # train one epoch with this lr here
    ...     scheduler.step()
    >>> lrs
    [0.25, 0.25, 0.25, 0.25, 0.25, 0.1667, 0.1667, 0.1667, 0.1667, 0.1667, 0.1111]
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, i, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class MultiStepLR(LRScheduler):
    """lr = base_lr * gamma ** (number of milestones <= epoch).

    The CS5242 CIFAR-10 lab: 0.25, halved at epochs 10, 14 and 18.

    >>> import minidl
    >>> opt = minidl.optim.SGD([minidl.nn.Parameter(minidl.zeros(1))], lr=0.25)
    >>> scheduler = MultiStepLR(opt, [10, 14, 18], 0.5)
    >>> for epoch in range(14):
    ...     scheduler.step()
    >>> scheduler.get_last_lr()
    [0.0625]
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, i, base_lr, epoch):
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, epoch)


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, i, base_lr, epoch):
        return base_lr * self.gamma ** epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2 (Loshchilov and Hutter 2017,
    without restarts): half a cosine from base_lr down to eta_min over T_max epochs, then back up."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, i, base_lr, epoch):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class LinearLR(LRScheduler):
    """Linear warm-up: the factor of base_lr goes from ``start_factor`` to ``end_factor`` in
    ``total_iters`` epochs, then stays."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], "
                             f"got {start_factor} and {end_factor}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, i, base_lr, epoch):
        progress = min(epoch, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch); ``lr_lambda`` is one function or one per parameter group."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        groups = len(optimizer.param_groups)
        self.lr_lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if len(self.lr_lambdas) != groups:
            raise ValueError(f"LambdaLR: got {len(self.lr_lambdas)} functions for {groups} parameter groups")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, i, base_lr, epoch):
        return base_lr * self.lr_lambdas[i](epoch)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith and Topin 2018), stepped after every batch.

    The rate climbs from max_lr / div_factor to ``max_lr`` during the first
    ``pct_start`` of the ``total_steps`` (= epochs * steps_per_epoch), then
    anneals to max_lr / (div_factor * final_div_factor); with ``three_phase``
    it first comes back down to the start value, symmetrically, before the
    final annealing.  Momentum (SGD's ``momentum`` or Adam's beta1) moves the
    opposite way between ``max_momentum`` and ``base_momentum``.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        if total_steps <= 0 or not 0 <= pct_start <= 1 or anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: needs total_steps > 0, pct_start in [0, 1] and anneal_strategy "
                             f"'cos' or 'linear'; got {total_steps}, {pct_start}, {anneal_strategy!r}")
        groups = optimizer.param_groups
        max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * len(groups)
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        self.cycle_momentum = cycle_momentum
        self.use_beta1 = "betas" in optimizer.defaults
        if cycle_momentum and not self.use_beta1 and "momentum" not in optimizer.defaults:
            raise ValueError(f"OneCycleLR: cycle_momentum needs an optimizer with momentum or betas, "
                             f"not {type(optimizer).__name__}")
        # (end step, values at the start, values at the end); values are (lr, momentum) per group
        start = [(m / div_factor, max_momentum) for m in max_lrs]
        peak = [(m, base_momentum) for m in max_lrs]
        end = [(m / (div_factor * final_div_factor), max_momentum) for m in max_lrs]
        up = float(pct_start * total_steps) - 1
        if three_phase:
            down = float(2 * pct_start * total_steps) - 2
            self.phases = [(up, start, peak), (down, peak, start), (total_steps - 1, start, end)]
        else:
            self.phases = [(up, start, peak), (total_steps - 1, peak, end)]
        if last_epoch == -1:
            for group, (lr, _) in zip(groups, start):
                group["lr"] = lr
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)
        return start + (end - start) * pct

    def _values(self, i, step):
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, beyond total_steps={self.total_steps}")
        phase_start = 0.0
        for k, (phase_end, start, end) in enumerate(self.phases):
            if step <= phase_end or k == len(self.phases) - 1:
                pct = (step - phase_start) / (phase_end - phase_start)
                return tuple(self._anneal(a, b, pct) for a, b in zip(start[i], end[i]))
            phase_start = phase_end

    def lr_at(self, i, base_lr, epoch):
        return self._values(i, epoch)[0]

    def step(self):
        super().step()
        if self.cycle_momentum:
            for i, group in enumerate(self.optimizer.param_groups):
                momentum = self._values(i, self.last_epoch)[1]
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum


class ReduceLROnPlateau:
    """Multiply the learning rates by ``factor`` when a metric has stopped improving for
    ``patience`` epochs: ``scheduler.step(val_loss)`` after each evaluation.

    An epoch improves on the best value when it is lower (``mode='min'``) by
    more than ``threshold`` (relative, or absolute with ``threshold_mode='abs'``).
    After a reduction, ``cooldown`` epochs pass before bad epochs count again;
    rates never go below ``min_lr``.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        if factor >= 1.0 or mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: needs factor < 1, mode 'min' or 'max' and threshold_mode "
                             f"'rel' or 'abs'; got {factor}, {mode!r}, {threshold_mode!r}")
        self.optimizer = optimizer
        groups = len(optimizer.param_groups)
        self.min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * groups
        self.mode, self.factor, self.patience, self.threshold = mode, factor, patience, threshold
        self.threshold_mode, self.cooldown, self.eps = threshold_mode, cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, value):
        """PyTorch's test: rel: value < best (1 - threshold) (min) or > best (1 + threshold) (max);
        abs: value < best - threshold or > best + threshold."""
        sign = 1 if self.mode == "min" else -1
        if self.threshold_mode == "rel":
            return value * sign < self.best * (sign - self.threshold)
        return value * sign < self.best * sign - self.threshold

    def step(self, metrics):
        value = float(metrics)
        self.last_epoch += 1
        if self.is_better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        return list(self._last_lr)

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        check_scheduler_state(self, state_dict)
        self.__dict__.update(state_dict)
