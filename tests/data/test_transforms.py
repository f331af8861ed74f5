"""Transforms: closed forms, PyTorch's interpolation as reference, randomness by seed, errors."""
import numpy as np
import pytest

import minidl
from minidl import backend
from minidl.data import seeding
from minidl.data import transforms as T

rng = np.random.default_rng(0)


def images(shape, dtype=np.float64):
    if dtype == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.standard_normal(shape).astype(dtype)


# --------------------------------------------------------------------------- #
# deterministic transforms
# --------------------------------------------------------------------------- #
def test_to_float_scales_bytes_to_unit_interval():
    x = np.array([[[0, 51, 255]]], dtype=np.uint8)
    out = T.ToFloat()(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.array([[[0.0, 0.2, 1.0]]], dtype=np.float32))
    assert T.ToFloat(np.float64)(np.ones((1, 2, 2), np.float32)).dtype == np.float64
    with pytest.raises(TypeError, match="ToFloat"):
        T.ToFloat()(np.ones((1, 2, 2), np.int16))


def test_normalize_per_channel():
    x = images((4, 3, 5, 5))
    mean, std = [0.1, -0.2, 0.3], [1.0, 2.0, 0.5]
    out = T.Normalize(mean, std)(x)
    for c in range(3):
        np.testing.assert_allclose(out[:, c], (x[:, c] - mean[c]) / std[c])
    assert T.Normalize([0.5], [0.25])(x.astype(np.float32)).dtype == np.float32


def test_normalize_errors():
    with pytest.raises(ValueError, match="std"):
        T.Normalize([0.0], [0.0])
    with pytest.raises(ValueError, match="same length"):
        T.Normalize([0.0, 0.0], [1.0])
    with pytest.raises(ValueError, match="2 means for images with 3 channels"):
        T.Normalize([0, 0], [1, 1])(images((3, 4, 4)))
    with pytest.raises(TypeError, match="ToFloat"):
        T.Normalize([0], [1])(images((1, 4, 4), np.uint8))


def test_center_crop():
    x = np.arange(2 * 5 * 6).reshape(2, 1, 5, 6)
    np.testing.assert_array_equal(T.CenterCrop(3)(x), x[:, :, 1:4, 2:5])    # round(1.5) == 2, as torchvision
    np.testing.assert_array_equal(T.CenterCrop((3, 4))(x), x[:, :, 1:4, 1:5])
    np.testing.assert_array_equal(T.CenterCrop(5)(x[0]), x[0, :, :, 0:5])   # (6 - 5) / 2 rounds to 0
    with pytest.raises(ValueError, match="larger than the image"):
        T.CenterCrop(7)(x)
    with pytest.raises(ValueError, match="size"):
        T.CenterCrop(0)


def test_single_image_and_batch_agree_for_deterministic_transforms():
    t = T.Compose([T.ToFloat(), T.Resize((7, 5)), T.CenterCrop(4), T.Normalize([0.5] * 3, [0.2] * 3)])
    x = images((3, 3, 11, 9), np.uint8)
    batch = t(x)
    for n in range(3):
        np.testing.assert_allclose(t(x[n]), batch[n], rtol=1e-6)


def test_shape_errors():
    with pytest.raises(ValueError, match=r"expected an image \(C, H, W\) or a batch"):
        T.ToFloat()(np.zeros((28, 28), np.uint8))


def test_apply_to_batch_runs_plain_functions_image_by_image():
    calls = []

    def double(x):
        calls.append(x.shape)
        return x * 2
    out = T.apply_to_batch(double, np.ones((3, 1, 2, 2)))
    assert calls == [(1, 2, 2)] * 3 and np.all(out == 2)
    assert T.Compose([T.ToFloat(), T.Normalize([0], [1])]).batched
    assert not T.Compose([T.ToFloat(), double]).batched


# --------------------------------------------------------------------------- #
# bilinear resampling against PyTorch
# --------------------------------------------------------------------------- #
def torch_resize(x, size, antialias=True):
    torch = pytest.importorskip("torch")
    return torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode="bilinear",
                                           align_corners=False, antialias=antialias).numpy()


@pytest.mark.torch
@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("size", [(5, 4), (14, 18), (7, 9), (1, 1), (3, 20), (2, 3)])
def test_resize_matches_torch(size, antialias):
    """Shrinking, enlarging, both at once; antialiased (Pillow's filter) and not."""
    x = images((2, 3, 7, 9))
    np.testing.assert_allclose(T.Resize(size, antialias=antialias)(x), torch_resize(x, size, antialias),
                               atol=1e-12)


def test_antialiased_resize_matches_pillow():
    """Pillow's bilinear filter (torchvision's Resize on PIL images), on random sizes up and down.
    (torch's antialias=True departs from it when an output side is 1 and the other grows.)"""
    Image = pytest.importorskip("PIL.Image")
    sizes = np.random.default_rng(1).integers(1, 30, (40, 4))
    for H, W, OH, OW in sizes:
        x = rng.uniform(0, 1, (1, 1, H, W)).astype(np.float32)
        pil = Image.fromarray(x[0, 0], mode="F").resize((int(OW), int(OH)), Image.Resampling.BILINEAR)
        np.testing.assert_allclose(T.Resize((int(OH), int(OW)))(x)[0, 0], np.asarray(pil), atol=1e-5,
                                   err_msg=f"{H}x{W} -> {OH}x{OW}")


def test_antialiased_halving_is_pillows_triangle_filter():
    """4 -> 2 pixels: each output pixel weighs the source pixels within 2 of its centre by 1 - d / 2
    (0.25, 0.75, 0.75, 0.25; the one outside the image dropped and the rest renormalized).
    Without antialias a 3x shrink samples the centre pixel of each block of 3."""
    row = np.array([[[[1.0, 2.0, 4.0, 8.0]]]])
    expected = [(0.75 * 1 + 0.75 * 2 + 0.25 * 4) / 1.75, (0.25 * 2 + 0.75 * 4 + 0.75 * 8) / 1.75]
    np.testing.assert_allclose(T.Resize((1, 2))(row)[0, 0, 0], expected, rtol=1e-12)
    x = images((1, 1, 6, 6))
    np.testing.assert_array_equal(T.Resize((2, 2), antialias=False)(x), x[:, :, 1::3, 1::3])
    flat = np.full((1, 3, 17, 11), 0.3)
    np.testing.assert_allclose(T.Resize((5, 4))(flat), 0.3, rtol=1e-12)


@pytest.mark.torch
def test_resize_int_sets_the_shorter_side():
    assert T.Resize(4)(images((1, 8, 20))).shape == (1, 4, 10)
    assert T.Resize(4)(images((1, 20, 8))).shape == (1, 10, 4)
    x = images((1, 1, 9, 9), np.uint8)
    out = T.Resize((4, 6))(x)
    assert out.dtype == np.uint8
    np.testing.assert_allclose(out, torch_resize(x.astype(np.float64), (4, 6)), atol=0.5 + 1e-5)


def test_random_resized_crop_params_respect_scale_and_ratio():
    t = T.RandomResizedCrop(8, scale=(0.2, 0.6), ratio=(0.5, 2.0))
    top, left, h, w = t.get_params(2000, 40, 50)
    assert np.all((top >= 0) & (left >= 0) & (top + h <= 40) & (left + w <= 50))
    # Rounding the side lengths moves area and ratio a little beyond their bounds.
    area = h * w / (40 * 50)
    assert area.min() > 0.2 * 0.8 and area.max() < 0.6 * 1.2
    assert (w / h).min() > 0.5 * 0.8 and (w / h).max() < 2.0 * 1.25
    assert len(np.unique(top)) > 10 and len(np.unique(left)) > 10


def test_random_resized_crop_falls_back_to_a_central_crop():
    t = T.RandomResizedCrop(4, scale=(0.9, 1.0), ratio=(1.0, 1.0))
    top, left, h, w = t.get_params(3, 4, 100)        # no 4-high square covers 90% of a 4x100 image
    assert top.tolist() == [0] * 3 and h.tolist() == [4] * 3 and w.tolist() == [4] * 3
    assert left.tolist() == [48] * 3


@pytest.mark.torch
def test_random_resized_crop_resizes_the_drawn_crop_like_torch():
    t = T.RandomResizedCrop((6, 5))
    x = images((4, 2, 12, 10))
    with seeding.using(backend.Generator("cpu", 7)):
        params = t.get_params(4, 12, 10)
    with seeding.using(backend.Generator("cpu", 7)):
        out = t(x)
    for n, (i, j, h, w) in enumerate(zip(*params)):
        crop = x[n:n + 1, :, i:i + h, j:j + w]
        np.testing.assert_allclose(out[n:n + 1], torch_resize(crop, (6, 5)), atol=1e-12)


# --------------------------------------------------------------------------- #
# rotation
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_rotation_by_90_degrees_is_rot90(interpolation):
    x = images((2, 3, 6, 6))
    out = T.RandomRotation((90, 90), interpolation=interpolation)(x)
    np.testing.assert_allclose(out, np.rot90(x, 1, axes=(2, 3)), atol=1e-12)


@pytest.mark.torch
def test_bilinear_rotation_matches_torch_grid_sample():
    torch = pytest.importorskip("torch")
    x = images((3, 2, 9, 9))
    with seeding.using(backend.Generator("cpu", 3)):
        angles = seeding.current().uniform(-60, 60, size=3, dtype=np.float64)
    with seeding.using(backend.Generator("cpu", 3)):
        out = T.RandomRotation(60, interpolation="bilinear")(x)
    a = np.deg2rad(angles)
    # affine_grid maps output to input coordinates; on a square image the normalized
    # coordinates scale both axes alike, so the pixel-space rotation carries over.
    theta = torch.tensor(np.stack([np.stack([np.cos(a), -np.sin(a), 0 * a], 1),
                                   np.stack([np.sin(a), np.cos(a), 0 * a], 1)], 1))
    grid = torch.nn.functional.affine_grid(theta, (3, 2, 9, 9), align_corners=False)
    expected = torch.nn.functional.grid_sample(torch.from_numpy(x), grid, mode="bilinear",
                                               padding_mode="zeros", align_corners=False)
    np.testing.assert_allclose(out, expected.numpy(), atol=1e-10)


def test_rotation_fills_corners():
    x = np.full((1, 1, 8, 8), 100, np.uint8)
    out = T.RandomRotation((45, 45), fill=7)(x)
    assert out.dtype == np.uint8
    assert out[0, 0, 0, 0] == 7 and out[0, 0, 4, 4] == 100
    with pytest.raises(ValueError, match="interpolation"):
        T.RandomRotation(10, interpolation="cubic")
    with pytest.raises(ValueError, match="degrees"):
        T.RandomRotation(-5)


# --------------------------------------------------------------------------- #
# random crops, shifts, flips
# --------------------------------------------------------------------------- #
def test_random_crop_takes_windows_of_the_padded_image():
    x = images((200, 1, 5, 5)) + 10       # no zeros inside the image
    out = T.RandomCrop(4, padding=1)(x)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    offsets = set()
    for n in range(len(x)):
        match = [(i, j) for i in range(4) for j in range(4)
                 if np.array_equal(out[n], padded[n, :, i:i + 4, j:j + 4])]
        assert len(match) == 1
        offsets.add(match[0])
    assert offsets == {(i, j) for i in range(4) for j in range(4)}


def test_random_shift_moves_within_range_and_keeps_shape():
    x = np.zeros((300, 1, 9, 9), np.uint8)
    x[:, 0, 4, 4] = 255                          # one bright pixel in the middle
    out = T.RandomShift(2)(x)
    assert out.shape == x.shape and out.dtype == np.uint8
    n, rows, cols = np.nonzero(out[:, 0] == 255)
    assert n.tolist() == list(range(300))           # exactly one bright pixel left in each image
    assert set(rows.tolist()) == set(range(2, 7)) and set(cols.tolist()) == set(range(2, 7))
    with pytest.raises(ValueError, match="padding"):
        T.RandomShift(-1)


@pytest.mark.parametrize("flip, axis", [(T.RandomHorizontalFlip, 3), (T.RandomVerticalFlip, 2)])
def test_random_flips(flip, axis):
    x = images((1000, 2, 3, 4))
    out = flip()(x)
    flipped = np.all(out == np.flip(x, axis), axis=(1, 2, 3))
    kept = np.all(out == x, axis=(1, 2, 3))
    assert np.all(flipped ^ kept)
    assert 400 < flipped.sum() < 600
    np.testing.assert_array_equal(flip(p=1.0)(x), np.flip(x, axis))
    np.testing.assert_array_equal(flip(p=0.0)(x), x)


@pytest.mark.parametrize("transform", [T.RandomCrop(6, padding=2), T.RandomShift(3), T.RandomHorizontalFlip(),
                                       T.RandomVerticalFlip(), T.RandomResizedCrop(5), T.RandomRotation(30)])
def test_random_transforms_follow_the_seed(transform):
    x = images((16, 3, 8, 8))
    minidl.manual_seed(11)
    a = transform(x)
    minidl.manual_seed(11)
    b = transform(x)
    minidl.manual_seed(12)
    c = transform(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
