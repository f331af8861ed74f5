"""Fixtures of the model-zoo tests."""
import numpy as np
import pytest

import minidl
from minidl import backend


@pytest.fixture
def recorded_draws(monkeypatch):
    """Zeros instead of random initial weights; returns the list of draws asked for.

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
    monkeypatch.setattr(backend.Generator, "uniform", recorder("uniform"))
    monkeypatch.setattr(backend.Generator, "normal", recorder("normal"))
    return draws
