"""Every public op of minidl.functional, on generated shapes, dtypes, geometries, empty batches,
NaN and infinities, on two devices: a named minidl error or PyTorch's outputs and gradients."""
import numpy as np
import pytest
from hypothesis import strategies as st

import minidl.functional as F
from minidl import Tensor, backend
from tests.property_support import DEVICES, DTYPES, FAST, WIDE, Case, check_case, run_property, values

pytestmark = pytest.mark.torch

small = st.integers


def shape(data, min_dims=1, max_dims=4, min_side=0, max_side=4):
    return tuple(data.draw(st.lists(small(min_side, max_side), min_size=min_dims, max_size=max_dims),
                           label="shape"))


def dtype_of(data):
    return np.dtype(data.draw(DTYPES, label="dtype"))


def unary(ours, theirs):
    def build(data):
        return Case([values(data, shape(data), dtype_of(data))], ours, theirs)
    return build


def reduction(name):
    def build(data):
        x = values(data, shape(data), dtype_of(data))
        axis = data.draw(st.one_of(st.none(), small(-x.ndim, x.ndim - 1)), label="axis")
        keepdims = data.draw(st.booleans(), label="keepdims")
        torch_name = {"max": "amax", "min": "amin"}.get(name, name)

        def theirs(torch, t):
            if axis is None and not keepdims:
                return getattr(torch, torch_name)(t)
            dims = tuple(range(t.ndim)) if axis is None else axis
            return getattr(torch, torch_name)(t, dim=dims, keepdim=keepdims)
        return Case([x], lambda t: getattr(F, name)(t, axis, keepdims), theirs)
    return build


def softmaxes(name):
    def build(data):
        x = values(data, shape(data), dtype_of(data))
        axis = data.draw(small(-x.ndim, x.ndim - 1), label="axis")
        return Case([x], lambda t: getattr(F, name)(t, axis),
                    lambda torch, t: getattr(torch.nn.functional, name)(t, dim=axis))
    return build


def binary(name):
    def build(data):
        dtype = dtype_of(data)
        s = shape(data)
        return Case([values(data, s, dtype), values(data, s, dtype)], getattr(F, name),
                    lambda torch, a, b: getattr(torch, name)(a, b))
    return build


def matmul(data):
    dtype = dtype_of(data)
    n, k, m = (data.draw(small(0, 4)) for _ in range(3))
    batch = shape(data, 0, 2)
    return Case([values(data, batch + (n, k), dtype), values(data, (k, m), dtype)], F.matmul,
                lambda torch, a, b: a @ b)


def where(data):
    dtype = dtype_of(data)
    s = shape(data)
    return Case([values(data, s, np.bool_), values(data, s, dtype), values(data, s, dtype)], F.where,
                lambda torch, c, a, b: torch.where(c, a, b), grad=[False, True, True])


def clip(data):
    lo, hi = sorted(data.draw(st.lists(st.floats(-2, 2), min_size=2, max_size=2), label="bounds"))
    return Case([values(data, shape(data), dtype_of(data))], lambda t: F.clip(t, lo, hi),
                lambda torch, t: torch.clamp(t, lo, hi))


def reshape(data):
    x = values(data, shape(data), dtype_of(data))
    return Case([x], lambda t: F.reshape(t, -1), lambda torch, t: t.reshape(-1))


def transpose(data):
    x = values(data, shape(data, 2), dtype_of(data))
    return Case([x], lambda t: F.transpose(t, 0, 1), lambda torch, t: t.transpose(0, 1))


def flatten(data):
    x = values(data, shape(data), dtype_of(data))
    start = data.draw(small(0, x.ndim - 1), label="start_dim")
    return Case([x], lambda t: F.flatten(t, start), lambda torch, t: torch.flatten(t, start))


def joins(name):
    def build(data):
        dtype = dtype_of(data)
        s = shape(data)
        axis = data.draw(small(0, len(s) - (1 if name == "concat" else 0)), label="axis")
        return Case([values(data, s, dtype), values(data, s, dtype)],
                    lambda a, b: getattr(F, name)([a, b], axis),
                    lambda torch, a, b: getattr(torch, "cat" if name == "concat" else name)([a, b], axis))
    return build


def split(data):
    x = values(data, shape(data, min_side=1), dtype_of(data))
    size = data.draw(small(1, 3), label="size")
    return Case([x], lambda t: F.split(t, size, 0)[0], lambda torch, t: torch.split(t, size, 0)[0])


def pad(data):
    x = values(data, shape(data, 1, 3), dtype_of(data))
    widths = [tuple(data.draw(st.lists(small(0, 2), min_size=2, max_size=2))) for _ in range(x.ndim)]
    flat = [w for pair in reversed(widths) for w in pair]    # PyTorch: last axis first
    return Case([x], lambda t: F.pad(t, widths, 0.5),
                lambda torch, t: torch.nn.functional.pad(t, flat, value=0.5))


def linear(data):
    dtype = dtype_of(data)
    n, i, o = data.draw(small(0, 3)), data.draw(small(1, 4)), data.draw(small(1, 4))
    bias = data.draw(st.booleans())
    arrays = [values(data, (n, i), dtype), values(data, (o, i), dtype)]
    arrays += [values(data, (o,), dtype)] if bias else []
    return Case(arrays, F.linear, lambda torch, *t: torch.nn.functional.linear(*t))


def embedding(data):
    n, v, d = data.draw(small(0, 5)), data.draw(small(1, 5)), data.draw(small(1, 3))
    indices = values(data, (n,), np.int64) % v
    return Case([values(data, (v, d), dtype_of(data))],
                lambda w: F.embedding(indices, w), lambda torch, w: torch.nn.functional.embedding(
                    torch.tensor(indices), w))


def conv(ndim):
    def build(data):
        dtype = dtype_of(data)
        groups = data.draw(small(1, 2), label="groups")
        c, f = groups * data.draw(small(1, 2)), groups * data.draw(small(1, 2))
        k = tuple(data.draw(small(1, 3)) for _ in range(ndim))
        size = tuple(data.draw(small(1, 6)) for _ in range(ndim))
        stride = data.draw(small(1, 3), label="stride")
        padding = data.draw(small(0, 2), label="padding")
        dilation = data.draw(small(1, 2), label="dilation")
        n = data.draw(small(0, 2), label="batch")
        bias = data.draw(st.booleans())
        arrays = [values(data, (n, c) + size, dtype), values(data, (f, c // groups) + k, dtype)]
        arrays += [values(data, (f,), dtype)] if bias else []
        name = f"conv{ndim}d"
        options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return Case(arrays, lambda x, w, b=None: getattr(F, name)(x, w, b, **options),
                    lambda torch, x, w, b=None: getattr(torch.nn.functional, name)(x, w, b, **options))
    return build


def window_geometry(data):
    k = data.draw(small(1, 3), label="kernel")
    return dict(kernel_size=k, stride=data.draw(small(1, 3), label="stride"),
                padding=data.draw(small(0, k // 2), label="padding"))


def image(data, min_side=1):
    n = data.draw(small(0, 2), label="batch")
    c = data.draw(small(1, 3), label="channels")
    return values(data, (n, c, data.draw(small(min_side, 6)), data.draw(small(min_side, 6))), dtype_of(data))


def max_pool2d(data):
    g = dict(window_geometry(data), dilation=data.draw(small(1, 2)), ceil_mode=data.draw(st.booleans()))
    return Case([image(data)], lambda t: F.max_pool2d(t, **g),
                lambda torch, t: torch.nn.functional.max_pool2d(t, **g))


def avg_pool2d(data):
    g = dict(window_geometry(data), ceil_mode=data.draw(st.booleans()),
             count_include_pad=data.draw(st.booleans()))
    return Case([image(data)], lambda t: F.avg_pool2d(t, **g),
                lambda torch, t: torch.nn.functional.avg_pool2d(t, **g))


def max_pool1d(data):
    g = dict(window_geometry(data), ceil_mode=data.draw(st.booleans()))
    x = values(data, (data.draw(small(0, 2)), data.draw(small(1, 3)), data.draw(small(1, 7))), dtype_of(data))
    return Case([x], lambda t: F.max_pool1d(t, **g), lambda torch, t: torch.nn.functional.max_pool1d(t, **g))


def adaptive_avg_pool2d(data):
    out = (data.draw(small(1, 4)), data.draw(small(1, 4)))
    return Case([image(data)], lambda t: F.adaptive_avg_pool2d(t, out),
                lambda torch, t: torch.nn.functional.adaptive_avg_pool2d(t, out))


def global_avg_pool2d(data):
    return Case([image(data)], F.global_avg_pool2d, lambda torch, t: t.mean(dim=(2, 3)))


def im2col(data):
    g = dict(window_geometry(data), dilation=data.draw(small(1, 2)))
    return Case([image(data)], lambda t: _as_tensor(F.im2col(t, **g)),
                lambda torch, t: torch.nn.functional.unfold(t, **g), grad=[False])


def _as_tensor(array):
    return Tensor(array)      # im2col and col2im return raw arrays


def col2im(data):
    g = dict(window_geometry(data), dilation=data.draw(small(1, 2)))
    size = (data.draw(small(1, 6)), data.draw(small(1, 6)))
    c = data.draw(small(1, 2))
    kh = g["kernel_size"]
    blocks = [((s + 2 * g["padding"] - g["dilation"] * (kh - 1) - 1) // g["stride"] + 1) for s in size]
    cols = values(data, (data.draw(small(0, 2)), c * kh * kh, max(blocks[0], 0) * max(blocks[1], 0)),
                  dtype_of(data))
    return Case([cols], lambda t: _as_tensor(F.col2im(t, size, **g)),
                lambda torch, t: torch.nn.functional.fold(t, size, **g), grad=[False])


def batch_norm(data):
    x = image(data)
    c = x.shape[1]
    dtype = x.dtype if x.dtype.kind == "f" else np.float64
    mean = values(data, (c,), dtype, special=False)
    var = np.abs(values(data, (c,), dtype, special=False)) + 0.5
    training = data.draw(st.booleans(), label="training")
    # finite weight and bias: with an infinite scale, PyTorch's folded x a + (b - mean a) gives
    # inf - inf where the value is an infinity
    return Case([x, values(data, (c,), dtype, special=False), values(data, (c,), dtype, special=False)],
                lambda t, w, b: F.batch_norm(t, backend.to_device(mean.copy(), t.device),
                                             backend.to_device(var.copy(), t.device), w, b,
                                             training=training),
                lambda torch, t, w, b: torch.nn.functional.batch_norm(
                    t, torch.tensor(mean.copy()).to(t.dtype), torch.tensor(var.copy()).to(t.dtype), w, b,
                    training=training))


def local_response_norm(data):
    size = data.draw(small(1, 4), label="size")
    return Case([image(data)], lambda t: F.local_response_norm(t, size, 1e-2, 0.75, 1.0),
                lambda torch, t: torch.nn.functional.local_response_norm(t, size, 1e-2, 0.75, 1.0))


def dropout_like(name):
    # a random mask has no reference; p = 0 and evaluation mode are the identity in both
    def build(data):
        p, training = data.draw(st.sampled_from([(0.0, True), (0.5, False)]), label="p, training")
        return Case([image(data)], lambda t: getattr(F, name)(t, p, training), lambda torch, t: t * 1)
    return build


def maxout(data):
    pool = data.draw(small(1, 3), label="pool_size")
    x = values(data, (data.draw(small(0, 2)), pool * data.draw(small(1, 2)), data.draw(small(1, 3))),
               dtype_of(data))
    return Case([x], lambda t: F.maxout(t, pool),
                lambda torch, t: t.reshape(t.shape[0], -1, pool, *t.shape[2:]).amax(dim=2))


def scaled_tanh(data):
    return Case([values(data, shape(data), dtype_of(data))], F.scaled_tanh,
                lambda torch, t: 1.7159 * torch.tanh(t * (2 / 3)))


def activation(name, torch_name=None, **options):
    return unary(lambda t: getattr(F, name)(t, **options),
                 lambda torch, t: getattr(torch.nn.functional, torch_name or name)(t, **options))


def class_loss(name):
    def build(data):
        n, c = data.draw(small(0, 3), label="N"), data.draw(small(1, 4), label="C")
        x = values(data, (n, c), dtype_of(data))
        target = values(data, (n,), np.int64) % c
        reduction = data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")
        options = dict(reduction=reduction)
        if name == "cross_entropy":
            options["label_smoothing"] = data.draw(st.sampled_from([0.0, 0.1]))
        return Case([x], lambda t: getattr(F, name)(t, target, **options),
                    lambda torch, t: getattr(torch.nn.functional, name)(t, torch.tensor(target), **options))
    return build


def mse_loss(data):
    dtype, s = dtype_of(data), shape(data)
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")
    return Case([values(data, s, dtype), values(data, s, dtype)], lambda a, b: F.mse_loss(a, b, reduction),
                lambda torch, a, b: torch.nn.functional.mse_loss(a, b, reduction=reduction))


def bce_with_logits(data):
    s = shape(data)
    target = values(data, s, np.float64, special=False) > 0
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")
    x = values(data, s, dtype_of(data))
    return Case([x], lambda t: F.binary_cross_entropy_with_logits(t, target.astype(t.dtype),
                                                                  reduction=reduction),
                lambda torch, t: torch.nn.functional.binary_cross_entropy_with_logits(
                    t, torch.tensor(target).to(t.dtype), reduction=reduction))


OPS = {
    "abs": unary(F.abs, lambda torch, t: torch.abs(t)),
    "exp": unary(F.exp, lambda torch, t: torch.exp(t)),
    "log": unary(F.log, lambda torch, t: torch.log(t)),
    "sqrt": unary(F.sqrt, lambda torch, t: torch.sqrt(t)),
    "clip": clip,
    "sum": reduction("sum"), "mean": reduction("mean"), "max": reduction("max"), "min": reduction("min"),
    "maximum": binary("maximum"), "minimum": binary("minimum"),
    "matmul": matmul, "where": where,
    "reshape": reshape, "transpose": transpose, "flatten": flatten, "split": split, "pad": pad,
    "concat": joins("concat"), "stack": joins("stack"),
    "relu": activation("relu"), "sigmoid": activation("sigmoid"), "tanh": activation("tanh"),
    "elu": activation("elu", alpha=0.7), "leaky_relu": activation("leaky_relu", negative_slope=0.1),
    "hardtanh": activation("hardtanh", min_val=-0.5, max_val=1.5),
    "softplus": activation("softplus", beta=2.0, threshold=5.0),
    "scaled_tanh": scaled_tanh, "maxout": maxout,
    "softmax": softmaxes("softmax"), "log_softmax": softmaxes("log_softmax"),
    "linear": linear, "embedding": embedding,
    "conv1d": conv(1), "conv2d": conv(2), "im2col": im2col, "col2im": col2im,
    "max_pool2d": max_pool2d, "avg_pool2d": avg_pool2d, "max_pool1d": max_pool1d,
    "adaptive_avg_pool2d": adaptive_avg_pool2d, "global_avg_pool2d": global_avg_pool2d,
    "batch_norm": batch_norm, "local_response_norm": local_response_norm,
    "dropout": dropout_like("dropout"), "dropout2d": dropout_like("dropout2d"),
    "drop_path": dropout_like("drop_path"),
    "cross_entropy": class_loss("cross_entropy"), "nll_loss": class_loss("nll_loss"),
    "mse_loss": mse_loss, "binary_cross_entropy_with_logits": bce_with_logits,
}


NOT_OPS = {"conv_impl"}     # a context manager that picks the convolution engine, not an op


def test_every_public_op_is_covered():
    public = {name for name in dir(F) if not name.startswith("_") and callable(getattr(F, name))
              and not isinstance(getattr(F, name), type(F))}
    assert public - NOT_OPS == set(OPS)


def _check(name):
    def check(data):
        case = OPS[name](data)
        case.device = data.draw(DEVICES, label="device")
        check_case(case)
    return check


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_raises_a_named_error_or_matches_torch(name):
    run_property(_check(name), FAST)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(OPS))
def test_op_raises_a_named_error_or_matches_torch_wide(name):
    run_property(_check(name), WIDE)
