"""minidl.gradcheck: the verdict of gradcheck and the figures of compare_gradients behind it."""
import numpy as np
import pytest

import minidl
from minidl.gradcheck import GradcheckError, compare_gradients, gradcheck


class WrongDouble(minidl.Function):
    """y = 2 x with a backward that says 3."""

    def forward(self, x):
        return 2 * x

    def backward(self, gy):
        return 3 * gy


def _x():
    return minidl.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)


def test_a_right_backward_differs_by_rounding_only():
    result = compare_gradients(lambda x: x * x, [_x()])
    assert result.ok and result.max_difference < 1e-8
    assert gradcheck(lambda x: x * x, [_x()]) is True


def test_the_largest_difference_of_a_wrong_backward():
    # L = sum(w * y) with the weights w drawn from seed 0, so dL/dx = 2 w and the backward says 3 w:
    # the element with the largest |w| differs by |w|
    w = np.random.default_rng(0).standard_normal(3)
    result = compare_gradients(lambda x: WrongDouble()(x), [_x()])
    assert not result.ok
    assert result.max_difference == pytest.approx(np.abs(w).max(), rel=1e-6)
    worst = int(np.abs(w).argmax())
    assert result.index == (worst,) and result.input == 0
    assert (result.analytic, result.numerical) == pytest.approx((3 * w[worst], 2 * w[worst]), rel=1e-6)


def test_gradcheck_raises_with_the_figures_or_returns_false():
    message = r"gradcheck failed for input 0 \(shape \(3,\)\) at index"
    with pytest.raises(GradcheckError, match=message) as error:
        gradcheck(lambda x: WrongDouble()(x), [_x()])
    assert error.value.result.max_difference > 0.1
    assert gradcheck(lambda x: WrongDouble()(x), [_x()], raise_exception=False) is False
