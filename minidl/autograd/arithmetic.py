"""Elementwise arithmetic and matmul, each a Function with its backward beside it.

Binary ops broadcast as NumPy does; their backward sums each gradient back
to its input's shape (:func:`unbroadcast`).
"""
import numbers

from .. import backend
from .core import Function, OpError, Tensor

__all__ = ["unbroadcast", "add", "sub", "mul", "div", "neg", "pow", "matmul", "exp", "log",
           "sqrt", "abs", "clip", "maximum", "minimum", "where"]


def unbroadcast(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, giving ``shape``."""
    if tuple(g.shape) == tuple(shape):
        return g
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1)
    g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _check_broadcast(name, a, b):
    sa, sb = tuple(getattr(a, "shape", ())), tuple(getattr(b, "shape", ()))
    for x, y in zip(reversed(sa), reversed(sb)):
        if x != y and x != 1 and y != 1:
            raise OpError(f"{name}: shapes {sa} and {sb} cannot be broadcast together")


class Add(Function):
    """y = a + b."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, gy):
        return unbroadcast(gy, self.shapes[0]), unbroadcast(gy, self.shapes[1])


class Sub(Function):
    """y = a - b."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, gy):
        return unbroadcast(gy, self.shapes[0]), unbroadcast(-gy, self.shapes[1])


class Mul(Function):
    """y = a * b."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        a, b = self.a, self.b
        ga = unbroadcast(gy * b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    """y = a / b."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        a, b = self.a, self.b
        ga = unbroadcast(gy / b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-gy * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    """y = -x."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class PowConst(Function):
    """y = x ** c for a constant number c: gx = c x^(c-1) gy."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        self.x = x
        return x ** self.c

    def backward(self, gy):
        return gy * self.c * self.x ** (self.c - 1)


class Pow(Function):
    """y = a ** b: ga = b a^(b-1) gy, gb = y log(a) gy."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a ** b
        return self.y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        a, b = self.a, self.b
        ga = unbroadcast(gy * b * a ** (b - 1), a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * self.y * xp.log(a), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class MatMul(Function):
    """y = a @ b with NumPy's rules (1-D operands, batch broadcasting).

    a: (..., n, k), b: (..., k, m) -> y: (..., n, m);
    ga = gy @ b^T, gb = a^T @ gy, each summed back over broadcast batch axes.
    """

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise OpError(f"matmul: operands must have at least one axis, got {a.shape} and {b.shape}")
        if a.dtype.kind == "b" or b.dtype.kind == "b":
            # NumPy's boolean product is an OR of ANDs, not a count; PyTorch refuses it
            raise OpError(f"matmul: boolean operands ({a.dtype} and {b.dtype}); convert them with .float()")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise OpError(f"matmul: shapes {a.shape} and {b.shape} do not match "
                          f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})")
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1:
            gy = xp.expand_dims(gy, -2)
        if b.ndim == 1:
            gy = xp.expand_dims(gy, -1)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(gy @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = unbroadcast(xp.swapaxes(a2, -1, -2) @ gy, b2.shape).reshape(b.shape)
        return ga, gb


class Exp(Function):
    """y = e^x: gx = y gy."""

    float_inputs = True     # NumPy would promote uint8 to float16, int64 to float64

    def forward(self, x):
        self.y = backend.get_array_module(x).exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y


class Log(Function):
    """y = ln x: gx = gy / x."""

    float_inputs = True     # NumPy would promote uint8 to float16, int64 to float64

    def forward(self, x):
        self.x = x
        return backend.get_array_module(x).log(x)

    def backward(self, gy):
        return gy / self.x


class Sqrt(Function):
    """y = sqrt(x): gx = gy / (2 y)."""

    float_inputs = True     # NumPy would promote uint8 to float16, int64 to float64

    def forward(self, x):
        self.y = backend.get_array_module(x).sqrt(x)
        return self.y

    def backward(self, gy):
        return gy / (2 * self.y)


class Abs(Function):
    """y = |x|: gx = sign(x) gy (0 at 0)."""

    def forward(self, x):
        self.x = x
        return backend.get_array_module(x).abs(x)

    def backward(self, gy):
        return gy * backend.get_array_module(gy).sign(self.x)


class Clip(Function):
    """y = min(max(x, low), high): the gradient passes where low <= x <= high."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.x = x
        return xp.clip(x, self.low, self.high)

    def backward(self, gy):
        mask = True
        if self.low is not None:
            mask = self.x >= self.low
        if self.high is not None:
            mask = mask & (self.x <= self.high)
        return gy * mask


class Maximum(Function):
    """y = max(a, b) elementwise; on ties each input gets half the gradient (as PyTorch)."""

    def __init__(self, sign=1):
        self.sign = sign  # -1 turns it into minimum

    def forward(self, a, b):
        xp = backend.get_array_module(a, b)
        self.a, self.b = a, b
        return xp.maximum(a, b) if self.sign > 0 else xp.minimum(a, b)

    def backward(self, gy):
        a, b = self.a * self.sign, self.b * self.sign
        wa = (a > b) + 0.5 * (a == b)
        ga = unbroadcast(gy * wa.astype(gy.dtype), a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * (1 - wa).astype(gy.dtype), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Where(Function):
    """y = a where cond else b (cond is a constant boolean array)."""

    def __init__(self, cond):
        self.cond = cond

    def forward(self, a, b):
        xp = backend.get_array_module(a, b)
        self.shapes = a.shape, b.shape
        return xp.where(self.cond, a, b)

    def backward(self, gy):
        zero = gy.dtype.type(0)
        xp = backend.get_array_module(gy)
        return (unbroadcast(xp.where(self.cond, gy, zero), self.shapes[0]),
                unbroadcast(xp.where(self.cond, zero, gy), self.shapes[1]))


def _binary(cls, name, a, b):
    _check_broadcast(name, a, b)
    return cls()(a, b)


def add(a, b):
    """a + b with broadcasting."""
    return _binary(Add, "add", a, b)


def sub(a, b):
    """a - b with broadcasting."""
    return _binary(Sub, "sub", a, b)


def mul(a, b):
    """a * b with broadcasting."""
    return _binary(Mul, "mul", a, b)


def div(a, b):
    """a / b with broadcasting."""
    return _binary(Div, "div", a, b)


def neg(x):
    return Neg()(x)


def pow(a, b):
    """a ** b; a constant number exponent takes the cheaper path."""
    if isinstance(b, numbers.Number) and isinstance(a, Tensor):
        return PowConst(b)(a)
    return _binary(Pow, "pow", a, b)


def matmul(a, b):
    """Matrix product with NumPy's broadcasting rules."""
    return MatMul()(a, b)


def exp(x):
    return Exp()(x)


def log(x):
    return Log()(x)


def sqrt(x):
    return Sqrt()(x)


def abs(x):
    return Abs()(x)


def clip(x, min=None, max=None):
    """Clamp ``x`` into [min, max] (either may be None)."""
    return Clip(min, max)(x)


def maximum(a, b):
    """Elementwise maximum with broadcasting."""
    return _binary(Maximum, "maximum", a, b)


def minimum(a, b):
    """Elementwise minimum with broadcasting."""
    _check_broadcast("minimum", a, b)
    return Maximum(sign=-1)(a, b)


def where(cond, a, b):
    """``a`` where ``cond`` holds, else ``b`` (cond: a boolean Tensor or array)."""
    cond = cond.data if isinstance(cond, Tensor) else cond
    _check_broadcast("where", a, b)
    return Where(cond)(a, b)
