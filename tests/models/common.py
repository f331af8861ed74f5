"""Helpers shared by the model-zoo tests: the reference numbers and PyTorch parity.

``reference(name)`` is the entry of ``tests/models/reference/architectures.json``
(parameter count, output shape, stage shapes, and the ``source`` each figure comes
from: torchvision's builders and metadata, timm, or the paper's tables; the
``ARCHITECTURES.md`` beside it gives the same figures as tables with notes); ``assert_parity`` loads a
PyTorch model's weights into the minidl model and checks that both compute the
same outputs, gradients and batch-norm statistics.
"""
import contextlib
import functools
import json
from pathlib import Path

import numpy as np
import pytest

import minidl
from minidl import backend
from minidl.models import from_torch

REFERENCE_FILE = Path(__file__).parent / "reference" / "architectures.json"


@functools.lru_cache(maxsize=None)
def all_references():
    """The whole architectures.json table, for parametrizing tests."""
    return json.loads(REFERENCE_FILE.read_text())


def reference(name):
    """The architectures.json entry ``name`` (a missing entry is a test error, never a skip)."""
    table = all_references()
    if name not in table:
        raise KeyError(f"{name!r} has no entry in {REFERENCE_FILE}")
    return table[name]


def count_params(model):
    """Number of parameter elements (buffers such as BN running stats excluded, as in the reference)."""
    return sum(p.numel() for p in model.parameters())


@contextlib.contextmanager
def default_dtype(dtype):
    """Build models in ``dtype`` (float64 for tight parity), restoring the previous default after."""
    previous = minidl.get_default_dtype()
    minidl.set_default_dtype(dtype)
    try:
        yield
    finally:
        minidl.set_default_dtype(previous)


def copy_weights_from_torch(model, torch_module):
    """Copy ``torch_module``'s parameters and buffers into ``model`` by state_dict name."""
    return from_torch(torch_module, model)


def randomize_batch_norm(torch_model, seed=0):
    """Give every PyTorch batch norm random affine weights and running statistics.

    Fresh BN layers (weight 1, bias 0, mean 0, variance 1) are almost the
    identity in eval mode, which would hide a swapped mean and variance.
    """
    import torch
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in torch_model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                for t, low, high in [(m.weight, 0.5, 1.5), (m.bias, -0.5, 0.5),
                                     (m.running_mean, -0.5, 0.5), (m.running_var, 0.5, 1.5)]:
                    if t is not None:
                        t.copy_(torch.rand(t.shape, generator=generator, dtype=t.dtype) * (high - low) + low)


def _as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _close(actual, expected, rtol, what):
    # Relative to the tensor's scale: elements near zero carry the absolute error of the large ones.
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def _forward_backward(model, torch_model, x, device, weights_seed):
    """Run both models on ``x``, backpropagate sum(out * w) for fixed random w; return the outputs."""
    import torch
    ours = _as_list(model(minidl.tensor(backend.to_device(x, device))))
    theirs = _as_list(torch_model(torch.from_numpy(x)))
    assert len(ours) == len(theirs), f"{len(ours)} outputs vs PyTorch's {len(theirs)}"
    rng = np.random.default_rng(weights_seed)
    loss, torch_loss = 0, 0
    for o, t in zip(ours, theirs):
        w = rng.standard_normal(t.shape).astype(x.dtype)
        loss = loss + (o * minidl.tensor(backend.to_device(w, device))).sum()
        torch_loss = torch_loss + (t * torch.from_numpy(w)).sum()
    loss.backward()
    torch_loss.backward()
    return ours, theirs


def _assert_same_step(model, torch_model, x, rtol, device, mode):
    model.zero_grad()
    torch_model.zero_grad()
    ours, theirs = _forward_backward(model, torch_model, x, device, weights_seed=0)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert o.shape == tuple(t.shape), f"{mode} output {i}: shape {o.shape} vs PyTorch {tuple(t.shape)}"
        _close(o.numpy(), t.detach().numpy(), rtol, f"{mode} output {i}")
    torch_params = dict(torch_model.named_parameters())
    for name, p in model.named_parameters():
        tp = torch_params[name]
        if tp.grad is None:
            assert p.grad is None, f"{mode}: {name} has a gradient but PyTorch's has none"
            continue
        assert p.grad is not None, f"{mode}: {name} got no gradient"
        _close(p.grad.numpy(), tp.grad.numpy(), rtol, f"{mode} gradient of {name}")


def assert_parity(model, torch_model, x, rtol, device="cpu", train_outputs=False):
    """Check that ``model`` (minidl) computes what ``torch_model`` (PyTorch) computes.

    ``torch_model``'s batch norms get random weights and statistics, then
    ``model`` is given all its weights (by state_dict name); ``x``
    is a NumPy input whose dtype both models use (build ``model`` under
    ``default_dtype(x.dtype)``; ``torch_model`` is cast here).  Checked:

    1. eval mode: every output, and the gradient of every parameter for the
       loss sum(out * w), w a fixed random array (one per output);
    2. training mode, one forward (and backward): the batch-norm running
       statistics (every buffer) afterwards.  With ``train_outputs`` the
       training-mode outputs and gradients are compared too, which checks
       batch norm's backward through the batch statistics; leave it off for
       models with dropout, whose random masks differ between the frameworks.

    Tolerances are relative: float64 to ``rtol=1e-10``, float32 to ``1e-4``.
    """
    torch = pytest.importorskip("torch")
    # On the small shared machines that run the suite, torch's thread pool spinning beside
    # NumPy's BLAS makes these small passes several times slower than one thread.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _check_parity(model, torch_model, x, rtol, device, train_outputs)
    finally:
        torch.set_num_threads(threads)


def _check_parity(model, torch_model, x, rtol, device, train_outputs):
    import torch
    torch_model = torch_model.to(dtype=getattr(torch, np.dtype(x.dtype).name))
    model.to(device)
    randomize_batch_norm(torch_model)
    copy_weights_from_torch(model, torch_model)

    model.eval()
    torch_model.eval()
    _assert_same_step(model, torch_model, x, rtol, device, "eval")

    model.train()
    torch_model.train()
    if train_outputs:
        _assert_same_step(model, torch_model, x, rtol, device, "train")
    else:
        with minidl.no_grad(), torch.no_grad():
            model(minidl.tensor(backend.to_device(x, device)))
            torch_model(torch.from_numpy(x))
    torch_buffers = dict(torch_model.named_buffers())
    for name, buf in model.named_buffers():
        _close(buf.numpy(), torch_buffers[name].numpy(), rtol, f"buffer {name} after one training step")
