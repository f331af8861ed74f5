"""top_activations: the strongest units found by brute force, their patches the receptive fields."""
from collections import OrderedDict

import numpy as np
import pytest

import minidl
import minidl.nn as nn
from minidl import viz
from minidl.data import TensorDataset

rng = np.random.default_rng(0)
IMAGES = rng.standard_normal((23, 1, 9, 9)).astype(np.float32)


def two_convs():
    """conv 3x3 pad 1, tanh, conv 3x3 pad 1, tanh, linear: unit (i, j) of act2 sees rows i-2..i+2."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 4, 3, padding=1)), ("act1", nn.Tanh()),
        ("conv2", nn.Conv2d(4, 3, 3, padding=1)), ("act2", nn.Tanh()),
        ("flatten", nn.Flatten()), ("fc", nn.Linear(3 * 81, 5))]))


def brute_force(model, layer, channel):
    kept = []
    handle = dict(model.named_modules())[layer].register_forward_hook(lambda m, i, out: kept.append(out))
    with minidl.no_grad():
        model.eval()(minidl.Tensor(IMAGES))
    handle.remove()
    return kept[0].numpy()[:, channel]


def test_strongest_units_and_their_receptive_fields():
    model = two_convs()
    maps = brute_force(model, "act2", 1)                                   # (23, 9, 9)
    found = viz.top_activations(model, "act2", 1, TensorDataset(IMAGES, np.zeros(23)), k=5, batch_size=7)
    order = np.argsort(-maps.reshape(23, -1).max(axis=1))[:5]
    assert [a.index for a in found] == order.tolist()
    for a in found:
        i, j = a.position
        assert a.value == pytest.approx(maps[a.index].max()) == pytest.approx(maps[a.index, i, j])
        assert a.box == (max(i - 2, 0), max(j - 2, 0), min(i + 3, 9), min(j + 3, 9))


def test_linear_layer_units_see_the_whole_image_and_bare_images_work():
    model = two_convs()
    found = viz.top_activations(model, "fc", 4, IMAGES, k=3)               # a plain array of images
    assert [a.index for a in found] == np.argsort(-brute_force(model, "fc", 4))[:3].tolist()
    assert all(a.position is None and a.box == (0, 0, 9, 9) for a in found)
    fig = viz.plot_top_activations(IMAGES, found)
    assert len([ax for ax in fig.axes if ax.images]) == 3


def test_errors_name_the_problem():
    model = two_convs()
    with pytest.raises(ValueError, match="has 3 channels, no channel 3"):
        viz.top_activations(model, "act2", 3, IMAGES)
    with pytest.raises(ValueError, match="not floating point"):
        viz.top_activations(model, "act2", 0, (IMAGES * 10).astype(np.uint8))
