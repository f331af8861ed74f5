"""Every layer of minidl.nn, built with generated arguments and fed generated inputs (dtypes, empty
batches, NaN and infinities, two devices, training and evaluation): a named minidl error or the
outputs and gradients (of the input and of every parameter) of the same PyTorch layer."""
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import strategies as st

import minidl
from minidl import backend, nn
from tests.property_support import (DEVICES, DTYPES, FAST, FLOATS, WIDE, assert_matches,
                                    is_named_minidl_error, run_property, values)

pytestmark = pytest.mark.torch

small = st.integers
# classes of minidl.nn that are not layers with a forward of their own
NOT_LAYERS = {"Module", "Parameter", "ModuleList", "ModuleDict"}


@dataclass
class LayerCase:
    ours: object                  # the minidl layer
    theirs: object                # torch -> the same PyTorch layer (or a function of the input)
    x: np.ndarray
    target: object = None         # the second argument of a loss
    has_twin: bool = True         # theirs builds a torch.nn layer whose state is ours
    extra: dict = field(default_factory=dict)


def image(data, dims=2, channels=None):
    n = data.draw(small(0, 2), label="batch")
    c = channels or data.draw(small(1, 3), label="channels")
    size = tuple(data.draw(small(1, 6)) for _ in range(dims))
    return values(data, (n, c) + size, data.draw(DTYPES, label="dtype"))


def conv(dims):
    def build(data):
        groups = data.draw(small(1, 2))
        c, f = groups * data.draw(small(1, 2)), groups * data.draw(small(1, 2))
        options = dict(kernel_size=data.draw(small(1, 3)), stride=data.draw(small(1, 3)),
                       padding=data.draw(small(0, 2)), dilation=data.draw(small(1, 2)), groups=groups,
                       bias=data.draw(st.booleans()))
        name = f"Conv{dims}d"
        return LayerCase(getattr(nn, name)(c, f, **options),
                         lambda torch: getattr(torch.nn, name)(c, f, **options), image(data, dims, c))
    return build


def linear(data):
    i, o, bias = data.draw(small(1, 4)), data.draw(small(1, 4)), data.draw(st.booleans())
    x = values(data, (data.draw(small(0, 3)), i), data.draw(DTYPES))
    return LayerCase(nn.Linear(i, o, bias), lambda torch: torch.nn.Linear(i, o, bias), x)


def embedding(data):
    v, d = data.draw(small(1, 5)), data.draw(small(1, 3))
    indices = values(data, (data.draw(small(0, 4)),), np.int64) % v
    return LayerCase(nn.Embedding(v, d), lambda torch: torch.nn.Embedding(v, d), indices)


def batch_norm(dims):
    name = f"BatchNorm{dims}d"

    def build(data):
        x = image(data) if dims == 2 else values(data, (data.draw(small(0, 3)), 3), data.draw(DTYPES))
        options = dict(momentum=0.3, affine=data.draw(st.booleans()),
                       track_running_stats=data.draw(st.booleans()))
        return LayerCase(getattr(nn, name)(x.shape[1], **options),
                         lambda torch: getattr(torch.nn, name)(x.shape[1], **options), x)
    return build


def same(name, *args, **kwargs):
    """A layer whose PyTorch twin has the same name and arguments, on an image input."""
    def build(data):
        return LayerCase(getattr(nn, name)(*args, **kwargs),
                         lambda torch: getattr(torch.nn, name)(*args, **kwargs), image(data))
    return build


def pooling(name, dims=2):
    def build(data):
        k = data.draw(small(1, 3))
        options = dict(kernel_size=k, stride=data.draw(small(1, 3)), padding=data.draw(small(0, k // 2)),
                       ceil_mode=data.draw(st.booleans()))
        if name == "AvgPool2d":
            options["count_include_pad"] = data.draw(st.booleans())
        return LayerCase(getattr(nn, name)(**options), lambda torch: getattr(torch.nn, name)(**options),
                         image(data, dims))
    return build


def classification_loss(name):
    def build(data):
        n, c = data.draw(small(0, 3)), data.draw(small(1, 4))
        reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
        target = values(data, (n,), np.int64) % c
        return LayerCase(getattr(nn, name)(reduction=reduction),
                         lambda torch: getattr(torch.nn, name)(reduction=reduction),
                         values(data, (n, c), data.draw(DTYPES)), target=target)
    return build


def mse(data):
    x = image(data)
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    return LayerCase(nn.MSELoss(reduction), lambda torch: torch.nn.MSELoss(reduction=reduction), x,
                     target=values(data, x.shape, x.dtype if x.dtype.kind == "f" else np.float32))


def bce(data):
    x = image(data)
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    target = (values(data, x.shape, np.float64, special=False) > 0).astype(
        x.dtype if x.dtype.kind == "f" else np.float32)
    return LayerCase(nn.BCEWithLogitsLoss(reduction=reduction),
                     lambda torch: torch.nn.BCEWithLogitsLoss(reduction=reduction), x, target=target)


def reference(layer, fn):
    """A layer without a PyTorch twin, against a function of the torch input."""
    def build(data):
        return LayerCase(layer(data), fn, image(data), has_twin=False)
    return build


LAYERS = {
    "Conv1d": conv(1), "Conv2d": conv(2), "Linear": linear, "Embedding": embedding,
    "BatchNorm1d": batch_norm(1), "BatchNorm2d": batch_norm(2),
    "MaxPool1d": pooling("MaxPool1d", 1), "MaxPool2d": pooling("MaxPool2d"),
    "AvgPool2d": pooling("AvgPool2d"),
    "AdaptiveAvgPool2d": same("AdaptiveAvgPool2d", (2, 3)),
    "LocalResponseNorm": same("LocalResponseNorm", 3, 1e-2),
    "ReLU": same("ReLU"), "Sigmoid": same("Sigmoid"), "Tanh": same("Tanh"), "ELU": same("ELU", 0.5),
    "LeakyReLU": same("LeakyReLU", 0.2), "Hardtanh": same("Hardtanh", -0.5, 2.0),
    "Softplus": same("Softplus", 2.0, 4.0), "Softmax": same("Softmax", 1),
    "LogSoftmax": same("LogSoftmax", 1),
    "Flatten": same("Flatten"), "Identity": same("Identity"),
    "Dropout": reference(lambda data: nn.Dropout(0.0), lambda torch, x: x * 1),
    "Dropout2d": reference(lambda data: nn.Dropout2d(0.0), lambda torch, x: x * 1),
    "DropPath": reference(lambda data: nn.DropPath(0.0), lambda torch, x: x * 1),
    "ScaledTanh": reference(lambda data: nn.ScaledTanh(), lambda torch, x: 1.7159 * torch.tanh(x * (2 / 3))),
    "Maxout": reference(lambda data: nn.Maxout(1), lambda torch, x: x * 1),
    "Sequential": lambda data: LayerCase(
        nn.Sequential(nn.Flatten(), nn.Linear(4, 2), nn.ReLU()),
        lambda torch: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2), torch.nn.ReLU()),
        values(data, (data.draw(small(0, 2)), 1, 2, 2), data.draw(DTYPES))),
    "CrossEntropyLoss": classification_loss("CrossEntropyLoss"), "NLLLoss": classification_loss("NLLLoss"),
    "MSELoss": mse, "BCEWithLogitsLoss": bce,
}


def test_every_layer_is_covered():
    layers = {name for name in dir(nn) if isinstance(getattr(nn, name), type) and name[0].isupper()}
    assert layers - NOT_LAYERS == set(LAYERS)


def _torch_dtype(torch, dtype):
    return {np.float16: torch.float16, np.float32: torch.float32}.get(np.dtype(dtype).type, torch.float64)


def check_layer(case, device, dtype, training):
    torch = pytest.importorskip("torch")
    layer = case.ours.to(device=device, dtype=dtype)
    layer.train(training)
    state = {k: v.numpy().copy() for k, v in layer.state_dict().items()}
    x = minidl.Tensor(backend.to_device(case.x, device), requires_grad=case.x.dtype.kind == "f")
    args = [x] + ([minidl.Tensor(backend.to_device(case.target, device))] if case.target is not None else [])
    try:
        y = layer(*args)
    except Exception as error:      # noqa: BLE001 - the property is about which errors escape
        assert is_named_minidl_error(error), f"raised {type(error).__name__}: {error}"
        return
    # PyTorch has no float16 kernel for some CPU layers, nor integer ones for some functions:
    # minidl's answer must then be the exact one
    for run_dtype in (dtype, np.float32 if dtype == np.float16 else np.float64):
        theirs = case.theirs(torch) if case.has_twin else None
        promote = case.x.dtype.kind == "b" or (case.x.dtype.kind == "f" and run_dtype != dtype)
        tx = torch.tensor(case.x.astype(run_dtype) if promote else case.x)
        if tx.is_floating_point():
            tx.requires_grad_(True)
        targs = [tx] + ([torch.tensor(case.target)] if case.target is not None else [])
        if case.has_twin:
            theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
            theirs.to(_torch_dtype(torch, run_dtype)).train(training)
            if case.target is not None and targs[1].is_floating_point():
                targs[1] = targs[1].to(_torch_dtype(torch, run_dtype))
            call = theirs
        else:
            call = lambda t: case.theirs(torch, t)  # noqa: E731
        try:
            ty = call(*targs)
            break
        except (RuntimeError, NotImplementedError) as error:
            if run_dtype != dtype:
                pytest.fail(f"minidl returned {y.dtype} {y.shape} where PyTorch raises {error}")
    assert_matches(y.numpy(), ty.detach().double().numpy() if ty.is_floating_point() else ty.numpy(),
                   dtype, "output")
    if not (y.requires_grad and np.isfinite(case.x.astype(np.float64)).all()):
        return
    gy = np.random.default_rng(0).standard_normal(y.shape).astype(y.dtype)
    y.backward(minidl.Tensor(backend.to_device(gy, device)))
    ty.backward(torch.tensor(gy.astype(np.float64)).to(ty.dtype))
    if x.requires_grad:
        assert_matches(x.grad.numpy(), tx.grad.double().numpy(), dtype, "gradient of the input")
    if case.has_twin:
        twins = dict(theirs.named_parameters())
        for name, p in layer.named_parameters():
            if twins[name].grad is not None:
                assert_matches(p.grad.numpy(), twins[name].grad.double().numpy(), dtype,
                               f"gradient of {name}")


def _check(name):
    def check(data):
        case = LAYERS[name](data)
        float_inputs = case.x.dtype.kind == "f"
        dtype = case.x.dtype if float_inputs else np.dtype(data.draw(st.sampled_from(FLOATS)))
        training = data.draw(st.booleans(), label="training")
        check_layer(case, data.draw(DEVICES, label="device"), dtype, training)
    return check


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_raises_a_named_error_or_matches_torch(name):
    run_property(_check(name), FAST)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_raises_a_named_error_or_matches_torch_wide(name):
    run_property(_check(name), WIDE)
