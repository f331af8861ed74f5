"""``Module``: the base class of layers and models, and ``Parameter``, the tensors it trains.

A module registers what is assigned to it: ``self.weight = Parameter(...)``
becomes a parameter, ``self.conv = Conv2d(...)`` a submodule, and
``self.register_buffer('running_mean', t)`` a buffer (state that is saved but
not trained).  From these three dictionaries everything else follows:
``parameters()`` for the optimizer, ``state_dict()`` for checkpoints, with the
dotted names PyTorch uses (``features.0.weight``, ``bn.running_mean``), and
``to(device)``, ``train()``, ``eval()`` for the whole tree.
"""
from collections import OrderedDict, namedtuple

import numpy as np

from .. import backend
from ..autograd import OpError, Tensor, is_grad_enabled
from ..autograd.hooks import RemovableHandle
from .backward_hooks import BackwardHookCall

__all__ = ["Module", "Parameter", "RemovableHandle", "IncompatibleKeys"]


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (``requires_grad=True`` by default).

    ``Parameter(t)`` shares the data of the Tensor or array ``t``.
    """

    def __init__(self, data, requires_grad=True):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of every layer and model; subclasses define ``forward``.

    Example::

        class TwoLayer(Module):
            def __init__(self):
                super().__init__()
                self.fc1 = Linear(4, 8)
                self.fc2 = Linear(8, 2)

            def forward(self, x):
                return self.fc2(F.relu(self.fc1(x)))
    """

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these dicts to exist already
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())

    # -- registration ----------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before {type(self).__name__}.__init__ "
                                 "called super().__init__()")
        if isinstance(value, (Parameter, Module)):
            self._forget(name)
            (self._parameters if isinstance(value, Parameter) else self._modules)[name] = value
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"{type(self).__name__}: buffer {name!r} must be a Tensor or None, "
                                f"got {type(value).__name__}")
            self._buffers[name] = value
        elif (name in self._parameters or name in self._modules) and value is not None:
            kind = "parameter" if name in self._parameters else "module"
            raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to "
                            f"{kind} {name!r} ({kind.capitalize()} or None expected)")
        elif name in self._parameters:
            self._parameters[name] = None
        elif name in self._modules:
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        self.__dict__.pop(name, None)
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        self._non_persistent.discard(name)

    def __getattr__(self, name):
        # called only when normal lookup fails: look in the three registries
        for store in ("_parameters", "_buffers", "_modules"):
            registry = self.__dict__.get(store)
            if registry is not None and name in registry:
                return registry[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        if name in self._parameters or name in self._buffers or name in self._modules:
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def register_buffer(self, name, tensor, persistent=True):
        """Add a buffer: state moved by ``to()`` and, if ``persistent``, saved in ``state_dict``."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"{type(self).__name__}.register_buffer: {name!r} must be a Tensor or "
                            f"None, got {type(tensor).__name__}")
        if "." in name or name in self._parameters or name in self._modules:
            raise KeyError(f"{type(self).__name__}.register_buffer: invalid or taken name {name!r}")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def register_parameter(self, name, param):
        """Add a parameter (or None, to declare an absent one such as ``bias=False``)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"{type(self).__name__}.register_parameter: {name!r} must be a "
                            f"Parameter or None, got {type(param).__name__}")
        self._forget(name)
        self._parameters[name] = param

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {name!r} must be a Module, "
                            f"got {type(module).__name__}")
        self._forget(str(name))
        self._modules[str(name)] = module

    # -- traversal -------------------------------------------------------------
    def named_modules(self, prefix=""):
        """(name, module) for this module and every descendant, depth first, each once."""
        seen, stack = set(), [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module._modules.items()
                        if m is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry, prefix=""):
        seen = set()
        for module_name, module in self.named_modules(prefix):
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self, prefix=""):
        """(dotted name, Parameter) for every parameter of the tree, shared ones once."""
        return self._named_members("_parameters", prefix)

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self, prefix=""):
        return self._named_members("_buffers", prefix)

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    def apply(self, fn):
        """Call ``fn(m)`` on every submodule (children first) and on self; return self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- mode, device, gradients -----------------------------------------------
    def train(self, mode=True):
        """Training mode (dropout drops, batch norm uses batch statistics) for the whole tree."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none=True):
        """Forget the gradients of every parameter (``grad = None``, or zeros)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor(backend.get_array_module(p.data).zeros_like(p.grad.data))

    def to(self, device=None, dtype=None):
        """Move parameters and buffers to ``device`` and/or floating ``dtype``, in place.

        Each Parameter keeps its identity (only its ``data`` changes), so an
        optimizer built before the move still updates the right tensors.
        """
        def convert(t):
            data = t.data if device is None else backend.to_device(t.data, device)
            if dtype is not None and data.dtype.kind == "f":
                data = data.astype(dtype, copy=False)
            return data

        for t in list(self.parameters()) + list(self.buffers()):
            t.data = convert(t)
            if isinstance(t, Parameter) and t.grad is not None:
                t.grad = Tensor(convert(t.grad))
        return self

    def float(self):
        return self.to(dtype=np.float32)

    def double(self):
        return self.to(dtype=np.float64)

    # -- calling -----------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def __call__(self, *args, **kwargs):
        taps = None
        if self._backward_hooks and is_grad_enabled():
            taps = BackwardHookCall(self, self._backward_hooks)
            args = taps.tap_inputs(args)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output if taps is None else taps.tap_outputs(output)

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after each forward; a non-None result replaces
        the output.  Returns a handle whose ``remove()`` unregisters it."""
        return RemovableHandle(self._forward_hooks, hook)

    def register_full_backward_hook(self, hook):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of this module's
        inputs have been computed, as PyTorch does.

        ``grad_input`` has one entry per Tensor positional argument of the
        call (None where that input does not require grad), ``grad_output``
        one per output Tensor.  A non-None result, a tuple like
        ``grad_input``, replaces it in what flows on to the layers before
        (the gradients of this module's own parameters are already
        computed).  Returns a handle whose ``remove()`` unregisters the hook.
        """
        return RemovableHandle(self._backward_hooks, hook)

    # -- state -----------------------------------------------------------------
    def state_dict(self, prefix=""):
        """An OrderedDict of dotted name -> Tensor (sharing data) for parameters and persistent
        buffers, in PyTorch's names: ``features.0.weight``, ``bn.num_batches_tracked``."""
        state = OrderedDict()
        for module_name, module in self.named_modules(prefix.rstrip(".")):
            head = f"{module_name}." if module_name else ""
            for name, p in module._parameters.items():
                if p is not None:
                    state[head + name] = p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    state[head + name] = b.detach()
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy values (Tensors or arrays of any device) into this model's tensors, in place.

        Shape mismatches always raise; with ``strict`` so do missing and
        unexpected keys.  Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        own = self.state_dict()
        given = {k: _as_array(v) for k, v in state_dict.items()}
        missing = [k for k in own if k not in given]
        unexpected = [k for k in given if k not in own]
        mismatched = [f"{k} (checkpoint {tuple(given[k].shape)}, model {own[k].shape})"
                      for k in own if k in given and tuple(given[k].shape) != own[k].shape]
        problems = []
        if mismatched:
            problems.append("shape mismatch: " + ", ".join(mismatched))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise RuntimeError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems))
        for key, target in own.items():
            if key in given:
                target.data[...] = backend.to_device(given[key], target.device).astype(target.dtype)
        return IncompatibleKeys(missing, unexpected)

    # -- printing --------------------------------------------------------------
    def extra_repr(self):
        """The arguments shown between the parentheses of this module's repr."""
        return ""

    def __repr__(self):
        lines = [f"({name}): " + _indent(repr(m)) for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))


def check_channels(module, x, channels, ndims=None, axis=1):
    """Raise an error naming ``module`` unless ``x`` has ``channels`` entries along ``axis`` (and,
    if given, one of ``ndims`` dims): a layer checks its input once, in its forward."""
    if (ndims is not None and x.ndim not in ndims) or x.ndim == 0:
        expected = (f"a {' or '.join(str(n) for n in ndims)}-dim input" if ndims
                    else "an input of at least 1 dim")
        raise OpError(f"{module!r}: expected {expected}, got shape {x.shape}")
    if x.shape[axis] != channels:
        what = "features" if axis == -1 else "channels"
        raise OpError(f"{module!r}: input has {x.shape[axis]} {what}, expected {channels} "
                      f"(input shape {x.shape})")


def _as_array(value):
    """The array of a Tensor, an array as is, a Python number as a 0-d host array."""
    if isinstance(value, Tensor):
        return value.data
    return value if hasattr(value, "shape") else Tensor(value).data


def _indent(text):
    return text.replace("\n", "\n  ")
