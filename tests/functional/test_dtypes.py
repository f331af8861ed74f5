"""Ops on real numbers refuse integer and boolean input instead of wrapping around or truncating."""
import numpy as np
import pytest

import minidl
import minidl.functional as F
import minidl.nn as nn
from minidl.autograd import OpError


def test_conv2d_on_uint8_refuses_instead_of_wrapping_around():
    conv = nn.Conv2d(1, 1, 3, bias=False)
    conv.weight.data[...] = 0.25
    image = minidl.tensor(np.full((1, 1, 3, 3), 200, np.uint8))
    # the true answer is 450; uint8 arithmetic used to return 194
    with pytest.raises(OpError, match=r"needs floating-point inputs, got uint8.*\.float\(\)"):
        conv(image)
    assert conv(image.float()).item() == pytest.approx(450)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
@pytest.mark.parametrize("op", [
    lambda x: F.conv2d(x, minidl.ones(1, 1, 2, 2)),
    lambda x: F.avg_pool2d(x, 2),
    lambda x: F.max_pool2d(x, 2),
    lambda x: F.adaptive_avg_pool2d(x, 1),
    lambda x: F.cross_entropy(x.reshape(1, 16), np.array([0])),
    lambda x: F.nll_loss(x.reshape(1, 16), np.array([0])),
    lambda x: F.linear(x.reshape(1, 16), minidl.ones(2, 16)),
    lambda x: F.softmax(x, 1),
    lambda x: F.log_softmax(x, 1),
    lambda x: F.sigmoid(x),
    lambda x: F.dropout(x, 0.5),
    lambda x: F.batch_norm(x, None, None, training=True),
], ids=["conv2d", "avg_pool2d", "max_pool2d", "adaptive_avg_pool2d", "cross_entropy", "nll_loss",
        "linear", "softmax", "log_softmax", "sigmoid", "dropout", "batch_norm"])
def test_float_ops_raise_a_named_error_on_integer_input(op, dtype):
    x = minidl.tensor(np.arange(16).reshape(1, 1, 4, 4).astype(dtype))
    with pytest.raises(OpError, match=f"needs floating-point inputs, got {np.dtype(dtype)}"):
        op(x)


def test_ops_defined_on_integers_keep_them():
    # PyTorch computes relu and max on integers exactly; so does minidl
    x = minidl.tensor(np.array([-3, 0, 5]))
    assert F.relu(x).tolist() == [0, 0, 5] and F.relu(x).dtype == np.int64


# -- truthiness ----------------------------------------------------------------------------
def test_bool_of_a_one_element_tensor_is_its_value():
    assert bool(minidl.tensor([1.0]) == minidl.tensor([1.0]))
    assert not bool(minidl.tensor(2.0) == minidl.tensor(3.0))
    assert minidl.tensor(2.0) in [minidl.tensor(2.0)]
    assert minidl.tensor(2.0) not in [minidl.tensor(3.0)]


def test_bool_of_a_larger_tensor_names_its_shape():
    a, b = minidl.tensor([1.0, 2.0]), minidl.tensor([5.0, 6.0])
    with pytest.raises(OpError, match=r"bool: the truth value of a tensor of shape \(2,\) is ambiguous"):
        if a == b:
            pass
    with pytest.raises(OpError, match="ambiguous"):
        _ = a in [b]      # was True for unrelated tensors
    with pytest.raises(OpError, match=r"shape \(0,\)"):
        bool(minidl.zeros(0))
