"""The path-comparison tool: which paths it offers, and that forcing one really runs it."""
import numpy as np
import pytest

import minidl
import minidl.functional as F
from benchmarks import conv_paths
from minidl.backend import kernels
from minidl.functional import conv_tuned, winograd


def _plan(kernel, padding, stride=1):
    x = np.zeros((2, 4, 12, 12), np.float32)
    out = (12 + 2 * padding - kernel) // stride + 1
    return conv_tuned._Plan(x, (4, 4, kernel, kernel), (stride,) * 2, ((padding,) * 2,) * 2, (1, 1), 1,
                            (out, out))


def test_possible_paths():
    direct = ["direct"] if kernels.available() else []          # the direct convolution is compiled
    assert conv_paths.possible_paths(_plan(3, 1)) == ["im2col", "winograd"] + direct
    with kernels.disabled():
        assert conv_paths.possible_paths(_plan(3, 1)) == ["im2col", "winograd"]
    assert conv_paths.possible_paths(_plan(5, 2)) == ["im2col"] + direct
    assert conv_paths.possible_paths(_plan(3, 1, stride=2)) == ["im2col"]
    assert conv_paths.possible_paths(_plan(1, 0)) == ["im2col"]
    assert conv_paths.possible_paths(_plan(3, 3)) == ["im2col", "winograd"]


@pytest.mark.parametrize("path", conv_paths.PATHS)
def test_forced_path_runs_and_agrees(monkeypatch, path):
    if path == "direct" and not kernels.available():
        pytest.skip("Numba is not installed (pip install minidl[fast])")
    calls, plan_init = [], conv_tuned._Plan.__init__
    for module, name, label in [(kernels, "conv_direct", "direct"), (winograd, "convolve", "winograd")]:
        counted = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, f=counted, label=label: calls.append(label) or f(*a))
    rng = np.random.default_rng(0)
    x, w = minidl.tensor(rng.standard_normal((2, 3, 6, 6))), minidl.tensor(rng.standard_normal((4, 3, 3, 3)))
    with conv_paths.forced(path):
        y = F.conv2d(x, w, padding=1).numpy()
    assert calls == ([] if path == "im2col" else [path])
    reference = F.conv2d(x, w, padding=1, impl="reference").numpy()
    np.testing.assert_allclose(y, reference, rtol=1e-10, atol=1e-10)
    assert conv_tuned._Plan.__init__ is plan_init                   # put back


def test_compare_times_every_possible_path():
    result = conv_paths.compare((2, 4, 10, 10, 4), kernel=3, padding=1, reps=1, warmup=0)
    expected = ["im2col", "winograd", "direct"] if kernels.available() else ["im2col", "winograd"]
    assert sorted(result["times"]) == sorted(expected)
    assert result["chosen"] in expected
    assert all(t["median_ms"] > 0 for t in result["times"].values())
