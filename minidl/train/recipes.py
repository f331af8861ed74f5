"""What ``python -m minidl train`` builds from its flags: optimizers by name, schedules from a string.

Learning-rate schedules are written ``kind[:arguments]``:

* ``step:5:0.6667``: multiply by 0.6667 every 5 epochs (lab 03: 0.25 divided by 1.5 every 5 epochs);
* ``multistep:10,14,18:0.5``: halve at epochs 10, 14 and 18 (lab 04);
* ``cosine``: half a cosine from the initial rate down to 0 over the run;
* ``none``: a constant rate.
"""
from .. import optim

__all__ = ["OPTIMIZERS", "make_optimizer", "parse_schedule", "make_scheduler"]

OPTIMIZERS = ["sgd", "adam", "adamw", "rmsprop", "adagrad"]
SCHEDULES = ["step:STEP:GAMMA", "multistep:M1,M2,...:GAMMA", "cosine", "none"]


def make_optimizer(name, parameters, lr, momentum=0.0, weight_decay=0.0):
    """The optimizer ``name`` (one of :data:`OPTIMIZERS`) over ``parameters``.

    ``momentum`` applies to SGD and RMSprop; Adam's moments have their own defaults.
    """
    parameters = list(parameters)
    if name == "sgd":
        return optim.SGD(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "rmsprop":
        return optim.RMSprop(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name in ("adam", "adamw", "adagrad"):
        cls = {"adam": optim.Adam, "adamw": optim.AdamW, "adagrad": optim.Adagrad}[name]
        return cls(parameters, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}")


def parse_schedule(text):
    """``'step:5:0.6667'`` -> ``('step', 5, 0.6667)``; ``'multistep:10,14:0.5'`` -> ``('multistep', [10, 14],
    0.5)``; ``'cosine'`` and ``'none'`` -> ``('cosine',)``, ``('none',)``.  Raises ValueError otherwise."""
    kind, *parts = text.split(":")
    try:
        if kind == "step" and len(parts) == 2 and int(parts[0]) > 0:
            return ("step", int(parts[0]), float(parts[1]))
        if kind == "multistep" and len(parts) == 2:
            return ("multistep", sorted(int(m) for m in parts[0].split(",")), float(parts[1]))
    except ValueError:
        pass
    if kind in ("cosine", "none") and not parts:
        return (kind,)
    raise ValueError(f"bad schedule {text!r}; expected one of {', '.join(SCHEDULES)}, "
                     "e.g. step:5:0.6667 or multistep:10,14,18:0.5")


def make_scheduler(schedule, optimizer, epochs):
    """The scheduler of a parsed ``schedule`` (see :func:`parse_schedule`), or None for 'none'."""
    kind, *options = schedule
    if kind == "step":
        return optim.lr_scheduler.StepLR(optimizer, step_size=options[0], gamma=options[1])
    if kind == "multistep":
        return optim.lr_scheduler.MultiStepLR(optimizer, milestones=options[0], gamma=options[1])
    if kind == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    return None
