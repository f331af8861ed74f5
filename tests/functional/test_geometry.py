"""Window geometry: normalization of the arguments, output sizes, and errors naming the argument."""
import pytest

import minidl
import minidl.functional as F
from minidl import nn
from minidl.autograd import OpError
from minidl.functional.geometry import axis_output_size, conv_window, ints, pool_window


def test_ints_normalizes_ints_and_tuples():
    assert ints(3, "kernel_size", "op") == (3, 3)
    assert ints([2, 5], "kernel_size", "op") == (2, 5)
    assert ints(4, "stride", "op", n=1) == (4,)


@pytest.mark.parametrize("value, message", [
    (1.5, r"op: stride must be an int or a tuple of 2 ints, got 1.5"),
    (True, r"op: stride must be an int or a tuple of 2 ints, got True"),
    ((1, 2, 3), r"op: stride must be an int or a tuple of 2 ints, got \(1, 2, 3\)"),
    ("2", r"op: stride must be an int or a tuple of 2 ints, got '2'"),
    (0, r"op: stride must be at least 1, got 0"),
    ((1, -1), r"op: stride must be at least 1, got \(1, -1\)"),
])
def test_ints_rejects_what_is_not_a_count(value, message):
    with pytest.raises(OpError, match=message):
        ints(value, "stride", "op", minimum=1)


@pytest.mark.parametrize("kernel, dilation, expected", [
    (3, 1, ((1, 1), (1, 1))), (4, 1, ((1, 2), (1, 2))), ((2, 5), 1, ((0, 1), (2, 2))),
    (4, 2, ((3, 3), (3, 3)))])
def test_same_padding_splits_the_extra_pixels_with_the_odd_one_last(kernel, dilation, expected):
    window = conv_window("conv2d", kernel, 1, "same", dilation)
    assert window.padding == expected
    assert window.output_size((7, 6)) == (7, 6)


def test_padding_forms_agree():
    assert conv_window("op", 3, padding=1).padding == conv_window("op", 3, padding=((1, 1), (1, 1))).padding
    assert conv_window("op", 3, padding="valid").padding == ((0, 0), (0, 0))
    assert conv_window("op", 3, padding=(2, 0)).padding == ((2, 2), (0, 0))


@pytest.mark.parametrize("size, kernel, stride, padding, dilation, ceil_mode, expected", [
    (28, 5, 1, (2, 2), 1, False, 28), (227, 11, 4, (0, 0), 1, False, 55), (7, 3, 2, (0, 0), 1, True, 3),
    (6, 3, 2, (0, 0), 1, True, 3), (5, 2, 2, (0, 0), 1, True, 3), (5, 2, 2, (0, 0), 1, False, 2),
    (4, 5, 1, (0, 0), 1, False, 0)])
def test_axis_output_size(size, kernel, stride, padding, dilation, ceil_mode, expected):
    """floor((H + P - D(K-1) - 1) / S) + 1, or ceil with ceil_mode, never a window only of padding."""
    assert axis_output_size(size, kernel, stride, padding, dilation, ceil_mode) == expected


def test_pool_window_defaults_stride_to_the_kernel_and_checks_ceil_mode():
    assert pool_window("op", (2, 3)).stride == (2, 3)
    assert pool_window("op", 2, ceil_mode=1).ceil_mode is True
    with pytest.raises(OpError, match="op: ceil_mode must be True or False, got 'yes'"):
        pool_window("op", 2, ceil_mode="yes")
    with pytest.raises(OpError, match="op: ceil_mode must be True or False, got 2"):
        pool_window("op", 2, ceil_mode=2)


@pytest.mark.parametrize("call, message", [
    (lambda: F.max_pool2d(minidl.rand(1, 1, 4, 4), 2, stride=1.5), "max_pool2d: stride must be an int"),
    (lambda: F.avg_pool2d(minidl.rand(1, 1, 4, 4), 2, padding=-1), "avg_pool2d: padding must be at least 0"),
    (lambda: F.max_pool2d(minidl.rand(1, 1, 4, 4), 2, dilation=0), "max_pool2d: dilation must be at least 1"),
    (lambda: nn.MaxPool2d(2, stride=0), "MaxPool2d: stride must be at least 1"),
    (lambda: nn.AvgPool2d(3, padding=2), r"AvgPool2d: padding \(2, 2\) must be at most half the kernel"),
    (lambda: nn.MaxPool1d(2.0), "MaxPool1d: kernel_size, stride and padding must be ints, got kernel_size="),
    (lambda: F.im2col(minidl.rand(1, 1, 4, 4).data, 2, stride=0), "im2col: stride must be at least 1"),
    (lambda: F.conv1d(minidl.rand(1, 1, 8), minidl.rand(1, 1, 3), padding=-1), "conv1d: padding must be at"),
])
def test_bad_arguments_raise_an_error_naming_the_op_and_the_argument(call, message):
    with pytest.raises(OpError, match=message):
        call()
