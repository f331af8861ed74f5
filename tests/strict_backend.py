"""A device-like CPU backend for tests: arrays that behave like CuPy's.

Its arrays wrap NumPy arrays but refuse what a CuPy array refuses: implicit
conversion to NumPy (``np.asarray(a)``), NumPy functions called on them
(``np.exp(a)``, ``np.add.at(a, ...)``) and mixing with plain NumPy arrays
(``a + np.ones(3)``).  Its namespace offers only functions that CuPy exposes.
Code that passes the op tests under this backend touches arrays only through
``xp``, so it runs on a GPU too; a leak of a NumPy call fails here on a
machine without one.
"""
import numpy as np

from minidl import backend

# Functions of the `cupy` namespace (all exist in CuPy 12+); nothing else is offered.
CUPY_FUNCTIONS = set("""
abs absolute add all allclose amax amin any arange arccos arcsin arctan arctan2 argmax argmin
argsort around array array_equal asarray ascontiguousarray atleast_1d atleast_2d atleast_3d
bincount broadcast_arrays broadcast_to cbrt ceil clip column_stack concatenate copy cos cosh
count_nonzero cumprod cumsum diag diagonal diff divide dot dstack einsum empty empty_like equal
exp exp2 expand_dims expm1 eye flip fliplr flipud floor floor_divide fmax fmin full full_like
greater greater_equal hstack identity indices isclose isfinite isinf isnan ix_ less less_equal
linspace log log10 log1p log2 logaddexp logical_and logical_not logical_or logical_xor matmul
max maximum mean meshgrid min minimum mod moveaxis multiply nanmax nanmin negative nonzero
not_equal ones ones_like outer pad power prod ravel reciprocal remainder repeat reshape
result_type rint roll round sign sin sinh sort split sqrt square squeeze stack std subtract sum
swapaxes take take_along_axis tan tanh tensordot tile transpose tril triu true_divide trunc
unique var vstack where zeros zeros_like array_split can_cast argpartition partition
""".split())
# Dtypes and constants pass through unchanged.
CONSTANTS = set("""
float16 float32 float64 int8 int16 int32 int64 uint8 uint16 uint32 uint64 bool_ complex64
complex128 dtype finfo iinfo newaxis pi e inf nan integer floating number generic
""".split())
FROM_HOST = {"array", "asarray"}  # CuPy's explicit host-to-device copies


def _unwrap(obj, func_name):
    if isinstance(obj, StrictArray):
        return obj._a
    if isinstance(obj, np.ndarray) and func_name not in FROM_HOST:
        raise TypeError(f"strict backend: a NumPy array of shape {obj.shape} was mixed with "
                        f"device arrays in {func_name}; move it with backend.to_device first")
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o, func_name) for o in obj)
    return obj


def _wrap(obj):
    if isinstance(obj, np.ndarray):
        return StrictArray(obj)
    if isinstance(obj, np.generic) and not isinstance(obj, np.dtype):
        return StrictArray(np.asarray(obj))   # CuPy reductions give 0-d arrays, not scalars
    if isinstance(obj, tuple):
        return tuple(_wrap(o) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o) for o in obj]
    return obj


def _wrapped(func, name):
    def call(*args, **kwargs):
        args = _unwrap(args, name)
        kwargs = {k: _unwrap(v, name) for k, v in kwargs.items()}
        return _wrap(func(*args, **kwargs))
    call.__name__ = name
    return call


def _scatter_add(a, indices, values):
    np.add.at(a._a, _unwrap(indices if isinstance(indices, tuple) else (indices,), "scatter_add"),
              _unwrap(values, "scatter_add"))


class _StrideTricks:
    @staticmethod
    def as_strided(a, shape=None, strides=None):
        return StrictArray(np.lib.stride_tricks.as_strided(a._a, shape=shape, strides=strides,
                                                           writeable=False))


class _Lib:
    stride_tricks = _StrideTricks()


class _Linalg:
    def __getattr__(self, name):
        if name not in ("norm", "inv", "det", "solve", "svd", "qr", "eigh", "cholesky"):
            raise AttributeError(f"strict backend: xp.linalg.{name} is not offered")
        return _wrapped(getattr(np.linalg, name), "linalg." + name)


class StrictNamespace:
    """The ``xp`` of the strict backend: CuPy's functions, working on StrictArrays."""

    __name__ = "strict"
    lib = _Lib()
    linalg = _Linalg()

    def __getattr__(self, name):
        if name in CONSTANTS:
            return getattr(np, name)
        if name in CUPY_FUNCTIONS:
            return _wrapped(getattr(np, name), name)
        if name == "ndarray":
            return StrictArray
        if name == "scatter_add":
            return _scatter_add
        raise AttributeError(f"strict backend: xp.{name} is not a CuPy function; "
                             "use one that CuPy has, or add it to minidl.backend")


xp = StrictNamespace()

_METHODS = set("""
all any argmax argmin astype clip copy cumsum dot fill flatten max mean min prod ravel repeat
reshape squeeze std sum swapaxes take transpose var view item tolist nonzero argsort sort
""".split())


class StrictArray:
    """A NumPy array in disguise that refuses to be treated as one."""

    __slots__ = ("_a",)
    __array_ufunc__ = None      # np.exp(a), np.add.at(a, ...), ndarray + a: TypeError

    def __init__(self, a):
        self._a = a

    def __array__(self, *args, **kwargs):
        raise TypeError("strict backend: implicit conversion to a NumPy array is not allowed; "
                        "use backend.to_numpy")

    def __array_function__(self, func, types, args, kwargs):
        raise TypeError(f"strict backend: numpy.{func.__name__} was called on a device array; "
                        "use the backend's xp")

    def get(self):
        return self._a.copy()

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: StrictArray(self._a.T))

    def __getattr__(self, name):
        if name not in _METHODS:
            raise AttributeError(f"strict backend: array method {name!r} is not offered")
        return _wrapped(getattr(self._a, name), name)

    def __getitem__(self, index):
        return _wrap(self._a[_unwrap(index, "__getitem__")])

    def __setitem__(self, index, value):
        self._a[_unwrap(index, "__setitem__")] = _unwrap(value, "__setitem__")

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(v) for v in self._a)

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return self._a.__index__()

    def __repr__(self):
        return f"strict_array({self._a!r})"


def _binary(name):
    op = getattr(np.ndarray, name)

    def method(self, other):
        return _wrap(op(self._a, _unwrap(other, name)))
    method.__name__ = name
    return method


def _unary(name):
    op = getattr(np.ndarray, name)

    def method(self):
        return _wrap(op(self._a))
    method.__name__ = name
    return method


for _name in ("add sub mul truediv floordiv mod pow matmul and or xor lshift rshift").split():
    for _form in ("__%s__", "__r%s__", "__i%s__"):
        _dunder = _form % _name
        if hasattr(np.ndarray, _dunder):
            setattr(StrictArray, _dunder, _binary(_dunder))
for _dunder in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
    setattr(StrictArray, _dunder, _binary(_dunder))
for _dunder in ("__neg__", "__pos__", "__abs__", "__invert__"):
    setattr(StrictArray, _dunder, _unary(_dunder))
StrictArray.__hash__ = None


def _inplace(name):
    op = getattr(np.ndarray, name)

    def method(self, other):
        op(self._a, _unwrap(other, name))
        return self
    method.__name__ = name
    return method


for _name in ("add sub mul truediv floordiv mod pow and or xor").split():
    setattr(StrictArray, f"__i{_name}__", _inplace(f"__i{_name}__"))


def register():
    """Make the device 'strict' available to minidl."""
    backend.register_device_type("strict", xp, StrictArray,
                                 from_host=lambda a, index: StrictArray(np.array(a)),
                                 to_host=lambda a: a._a.copy())
