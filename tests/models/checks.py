"""Checks shared by the zoo tests of LeNet ... Kim's CNN: a training step, stage shapes."""
import contextlib

import numpy as np
import pytest

import minidl
from minidl import backend
from tests.conftest import make

# Devices for the training steps: the parity tests already run every model on the
# NumPy CPU, so these run where NumPy-only code would fail (and on a GPU when one answers).
DEVICES = ["strict", pytest.param("cuda", marks=pytest.mark.gpu)]


def random_input(shape, dtype=np.float64, seed=0):
    """A standard normal NumPy array of ``shape`` and ``dtype``."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def assert_trains(model, x, device):
    """Run ``model`` (moved to ``device``) on ``x`` in training mode and backpropagate sum(outputs).

    ``x`` is a NumPy array: floats become a float32 image batch, integers stay
    indices.  Every trainable parameter must get a finite gradient of its own
    shape, and every frozen one (``requires_grad=False``) none.  Returns the outputs.
    """
    model.to(device).train()
    inputs = make(x, device, dtype=np.float32) if x.dtype.kind == "f" else minidl.tensor(x, device=device)
    out = model(inputs)
    outputs = list(out) if isinstance(out, tuple) else [out]
    sum(o.sum() for o in outputs).backward()
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, f"{name} got no gradient"
            assert p.grad.shape == p.shape, f"{name}: gradient shape {p.grad.shape} vs {p.shape}"
            assert np.isfinite(p.grad.numpy()).all(), f"{name} has a non-finite gradient"
        else:
            assert p.grad is None, f"{name} is frozen but got a gradient"
    return out


def stage_shapes(model, names, x):
    """The output shape of each submodule in ``names`` (dotted, as named_modules names them)
    when ``model`` runs on ``x``."""
    modules = dict(model.named_modules())
    shapes = {}
    handles = [modules[name].register_forward_hook(
        lambda module, inputs, output, name=name: shapes.__setitem__(name, list(output.shape)))
        for name in names]
    try:
        with minidl.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


@contextlib.contextmanager
def recorded_draws():
    """Inside, initial weights are zeros instead of random draws; yields the list of draws asked for.

    Each entry is (method, low or mean, high or std, size).  A model whose
    weights a parity test overwrites need not draw them (VGG's 138M values take
    seconds), and an initialisation can be checked by the distributions it asks for.
    """
    draws = []

    def recorder(method):
        def draw(self, a, b, size=None, dtype=None):
            draws.append((method, a, b, tuple(size)))
            return np.zeros(size, dtype or minidl.get_default_dtype())
        return draw
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backend.Generator, "uniform", recorder("uniform"))
        patch.setattr(backend.Generator, "normal", recorder("normal"))
        yield draws
