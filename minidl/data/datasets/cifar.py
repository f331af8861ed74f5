"""CIFAR-10 and CIFAR-100 (Krizhevsky, 2009) from the official archives, python or binary version.

Both versions hold the same 32x32 RGB images, 3,072 bytes each: 1,024 red,
then 1,024 green, then 1,024 blue values, rows top to bottom, so a record
reshapes straight to (3, 32, 32).

- Binary version: fixed-length records, a label byte (CIFAR-100: a coarse and
  a fine label byte) then the 3,072 pixel bytes.
- Python version: pickled dicts (``data``: uint8 array N x 3072, ``labels``
  or ``fine_labels``: a list of ints).  A pickle can run any code when
  loaded, so these are read with :class:`_BatchUnpickler`, which resolves only
  the three NumPy names that rebuilding an array needs and refuses any other.

Files are read from an extracted folder (``cifar-10-batches-py`` ...) or
straight from the ``.tar.gz`` archive, whose MD5 must match the published one.
"""
import io
import pickle
import tarfile
from dataclasses import dataclass

import numpy as np

from ..dataset import ImageDataset
from .download import (DatasetError, download, download_dir, file_digest, find_file, missing_error,
                       search_dirs)

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:     # NumPy < 2
    from numpy.core.multiarray import _reconstruct

__all__ = ["CIFAR10", "CIFAR100"]

RECORD = 3 * 32 * 32


def _plain_dtype(*args):
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise DatasetError("CIFAR batch: refusing an array of Python objects")
    return dtype


def _frombuffer(buffer, dtype, shape, order):
    """How NumPy's pickle protocol 5 rebuilds an array, for plain dtypes only."""
    return np.frombuffer(buffer, _plain_dtype(dtype)).reshape(shape, order=order)


def _latin1_bytes(text, encoding):
    """How Python 3 pickles bytes at protocol 2: a latin-1 string and the encoding's name."""
    if encoding != "latin1":
        raise DatasetError(f"CIFAR batch: refusing bytes in the encoding {encoding!r}")
    return text.encode("latin1")


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR python batch: a dict of str, bytes, ints, lists and one uint8 array.

    The batches were written by Python 2's cPickle, whose array records name
    ``numpy.core.multiarray._reconstruct``, ``numpy.ndarray`` and
    ``numpy.dtype``; a batch saved again by Python 3 and NumPy 2 names
    ``numpy._core`` instead, ``numpy._core.numeric._frombuffer`` (protocol 5)
    or ``_codecs.encode`` (bytes at protocol 2).  These are resolved to safe
    functions; anything else (``os.system``, ``eval`` ...) is how a malicious
    pickle runs code, and is refused.
    """

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"): _reconstruct,
               ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
               ("numpy.core.numeric", "_frombuffer"): _frombuffer,
               ("numpy._core.numeric", "_frombuffer"): _frombuffer,
               ("numpy", "ndarray"): np.ndarray,
               ("numpy", "dtype"): _plain_dtype,
               ("_codecs", "encode"): _latin1_bytes}

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise DatasetError(f"CIFAR batch: refusing to load global {module}.{name} "
                               "(not a CIFAR file, or a malicious one)") from None


def load_batch(raw, name):
    """The dict of one CIFAR python batch, safely unpickled (Python 2 strings read as latin-1)."""
    try:
        batch = _BatchUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except DatasetError:
        raise
    except Exception as error:  # noqa: BLE001 - any unpickling failure means a corrupt file
        raise DatasetError(f"{name}: not a readable CIFAR batch ({type(error).__name__}: {error})") from error
    if not isinstance(batch, dict):
        raise DatasetError(f"{name}: expected a dict, got {type(batch).__name__}")
    # a batch loaded with encoding='bytes' and saved again has bytes keys
    return {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in batch.items()}


def _check_md5(path, expected):
    actual = file_digest(path, "md5")
    if actual != expected:
        raise DatasetError(f"{path}: checksum mismatch (MD5 {actual}, published {expected}); "
                           "the archive is corrupt or incomplete: delete it and download it again")


@dataclass(frozen=True)
class CifarFiles:
    """Names, sizes and checksums of one CIFAR release."""
    folder: str                 # minidl's folder name: 'cifar10'
    python_dir: str             # what the python archive extracts to
    python_archive: str
    python_md5: str
    python_files: dict          # split (True = train) -> batch file names
    label_key: str              # the python dicts' label list
    binary_dir: str
    binary_archive: str
    binary_md5: str
    binary_files: dict
    label_bytes: int            # label bytes before each binary record; the last is the label used
    counts: dict                # split -> number of images
    num_classes: int


class CIFAR10(ImageDataset):
    """CIFAR-10: 50,000 train / 10,000 test colour images 3x32x32 uint8, 10 classes.

    ``root``, ``train``, ``transform``, ``download`` as for
    :class:`~minidl.data.datasets.MNIST`; a download fetches the python
    version (163 MB).
    """

    mirrors = ("https://www.cs.toronto.edu/~kriz/",)
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    spec = CifarFiles(
        folder="cifar10",
        python_dir="cifar-10-batches-py", python_archive="cifar-10-python.tar.gz",
        python_md5="c58f30108f718f92721af3b95e74349a",
        python_files={True: [f"data_batch_{i}" for i in range(1, 6)], False: ["test_batch"]},
        label_key="labels",
        binary_dir="cifar-10-batches-bin", binary_archive="cifar-10-binary.tar.gz",
        binary_md5="c32a1d4ab5d03f1284b67883e8d87530",
        binary_files={True: [f"data_batch_{i}.bin" for i in range(1, 6)], False: ["test_batch.bin"]},
        label_bytes=1, counts={True: 50000, False: 10000}, num_classes=10)

    def __init__(self, root=None, train=True, transform=None, download=False):
        self.train = bool(train)
        images, labels = self._load(root, download)
        super().__init__(images, labels, transform=transform, classes=self.classes)

    def _load(self, root, download_missing):
        s, name = self.spec, type(self).__name__
        dirs = search_dirs(s.folder, root)
        for d in dirs:      # an extracted folder first, then an archive, directory by directory
            for folder, parse in ((s.python_dir, self._parse_python), (s.binary_dir, self._parse_binary)):
                if (d / folder).is_dir():
                    return parse({f: (d / folder / f).read_bytes() if (d / folder / f).is_file() else None
                                  for f in self._members(folder)}, d / folder)
            archive = find_file([s.python_archive, s.binary_archive], [d])
            if archive is not None:
                return self._read_archive(archive)
        if not download_missing:
            raise missing_error(name, f"{s.python_archive} (or {s.binary_archive}, or the folder "
                                f"{s.python_dir})", dirs)
        archive = download([url + s.python_archive for url in self.mirrors],
                           download_dir(s.folder, root) / s.python_archive,
                           verify=lambda path: _check_md5(path, s.python_md5))
        return self._read_archive(archive)

    def _members(self, folder):
        s = self.spec
        return s.python_files[self.train] if folder == s.python_dir else s.binary_files[self.train]

    def _read_archive(self, path):
        s = self.spec
        python = path.name == s.python_archive
        _check_md5(path, s.python_md5 if python else s.binary_md5)
        folder = s.python_dir if python else s.binary_dir
        wanted = {f"{folder}/{f}": f for f in self._members(folder)}
        files = dict.fromkeys(wanted.values())
        try:
            with tarfile.open(path, "r:gz") as tar:
                for member in tar:
                    if member.name in wanted and member.isfile():
                        files[wanted[member.name]] = tar.extractfile(member).read()
        except (tarfile.TarError, OSError, EOFError) as error:
            raise DatasetError(f"{path}: unreadable archive ({error})") from error
        return (self._parse_python if python else self._parse_binary)(files, path)

    def _check(self, images, labels, where):
        s = self.spec
        expected = s.counts[self.train]
        if len(images) != expected:
            raise DatasetError(f"{where}: {len(images)} images in the {'train' if self.train else 'test'} "
                               f"split, expected {expected}; a file is truncated or missing records")
        if labels.min(initial=0) < 0 or labels.max(initial=0) >= s.num_classes:
            raise DatasetError(f"{where}: labels outside 0..{s.num_classes - 1}; the file is corrupt")
        return images, labels

    def _parse_binary(self, files, where):
        s = self.spec
        size = s.label_bytes + RECORD
        images, labels = [], []
        for name, raw in files.items():
            if raw is None:
                raise DatasetError(f"{where}: {name} is missing")
            if len(raw) % size:
                raise DatasetError(f"{where}/{name}: {len(raw)} bytes is not a whole number of "
                                   f"{size}-byte records; the file is truncated or corrupt")
            records = np.frombuffer(raw, np.uint8).reshape(-1, size)
            labels.append(records[:, s.label_bytes - 1].astype(np.int64))
            images.append(records[:, s.label_bytes:].reshape(-1, 3, 32, 32))
        return self._check(np.concatenate(images), np.concatenate(labels), where)

    def _parse_python(self, files, where):
        images, labels = [], []
        for name, raw in files.items():
            if raw is None:
                raise DatasetError(f"{where}: {name} is missing")
            batch = load_batch(raw, f"{where}/{name}")
            data, batch_labels = batch.get("data"), batch.get(self.spec.label_key)
            if (not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2
                    or data.shape[1] != RECORD or not isinstance(batch_labels, list)
                    or len(batch_labels) != len(data)):
                raise DatasetError(f"{where}/{name}: not a CIFAR batch (expected 'data' uint8 N x {RECORD} "
                                   f"and a list '{self.spec.label_key}' of N labels)")
            images.append(data.reshape(-1, 3, 32, 32))
            labels.append(np.array(batch_labels, dtype=np.int64))
        return self._check(np.concatenate(images), np.concatenate(labels), where)


class CIFAR100(CIFAR10):
    """CIFAR-100: 50,000 train / 10,000 test images 3x32x32 uint8, 100 fine classes (the labels used).

    ``classes`` lists the 100 fine labels (apple, aquarium_fish, ...).
    """

    classes = """apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus
    butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab
    crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard
    lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse mushroom
    oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine
    possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake
    spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger tractor
    train trout tulip turtle wardrobe whale willow_tree wolf woman worm""".split()
    spec = CifarFiles(
        folder="cifar100",
        python_dir="cifar-100-python", python_archive="cifar-100-python.tar.gz",
        python_md5="eb9058c3a382ffc7106e4002c42a8d85",
        python_files={True: ["train"], False: ["test"]},
        label_key="fine_labels",
        binary_dir="cifar-100-binary", binary_archive="cifar-100-binary.tar.gz",
        binary_md5="03b5dce01913d631647c71ecec9e9cb8",
        binary_files={True: ["train.bin"], False: ["test.bin"]},
        label_bytes=2, counts={True: 50000, False: 10000}, num_classes=100)
