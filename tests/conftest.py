"""Shared fixtures: the devices every op test runs on, and the markers' rules.

``cpu`` is plain NumPy; ``strict`` is the device-like CPU backend of
``tests/strict_backend.py`` (arrays that refuse NumPy, as CuPy's do); ``cuda``
runs on CuPy and skips unless a GPU answers.

Tests marked ``gpu`` skip without a GPU and tests marked ``torch`` skip without
PyTorch.  A test that needs torch but lacks the ``torch`` marker fails when torch
is absent instead of skipping, so ``-m "not torch"`` can be trusted to need no torch.
"""
import importlib.util
import os

import numpy as np
import pytest

import minidl
from minidl import backend
from tests import strict_backend

os.environ.setdefault("MINIDL_OFFLINE", "1")  # no test ever touches the network

strict_backend.register()

DEVICES = ["cpu", "strict", pytest.param("cuda", marks=pytest.mark.gpu)]


TORCH_MISSING = importlib.util.find_spec("torch") is None


def pytest_collection_modifyitems(config, items):
    skips = {}
    if not minidl.cuda.is_available():
        skips["gpu"] = pytest.mark.skip(reason="no CUDA device: CuPy is missing or no GPU answers")
    if TORCH_MISSING:
        skips["torch"] = pytest.mark.skip(reason="PyTorch is not installed (pip install -e \".[test]\")")
    for item in items:
        for marker, skip in skips.items():
            if marker in item.keywords:
                item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """An unmarked test that skips for want of torch is a missing ``torch`` marker: fail it."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and "torch" not in item.keywords and call.excinfo is not None:
        if "torch" in str(call.excinfo.value).split("'"):   # importorskip's "could not import 'torch'"
            report.outcome = "failed"
            report.longrepr = (f"{item.nodeid} needs PyTorch but has no @pytest.mark.torch: "
                               "add the marker so that -m 'not torch' runs without torch")


@pytest.fixture(params=DEVICES)
def device(request):
    """Each test using it runs once per device: cpu, strict, cuda (skipped without a GPU)."""
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from seed 0 and leaves the default dtype as it found it."""
    minidl.manual_seed(0)
    dtype = minidl.get_default_dtype()
    yield
    minidl.set_default_dtype(dtype)


def make(array, device="cpu", requires_grad=False, dtype=np.float64):
    """A Tensor on ``device`` from a NumPy array (float64 by default, for gradcheck)."""
    array = np.asarray(array)
    if array.dtype.kind == "f" and dtype is not None:
        array = array.astype(dtype)
    return minidl.Tensor(backend.to_device(array, device), requires_grad=requires_grad)
