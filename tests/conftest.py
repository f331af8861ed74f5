"""Shared fixtures: the devices every op test runs on.

``cpu`` is plain NumPy; ``strict`` is the device-like CPU backend of
``tests/strict_backend.py`` (arrays that refuse NumPy, as CuPy's do); ``cuda``
runs on CuPy and skips unless a GPU answers.
"""
import os

import numpy as np
import pytest

import minidl
from minidl import backend
from tests import strict_backend

os.environ.setdefault("MINIDL_OFFLINE", "1")  # no test ever touches the network

strict_backend.register()

DEVICES = ["cpu", "strict", pytest.param("cuda", marks=pytest.mark.gpu)]


def pytest_collection_modifyitems(config, items):
    if minidl.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device: CuPy is missing or no GPU answers")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=DEVICES)
def device(request):
    """Each test using it runs once per device: cpu, strict, cuda (skipped without a GPU)."""
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    minidl.manual_seed(0)
    yield


def make(array, device="cpu", requires_grad=False, dtype=np.float64):
    """A Tensor on ``device`` from a NumPy array (float64 by default, for gradcheck)."""
    array = np.asarray(array)
    if array.dtype.kind == "f" and dtype is not None:
        array = array.astype(dtype)
    return minidl.Tensor(backend.to_device(array, device), requires_grad=requires_grad)
