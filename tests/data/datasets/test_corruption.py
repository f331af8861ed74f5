"""Generated truncations and byte flips of valid dataset files: the reader raises DatasetError.

A flip may also land where the format keeps nothing that matters (the time
stamp in a gzip header); the reader then returns exactly the data of the
valid file.  Never anything else.
"""
import dataclasses
import shutil

import numpy as np
import pytest
from hypothesis import strategies as st

from minidl.data.datasets import CIFAR10, MNIST, DatasetError, MNISTSubset
from tests.data.datasets import test_cifar, test_mnist
from tests.property_support import FAST, WIDE, run_property


def damage(data, raw):
    """``raw`` truncated, or with one byte flipped, or with bytes appended."""
    kind = data.draw(st.sampled_from(["truncate", "flip", "flip", "append"]), label="kind")
    if kind == "truncate":
        return raw[:data.draw(st.integers(0, len(raw) - 1), label="length")]
    if kind == "append":
        return raw + data.draw(st.binary(min_size=1, max_size=8), label="tail")
    at = data.draw(st.integers(0, len(raw) - 1), label="at")
    mask = data.draw(st.integers(1, 255), label="mask")
    return raw[:at] + bytes([raw[at] ^ mask]) + raw[at + 1:]


def check_reader(read, path, expected):
    """Damage ``path`` as drawn, then ``read()`` must raise DatasetError or return ``expected``."""
    good = path.read_bytes()

    def check(data):
        path.write_bytes(damage(data, good))
        try:
            got = read()
        except DatasetError:
            return
        for ours, theirs in zip(got, expected):
            np.testing.assert_array_equal(ours, theirs)
    return check


def _mnist(tmp_path, gz):
    test_mnist.write(tmp_path, test_mnist.raw_files(False), gz=gz)
    path = tmp_path / ("t10k-images-idx3-ubyte" + (".gz" if gz else ""))
    return check_reader(lambda: (MNIST(root=tmp_path, train=False).data[:, 0],),
                        path, (test_mnist.IMAGES[False],))


def _cifar_archive(tmp_path, monkeypatch):
    files = test_cifar.cifar10_python_files()
    archive = tmp_path / "cifar-10-python.tar.gz"
    md5 = test_cifar.write_archive(archive, "cifar-10-batches-py", files)
    monkeypatch.setattr(CIFAR10, "spec", dataclasses.replace(CIFAR10.spec, python_md5=md5))
    images, labels = test_cifar.CIFAR10_DATA[False]
    return check_reader(lambda: (lambda d: (d.data, d.targets))(CIFAR10(root=tmp_path, train=False)),
                        archive, (images, labels))


def _subset(tmp_path, monkeypatch):
    path = tmp_path / "mnist_5k.npz"
    shutil.copy(MNISTSubset.path, path)
    expected = MNISTSubset(train=False)
    monkeypatch.setattr(MNISTSubset, "path", path)
    return check_reader(lambda: (lambda d: (d.data, d.targets))(MNISTSubset(train=False)),
                        path, (expected.data, expected.targets))


READERS = {
    "mnist-gzip": lambda tmp_path, monkeypatch: _mnist(tmp_path, gz=True),
    "mnist-idx": lambda tmp_path, monkeypatch: _mnist(tmp_path, gz=False),
    "cifar10-archive": _cifar_archive,
    "mnist-subset": _subset,
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_damaged_files_raise_dataset_error(reader, tmp_path, monkeypatch, small_mnist, small_cifar):
    run_property(READERS[reader](tmp_path, monkeypatch), dict(FAST, max_examples=25))


@pytest.mark.slow
@pytest.mark.parametrize("reader", sorted(READERS))
def test_damaged_files_raise_dataset_error_wide(reader, tmp_path, monkeypatch, small_mnist, small_cifar):
    run_property(READERS[reader](tmp_path, monkeypatch), WIDE)


small_mnist = test_mnist.small_mnist
small_cifar = test_cifar.small_cifar
