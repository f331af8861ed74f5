"""The photo presets: any size and aspect ratio in, one square size out, by seed."""
import numpy as np

import minidl
from minidl.data import presets
from minidl.data import transforms as T

rng = np.random.default_rng(0)
SHAPES = [(3, 375, 500), (3, 500, 333), (3, 64, 64), (3, 40, 300)]


def test_train_transform_gives_one_size_from_any_photo():
    t = presets.photo_train_transform(32, presets.IMAGENET_MEAN, presets.IMAGENET_STD, vertical_flip=True)
    assert [type(s).__name__ for s in t.transforms] == [
        "RandomResizedCrop", "RandomRotation", "RandomHorizontalFlip", "RandomVerticalFlip", "ToFloat",
        "Normalize"]
    for shape in SHAPES:
        x = rng.integers(0, 256, shape, dtype=np.uint8)
        minidl.manual_seed(3)
        a = t(x)
        minidl.manual_seed(3)
        assert a.shape == (3, 32, 32) and a.dtype == np.float32 and np.array_equal(a, t(x))
    plain = presets.photo_train_transform(32, [0.5], [0.5], degrees=0, horizontal_flip=False)
    assert [type(s).__name__ for s in plain.transforms] == ["RandomResizedCrop", "ToFloat", "Normalize"]


def test_eval_transform_is_resize_then_centre_crop():
    x = rng.integers(0, 256, (3, 375, 500), dtype=np.uint8)
    out = presets.photo_eval_transform(224, [0.5] * 3, [0.25] * 3)(x)
    normalize = T.Normalize([0.5] * 3, [0.25] * 3)
    expected = T.Compose([T.Resize(224), T.CenterCrop(224), T.ToFloat(), normalize])(x)
    np.testing.assert_array_equal(out, expected)
    assert presets.photo_eval_transform(224, [0.5], [0.5], resize=256)(x).shape == (3, 224, 224)
