"""Sequential, ModuleList, ModuleDict, Identity and Flatten."""
from collections import OrderedDict

import numpy as np
import pytest

import minidl
from minidl import nn


class Scale(nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor
        self.weight = nn.Parameter(minidl.ones(1))

    def forward(self, x):
        return x * self.factor


def test_sequential_calls_in_order_and_names_by_position():
    seq = nn.Sequential(Scale(2), Scale(3))
    assert seq(minidl.tensor([1.0])).item() == 6
    assert list(seq.state_dict()) == ["0.weight", "1.weight"]


def test_sequential_from_ordered_dict_keeps_names():
    seq = nn.Sequential(OrderedDict([("twice", Scale(2)), ("thrice", Scale(3))]))
    assert seq.twice.factor == 2 and seq[1] is seq.thrice
    assert list(seq.state_dict()) == ["twice.weight", "thrice.weight"]


def test_sequential_indexing_slicing_len_append():
    a, b, c = Scale(2), Scale(3), Scale(5)
    seq = nn.Sequential(a, b)
    assert len(seq) == 2 and seq[-1] is b and list(seq) == [a, b]
    seq.append(c)
    assert len(seq) == 3 and seq[2] is c
    head = seq[1:]
    assert isinstance(head, nn.Sequential) and list(head) == [b, c]
    assert list(head.state_dict()) == ["1.weight", "2.weight"]
    assert head(minidl.tensor([1.0])).item() == 15
    seq[0] = Scale(7)
    assert seq(minidl.tensor([1.0])).item() == 105
    with pytest.raises(IndexError, match="index 3 is out of range for 3 modules"):
        seq[3]


def test_module_list_registers_its_modules():
    layers = nn.ModuleList([Scale(2), Scale(3)])
    layers.append(Scale(5))
    layers.extend([Scale(7)])
    layers.insert(0, Scale(11))
    assert [m.factor for m in layers] == [11, 2, 3, 5, 7]
    assert len(list(layers.parameters())) == 5
    assert [m.factor for m in layers[1:3]] == [2, 3]
    assert list(layers.state_dict())[0] == "0.weight"


def test_module_dict_behaves_like_a_dict():
    d = nn.ModuleDict({"a": Scale(2)})
    d["b"] = Scale(3)
    d.update([("c", Scale(5))])
    assert list(d) == ["a", "b", "c"] and "b" in d and len(d) == 3
    assert [m.factor for m in d.values()] == [2, 3, 5]
    del d["a"]
    assert list(d.keys()) == ["b", "c"]
    assert list(d.state_dict()) == ["b.weight", "c.weight"]


def test_identity_and_flatten():
    x = minidl.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    assert nn.Identity(54, unused=True)(x) is x
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)
    np.testing.assert_array_equal(nn.Flatten()(x).numpy(), x.numpy().reshape(2, 12))
