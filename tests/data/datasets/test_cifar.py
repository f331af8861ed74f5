"""CIFAR-10/100: binary records and Python-2 pickles written here in the official formats,
read from folders and archives; checksums, corrupt and malicious files; downloads."""
import dataclasses
import hashlib
import io
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest

from minidl.data.datasets import CIFAR10, CIFAR100, DatasetError

rng = np.random.default_rng(0)
PER_BATCH, N_TEST = 2, 3          # 5 train batches of 2 images for CIFAR-10


class Py2Pickler(pickle._Pickler):
    """Pickles the way Python 2's cPickle wrote CIFAR's batches (protocol 2): every string as a
    STRING opcode (a Python 2 ``str``), and NumPy's array constructor under its NumPy 1 name."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_string(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)
    dispatch[bytes] = dispatch[str] = save_py2_string

    def save_global(self, obj, name=None):
        if getattr(obj, "__name__", None) == "_reconstruct":
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
        else:
            super().save_global(obj, name)


def py2_pickle(obj):
    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def test_the_helper_writes_python2_strings_and_numpy_1_names():
    import pickletools
    stream = py2_pickle({b"data": np.zeros((1, 2), np.uint8)})
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(stream)]
    assert ("SHORT_BINSTRING", "data") in ops
    assert ("GLOBAL", "numpy.core.multiarray _reconstruct") in ops
    assert not any(name in ("BINUNICODE", "SHORT_BINUNICODE") for name, _ in ops)


def make_split(n, num_classes):
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    return images, rng.integers(0, num_classes, n)


CIFAR10_DATA = {True: make_split(5 * PER_BATCH, 10), False: make_split(N_TEST, 10)}
CIFAR100_DATA = {True: (*make_split(4, 100), rng.integers(0, 20, 4)),
                 False: (*make_split(N_TEST, 100), rng.integers(0, 20, N_TEST))}


def cifar10_python_files():
    files = {}
    for k in range(5):
        sl = slice(k * PER_BATCH, (k + 1) * PER_BATCH)
        images, labels = CIFAR10_DATA[True][0][sl], CIFAR10_DATA[True][1][sl]
        files[f"data_batch_{k + 1}"] = py2_pickle({
            b"batch_label": f"training batch {k + 1} of 5".encode(), b"labels": labels.tolist(),
            b"data": images.reshape(len(images), -1), b"filenames": [b"x.png"] * len(images)})
    images, labels = CIFAR10_DATA[False]
    files["test_batch"] = py2_pickle({b"batch_label": b"testing batch 1 of 1", b"labels": labels.tolist(),
                                      b"data": images.reshape(len(images), -1),
                                      b"filenames": [b"y.png"] * len(images)})
    files["batches.meta"] = py2_pickle({b"label_names": [c.encode() for c in CIFAR10.classes]})
    return files


def binary_records(images, *label_columns):
    """Records of label byte(s) then 3,072 pixel bytes (R plane, G plane, B plane)."""
    labels = np.stack(label_columns, axis=1).astype(np.uint8)
    return np.concatenate([labels, images.reshape(len(images), -1)], axis=1).tobytes()


def cifar10_binary_files():
    images, labels = CIFAR10_DATA[True]
    files = {f"data_batch_{k + 1}.bin": binary_records(images[2 * k:2 * k + 2], labels[2 * k:2 * k + 2])
             for k in range(5)}
    files["test_batch.bin"] = binary_records(*CIFAR10_DATA[False])
    return files


def cifar100_files():
    python, binary = {}, {}
    for split, name in ((True, "train"), (False, "test")):
        images, fine, coarse = CIFAR100_DATA[split]
        python[name] = py2_pickle({b"filenames": [b"z.png"] * len(images), b"batch_label": name.encode(),
                                   b"fine_labels": fine.tolist(), b"coarse_labels": coarse.tolist(),
                                   b"data": images.reshape(len(images), -1)})
        binary[f"{name}.bin"] = binary_records(images, coarse, fine)
    return python, binary


def write_folder(directory, files):
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)


def write_archive(path, folder, files):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def small_cifar(monkeypatch):
    for cls, n_train in ((CIFAR10, 5 * PER_BATCH), (CIFAR100, 4)):
        counts = {True: n_train, False: N_TEST}
        monkeypatch.setattr(cls, "spec", dataclasses.replace(cls.spec, counts=counts))


def check(ds, images, labels):
    assert ds.data.shape == (len(labels), 3, 32, 32) and ds.data.dtype == np.uint8
    np.testing.assert_array_equal(ds.data, images)
    np.testing.assert_array_equal(ds.targets, labels)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("version", ["python", "binary"])
def test_cifar10_folders(tmp_path, small_cifar, version, train):
    files = cifar10_python_files() if version == "python" else cifar10_binary_files()
    folder = {"python": "cifar-10-batches-py", "binary": "cifar-10-batches-bin"}[version]
    write_folder(tmp_path / "cifar10" / folder, files)
    check(CIFAR10(root=tmp_path, train=train), *CIFAR10_DATA[train])


def test_the_first_plane_is_red(tmp_path, small_cifar):
    images = np.zeros((N_TEST, 3, 32, 32), np.uint8)
    images[:, 0] = 255
    write_folder(tmp_path / "cifar-10-batches-bin", {"test_batch.bin": binary_records(images, [1] * N_TEST)})
    x, y = CIFAR10(root=tmp_path, train=False)[0]
    assert x[0].min() == 255 and x[1:].max() == 0 and y == 1


@pytest.mark.parametrize("version", ["python", "binary"])
def test_cifar10_archives_with_their_checksum(tmp_path, small_cifar, monkeypatch, version):
    folder, archive = {"python": ("cifar-10-batches-py", "cifar-10-python.tar.gz"),
                       "binary": ("cifar-10-batches-bin", "cifar-10-binary.tar.gz")}[version]
    files = cifar10_python_files() if version == "python" else cifar10_binary_files()
    md5 = write_archive(tmp_path / archive, folder, files)
    with pytest.raises(DatasetError, match="checksum mismatch"):      # not the published archive
        CIFAR10(root=tmp_path)
    monkeypatch.setattr(CIFAR10, "spec", dataclasses.replace(CIFAR10.spec, **{f"{version}_md5": md5}))
    check(CIFAR10(root=tmp_path, train=True), *CIFAR10_DATA[True])


@pytest.mark.parametrize("version", ["python", "binary"])
def test_cifar100_uses_fine_labels(tmp_path, small_cifar, version):
    python, binary = cifar100_files()
    if version == "python":
        write_folder(tmp_path / "cifar-100-python", python)
    else:
        write_folder(tmp_path / "cifar-100-binary", binary)
    for train in (True, False):
        images, fine, _ = CIFAR100_DATA[train]
        check(CIFAR100(root=tmp_path, train=train), images, fine)


def test_corrupt_binary_files(tmp_path, small_cifar):
    files = cifar10_binary_files()
    write_folder(tmp_path / "cifar-10-batches-bin", {**files, "test_batch.bin": files["test_batch.bin"][:-1]})
    with pytest.raises(DatasetError, match="not a whole number of 3073-byte records"):
        CIFAR10(root=tmp_path, train=False)
    write_folder(tmp_path / "cifar-10-batches-bin", {"test_batch.bin": files["test_batch.bin"][:3073]})
    with pytest.raises(DatasetError, match="1 images in the test split, expected 3"):
        CIFAR10(root=tmp_path, train=False)
    images, _ = CIFAR10_DATA[False]
    write_folder(tmp_path / "cifar-10-batches-bin", {"test_batch.bin": binary_records(images, [0, 10, 1])})
    with pytest.raises(DatasetError, match="labels outside 0..9"):
        CIFAR10(root=tmp_path, train=False)
    (tmp_path / "cifar-10-batches-bin" / "data_batch_3.bin").unlink()
    with pytest.raises(DatasetError, match="data_batch_3.bin is missing"):
        CIFAR10(root=tmp_path, train=True)


def test_corrupt_python_batches(tmp_path, small_cifar):
    files = cifar10_python_files()
    directory = tmp_path / "cifar-10-batches-py"
    write_folder(directory, {**files, "test_batch": files["test_batch"][:500]})
    with pytest.raises(DatasetError, match="not a readable CIFAR batch"):
        CIFAR10(root=tmp_path, train=False)
    short_rows = {b"data": np.zeros((3, 100), np.uint8), b"labels": [0] * 3}
    write_folder(directory, {"test_batch": py2_pickle(short_rows)})
    with pytest.raises(DatasetError, match="not a CIFAR batch"):
        CIFAR10(root=tmp_path, train=False)
    write_folder(directory, {"test_batch": py2_pickle([1, 2, 3])})
    with pytest.raises(DatasetError, match="expected a dict"):
        CIFAR10(root=tmp_path, train=False)


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickles_that_would_run_code_are_refused(tmp_path, small_cifar):
    marker = tmp_path / "pwned"
    write_folder(tmp_path / "cifar-10-batches-py", {"test_batch": pickle.dumps({"data": RunsCode(marker)})})
    with pytest.raises(DatasetError, match="refusing to load global (posix|os).system"):
        CIFAR10(root=tmp_path, train=False)
    assert not marker.exists()
    objects = np.array([1, "a"], dtype=object)
    write_folder(tmp_path / "cifar-10-batches-py", {"test_batch": py2_pickle({b"data": objects})})
    with pytest.raises(DatasetError, match="array of Python objects"):
        CIFAR10(root=tmp_path, train=False)


def test_missing_cifar_names_the_archive(tmp_path, small_cifar):
    with pytest.raises(DatasetError, match="cifar-10-python.tar.gz .* not found") as error:
        CIFAR10(root=tmp_path)
    assert "download=True" in str(error.value) and str(tmp_path / "cifar10") in str(error.value)


def test_download_checks_the_published_md5(tmp_path, small_cifar, monkeypatch):
    monkeypatch.delenv("MINIDL_OFFLINE")
    md5 = write_archive(tmp_path / "mirror" / "cifar-10-python.tar.gz", "cifar-10-batches-py",
                        cifar10_python_files())
    monkeypatch.setattr(CIFAR10, "mirrors", ((tmp_path / "mirror").as_uri() + "/",))
    with pytest.raises(DatasetError, match="checksum mismatch"):
        CIFAR10(root=tmp_path / "data", download=True)
    assert list((tmp_path / "data" / "cifar10").iterdir()) == []
    monkeypatch.setattr(CIFAR10, "spec", dataclasses.replace(CIFAR10.spec, python_md5=md5))
    check(CIFAR10(root=tmp_path / "data", train=False, download=True), *CIFAR10_DATA[False])
    assert (tmp_path / "data" / "cifar10" / "cifar-10-python.tar.gz").is_file()


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("keys", [str, bytes])
def test_batches_saved_again_by_python_3_and_numpy_2_load(tmp_path, small_cifar, protocol, keys):
    # re-saving names numpy._core (NumPy 2), _frombuffer (protocol 5) or _codecs.encode (protocol 2):
    # these used to be refused as "malicious"
    images, labels = CIFAR10_DATA[False]
    batch = {keys(b"data") if keys is bytes else "data": images.reshape(len(images), -1),
             keys(b"labels") if keys is bytes else "labels": labels.tolist(),
             keys(b"filenames") if keys is bytes else "filenames": [b"y.png"] * len(images)}
    write_folder(tmp_path / "cifar-10-batches-py", {"test_batch": pickle.dumps(batch, protocol=protocol)})
    check(CIFAR10(root=tmp_path, train=False), images, labels)


def test_a_protocol_2_pickle_may_only_encode_latin1_bytes(tmp_path, small_cifar):
    raw = pickle.dumps({"data": b"\xff"}, protocol=2)
    assert b"_codecs\nencode" in raw
    raw = raw.replace(b"latin1", b"utf_16")
    write_folder(tmp_path / "cifar-10-batches-py", {"test_batch": raw})
    with pytest.raises(DatasetError, match="refusing bytes in the encoding"):
        CIFAR10(root=tmp_path, train=False)
