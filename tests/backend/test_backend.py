"""The backend: devices, transfers, seeded generators, default dtype, import discipline."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minidl
from minidl import backend
from tests.strict_backend import StrictArray

ROOT = Path(__file__).resolve().parents[2]


def test_device_parsing_equality_and_repr():
    assert backend.device("cuda") == backend.device("cuda:0") == "cuda:0"
    assert backend.device("cpu") != backend.device("cuda:1")
    assert repr(backend.device("cuda:1")) == "device('cuda:1')"
    assert str(backend.device(None)) == "cpu"
    with pytest.raises(ValueError, match="unknown device 'tpu'; valid devices: cpu, cuda, cuda:N"):
        backend.device("tpu")
    with pytest.raises(ValueError, match="unknown device 'cuda:x'"):
        backend.device("cuda:x")


def test_cuda_status_never_raises_without_a_gpu():
    available = minidl.cuda.is_available()
    assert isinstance(available, bool)
    if not available:
        assert minidl.cuda.device_count() == 0
        assert minidl.cuda.memory_info() == {"used": 0, "total": 0}
        with pytest.raises(RuntimeError, match="no CUDA device is available"):
            minidl.zeros(3, device="cuda")


def test_transfers_round_trip_and_name_the_module(device):
    if device == "cuda" and not minidl.cuda.is_available():
        pytest.skip("no GPU")
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    moved = backend.to_device(host, device)
    assert backend.device_of(moved).type == backend.device(device).type
    assert backend.get_array_module(moved) is backend.device(device).xp
    np.testing.assert_array_equal(backend.to_numpy(moved), host)


def test_get_array_module_sees_through_tensors_and_skips_scalars():
    t = minidl.Tensor(backend.to_device(np.zeros(2), "strict"))
    assert backend.get_array_module(None, 1.0, t) is backend.device("strict").xp
    assert backend.get_array_module(np.zeros(2), 3) is np


def test_scatter_add_accumulates_repeated_indices(device):
    if device == "cuda" and not minidl.cuda.is_available():
        pytest.skip("no GPU")
    a = backend.to_device(np.zeros(4), device)
    idx = backend.to_device(np.array([0, 2, 2, 2]), device)
    backend.scatter_add(a, idx, backend.to_device(np.ones(4), device))
    np.testing.assert_array_equal(backend.to_numpy(a), [1, 0, 3, 0])


@pytest.mark.parametrize("dev", ["cpu", "strict"])
def test_manual_seed_reproduces_draws_and_state_restores(dev):
    minidl.manual_seed(123)
    first = backend.to_numpy(minidl.randn(5, device=dev).data)
    minidl.manual_seed(123)
    gen = backend.generator(dev)
    state = gen.get_state()
    again = backend.to_numpy(minidl.randn(5, device=dev).data)
    np.testing.assert_array_equal(first, again)
    later = backend.to_numpy(gen.uniform(size=3))
    gen.set_state(state)
    minidl.randn(5, device=dev)
    np.testing.assert_array_equal(later, backend.to_numpy(gen.uniform(size=3)))
    minidl.manual_seed(124)
    assert not np.array_equal(first, backend.to_numpy(minidl.randn(5, device=dev).data))


def test_default_dtype_is_float32_and_changeable():
    assert minidl.get_default_dtype() == np.float32
    assert minidl.randn(2).dtype == np.float32 and minidl.tensor([1.0]).dtype == np.float32
    minidl.set_default_dtype(np.float64)
    try:
        assert minidl.zeros(2).dtype == np.float64 and minidl.tensor([1.0]).dtype == np.float64
    finally:
        minidl.set_default_dtype(np.float32)
    with pytest.raises(TypeError, match="expected a floating dtype"):
        minidl.set_default_dtype(np.int32)


def test_strict_arrays_refuse_numpy():
    a = backend.to_device(np.ones(3), "strict")
    assert isinstance(a, StrictArray)
    with pytest.raises(TypeError):
        np.asarray(a)
    with pytest.raises(TypeError):
        np.exp(a)
    with pytest.raises(TypeError):
        np.add.at(a, [0], 1.0)
    with pytest.raises(TypeError):
        np.concatenate([a, a])
    with pytest.raises(TypeError, match="mixed with device arrays"):
        a + np.ones(3)
    with pytest.raises(TypeError, match="mixed with device arrays"):
        np.ones(3) + a
    with pytest.raises(AttributeError, match="not a CuPy function"):
        backend.get_array_module(a).random


def test_import_is_fast_and_does_not_import_cupy():
    code = ("import sys, time; t = time.perf_counter(); import minidl; "
            "print(time.perf_counter() - t, 'cupy' in sys.modules, 'numba' in sys.modules)")
    best = min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True, cwd=ROOT).stdout.split()[0]) for _ in range(3))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout.split()
    assert out[1] == "False", "import minidl imported cupy"
    assert out[2] == "False", "import minidl imported numba (the kernels import it at their first call)"
    assert best < 0.5, f"import minidl took {best:.3f} s"


def test_lint_forbids_numpy_only_calls_outside_the_backend():
    ruff = pytest.importorskip("ruff")
    del ruff
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_lint_catches_a_planted_numpy_call(tmp_path):
    pytest.importorskip("ruff")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    bad = tmp_path / "minidl" / "functional" / "planted.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("import numpy as np\n\n\ndef f(a, i):\n    np.add.at(a, i, 1)\n")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1 and "TID251" in result.stdout, result.stdout
