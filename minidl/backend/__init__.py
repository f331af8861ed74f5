"""The array backend: the only module that knows NumPy from CuPy.

Everything above this module asks for ``xp`` (the array namespace of the
arrays it holds) with :func:`get_array_module` and writes ``xp.matmul``,
``xp.zeros`` ... so the same code runs on NumPy (``'cpu'``) and on CuPy
(``'cuda'``, ``'cuda:N'``).  Where the two libraries differ, this module
offers one function that does the right thing on each (:func:`scatter_add`,
:func:`as_strided`).

A third kind of device can be registered with :func:`register_device_type`;
the test suite uses it for a CPU backend whose arrays refuse every implicit
conversion to NumPy, as CuPy's do.

Random numbers come from one seeded generator per device
(:func:`generator`), all seeded at once by :func:`manual_seed`.
"""
import hashlib
import threading

import numpy as np

__all__ = [
    "Device", "device", "get_array_module", "device_of", "to_device", "to_numpy",
    "scatter_add", "as_strided", "manual_seed", "generator", "get_default_dtype",
    "set_default_dtype", "register_device_type", "cupy_or_none", "synchronize",
]


# --------------------------------------------------------------------------- #
# CuPy, imported lazily so that `import minidl` never pays for it
# --------------------------------------------------------------------------- #
_cupy = None
_cupy_checked = False


def cupy_or_none():
    """The ``cupy`` module if it imports and a GPU answers, else None."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy
            if cupy.cuda.runtime.getDeviceCount() > 0:
                _cupy = cupy
        except Exception:  # noqa: BLE001 - no CuPy, no driver or no GPU: all mean "no CUDA"
            _cupy = None
    return _cupy


def _require_cupy(spec):
    cp = cupy_or_none()
    if cp is None:
        raise RuntimeError(f"device {spec!r}: no CUDA device is available "
                           "(CuPy is not installed or no GPU answers)")
    return cp


# --------------------------------------------------------------------------- #
# Devices
# --------------------------------------------------------------------------- #
class _DeviceType:
    """How one kind of device holds arrays: its namespace and its transfers."""

    def __init__(self, name, xp, array_type, from_host, to_host, use=None):
        self.name = name
        self.xp = xp
        self.array_type = array_type
        self.from_host = from_host      # (numpy array, index) -> device array
        self.to_host = to_host          # device array -> numpy array
        self.use = use                  # index -> context manager selecting the device


_device_types = {}


def register_device_type(name, xp, array_type, from_host, to_host):
    """Register a device kind ``name`` whose arrays are ``array_type`` in namespace ``xp``.

    ``from_host(array, index)`` moves a NumPy array to device ``index``;
    ``to_host(array)`` brings one back.  Used by the test suite's strict backend.
    """
    _device_types[name] = _DeviceType(name, xp, array_type, from_host, to_host)
    _device_of_type.clear()


class Device:
    """A device: ``Device('cpu')``, ``Device('cuda')``, ``Device('cuda:1')``."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if type != "cpu" and type != "cuda" and type not in _device_types:
            valid = ", ".join(["cpu", "cuda", "cuda:N", *_device_types])
            raise ValueError(f"unknown device {type!r}; valid devices: {valid}")
        self.type = type
        self.index = None if type == "cpu" else (index or 0)

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return "cpu" if self.type == "cpu" else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device('{self}')"

    @property
    def xp(self):
        """The array namespace of this device."""
        if self.type == "cpu":
            return np
        if self.type == "cuda":
            return _require_cupy(str(self))
        return _device_types[self.type].xp


CPU = Device("cpu")


def device(spec=None):
    """Parse ``spec`` ('cpu', 'cuda', 'cuda:N', a Device or None for cpu) into a Device."""
    if spec is None:
        return CPU
    if isinstance(spec, Device):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"device must be a string like 'cpu' or 'cuda:0', got {spec!r}")
    name, _, index = spec.partition(":")
    if index and not index.isdigit():
        raise ValueError(f"unknown device {spec!r}; valid devices: cpu, cuda, cuda:N")
    return Device(name, int(index) if index else None)


_device_of_type = {}


def device_of(array):
    """The Device an array lives on."""
    if isinstance(array, np.ndarray) or np.isscalar(array):
        return CPU
    for dt in _device_types.values():
        if isinstance(array, dt.array_type):
            return Device(dt.name, 0)
    cp = cupy_or_none()
    if cp is not None and isinstance(array, cp.ndarray):
        return Device("cuda", array.device.id)
    raise TypeError(f"not an array of any known device: {type(array).__name__}")


def _namespace_of(a):
    """The namespace of a device array, or None for anything else."""
    if isinstance(a, np.ndarray):
        return np
    for dt in _device_types.values():
        if isinstance(a, dt.array_type):
            return dt.xp
    if type(a).__module__.startswith("cupy"):
        cp = cupy_or_none()
        if cp is not None and isinstance(a, cp.ndarray):
            return cp
    return None


def get_array_module(*arrays):
    """The namespace (``numpy``, ``cupy`` or a registered one) of the first device array.

    Accepts raw arrays and Tensors; scalars and None are skipped.  With no
    device array among them, NumPy.
    """
    for a in arrays:
        xp = _namespace_of(a)
        if xp is None and a is not None and not isinstance(a, (np.generic, int, float, bool)):
            xp = _namespace_of(getattr(a, "data", None))   # a Tensor
        if xp is not None and xp is not np:
            return xp
    return np


def to_numpy(array):
    """Copy any device array to a NumPy array (a no-op for NumPy arrays)."""
    if isinstance(array, (np.ndarray, np.generic)):
        return np.asarray(array)
    dev = device_of(array)
    if dev.type == "cuda":
        return array.get()
    return _device_types[dev.type].to_host(array)


def to_device(array, dev):
    """Return ``array`` on device ``dev`` (no copy when it is already there)."""
    dev = device(dev)
    if not isinstance(array, (np.ndarray, np.generic)) and device_of(array) == dev:
        return array
    host = to_numpy(array)
    if dev.type == "cpu":
        return host
    if dev.type == "cuda":
        cp = _require_cupy(str(dev))
        with cp.cuda.Device(dev.index):
            return cp.asarray(host)
    return _device_types[dev.type].from_host(host, dev.index)


def synchronize(dev=None):
    """Wait for all work queued on ``dev`` (a no-op on the CPU); call before reading a clock."""
    dev = device(dev)
    if dev.type == "cuda":
        cp = _require_cupy(str(dev))
        with cp.cuda.Device(dev.index):
            cp.cuda.Device(dev.index).synchronize()


# --------------------------------------------------------------------------- #
# Where NumPy and CuPy differ
# --------------------------------------------------------------------------- #
def scatter_add(a, indices, values):
    """In place ``a[indices] += values``, accumulating repeated indices.

    NumPy spells it ``np.add.at``; CuPy ``cupyx.scatter_add``.  Plain ``+=``
    would keep only one of several updates to the same element.
    """
    xp = get_array_module(a)
    if xp is np:
        np.add.at(a, indices, values)
    elif hasattr(xp, "scatter_add"):     # a registered backend offers it directly
        xp.scatter_add(a, indices, values)
    else:
        import cupyx
        cupyx.scatter_add(a, indices, values)
    return a


def as_strided(a, shape, strides):
    """A strided view of ``a`` (strides in bytes), on any backend.  Read it, never write to it."""
    xp = get_array_module(a)
    if xp is np:
        return np.lib.stride_tricks.as_strided(a, shape=shape, strides=strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)


# --------------------------------------------------------------------------- #
# Default dtype
# --------------------------------------------------------------------------- #
_default_dtype = np.dtype(np.float32)


def get_default_dtype():
    """The floating dtype new tensors and parameters get (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype):
    """Set the default floating dtype: float32 (fast) or float64 (gradient checks)."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (np.float16, np.float32, np.float64):
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
    _default_dtype = dtype


# --------------------------------------------------------------------------- #
# Random numbers: one generator per device, seeded together
# --------------------------------------------------------------------------- #
class Generator:
    """A seeded random generator for one device.

    Draws are made with NumPy's PCG64 on the host for the CPU.  On other
    devices each draw uses a fresh generator of that device's namespace,
    seeded from ``(seed, counter)``: the state is two integers, so it can be
    saved in a checkpoint and restored exactly on any device.
    """

    def __init__(self, dev, seed=0):
        self.device = device(dev)
        self.manual_seed(seed)

    def manual_seed(self, seed):
        self.seed = int(seed)
        self.counter = 0
        self._np = np.random.Generator(np.random.PCG64(self.seed))

    def _source(self):
        if self.device.type == "cpu":
            return np.random, self._np
        self.counter += 1
        sub_seed = int.from_bytes(
            hashlib.sha256(f"{self.seed}:{self.counter}".encode()).digest()[:8], "little")
        if self.device.type == "cuda":
            cp = _require_cupy(str(self.device))
            return cp.random, cp.random.RandomState(sub_seed)
        return None, np.random.Generator(np.random.PCG64(sub_seed))

    def _draw(self, method, *args, dtype=None, **kwargs):
        _, rng = self._source()
        if self.device.type == "cuda":
            legacy = {"random": "random_sample", "integers": "randint", "normal": "normal",
                      "uniform": "uniform", "permutation": "permutation"}[method]
            out = getattr(rng, legacy)(*args, **kwargs)
            return out if dtype is None else out.astype(dtype, copy=False)
        out = getattr(rng, method)(*args, **kwargs)
        out = np.asarray(out)
        if dtype is not None:
            out = out.astype(dtype, copy=False)
        return out if self.device.type == "cpu" else to_device(out, self.device)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=None):
        """Uniform draws in [low, high) of ``dtype`` (default dtype if None)."""
        return self._draw("uniform", low, high, size, dtype=dtype or _default_dtype)

    def normal(self, mean=0.0, std=1.0, size=None, dtype=None):
        """Normal draws N(mean, std^2) of ``dtype`` (default dtype if None)."""
        return self._draw("normal", mean, std, size, dtype=dtype or _default_dtype)

    def integers(self, low, high, size=None):
        """Integers in [low, high) as int64."""
        return self._draw("integers", low, high, size, dtype=np.int64)

    def permutation(self, n):
        """A random permutation of ``range(n)`` as int64."""
        return self._draw("permutation", n, dtype=np.int64)

    def get_state(self):
        """A dict of plain values that :meth:`set_state` restores exactly."""
        state = {"seed": self.seed, "counter": self.counter}
        if self.device.type == "cpu":
            state["pcg64"] = self._np.bit_generator.state
        return state

    def set_state(self, state):
        self.seed = int(state["seed"])
        self.counter = int(state["counter"])
        self._np = np.random.Generator(np.random.PCG64(self.seed))
        if "pcg64" in state:
            self._np.bit_generator.state = state["pcg64"]


_generators = {}
_seed = 0
_lock = threading.Lock()


def generator(dev=None):
    """The seeded generator of device ``dev`` (created on first use with the last seed)."""
    dev = device(dev)
    with _lock:
        if dev not in _generators:
            _generators[dev] = Generator(dev, _seed + (dev.index or 0))
        return _generators[dev]


def manual_seed(seed):
    """Seed the generators of every device (and those created later)."""
    global _seed
    _seed = int(seed)
    with _lock:
        for dev, gen in _generators.items():
            gen.manual_seed(_seed + (dev.index or 0))
