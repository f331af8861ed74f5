"""Shapes: seeded, balanced, any size and channel count."""
import numpy as np
import pytest

from minidl.data.datasets import Shapes


def test_the_seed_fixes_the_images():
    a, b = Shapes(num_samples=40, seed=1), Shapes(num_samples=40, seed=1)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.targets, b.targets)
    assert not np.array_equal(a.data, Shapes(num_samples=40, seed=2).data)
    assert not np.array_equal(a.data, Shapes(num_samples=40, seed=1, train=False).data)


def test_sizes_channels_and_balance():
    ds = Shapes(num_samples=100, image_size=32, channels=3, num_classes=5)
    assert ds.data.shape == (100, 3, 32, 32) and ds.data.dtype == np.uint8
    assert np.bincount(ds.targets).tolist() == [20] * 5
    assert ds.classes == ["square", "disk", "triangle", "cross", "ring"]
    assert len(Shapes()) == 2000 and len(Shapes(train=False)) == 500


def test_shapes_stand_out_from_the_background():
    ds = Shapes(num_samples=500, num_classes=5)
    bright = (ds.data >= 0.6 * 255).reshape(500, -1).sum(axis=1)     # background noise stays below 0.25
    assert bright.min() > 5                                            # every image shows its shape
    disks, rings = bright[ds.targets == 1], bright[ds.targets == 4]
    assert disks.mean() > 1.5 * rings.mean()                            # a ring is a disk with a hole


def test_errors():
    with pytest.raises(ValueError, match="num_classes"):
        Shapes(num_classes=6)
    with pytest.raises(ValueError, match="image_size"):
        Shapes(image_size=4)
