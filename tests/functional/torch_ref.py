"""Compare an op with its PyTorch counterpart: the output and the gradient of every input."""
import numpy as np
import pytest

import minidl

# float32 agrees to about 1e-5 relative, float64 to about 1e-10; the absolute part is
# relative to the largest value, for elements that are (nearly) zero
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}


def assert_close(ours, reference, dtype, what=""):
    rtol = TOLERANCE[np.dtype(dtype).type]
    reference = np.asarray(reference)
    atol = rtol * max(float(np.abs(reference).max(initial=0.0)), 1e-30) * 0.1
    np.testing.assert_allclose(ours, reference, rtol=rtol, atol=atol, err_msg=what)


def check_against_torch(fn, torch_fn, arrays, dtype, grad=None, seed=0):
    """Run ``fn`` on minidl tensors and ``torch_fn`` on torch tensors made from ``arrays``.

    Floating arrays are cast to ``dtype``; ``grad`` lists, for each array, whether
    its gradient is compared (default: every floating array).  Both outputs are
    backpropagated with the same random upstream gradient.
    """
    torch = pytest.importorskip("torch")
    arrays = [np.asarray(a).astype(dtype) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
              for a in arrays]
    if grad is None:
        grad = [a.dtype.kind == "f" for a in arrays]
    ours = [minidl.tensor(a, requires_grad=g) for a, g in zip(arrays, grad)]
    theirs = [torch.tensor(a, requires_grad=bool(g)) for a, g in zip(arrays, grad)]
    y, ty = fn(*ours), torch_fn(*theirs)
    if y.dtype.kind == "f":
        assert y.dtype == np.dtype(dtype), f"output dtype {y.dtype}, expected {np.dtype(dtype)}"
    assert_close(y.numpy(), ty.detach().numpy(), dtype, "output")
    if not any(grad):
        return
    gy = np.asarray(np.random.default_rng(seed).standard_normal(y.shape), dtype=dtype)
    y.backward(minidl.tensor(gy))
    ty.backward(torch.tensor(gy))
    for i, (a, t, g) in enumerate(zip(ours, theirs, grad)):
        if g:
            assert_close(a.grad.numpy(), t.grad.numpy(), dtype, f"gradient of input {i}")
