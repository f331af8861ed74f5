"""``Optimizer``: the base class that holds parameter groups and per-parameter state.

A subclass writes one method, ``update(p, g, state, group)``: the rule for one
parameter ``p`` with gradient array ``g``, its ``state`` dict (momentum
buffers, step counts ...) and the hyperparameters of its ``group``.  The
update is made in place on ``p.data``; ``p.grad`` is never modified, and all
state is allocated with the namespace and dtype of the parameter, so it lives
on the parameter's device.

Parameter groups work as in PyTorch: pass a list of dicts, each with its
``params`` and any hyperparameters that differ from the defaults::

    SGD([{"params": model.features.parameters()},
         {"params": model.classifier.parameters(), "lr": 0.01}], lr=0.1, momentum=0.9)
"""
from .. import backend
from ..autograd import Tensor, enable_grad

__all__ = ["Optimizer", "StateDictError"]


class StateDictError(ValueError):
    """A state dict that does not fit what loads it: another optimizer's or scheduler's, or
    other parameters'."""


class Optimizer:
    """Base class: ``defaults`` are the hyperparameters every group starts from."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Add a dict with ``params`` and optional hyperparameters (the rest from the defaults)."""
        name = type(self).__name__
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can optimize only Tensors, got {type(p).__name__}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params) or len({id(p) for p in params}) < len(params):
            raise ValueError(f"{name}: a parameter appears in more than one group (or twice)")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(f"{name}: unknown hyperparameters {sorted(unknown)}; "
                             f"valid ones are {sorted(self.defaults)}")
        self.param_groups.append({**self.defaults, **group, "params": params})

    def zero_grad(self, set_to_none=True):
        """Forget the gradients of all parameters (``grad = None``, or new zero arrays)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = Tensor(backend.get_array_module(p.data).zeros_like(p.data))

    def step(self, closure=None):
        """Update every parameter that has a gradient.  ``closure`` (optional) re-evaluates the
        model and returns the loss, which ``step`` returns."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.update(p, p.grad.data, self.state.setdefault(p, {}), group)
        return loss

    def update(self, p, g, state, group):
        raise NotImplementedError(f"{type(self).__name__} must implement update")

    def state_names(self, group):
        """The names in the state of a parameter of ``group`` once it has been updated.

        ``'step'`` is a step count; every other name is an array of the
        parameter's shape.  :meth:`load_state_dict` checks saved state against it.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement state_names")

    # -- checkpoints -----------------------------------------------------------
    def state_dict(self):
        """``{'state': {index: {name: value}}, 'param_groups': [{..., 'params': [index, ...]}]}``,
        PyTorch's layout: parameters are numbered in group order."""
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by :meth:`state_dict` (arrays from any device
        are moved to each parameter's device and floating dtype).

        Raises :class:`StateDictError`, changing nothing, when the state does not
        fit this optimizer: another optimizer's hyperparameters, other group
        sizes, or per-parameter state of other names or shapes.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise StateDictError(f"{name}: expected a dict with 'state' and 'param_groups', got {got}")
        groups = list(state_dict["param_groups"])
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in groups]
        if sizes != saved_sizes:
            raise StateDictError(f"{name}: the saved groups hold {saved_sizes} parameters, "
                                 f"this optimizer's hold {sizes}")
        params, group_of = {}, {}
        for group, saved in zip(self.param_groups, groups):
            hyper = set(saved) - {"params", "initial_lr"}
            if hyper != set(self.defaults):
                raise StateDictError(f"{name}: the saved groups have hyperparameters {sorted(hyper)}, "
                                     f"{type(self).__name__} has {sorted(self.defaults)}: is this the state "
                                     "of another optimizer?")
            for p, i in zip(group["params"], saved["params"]):
                params[int(i)], group_of[int(i)] = p, saved
        if sorted(params) != list(range(sum(sizes))):
            raise StateDictError(f"{name}: the saved groups number their parameters "
                                 f"{sorted(params)}, not 0..{sum(sizes) - 1}")
        state = {}
        for i, saved in state_dict["state"].items():
            if int(i) not in params:
                raise StateDictError(f"{name}: state for parameter {i}, but there are only {len(params)}")
            p = params[int(i)]
            state[p] = {k: _to_param(v, p) for k, v in saved.items()}
            self._check_state(name, int(i), p, state[p], group_of[int(i)])
        for group, saved in zip(self.param_groups, groups):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = state

    def _check_state(self, name, i, p, state, group):
        expected = set(self.state_names(group))
        if set(state) != expected:
            raise StateDictError(f"{name}: parameter {i} has state {sorted(state)}, but "
                                 f"{type(self).__name__} with these hyperparameters keeps {sorted(expected)}")
        for key, value in state.items():
            if key == "step":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise StateDictError(f"{name}: parameter {i} has step {value!r}, not a count")
            elif tuple(getattr(value, "shape", ())) != p.shape or not hasattr(value, "dtype"):
                raise StateDictError(f"{name}: parameter {i} of shape {p.shape} has {key} of shape "
                                     f"{tuple(getattr(value, 'shape', ()))}")


def check_nonnegative(name, **values):
    """Raise a ValueError naming the optimizer ``name`` and the argument if any value is negative."""
    for arg, value in values.items():
        if value < 0:
            raise ValueError(f"{name}: {arg} must be non-negative, got {value}")


def _to_param(value, p):
    """A saved state value on ``p``'s device; floating arrays in ``p``'s dtype, numbers as they are."""
    if isinstance(value, Tensor):
        value = value.data
    if not hasattr(value, "shape"):
        return value
    value = backend.to_device(value, p.device)
    if value.ndim == 0 and value.dtype.kind in "iu":     # a step count
        return int(value)
    return value.astype(p.dtype) if value.dtype.kind == "f" else value
