"""Small networks of the tests, with PyTorch twins whose state_dict names match minidl's."""
from collections import OrderedDict

import numpy as np

import minidl.nn as nn


def lenet5_twin(torch):
    """PyTorch's copy of ``models.get("lenet5")`` (ReLU, max pooling, 28x28 inputs)."""
    t = torch.nn
    return t.Sequential(OrderedDict([
        ("c1", t.Conv2d(1, 6, 5, padding=2)), ("act1", t.ReLU()), ("s2", t.MaxPool2d(2)),
        ("c3", t.Conv2d(6, 16, 5)), ("act3", t.ReLU()), ("s4", t.MaxPool2d(2)),
        ("c5", t.Conv2d(16, 120, 5)), ("act5", t.ReLU()), ("flatten", t.Flatten()),
        ("f6", t.Linear(120, 84)), ("act6", t.ReLU()), ("out", t.Linear(84, 10))]))


def tiny_convnet():
    """Conv 2->3 3x3, ReLU, max pool 2, linear 27->4 on (2, 8, 8) images, in float64."""
    return nn.Sequential(OrderedDict([
        ("conv", nn.Conv2d(2, 3, 3, padding=1)), ("relu", nn.ReLU()), ("pool", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()), ("fc", nn.Linear(3 * 4 * 4, 4))])).double()


def digits_like(n, size=28, channels=1, seed=0):
    """``n`` random images (N, C, size, size) in float32, smooth enough to be unlike each other."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, channels, size, size)).astype(np.float32)
