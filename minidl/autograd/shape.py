"""Shape ops: reshape, transpose/permute, flatten, indexing, concat/stack/split, pad."""
from .. import backend
from .core import Function, OpError, Tensor

__all__ = ["reshape", "transpose", "permute", "flatten", "unsqueeze", "squeeze", "getitem", "concat",
           "cat", "stack", "split", "pad"]


class Reshape(Function):
    """y = x viewed with ``shape`` (same elements, C order)."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return gy.reshape(self.in_shape)


class Permute(Function):
    """y = x with its axes reordered by ``axes``; gx permutes back with the inverse."""

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return gy.transpose(inverse)


class GetItem(Function):
    """y = x[index] for slices, integers, None, Ellipsis and integer/boolean arrays.

    Backward writes gy into zeros; integer arrays may repeat an index, so they
    accumulate with the backend's ``scatter_add``.
    """

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.shape, self.dtype = x.shape, x.dtype
        return x[self.index]

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        if _is_advanced(self.index):
            backend.scatter_add(gx, self.index, gy)
        else:
            gx[self.index] = gy
        return gx


def _is_advanced(index):
    items = index if isinstance(index, tuple) else (index,)
    return any(not isinstance(i, (int, slice, type(None), type(Ellipsis))) for i in items)


class Concat(Function):
    """y = the inputs joined along ``axis``; gx_i = the matching slice of gy."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        xp = backend.get_array_module(*xs)
        self.sizes = [x.shape[self.axis] for x in xs]
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        return _split_array(gy, self.sizes, self.axis)


def _split_array(a, sizes, axis):
    out, start = [], 0
    index = [slice(None)] * a.ndim
    for n in sizes:
        index[axis] = slice(start, start + n)
        out.append(a[tuple(index)])
        start += n
    return tuple(out)


class Split(Function):
    """The input cut along ``axis`` into pieces of ``sizes``; gx joins the pieces' gradients."""

    def __init__(self, sizes, axis):
        self.sizes, self.axis = sizes, axis

    def forward(self, x):
        return _split_array(x, self.sizes, self.axis)

    def backward(self, *gys):
        return backend.get_array_module(*gys).concatenate(gys, axis=self.axis)


class Pad(Function):
    """y = x with ``pad_width`` ((before, after) per axis) of constant ``value`` around it."""

    def __init__(self, pad_width, value):
        self.pad_width, self.value = pad_width, value

    def forward(self, x):
        xp = backend.get_array_module(x)
        return xp.pad(x, self.pad_width, mode="constant", constant_values=self.value)

    def backward(self, gy):
        return gy[tuple(slice(b, gy.shape[i] - a) for i, (b, a) in enumerate(self.pad_width))]


def shape_arg(shape):
    """The ``*shape`` of ``reshape(2, 3)`` or ``reshape((2, 3))`` (as PyTorch takes both) as one tuple."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def reshape(x, *shape):
    """x with a new shape (ints or one tuple; one entry may be -1)."""
    shape = shape_arg(shape)
    known = 1
    for n in shape:
        known *= n if n != -1 else 1
    size = x.data.size
    if shape.count(-1) > 1 or (-1 in shape and (known == 0 or size % known)) or \
            (-1 not in shape and known != size):
        raise OpError(f"reshape: cannot reshape a tensor of shape {x.shape} ({size} elements) "
                      f"into {shape}")
    return Reshape(shape)(x)


def permute(x, *axes):
    """x with its axes in the order ``axes`` (a permutation of range(ndim))."""
    axes = shape_arg(axes)
    if sorted(a % x.ndim for a in axes) != list(range(x.ndim)):
        raise OpError(f"permute: {axes} is not a permutation of the {x.ndim} axes of shape {x.shape}")
    return Permute(tuple(a % x.ndim for a in axes))(x)


def transpose(x, dim0=None, dim1=None):
    """Swap axes ``dim0`` and ``dim1`` (as ``torch.transpose``); with no axes, reverse them all."""
    if dim0 is None:
        return Permute(tuple(reversed(range(x.ndim))))(x)
    axes = list(range(x.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return Permute(tuple(axes))(x)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge axes ``start_dim`` .. ``end_dim`` into one (as ``torch.flatten``)."""
    start, end = start_dim % max(x.ndim, 1), end_dim % max(x.ndim, 1)
    merged = 1
    for n in x.shape[start:end + 1]:
        merged *= n
    return Reshape(x.shape[:start] + (merged,) + x.shape[end + 1:])(x)


def unsqueeze(x, dim):
    """x with a new axis of size 1 at ``dim`` (as ``torch.unsqueeze``; -1 appends one)."""
    if not -x.ndim - 1 <= dim <= x.ndim:
        raise OpError(f"unsqueeze: dim {dim} is out of range for a tensor with {x.ndim} axes")
    dim %= x.ndim + 1
    return Reshape(x.shape[:dim] + (1,) + x.shape[dim:])(x)


def squeeze(x, dim=None):
    """x without its axes of size 1, or only ``dim`` (an int or a tuple) where that has size 1,
    as ``torch.squeeze``: an axis named but not of size 1 stays."""
    dims = range(x.ndim) if dim is None else [d % max(x.ndim, 1) for d in ((dim,) if isinstance(dim, int)
                                                                           else dim)]
    drop = {d for d in dims if x.shape[d] == 1}
    return Reshape(tuple(n for d, n in enumerate(x.shape) if d not in drop))(x)


def getitem(x, index):
    """x[index]; Tensor indices are used by value."""
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    elif isinstance(index, list):
        index = backend.get_array_module(x.data).asarray(index)
    return GetItem(index)(x)


def concat(tensors, axis=0):
    """Join tensors along ``axis``; every other axis must match."""
    tensors = list(tensors)
    if not tensors:
        raise OpError("concat: expected at least one tensor")
    ref = tensors[0].shape
    axis = axis % len(ref)
    for t in tensors[1:]:
        if len(t.shape) != len(ref) or any(a != b for i, (a, b) in enumerate(zip(t.shape, ref))
                                           if i != axis):
            raise OpError(f"concat: shapes {ref} and {t.shape} differ outside axis {axis}")
    return Concat(axis)(*tensors)


def cat(tensors, dim=0):
    """:func:`concat` under PyTorch's name and argument name (``torch.cat(tensors, dim)``)."""
    return concat(tensors, dim)


def stack(tensors, axis=0):
    """Join same-shape tensors along a new axis ``axis``."""
    tensors = list(tensors)
    if not tensors:
        raise OpError("stack: expected at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise OpError(f"stack: all tensors must have one shape, got {sorted(shapes)}")
    shape = list(tensors[0].shape)
    axis = axis % (len(shape) + 1)
    new = tuple(shape[:axis] + [1] + shape[axis:])
    return concat([reshape(t, new) for t in tensors], axis)


def split(x, split_size_or_sections, axis=0):
    """Cut ``x`` along ``axis`` into pieces of one size (int) or of the listed sizes."""
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise OpError(f"split: split size must be positive, got {step}")
        sizes = [min(step, n - s) for s in range(0, n, step)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise OpError(f"split: sizes {sizes} add up to {sum(sizes)}, not {n} (axis {axis} "
                          f"of shape {x.shape})")
    return Split(sizes, axis % x.ndim)(x)


def pad(x, pad_width, value=0.0):
    """Pad with a constant; ``pad_width`` is ((before, after), ...) for each axis, as ``np.pad``."""
    pad_width = tuple((int(b), int(a)) for b, a in pad_width)
    if len(pad_width) != x.ndim:
        raise OpError(f"pad: pad_width has {len(pad_width)} pairs for a tensor of shape {x.shape}")
    if any(b < 0 or a < 0 for b, a in pad_width):
        raise OpError(f"pad: negative padding {pad_width}")
    return Pad(pad_width, value)(x)
