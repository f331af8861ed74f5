"""MNIST and Fashion-MNIST: IDX files written here in the real format, their corrupt variants,
the search path, downloads from file:// mirrors, and the real Fashion-MNIST where installed."""
import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from minidl.data.datasets import MNIST, DatasetError, FashionMNIST, download
from minidl.data.datasets.mnist import parse_idx

N_TRAIN, N_TEST = 6, 4
rng = np.random.default_rng(0)
IMAGES = {True: rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
          False: rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8)}
LABELS = {True: np.array([5, 0, 4, 1, 9, 2], np.uint8), False: np.array([7, 2, 1, 0], np.uint8)}
NAMES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def idx_bytes(array, magic=None):
    """An IDX file: 0, 0, type 0x08 (uint8), ndim, big-endian dims, then the bytes."""
    magic = magic if magic is not None else bytes([0, 0, 0x08, array.ndim])
    return magic + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def raw_files(train):
    images, labels = NAMES[train]
    return {images: idx_bytes(IMAGES[train]), labels: idx_bytes(LABELS[train])}


def write(directory, files, gz=True):
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / (name + ".gz" if gz else name)).write_bytes(gzip.compress(data) if gz else data)


@pytest.fixture
def small_mnist(monkeypatch):
    """MNIST expecting the small files of this module; SHA-256 set from the bytes we write."""
    files = {split: tuple((name, shape, hashlib.sha256(data).hexdigest())
                          for (name, data), shape in zip(raw_files(split).items(),
                                                         [(n, 28, 28), (n,)]))
             for split, n in ((True, N_TRAIN), (False, N_TEST))}
    monkeypatch.setattr(MNIST, "files", files)
    return files


@pytest.mark.parametrize("train", [True, False])
def test_reads_gzipped_idx(tmp_path, small_mnist, train):
    write(tmp_path, raw_files(train))
    ds = MNIST(root=tmp_path, train=train)
    assert len(ds) == len(LABELS[train])
    np.testing.assert_array_equal(ds.data[:, 0], IMAGES[train])
    np.testing.assert_array_equal(ds.targets, LABELS[train])
    x, y = ds[1]
    assert x.shape == (1, 28, 28) and x.dtype == np.uint8 and y == LABELS[train][1]


@pytest.mark.parametrize("layout", ["mnist", "MNIST/raw"])
def test_reads_uncompressed_files_in_known_layouts(tmp_path, small_mnist, layout):
    write(tmp_path / layout, raw_files(True), gz=False)
    np.testing.assert_array_equal(MNIST(root=tmp_path).targets, LABELS[True])


def test_finds_files_through_minidl_data_and_the_cache(tmp_path, small_mnist, monkeypatch):
    write(tmp_path / "env" / "mnist", raw_files(True))
    monkeypatch.setenv("MINIDL_DATA", str(tmp_path / "env"))
    assert len(MNIST()) == N_TRAIN
    monkeypatch.delenv("MINIDL_DATA")
    write(Path(os.environ["XDG_CACHE_HOME"]) / "minidl" / "mnist", raw_files(True))
    assert len(MNIST()) == N_TRAIN


def test_missing_file_says_where_it_looked_and_how_to_get_it(tmp_path, small_mnist):
    with pytest.raises(DatasetError) as error:
        MNIST(root=tmp_path)
    message = str(error.value)
    assert "train-images-idx3-ubyte.gz not found" in message
    assert str(tmp_path / "mnist") in message
    assert str(Path(os.environ["XDG_CACHE_HOME"]) / "minidl" / "mnist") in message
    assert "download=True" in message and "MINIDL_DATA" in message


def corrupt_variants():
    good = raw_files(True)["train-images-idx3-ubyte"]
    return {
        "bad magic": (b"\x00\x00\x07\x03" + good[4:], "bad magic number"),
        "int8 type": (b"\x00\x00\x09\x03" + good[4:], "holds a int8 array"),
        "not IDX": (b"GIF89a" + good[6:], "bad magic number"),
        "truncated": (good[:-100], "truncated or corrupt"),
        "trailing bytes": (good + b"\x00", "truncated or corrupt"),
        "wrong count": (idx_bytes(IMAGES[True][:5]), r"shape \(5, 28, 28\), expected \(6, 28, 28\)"),
        "other pixels": (idx_bytes(255 - IMAGES[True]), "checksum mismatch"),
    }


@pytest.mark.parametrize("case", list(corrupt_variants()))
def test_corrupt_image_files_are_refused(tmp_path, small_mnist, case):
    data, message = corrupt_variants()[case]
    write(tmp_path, {**raw_files(True), "train-images-idx3-ubyte": data})
    with pytest.raises(DatasetError, match=message):
        MNIST(root=tmp_path)


def test_corrupt_gzip_and_bad_labels_are_refused(tmp_path, small_mnist, monkeypatch):
    write(tmp_path, raw_files(True))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DatasetError, match="corrupt gzip"):
        MNIST(root=tmp_path)
    bad_labels = np.array([5, 0, 4, 1, 10, 2], np.uint8)
    write(tmp_path, {**raw_files(True), "train-labels-idx1-ubyte": idx_bytes(bad_labels)})
    files = dict(small_mnist)
    files[True] = (files[True][0], ("train-labels-idx1-ubyte", (N_TRAIN,), None))
    monkeypatch.setattr(MNIST, "files", files)
    with pytest.raises(DatasetError, match="label 10 out of range"):
        MNIST(root=tmp_path)


def test_parse_idx_reads_other_types():
    values = np.array([[1.5, -2.0], [3.25, 0.0]], dtype=">f4")
    np.testing.assert_array_equal(parse_idx(idx_bytes(values, bytes([0, 0, 0x0D, 2]))), values)


# --------------------------------------------------------------------------- #
# downloads, from file:// mirrors
# --------------------------------------------------------------------------- #
def mirror(tmp_path, files):
    directory = tmp_path / "mirror"
    write(directory, files)
    return directory.as_uri() + "/"


def test_download_tries_the_next_mirror(tmp_path, small_mnist, monkeypatch):
    monkeypatch.delenv("MINIDL_OFFLINE")
    monkeypatch.setattr(MNIST, "mirrors", ((tmp_path / "offline").as_uri() + "/",
                                           mirror(tmp_path, raw_files(True))))
    ds = MNIST(root=tmp_path / "data", train=True, download=True)
    np.testing.assert_array_equal(ds.targets, LABELS[True])
    assert sorted(p.name for p in (tmp_path / "data" / "mnist").iterdir()) == [
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert len(MNIST(root=tmp_path / "data")) == N_TRAIN        # now found without downloading


def test_download_goes_to_the_cache_without_root(tmp_path, small_mnist, monkeypatch):
    monkeypatch.delenv("MINIDL_OFFLINE")
    monkeypatch.setattr(MNIST, "mirrors", (mirror(tmp_path, raw_files(False)),))
    MNIST(train=False, download=True)
    assert (Path(os.environ["XDG_CACHE_HOME"]) / "minidl" / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()


def test_a_download_failing_its_checksum_leaves_no_file(tmp_path, small_mnist, monkeypatch):
    monkeypatch.delenv("MINIDL_OFFLINE")
    tampered = {**raw_files(True), "train-images-idx3-ubyte": idx_bytes(255 - IMAGES[True])}
    monkeypatch.setattr(MNIST, "mirrors", (mirror(tmp_path, tampered),))
    with pytest.raises(DatasetError, match="every mirror failed") as error:
        MNIST(root=tmp_path / "data", download=True)
    assert "checksum mismatch" in str(error.value)
    assert list((tmp_path / "data" / "mnist").iterdir()) == []


def test_offline_never_downloads(tmp_path, small_mnist, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("urlopen called while offline")
    monkeypatch.setattr(download.urllib.request, "urlopen", refuse)
    with pytest.raises(DatasetError, match="MINIDL_OFFLINE"):
        MNIST(root=tmp_path, download=True)


def test_download_through_urlopen_writes_atomically(tmp_path, monkeypatch):
    """A mirror that dies mid-transfer leaves neither the file nor a partial one."""
    class Dying:
        def __init__(self):
            self.chunks = [b"x" * 10]

        def read(self, n):
            if self.chunks:
                return self.chunks.pop()
            raise ConnectionResetError("connection reset")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False
    monkeypatch.delenv("MINIDL_OFFLINE")
    monkeypatch.setattr(download.urllib.request, "urlopen", lambda url, timeout: Dying())
    with pytest.raises(DatasetError, match="connection reset"):
        download.download(["https://example.invalid/f.gz"], tmp_path / "d" / "f.gz", verify=lambda p: None)
    assert list((tmp_path / "d").iterdir()) == []


# --------------------------------------------------------------------------- #
# the real Fashion-MNIST, from Debian's dataset-fashion-mnist package
# --------------------------------------------------------------------------- #
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not DEBIAN_DIR.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_from_the_system_directory(monkeypatch):
    monkeypatch.setattr(download, "SYSTEM_DIRS", ("/usr/share/datasets",))
    train, test = FashionMNIST(train=True), FashionMNIST(train=False)
    assert train.data.shape == (60000, 1, 28, 28) and test.data.shape == (10000, 1, 28, 28)
    # Zalando's release is balanced: 6,000 train and 1,000 test images per class.
    assert np.bincount(train.targets).tolist() == [6000] * 10
    assert np.bincount(test.targets).tolist() == [1000] * 10
    assert train.classes[9] == "Ankle boot"


def test_a_gzip_bomb_is_refused_after_reading_only_the_expected_bytes(tmp_path, small_mnist, monkeypatch):
    # a right header followed by far more data than it announces: decompressing it whole used to come
    # first; now at most one byte past the announced size is read
    bomb = idx_bytes(IMAGES[True]) + bytes(50 << 20)
    write(tmp_path, {**raw_files(True), "train-images-idx3-ubyte": bomb})
    import gzip as gzip_module
    read = []
    real_read = gzip_module.GzipFile.read

    def counting_read(self, size=-1):
        data = real_read(self, size)
        read.append(len(data))
        return data

    monkeypatch.setattr(gzip_module.GzipFile, "read", counting_read)
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        MNIST(root=tmp_path)
    assert sum(read) <= len(idx_bytes(IMAGES[True])) + 1 + len(idx_bytes(LABELS[True])) + 1
    # a header announcing another shape is refused before any data is read
    huge = struct.pack(">4B3I", 0, 0, 8, 3, 10**9, 28, 28)
    write(tmp_path, {**raw_files(True), "train-images-idx3-ubyte": huge})
    with pytest.raises(DatasetError, match=r"announces shape \(1000000000, 28, 28\)"):
        MNIST(root=tmp_path)


def test_present_but_corrupt_is_not_missing(tmp_path, small_mnist):
    from minidl.data.datasets import DatasetNotFoundError
    with pytest.raises(DatasetNotFoundError) as missing:
        MNIST(root=tmp_path)
    assert missing.value.filename == "train-images-idx3-ubyte.gz" and tmp_path / "mnist" in missing.value.dirs
    write(tmp_path, {**raw_files(True), "train-images-idx3-ubyte": b"\x00\x00\x08"})
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz") as corrupt:
        MNIST(root=tmp_path)
    assert not isinstance(corrupt.value, DatasetNotFoundError)
