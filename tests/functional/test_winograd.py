"""Winograd's F(2x2, 3x3) transforms: each backward transform is the adjoint of its forward one,
and the compiled kernels equal the NumPy forms.

(The whole convolution, forward and backward, is held equal to the reference in test_conv.py.)
"""
import contextlib
import itertools

import numpy as np
import pytest

from minidl.backend import kernels
from minidl.functional import winograd

rng = np.random.default_rng(0)

# (m, H, W, C, top, left): even and odd sizes, 0 to 2 pixels of padding before, one or a few channels
CASES = [(m, H, W, C, top, left) for (m, C), (H, W), (top, left)
         in itertools.product([(1, 1), (2, 5)], [(4, 4), (5, 7), (8, 6)], [(0, 0), (1, 1), (2, 0)])]
FORMS = ["numpy", "compiled"]


def _form(form):
    if form == "compiled" and not kernels.available():
        pytest.skip("Numba is not installed (pip install minidl[fast])")
    return contextlib.nullcontext() if form == "compiled" else kernels.disabled()


def _shapes(m, H, W, C, top, left):
    """The output size (OH, OW) of a 3x3 convolution of x padded by (top, left) before and one pixel
    after, and the tile buffers' shape (16, m, TH, TW, C)."""
    OH, OW = H + top - 1, W + left - 1
    return (OH, OW), (16, m, -(-OH // 2), -(-OW // 2), C)


def _integers(*shape):
    """Small integers as float64: every sum of them is exact, in any order."""
    return rng.integers(-8, 9, shape).astype(np.float64)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_input_gradient_is_the_adjoint_of_input_transform(case, form):
    """<input_transform(x), g> == <x, input_gradient(g)> for every x and g."""
    m, H, W, C, top, left = case
    _, tiles = _shapes(*case)
    x, g = _integers(m, H, W, C), _integers(*tiles)
    with _form(form):
        V = winograd.input_transform(x, (top, left), np.empty(tiles))
        gx = winograd.input_gradient(g, (top, left), np.zeros_like(x))
    assert np.vdot(V, g) == np.vdot(x, gx)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_output_gradient_is_the_adjoint_of_output_transform(case, form):
    """<output_transform(M), gy> == <M, output_gradient(gy)>, odd sizes' overhanging blocks included."""
    m, _, _, F, _, _ = case
    (OH, OW), tiles = _shapes(*case)
    M, gy = _integers(*tiles), _integers(m, OH, OW, F)
    with _form(form):
        y = winograd.output_transform(M, None, np.empty((m, OH, OW, F)))
        gM = winograd.output_gradient(gy, np.empty(tiles))
    assert np.vdot(y, gy) == np.vdot(M, gM)


def test_filter_gradient_is_the_adjoint_of_filter_transform():
    W, gU = _integers(4, 3, 3, 3), _integers(16, 3, 4)
    np.testing.assert_allclose(np.vdot(winograd.filter_transform(W), gU),
                               np.vdot(W, winograd.filter_gradient(gU)), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_compiled_transforms_equal_numpy(case, dtype):
    """The four kernels give the NumPy forms' numbers exactly (integer inputs: sums exact in any order),
    with a bias, into an odd size's cropped blocks and onto a gradient that already holds values."""
    _form("compiled")
    m, H, W, C, top, left = case
    (OH, OW), tiles = _shapes(*case)
    x, M, gy, gx = (_integers(*s).astype(dtype) for s in [(m, H, W, C), tiles, (m, OH, OW, C), (m, H, W, C)])
    b = _integers(C).astype(dtype)
    results = {}
    for form in FORMS:
        with _form(form):
            results[form] = (winograd.input_transform(x, (top, left), np.empty(tiles, dtype)),
                             winograd.output_transform(M, b, np.empty((m, OH, OW, C), dtype)),
                             winograd.output_gradient(gy, np.empty(tiles, dtype)),
                             winograd.input_gradient(M, (top, left), gx.copy()))
    for numpy_result, compiled in zip(*results.values()):
        assert compiled.dtype == dtype
        np.testing.assert_array_equal(compiled, numpy_result)
