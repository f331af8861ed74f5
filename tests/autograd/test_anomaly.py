"""Anomaly mode: writes into arrays the graph keeps, and NaN gradients, are refused; off, nothing changes."""
import numpy as np
import pytest

import minidl
from minidl.autograd import (BackwardError, Function, detect_anomaly, is_anomaly_check_nan_enabled,
                             is_anomaly_enabled, set_detect_anomaly)
from tests.conftest import make

X = np.array([[0.5, -1.5, 2.0], [1.0, 3.0, -0.25]])
W = np.array([[1.0, 2.0], [-1.0, 0.5], [0.25, 3.0]])


def _write_into_data(t):
    t.data[...] = 7.0


def _add_into_data(t):
    t.data[...] += 1.0     # indexing writes into the array: the tensor's .data is not assigned


def _add_through_a_reference(t):
    array = t.data
    array += 1.0


def _matmul(x, w):
    return (x @ w).sum()


def _mul(x, w):
    return (x.T * w).sum()


# Each case: (the loss of x and w, an edit of w, the op that sees it).  x @ w and x.T * w
# both keep w, their input 1, for their backward: x's gradient is made from it.
CASES = {
    "matmul, .data[...] = v": (_matmul, _write_into_data, "MatMul"),
    "mul, .data[...] = v": (_mul, _write_into_data, "Mul"),
    "matmul, .data[...] += 1": (_matmul, _add_into_data, "MatMul"),
    "mul, += through a reference": (_mul, _add_through_a_reference, "Mul"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_write_into_a_saved_array_is_refused_in_anomaly_mode(device, case):
    loss_of, edit, op = CASES[case]
    x, w = make(X, device, requires_grad=True), make(W, device, requires_grad=True)
    with detect_anomaly():
        loss = loss_of(x, w)
        edit(w)
        with pytest.raises(BackwardError, match=rf"backward through {op}: its input 1 of shape \(3, 2\) was "
                                                r"modified in place after the forward pass \(found by"):
            loss.backward()


def _x_gradient(loss_of, w_values):
    x = make(X, requires_grad=True)
    loss_of(x, make(w_values)).backward()
    return x.grad.numpy()


@pytest.mark.parametrize("case", list(CASES))
def test_without_anomaly_mode_the_same_write_silently_changes_the_gradient(case):
    """The default, as in PyTorch: the version counter does not see writes into the array itself."""
    loss_of, edit, _ = CASES[case]
    x, w = make(X, requires_grad=True), make(W, requires_grad=True)
    loss = loss_of(x, w)
    edit(w)
    loss.backward()
    # the backward read the edited w: x's gradient is that of a forward on the edited values
    np.testing.assert_array_equal(x.grad.numpy(), _x_gradient(loss_of, w.numpy()))
    assert not np.allclose(x.grad.numpy(), _x_gradient(loss_of, W))


def test_a_write_into_the_numpy_array_a_tensor_wraps_is_refused():
    array = W.copy()
    w = minidl.Tensor(array, requires_grad=True)     # wraps the array, unlike minidl.tensor
    with detect_anomaly():
        loss = (w * w).sum()
        array[0, 0] = 100.0
        with pytest.raises(BackwardError, match=r"backward through Mul: its input 0 of shape \(3, 2\)"):
            loss.backward()
    w = minidl.Tensor(array, requires_grad=True)
    loss = (w * w).sum()
    array[0, 0] = 1.0
    loss.backward()                                 # outside anomaly mode: 2 * 1, not 2 * 100
    assert w.grad.numpy()[0, 0] == 2.0


def test_an_edit_of_an_intermediate_activation_is_refused(device):
    x = make(X, device, requires_grad=True)
    with detect_anomaly():
        h = (x * 2).exp()            # Exp keeps its output h for its backward
        h.data[...] = 0.0            # before any op used h: only Exp's own fingerprint sees it
        with pytest.raises(BackwardError, match=r"backward through Exp: its output 0 of shape \(2, 3\)"):
            h.sum().backward()
        h = (x * 2).exp()
        loss = (h * h).sum()
        h.detach().data[0] = 1.0     # after: the Mul that used it is the first to see it
        with pytest.raises(BackwardError, match=r"backward through Mul: its input 0 of shape \(2, 3\)"):
            loss.backward()


def test_an_array_written_and_restored_before_the_backward_passes():
    """The fingerprints compare contents, so gradcheck's perturb-and-restore is not an edit."""
    w = make(W, requires_grad=True)
    with detect_anomaly():
        loss = (w * w).sum()
        w.data[0, 0] += 1.0
        w.data[0, 0] -= 1.0
        loss.backward()
        w.data[...] = 0.0            # after the backward the graph is freed: nothing is checked
    np.testing.assert_array_equal(w.grad.numpy(), 2 * W)


def _gradients(device):
    """The gradients of a graph of matmul, broadcasting, reshape, indexing, exp, log and a reduction."""
    x, w = make(X, device, requires_grad=True), make(W, device, requires_grad=True)
    b = make([0.5, -0.5], device, requires_grad=True)
    h = (x @ w + b).exp()
    loss = ((h.reshape(4, 1)[1:] * 3).log() + h[0, 1] * x.sum()).mean()
    loss.backward()
    return [t.grad.numpy() for t in (x, w, b)]


def test_unedited_graphs_get_the_same_gradients_with_anomaly_mode_on_and_off(device):
    off = _gradients(device)
    with detect_anomaly():
        on = _gradients(device)
    for a, b in zip(off, on):
        np.testing.assert_array_equal(a, b)


def test_outside_anomaly_mode_nothing_is_fingerprinted():
    w = make(W, requires_grad=True)
    assert not is_anomaly_enabled()
    assert (w * w).creator.fingerprints == ()
    with detect_anomaly():
        assert len((w * w).creator.fingerprints) == 3     # two inputs, one output


class NaNGradient(Function):
    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return gy * np.nan


def test_a_nan_gradient_is_refused_naming_the_op_whose_backward_made_it(device):
    x = make(X, device, requires_grad=True)
    with detect_anomaly():
        with pytest.raises(BackwardError, match=r"NaNGradient.backward returned NaN in the gradient of its "
                                                r"input 0 of shape \(2, 3\) \(found by anomaly mode\)"):
            (NaNGradient()(x) * 3).sum().backward()
        zero = make([0.0, 1.0], device, requires_grad=True)
        with pytest.raises(BackwardError, match="Log.backward returned NaN"), np.errstate(all="ignore"):
            (zero.log() * 0).sum().backward()         # Mul's gradient 0, then Log's 0 / 0
    NaNGradient()(x).sum().backward()                 # outside anomaly mode, as in PyTorch, it passes
    assert np.isnan(x.grad.numpy()).all()
    x.grad = None
    with detect_anomaly(check_nan=False):
        NaNGradient()(x).sum().backward()
    assert np.isnan(x.grad.numpy()).all()


def _mode():
    return is_anomaly_enabled(), is_anomaly_check_nan_enabled()


def test_the_mode_nests_and_the_previous_one_comes_back_even_after_an_error():
    assert _mode() == (False, False)
    with pytest.raises(KeyError):
        with detect_anomaly(check_nan=False):
            assert _mode() == (True, False)
            with set_detect_anomaly(False):
                assert _mode() == (False, False)
                with detect_anomaly():
                    assert _mode() == (True, True)
                    raise KeyError
    assert _mode() == (False, False)
    assert minidl.is_anomaly_enabled is is_anomaly_enabled       # top-level, as torch.is_anomaly_enabled


def test_set_detect_anomaly_as_a_call_and_detect_anomaly_as_a_decorator():
    @detect_anomaly()
    def mode_inside():
        return _mode()

    assert mode_inside() == (True, True) and _mode() == (False, False)
    set_detect_anomaly(True)
    try:
        assert _mode() == (True, True)
    finally:
        set_detect_anomaly(False)
    assert _mode() == (False, False)
