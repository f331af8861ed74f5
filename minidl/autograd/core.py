"""The autograd engine: ``Tensor`` and ``Function`` (backward through their graph: :mod:`.graph`).

A ``Function`` subclass writes ``forward(*xs)`` and ``backward(*gys)`` by hand
on raw arrays of the backend's namespace ``xp``.  Calling a Function on
Tensors runs ``forward`` and, when any input requires a gradient, records the
call in the graph: each output remembers its ``creator``, each Function its
inputs (for an input made by another Function, only its node: where its
gradient goes, not its data).  ``Tensor.backward()`` sorts the recorded Functions topologically
(iteratively, so a 10,000-op chain is fine), calls each ``backward`` once with
the summed gradients of its outputs, accumulates gradients into the leaves'
``.grad`` and frees the graph.
"""
import contextlib
import weakref

import numpy as np

from .. import backend
from . import anomaly_mode
from .hooks import RemovableHandle

__all__ = ["Tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled", "OpError", "BackwardError"]


class OpError(ValueError):
    """A bad input to an op: names the op and the offending shapes, dtypes or devices."""


class BackwardError(RuntimeError):
    """A backward that would compute wrong gradients: data changed since forward, or a gradient's dtype.

    In anomaly mode (:func:`~minidl.autograd.detect_anomaly`) also arrays written in place since
    forward, and NaN gradients.
    """


# --------------------------------------------------------------------------- #
# Grad mode
# --------------------------------------------------------------------------- #
_grad_enabled = True


def is_grad_enabled():
    return _grad_enabled


class _GradMode(contextlib.ContextDecorator):
    def __init__(self, enabled):
        self.enabled = enabled

    def __enter__(self):
        global _grad_enabled
        self.prev, _grad_enabled = _grad_enabled, self.enabled

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.prev


def no_grad():
    """Context manager (or decorator) in which no graph is recorded: for evaluation."""
    return _GradMode(False)


def enable_grad():
    """Context manager (or decorator) that records the graph again inside ``no_grad``."""
    return _GradMode(True)


# --------------------------------------------------------------------------- #
# Tensor
# --------------------------------------------------------------------------- #
def _as_array(data, dtype):
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.generic):     # NumPy reductions return scalars: keep their dtype
        return np.asarray(data) if dtype is None else np.asarray(data, dtype=dtype)  # noqa: TID251
    if isinstance(data, (list, tuple, int, float, bool)) or data is None:
        arr = np.array(data)  # noqa: TID251 - Python lists and numbers start on the host
        if dtype is None and arr.dtype.kind == "f":
            dtype = backend.get_default_dtype()
        data = arr
    if dtype is not None and data.dtype != np.dtype(dtype):
        data = data.astype(dtype)
    return data


class Tensor:
    """An n-dimensional array on a device, with a gradient.

    ``data`` is the raw array (NumPy, CuPy, ...), ``grad`` a Tensor of the same
    shape filled by :meth:`backward` when ``requires_grad`` is set.

    Every assignment to ``data`` (``t.data = a``, ``t.data -= lr * g`` as the
    optimizers do) counts a new version of the tensor, shared with its
    :meth:`detach` aliases, as PyTorch's version counter: a backward through an
    op that saw an older version raises :class:`BackwardError` instead of
    computing gradients from the changed values.  Writes into the raw array
    itself (``t.data[...] = v``, or into the NumPy array a tensor wraps) do not
    pass through the tensor and are not counted; anomaly mode
    (:func:`~minidl.autograd.detect_anomaly`) sees them.
    """

    __array_priority__ = 1000  # so ndarray + Tensor calls Tensor.__radd__
    _grad_hooks = None           # {key: fn}, made by the first register_hook (a leaf's)
    _node = None                 # what the graph keeps of a tensor a Function made

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        data = _as_array(data, dtype)
        if device is not None:
            data = backend.to_device(data, device)
        self._version = [0]     # a list, so that detach() aliases share it
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.creator = None

    # -- properties ----------------------------------------------------------
    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, value):
        self._data = value
        self._version[0] += 1

    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def is_leaf(self):
        return self.creator is None

    def size(self, dim=None):
        """The shape, or its ``dim``-th entry (as ``torch.Tensor.size``)."""
        return self.shape if dim is None else self.shape[dim]

    def numel(self):
        return int(self.data.size)

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extra = "" if self.device.type == "cpu" else f", device='{self.device}'"
        if self.dtype != backend.get_default_dtype() and self.dtype.kind == "f":
            extra += f", dtype={self.dtype}"
        if self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # -- conversions ---------------------------------------------------------
    def numpy(self):
        """The data as a NumPy array (copied from the device if needed)."""
        return backend.to_numpy(self.data)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: tensor of shape {self.shape} has {self.data.size} elements, not 1")
        return self.numpy().reshape(()).item()

    def __bool__(self):
        """The truth of a one-element tensor, as PyTorch: ``if (a == b):`` needs ``.all()`` on more."""
        if self.data.size != 1:
            raise OpError(f"bool: the truth value of a tensor of shape {self.shape} is ambiguous; "
                          "reduce it first, e.g. bool((a == b).numpy().all())")
        return bool(self.item())

    def tolist(self):
        return self.numpy().tolist()

    def detach(self):
        """A tensor sharing the data (and its version counter), cut from the graph."""
        alias = Tensor(self.data)
        alias._version = self._version
        return alias

    def to(self, device=None, dtype=None):
        """This tensor on ``device`` and/or with ``dtype``, copied once (itself when it is there
        already); a leaf keeps ``requires_grad``, a tensor inside a graph stays in it."""
        device = None if device is None or backend.device(device) == self.device else device
        dtype = None if dtype is None or np.dtype(dtype) == self.dtype else dtype
        if device is None and dtype is None:
            return self
        if self.creator is not None:
            from .transfer import to_device_and_dtype
            return to_device_and_dtype(self, device, dtype)
        data = self.data if device is None else backend.to_device(self.data, device)
        return Tensor(data if dtype is None else data.astype(dtype), requires_grad=self.requires_grad)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, index=0):
        return self.to(f"cuda:{index}")

    def float(self):
        return self.to(dtype=np.float32)

    def double(self):
        return self.to(dtype=np.float64)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    # -- backward ------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Backpropagate from this tensor into every leaf that requires grad.

        ``grad`` defaults to 1 for a one-element tensor.  The graph is freed
        afterwards unless ``retain_graph``.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: tensor does not require grad and has no graph")
        xp = backend.get_array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward: grad can be implied only for a one-element "
                                   f"output, this one has shape {self.shape}")
            grad = xp.ones_like(self.data)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            if tuple(grad.shape) != self.shape or grad.dtype != self.dtype:
                raise OpError(f"backward: grad is {tuple(grad.shape)} {grad.dtype} but the tensor is "
                              f"{self.shape} {self.dtype}")
        if self.creator is None:
            self._accumulate(_hooked(self, grad))
            return
        _run_backward(self, grad, retain_graph)

    def register_hook(self, hook):
        """Call ``hook(grad)`` with this tensor's gradient each time a backward computes it.

        ``grad`` is a Tensor holding the gradient of this backward pass only,
        summed over every use of the tensor; a non-None result replaces it:
        for a leaf, in what is accumulated into ``.grad``; otherwise, in what
        flows on to the Functions that made the tensor.  Hooks run in the
        order they were registered.  Returns a handle whose ``remove()``
        unregisters the hook.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: the tensor does not require grad, so no gradient "
                               "will ever reach the hook (set requires_grad=True first)")
        # a made tensor's hooks live on its node, which the graph keeps even if the tensor goes
        target = self if self._node is None else self._node
        if target._grad_hooks is None:
            target._grad_hooks = {}
        return RemovableHandle(target._grad_hooks, hook)

    def _accumulate(self, g):
        if self.grad is None:
            # a backward may return a broadcast view; the stored grad must own its memory
            # (ascontiguousarray makes a 0-d array 1-d: the reshape keeps a scalar's shape ())
            g = backend.get_array_module(g).ascontiguousarray(g).reshape(g.shape)
            self.grad = Tensor(g)
        else:
            self.grad = Tensor(self.grad.data + g)

    # -- operators (the Functions live in arithmetic/reduction/shape) --------
    def __add__(self, other): return _ar.add(self, other)
    def __radd__(self, other): return _ar.add(other, self)
    def __sub__(self, other): return _ar.sub(self, other)
    def __rsub__(self, other): return _ar.sub(other, self)
    def __mul__(self, other): return _ar.mul(self, other)
    def __rmul__(self, other): return _ar.mul(other, self)
    def __truediv__(self, other): return _ar.div(self, other)
    def __rtruediv__(self, other): return _ar.div(other, self)
    def __neg__(self): return _ar.neg(self)
    def __pow__(self, other): return _ar.pow(self, other)
    def __rpow__(self, other): return _ar.pow(other, self)
    def __matmul__(self, other): return _ar.matmul(self, other)
    def __rmatmul__(self, other): return _ar.matmul(other, self)
    def __getitem__(self, index): return _sh.getitem(self, index)

    # comparisons give constant boolean tensors (no gradient flows through them)
    def _compare(self, other, op):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(op(self.data, other))

    def __lt__(self, other): return self._compare(other, lambda a, b: a < b)
    def __le__(self, other): return self._compare(other, lambda a, b: a <= b)
    def __gt__(self, other): return self._compare(other, lambda a, b: a > b)
    def __ge__(self, other): return self._compare(other, lambda a, b: a >= b)
    def __eq__(self, other): return self._compare(other, lambda a, b: a == b)
    def __ne__(self, other): return self._compare(other, lambda a, b: a != b)
    __hash__ = object.__hash__

    def exp(self): return _ar.exp(self)
    def log(self): return _ar.log(self)
    def sqrt(self): return _ar.sqrt(self)
    def abs(self): return _ar.abs(self)
    def clip(self, min=None, max=None): return _ar.clip(self, min, max)
    clamp = clip
    def sum(self, axis=None, keepdims=False): return _rd.sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return _rd.mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return _rd.max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return _rd.min(self, axis, keepdims)

    def argmax(self, axis=None):
        xp = backend.get_array_module(self.data)
        return Tensor(xp.argmax(self.data, axis=axis))

    def reshape(self, *shape): return _sh.reshape(self, *shape)
    view = reshape
    def transpose(self, *axes): return _sh.transpose(self, *axes)
    def permute(self, *axes): return _sh.permute(self, *axes)
    def flatten(self, start_dim=0, end_dim=-1): return _sh.flatten(self, start_dim, end_dim)

    @property
    def T(self):
        return _sh.transpose(self)


# --------------------------------------------------------------------------- #
# Function
# --------------------------------------------------------------------------- #
class Function:
    """An op with a hand-written forward and backward on raw arrays.

    Subclasses implement ``forward(self, *xs)`` returning an array (or a tuple
    of arrays) and ``backward(self, *gys)`` returning one gradient per input
    (None where no gradient is needed).  Options go to ``__init__``; values
    that backward needs are kept on ``self`` by forward.  While forward runs,
    ``self.needs_input_grad`` tells which inputs need a gradient, so forward
    can skip saving what backward will not use.

    An op that is only defined on real numbers sets ``float_inputs = True``:
    it then refuses integer and boolean inputs with an :class:`OpError`, as
    PyTorch does, instead of letting NumPy wrap around (uint8 200 * 3 = 88)
    or truncate.
    """

    inputs = ()
    fingerprints = ()       # (array, digest) per entry of ``versions``, kept in anomaly mode only
    float_inputs = False

    @property
    def name(self):
        return type(self).__name__

    def __call__(self, *inputs):
        tensors = _as_tensors(self.name, inputs)
        if self.float_inputs:
            _check_floating(self.name, tensors)
        record = _grad_enabled and any(t.requires_grad for t in tensors)
        self.needs_input_grad = tuple(record and t.requires_grad for t in tensors)
        try:
            ys = self.forward(*(t.data for t in tensors))
        except (ValueError, IndexError) as e:
            if isinstance(e, OpError):
                raise
            shapes = ", ".join(str(t.shape) for t in tensors)
            raise OpError(f"{self.name}: {e} (input shapes {shapes})") from e
        single = not isinstance(ys, tuple)
        outputs = [Tensor(y, requires_grad=record) for y in ((ys,) if single else ys)]
        if record:
            self.inputs = tuple(graph_item(t) for t in tensors)
            for o in outputs:
                o.creator, o._node = self, _Node(self, o)
            self.outputs = [weakref.ref(o._node) for o in outputs]
            self.output_meta = [(o.data.shape, o.data.dtype) for o in outputs]
            self.versions = [(t._version, t._version[0], f"{role} {i}", t.shape)
                             for role, ts in (("input", tensors), ("output", outputs))
                             for i, t in enumerate(ts)]
            if anomaly_mode.enabled:
                # outputs too: a backward may read its output (Exp does), and an edit made before
                # the next op's forward would pass that op's fingerprint
                self.fingerprints = [(t.data, anomaly_mode.fingerprint(t.data))
                                     for t in (*tensors, *outputs)]
        return outputs[0] if single else tuple(outputs)

    def forward(self, *xs):
        raise NotImplementedError(f"{self.name} must implement forward")

    def backward(self, *gys):
        raise NotImplementedError(f"{self.name} must implement backward")

    def release(self):
        """Drop the inputs and everything forward saved: the graph is freed."""
        self.__dict__.clear()
        self.inputs = None


def _as_tensors(name, inputs):
    """Wrap arrays and scalars as constant tensors; check one device, one float dtype."""
    ref = next((x for x in inputs if isinstance(x, Tensor)), None)
    tensors = []
    for x in inputs:
        if isinstance(x, Tensor):
            tensors.append(x)
        elif isinstance(x, (int, float, bool)) and ref is not None:
            # a Python number takes the tensor's dtype, as NumPy 2 and PyTorch do
            xp = backend.get_array_module(ref.data)
            float_into_int = isinstance(x, float) and ref.dtype.kind != "f"
            dtype = backend.get_default_dtype() if float_into_int else ref.dtype
            tensors.append(Tensor(xp.asarray(x, dtype=dtype)))
        else:
            tensors.append(Tensor(x))
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        where = ", ".join(f"{t.shape} on {t.device}" for t in tensors)
        raise OpError(f"{name}: inputs are on different devices ({where}); move them with .to(device)")
    floats = {t.dtype for t in tensors if t.dtype.kind == "f"}
    if len(floats) > 1:
        what = ", ".join(f"{t.shape} {t.dtype}" for t in tensors)
        raise OpError(f"{name}: inputs have different floating dtypes ({what}); "
                      "cast them with .float() or .double()")
    return tensors


def _check_floating(name, tensors):
    bad = next((t for t in tensors if t.dtype.kind != "f"), None)
    if bad is not None:
        raise OpError(f"{name}: needs floating-point inputs, got {bad.dtype} for the input of shape "
                      f"{bad.shape}; convert it first with .float() (or .to(dtype=...))")


from . import arithmetic as _ar  # noqa: E402  (the Functions need Tensor defined first)
from .graph import _hooked, _Node, _run_backward, graph_item  # noqa: E402
from . import reduction as _rd  # noqa: E402
from . import shape as _sh  # noqa: E402
