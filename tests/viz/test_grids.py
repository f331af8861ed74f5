"""Filter, feature-map and heat-map grids: what each tile shows."""
import numpy as np
import pytest

import minidl
from minidl import models, viz
from tests.viz.twins import digits_like

pytest.importorskip("matplotlib")


def shown(fig):
    """The arrays drawn, one per axes that holds an image, in order."""
    return [np.asarray(im.get_array()) for ax in fig.axes for im in ax.images]


def test_filters_grey_one_channel_each_and_colour_for_three():
    model = models.get("lenet5")
    tiles = shown(viz.plot_filters(model.c1))
    w = model.c1.weight.numpy()[:, 0]
    assert len(tiles) == 6
    for tile, f in zip(tiles, w):
        np.testing.assert_allclose(tile, (f - f.min()) / (f.max() - f.min()), rtol=1e-6)
    assert len(shown(viz.plot_filters(model.c3, channel=5))) == 16
    colour = shown(viz.plot_filters(np.random.default_rng(0).standard_normal((4, 3, 5, 5))))
    assert [t.shape for t in colour] == [(5, 5, 3)] * 4
    with pytest.raises(ValueError, match=r"expected a weight \(F, C, KH, KW\)"):
        viz.plot_filters(model.f6)


def test_feature_maps_are_the_layer_output():
    model = models.get("lenet5")
    images = digits_like(2)
    kept = []
    handle = model.act1.register_forward_hook(lambda m, i, out: kept.append(out.numpy()))
    with minidl.no_grad():
        model.eval()(minidl.Tensor(images))
    handle.remove()
    model.train()
    np.testing.assert_array_equal(viz.feature_maps(model, "act1", images), kept[0])
    assert model.training
    assert len(shown(viz.plot_feature_maps(model, "act1", images[0], max_maps=4))) == 4


def test_heatmaps_over_their_images():
    images, maps = digits_like(3), np.random.default_rng(0).random((3, 28, 28))
    fig = viz.plot_heatmaps(images, maps, titles=["a", "b", "c"])
    assert len(shown(fig)) == 9                 # the image alone, then the image under its map
    with pytest.raises(ValueError, match="do not match"):
        viz.plot_heatmaps(images, maps[:, :14])
    with pytest.raises(ValueError, match="a tile must be"):
        viz.image_grid([np.zeros((2, 4, 4))])
