"""ImageFolder on PNG and JPEG files written here with Pillow."""
import numpy as np
import pytest

from minidl.data import DataLoader
from minidl.data import transforms as T
from minidl.data.datasets import DatasetError, ImageFolder, get_dataset, train_val_split

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


def write_jpeg(path, height, width, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((height, width, 3), value, np.uint8)).save(path, format="JPEG")


def test_get_dataset_reads_train_and_val_folders_with_the_training_classes(tmp_path):
    for split, name in [("train", "a/1.png"), ("train", "b/2.png"), ("val", "b/3.png"), ("val", "a/4.png")]:
        write_png(tmp_path / split / name, np.zeros((2, 2, 3), np.uint8))
    train, val = (get_dataset("image-folder", root=tmp_path, train=split) for split in (True, False))
    assert train.classes == val.classes == ["a", "b"]
    assert [p.name for p, _ in val.samples] == ["4.png", "3.png"] and val.targets.tolist() == [0, 1]
    with pytest.raises(DatasetError, match="give root"):
        get_dataset("image-folder")


def test_a_split_must_hold_the_training_classes(tmp_path):
    """train/{cat,dog,horse} and val/{cat,horse}: horse would be 2 in train and 1 in val."""
    for name in ["train/cat/1.png", "train/dog/2.png", "train/horse/3.png",
                 "val/cat/4.png", "val/horse/5.png", "val/cow/6.png"]:
        write_png(tmp_path / name, np.zeros((2, 2, 3), np.uint8))
    classes = ImageFolder(tmp_path / "train").classes
    with pytest.raises(DatasetError, match="lacks dog; adds cow against the given classes cat, dog, horse"):
        ImageFolder(tmp_path / "val", classes=classes)
    with pytest.raises(DatasetError, match="lacks dog"):
        get_dataset("image-folder", root=tmp_path, train=False)
    (tmp_path / "val" / "cow" / "6.png").unlink()
    (tmp_path / "val" / "cow").rmdir()
    val = ImageFolder(tmp_path / "val", class_to_idx={"cat": 0, "horse": 2})      # torchvision's argument
    assert val.classes == ["cat", "horse"] and val.targets.tolist() == [0, 2]
    with pytest.raises(ValueError, match="not both"):
        ImageFolder(tmp_path / "val", classes=["cat", "horse"], class_to_idx={"cat": 0, "horse": 1})


def test_hidden_entries_are_skipped_and_empty_classes_raise(tmp_path):
    write_png(tmp_path / "cat" / "1.png", np.zeros((2, 2, 3), np.uint8))
    write_png(tmp_path / "cat" / ".ipynb_checkpoints" / "1-checkpoint.png", np.zeros((2, 2, 3), np.uint8))
    write_png(tmp_path / ".ipynb_checkpoints" / "x.png", np.zeros((2, 2, 3), np.uint8))
    write_png(tmp_path / "dog" / "2.png", np.zeros((2, 2, 3), np.uint8))
    (tmp_path / "dog" / ".DS_Store.png").write_bytes(b"junk")
    ds = ImageFolder(tmp_path)
    assert ds.classes == ["cat", "dog"] and [p.name for p, _ in ds.samples] == ["1.png", "2.png"]
    (tmp_path / "horse").mkdir()
    with pytest.raises(DatasetError, match="class folder.*horse.* hold no images"):
        ImageFolder(tmp_path)


def test_kaggle_flat_layout_labels_by_file_name_prefix(tmp_path):
    for i, (name, h, w) in enumerate([("cat.0.jpg", 30, 40), ("dog.0.jpg", 50, 20), ("cat.1.jpg", 25, 25),
                                      ("dog.11.jpeg", 40, 64)]):
        write_jpeg(tmp_path / "train" / name, h, w, 40 * i)
    (tmp_path / "train" / ".hidden.0.jpg").write_bytes(b"junk")
    ds = ImageFolder(tmp_path / "train")
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert [(p.name, y) for p, y in ds.samples] == [("cat.0.jpg", 0), ("cat.1.jpg", 0), ("dog.0.jpg", 1),
                                                    ("dog.11.jpeg", 1)]
    assert ds[2][0].shape == (3, 50, 20)
    write_jpeg(tmp_path / "train" / "extra" / "cat.2.jpg", 8, 8, 0)
    with pytest.raises(DatasetError, match="both folders .* and images .*pass layout="):
        ImageFolder(tmp_path / "train")
    assert len(ImageFolder(tmp_path / "train", layout="flat")) == 4
    write_jpeg(tmp_path / "test1" / "1.jpg", 8, 8, 0)          # Kaggle's unlabelled test folder
    with pytest.raises(DatasetError, match="cannot tell the class of .*1.jpg"):
        ImageFolder(tmp_path / "test1")


def test_validation_split_is_drawn_from_the_training_folder(tmp_path):
    for i in range(20):
        write_jpeg(tmp_path / f"cat.{i}.jpg", 10 + i, 30 - i, 3 * i)
        write_jpeg(tmp_path / f"dog.{i}.jpg", 12, 20, 3 * i)
    t = T.Compose([T.Resize((8, 8)), T.ToFloat()])
    train = get_dataset("image-folder", root=tmp_path, train=True, transform=t)
    val = get_dataset("image-folder", root=tmp_path, train=False)
    assert (len(train), len(val)) == (36, 4)
    assert np.bincount(val.targets).tolist() == [2, 2]                   # stratified
    assert not {p for p, _ in train.samples} & {p for p, _ in val.samples}
    again = get_dataset("image-folder", root=tmp_path, train=False)     # same split in every call
    assert [p for p, _ in again.samples] == [p for p, _ in val.samples]
    assert train.transform is t and val.transform is None and train[0][0].shape == (3, 8, 8)
    full = ImageFolder(tmp_path)
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(full, 1.0)
    with pytest.raises(DatasetError, match="too few"):
        train_val_split(full, 0.01)


def test_mixed_sizes_train_with_the_deck_transforms(tmp_path):
    """Photos of mixed sizes and aspect ratios batch after RandomResizedCrop / Resize + CenterCrop."""
    for i, (h, w) in enumerate([(60, 90), (90, 40), (33, 33), (75, 50), (40, 120), (64, 48)]):
        write_jpeg(tmp_path / f"{'cat' if i % 2 else 'dog'}.{i}.jpg", h, w, 30 * i)
    mean, std = [0.5] * 3, [0.25] * 3
    train = ImageFolder(tmp_path, transform=T.Compose([
        T.RandomResizedCrop(24), T.RandomRotation(90), T.RandomHorizontalFlip(), T.RandomVerticalFlip(),
        T.ToFloat(), T.Normalize(mean, std)]))
    x, y = next(iter(DataLoader(train, batch_size=6, shuffle=True)))
    assert x.shape == (6, 3, 24, 24) and sorted(y.numpy().tolist()) == [0, 0, 0, 1, 1, 1]
    val = ImageFolder(tmp_path, transform=T.Compose([T.Resize(28), T.CenterCrop(24), T.ToFloat()]))
    x, _ = next(iter(DataLoader(val, batch_size=6)))
    assert x.shape == (6, 3, 24, 24)
    with pytest.raises(ValueError, match=r"different shapes .* Resize\(\(224, 224\)\)"):
        next(iter(DataLoader(ImageFolder(tmp_path), batch_size=6)))


def test_decompression_bomb_raises_dataset_error_naming_the_file(tmp_path):
    """A PNG whose header claims 30000x30000 pixels (900 million, over twice Pillow's limit)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                                                + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    with pytest.raises(DatasetError, match="bomb.png is too large to decode safely"):
        ImageFolder(tmp_path)[0]
