"""ImageFolder on PNG and JPEG files written here with Pillow."""
import numpy as np
import pytest

from minidl.data import DataLoader
from minidl.data import transforms as T
from minidl.data.datasets import DatasetError, ImageFolder, get_dataset

Image = pytest.importorskip("PIL.Image")
rng = np.random.default_rng(0)


def write_png(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


@pytest.fixture
def folder(tmp_path):
    """cat/ holds two RGB PNGs, dog/ one grey PNG and one JPEG; plus a stray text file."""
    images = {"cat/a.png": rng.integers(0, 256, (6, 8, 3), dtype=np.uint8),
              "cat/b.png": rng.integers(0, 256, (10, 5, 3), dtype=np.uint8),
              "dog/c.png": rng.integers(0, 256, (4, 4), dtype=np.uint8)}
    for name, pixels in images.items():
        write_png(tmp_path / name, pixels)
    Image.fromarray(np.full((9, 9, 3), 200, np.uint8)).save(tmp_path / "dog" / "d.JPG", format="JPEG")
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    return tmp_path, images


def test_classes_labels_and_pixels(folder):
    root, images = folder
    ds = ImageFolder(root)
    assert ds.classes == ["cat", "dog"] and len(ds) == 4
    assert ds.targets.tolist() == [0, 0, 1, 1]
    x, y = ds[0]
    assert y == 0 and x.dtype == np.uint8
    np.testing.assert_array_equal(x, images["cat/a.png"].transpose(2, 0, 1))
    x, _ = ds[2]                                   # a grey image comes out as RGB, three equal planes
    np.testing.assert_array_equal(x, np.stack([images["dog/c.png"]] * 3))
    assert np.abs(ds[3][0].astype(int) - 200).max() <= 2      # JPEG is lossy


def test_resize_on_load_and_grey_mode(folder):
    root, images = folder
    ds = ImageFolder(root, size=(4, 4), mode="L", transform=T.ToFloat())
    x, _ = ds[1]
    assert x.shape == (1, 4, 4) and x.dtype == np.float32
    assert ImageFolder(root, size=3)[1][0].shape == (3, 6, 3)     # 10x5 -> shorter side 3
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert x.shape == (4, 1, 4, 4) and y.tolist() == [0, 0, 1, 1]


def test_errors(tmp_path, folder):
    root, _ = folder
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    ds = ImageFolder(root)
    with pytest.raises(DatasetError, match="cannot read image .*broken.png"):
        ds[2]
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no images"):
        ImageFolder(tmp_path / "empty")
    with pytest.raises(DatasetError, match="not a directory"):
        ImageFolder(tmp_path / "absent")
    with pytest.raises(ValueError, match="mode"):
        ImageFolder(root, mode="CMYK")


def test_get_dataset_reads_train_and_val_folders(tmp_path):
    write_png(tmp_path / "train" / "a" / "1.png", np.zeros((2, 2, 3), np.uint8))
    write_png(tmp_path / "val" / "b" / "2.png", np.zeros((2, 2, 3), np.uint8))
    assert get_dataset("image-folder", root=tmp_path).classes == ["a"]
    assert get_dataset("image-folder", root=tmp_path, train=False).classes == ["b"]
    with pytest.raises(DatasetError, match="give root"):
        get_dataset("image-folder")
