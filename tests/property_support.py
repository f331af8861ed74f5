"""What the property-based tests share: how many examples, generated arrays, and the verdict.

The verdict of one generated case: minidl either raises one of its own named
errors (a class defined in minidl, such as OpError) or gives PyTorch's
answer, outputs and gradients.  Where PyTorch has no kernel for the dtype
(float16 on the CPU, integer means), minidl's answer must be the one PyTorch
gives on the input promoted to float32 or float64, in a floating dtype.
"""
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidl
from minidl import backend

# The default run: a few examples per op, the same ones every time.  The slow run goes wider.
FAST = dict(max_examples=5, derandomize=True)
WIDE = dict(max_examples=150)

FLOATS = (np.float64, np.float32, np.float16)
DTYPES = st.sampled_from([np.float64, np.float64, np.float32, np.float32, np.float16,
                          np.int64, np.int32, np.uint8, np.bool_])
DEVICES = st.sampled_from(["cpu", "strict"])


def run_property(check, examples):
    """Run ``check(data)`` (``data`` a Hypothesis draw) on ``examples`` generated cases."""
    @settings(deadline=None, database=None, suppress_health_check=list(HealthCheck), **examples)
    @given(data=st.data())
    def run(data):
        check(data)
    run()


def values(data, shape, dtype, special=None):
    """An array of ``shape`` and ``dtype``: floats near 1 in size (no ties), sometimes NaN and +-inf."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1), label="seed"))
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        x = rng.standard_normal(shape) * 2
        if special is None:
            special = data.draw(st.sampled_from([False, False, False, True]), label="special")
        if special and x.size:
            x.flat[rng.integers(0, x.size, 1 + x.size // 8)] = rng.choice([np.nan, np.inf, -np.inf])
        return x.astype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    low = 0 if dtype.kind == "u" else -5
    return rng.integers(low, 6, shape).astype(dtype)


def is_named_minidl_error(error):
    return any(cls.__module__.startswith("minidl") for cls in type(error).__mro__[:-1])


@dataclass
class Case:
    """One generated call: ``ours(*tensors)`` and ``theirs(torch, *torch_tensors)`` on ``arrays``."""
    arrays: list
    ours: object
    theirs: object
    grad: list = field(default=None)      # which arrays get a gradient (default: floating ones)
    device: str = "cpu"


def _tolerance(dtype):
    return {np.float16: 2e-2, np.float32: 1e-4}.get(np.dtype(dtype).type, 1e-8)


def assert_matches(ours, theirs, dtype, what):
    theirs = np.asarray(theirs, dtype=np.float64) if theirs.dtype.kind in "fc" else np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape}, PyTorch {theirs.shape}"
    if theirs.dtype.kind in "biu" and ours.dtype.kind in "biu":
        np.testing.assert_array_equal(ours, theirs, err_msg=what)
        return
    rtol = _tolerance(dtype)
    finite = np.abs(theirs[np.isfinite(theirs)])
    atol = rtol * max(float(finite.max(initial=0.0)), 1.0)
    np.testing.assert_allclose(ours.astype(np.float64), theirs, rtol=rtol, atol=atol, equal_nan=True,
                               err_msg=what)


def _torch_dtype(torch, dtype):
    return {np.float16: torch.float16, np.float32: torch.float32}.get(np.dtype(dtype).type, torch.float64)


def check_case(case):
    """The verdict on one case (see the module docstring)."""
    torch = pytest.importorskip("torch")
    grad = case.grad if case.grad is not None else [a.dtype.kind == "f" for a in case.arrays]
    tensors = [minidl.Tensor(backend.to_device(a, case.device), requires_grad=bool(g))
               for a, g in zip(case.arrays, grad)]
    try:
        y = case.ours(*tensors)
    except Exception as error:      # noqa: BLE001 - the property is about which errors escape
        assert is_named_minidl_error(error), f"raised {type(error).__name__}: {error}"
        return
    ty, theirs = _reference(torch, case, y)
    floating = {a.dtype for a in case.arrays if a.dtype.kind == "f"}
    dtype = next(iter(floating)) if len(floating) == 1 else np.float64
    if not floating and ty.is_floating_point():
        dtype = {torch.float16: np.float16, torch.float32: np.float32}.get(ty.dtype, np.float64)
    if y.dtype.kind == "f" and len(floating) == 1:
        assert y.dtype == dtype, f"output dtype {y.dtype}, inputs {dtype}"
    assert_matches(y.numpy(), ty.detach().to(torch.float64 if ty.is_floating_point() else ty.dtype).numpy(),
                   dtype, "output")
    finite = all(np.isfinite(a).all() for a in case.arrays if a.dtype.kind == "f")
    if not (y.requires_grad and ty.requires_grad and finite and any(grad)):
        return      # ties between infinities and NaN gradients follow no convention worth comparing
    gy = values_like(ty, y.dtype)
    y.backward(minidl.Tensor(backend.to_device(gy, case.device)))
    ty.backward(torch.tensor(gy.astype(np.float64)).to(ty.dtype))
    for i, (a, t, g) in enumerate(zip(tensors, theirs, grad)):
        if g:
            assert a.grad is not None, f"no gradient for input {i}"
            assert a.grad.dtype == a.dtype, f"gradient of input {i} is {a.grad.dtype}, input {a.dtype}"
            assert_matches(a.grad.numpy(), t.grad.to(torch.float64).numpy(), dtype, f"gradient of input {i}")


def values_like(ty, dtype):
    rng = np.random.default_rng(len(ty.shape))
    return rng.standard_normal(tuple(ty.shape)).astype(dtype)


def _reference(torch, case, y):
    """PyTorch's output and inputs on the case, promoted to the dtypes PyTorch has kernels for."""
    grad = case.grad if case.grad is not None else [a.dtype.kind == "f" for a in case.arrays]

    def attempt(cast):
        inputs = [torch.tensor(cast(a)).requires_grad_(bool(g) and cast(a).dtype.kind == "f")
                  for a, g in zip(case.arrays, grad)]
        return case.theirs(torch, *inputs), inputs

    try:
        return attempt(lambda a: a)
    except (RuntimeError, TypeError, NotImplementedError) as error:
        first = error
    # no kernel for float16 on the CPU, or for integers (a mean, a sigmoid): minidl's answer
    # must then be the exact one, in whatever dtype it promotes to
    promote = {"f": np.float32, "b": np.float64, "i": np.float64, "u": np.float64}
    try:
        return attempt(lambda a: a.astype(promote[a.dtype.kind]) if a.dtype != np.float64 else a)
    except (RuntimeError, TypeError, NotImplementedError):
        pytest.fail(f"minidl returned a {y.dtype} result of shape {y.shape} where PyTorch raises "
                    f"{type(first).__name__}: {first}")
