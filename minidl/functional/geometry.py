"""Window geometry: the arguments of every sliding-window op, checked once, and its output size.

Convolution, pooling and their layers in :mod:`minidl.nn` describe a window
the same way, with PyTorch's names:

===========  ==========================================================
kernel_size  KH, KW: an int or a pair
stride       SH, SW: an int or a pair (pooling: defaults to kernel_size)
padding      an int, a pair, or ((top, bottom), (left, right)); a
             convolution also takes 'valid' (none) or 'same' (stride 1:
             the output keeps the input size)
dilation     DH, DW: DH - 1 pixels skipped between kernel taps
ceil_mode    pooling only: keep a last, partial window
===========  ==========================================================

:func:`conv_window` and :func:`pool_window` check these once, at the public
entry point, and return a :class:`Window`; its :meth:`Window.output_size`
says how many windows fit, OH = (H + top + bottom - DH (KH - 1) - 1) // SH + 1.
Every error is an :class:`OpError` naming the op and the argument.
"""
import numbers
from dataclasses import dataclass

from ..autograd import OpError

__all__ = ["Window", "conv_window", "pool_window", "one_dimensional", "ints", "axis_output_size"]


def ints(value, name, op, n=2, minimum=0):
    """``value`` (an int or a tuple of ``n`` ints) as a tuple of ``n`` ints, each at least ``minimum``."""
    values = (value,) * n if _is_int(value) else value
    if not (isinstance(values, (tuple, list)) and len(values) == n and all(_is_int(v) for v in values)):
        raise OpError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if min(values) < minimum:
        raise OpError(f"{op}: {name} must be at least {minimum}, got {value!r}")
    return tuple(int(v) for v in values)


def _is_int(value):
    # bool is an int to Python, but stride=True is a mistake, not a stride of 1
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def axis_output_size(size, kernel, stride, padding, dilation=1, ceil_mode=False):
    """The number of window positions along one axis (0 when none fits).

    ``padding`` is ``(before, after)``.  With ``ceil_mode`` a last, partial
    window is kept, but only if it starts inside the input or the padding
    before it (as PyTorch): a window made only of right padding would see
    no input at all.
    """
    span = size + padding[0] + padding[1] - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding[0]:
        out -= 1
    return out


@dataclass(frozen=True)
class Window:
    """Checked window arguments: kernel (KH, KW), stride (SH, SW), padding ((top, bottom),
    (left, right)), dilation (DH, DW) and ceil_mode, for the op named ``op``."""

    op: str
    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    ceil_mode: bool = False

    def output_size(self, size):
        """(OH, OW) for an input of spatial ``size`` (H, W); an OpError if no window fits."""
        out = tuple(axis_output_size(n, k, s, p, d, self.ceil_mode) for n, k, s, p, d in
                    zip(size, self.kernel, self.stride, self.padding, self.dilation))
        if min(out) < 1:
            span = tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))
            padded = tuple(n + sum(p) for n, p in zip(size, self.padding))
            dilated = "" if self.dilation == (1, 1) else \
                f" (dilation {self.dilation}, so it spans {_by(span)})"
            raise OpError(f"{self.op}: kernel {_by(self.kernel)}{dilated} is larger than the padded "
                          f"input {_by(padded)} (input {_by(size)}, padding {self.padding})")
        return out


def _by(sizes):
    return "x".join(str(n) for n in sizes)


def conv_window(op, kernel_size, stride=1, padding=0, dilation=1):
    """The window of a convolution; ``padding`` may also be 'same' or 'valid'."""
    kernel = ints(kernel_size, "kernel_size", op, minimum=1)
    stride = ints(stride, "stride", op, minimum=1)
    dilation = ints(dilation, "dilation", op, minimum=1)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise OpError(f"{op}: padding must be 'same', 'valid', an int or a pair, got {padding!r}")
        if padding == "same" and stride != (1, 1):
            raise OpError(f"{op}: padding='same' needs stride 1, got stride {stride}")
        # 'same' splits the D(K-1) extra pixels evenly, the odd one on the bottom/right (as PyTorch)
        total = [0 if padding == "valid" else d * (k - 1) for k, d in zip(kernel, dilation)]
        padding = tuple((t // 2, t - t // 2) for t in total)
    elif isinstance(padding, (tuple, list)) and not _is_int(padding[0] if padding else 0):
        padding = tuple(ints(p, "padding", op) for p in padding)
        if len(padding) != 2:
            raise OpError(f"{op}: padding must be an int, a pair or ((top, bottom), (left, right)), "
                          f"got {padding!r}")
    else:
        padding = tuple((p, p) for p in ints(padding, "padding", op))
    return Window(op, kernel, stride, padding, dilation)


def pool_window(op, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """The window of a pooling: ``stride`` defaults to the kernel size, padding (the
    same on both sides) is at most half the dilated kernel."""
    kernel = ints(kernel_size, "kernel_size", op, minimum=1)
    stride = kernel if stride is None else ints(stride, "stride", op, minimum=1)
    padding = ints(padding, "padding", op)
    dilation = ints(dilation, "dilation", op, minimum=1)
    if ceil_mode not in (True, False):    # 0 and 1 pass, as in PyTorch
        raise OpError(f"{op}: ceil_mode must be True or False, got {ceil_mode!r}")
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(2 * p > s for p, s in zip(padding, span)):
        raise OpError(f"{op}: padding {padding} must be at most half the kernel {_by(span)} "
                      f"(kernel_size {kernel}, dilation {dilation})")
    return Window(op, kernel, stride, tuple((p, p) for p in padding), dilation, bool(ceil_mode))


def one_dimensional(op, **values):
    """The ints of a 1-D op (conv1d, max_pool1d) as pairs (1, v) of its 2-D twin, which sees an
    image of height 1.  ``padding`` may stay 'same' or 'valid'; None stays None."""
    bad = [name for name, v in values.items()
           if not (v is None or _is_int(v) or (name == "padding" and isinstance(v, str)))]
    if bad:
        names = list(values)
        raise OpError(f"{op}: {', '.join(names[:-1])} and {names[-1]} must be ints, got "
                      + ", ".join(f"{name}={values[name]!r}" for name in bad))
    return {name: v if v is None or isinstance(v, str) else (1, v) if name != "padding" else (0, v)
            for name, v in values.items()}
