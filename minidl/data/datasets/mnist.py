"""MNIST and Fashion-MNIST, read from their IDX files (gzipped or not).

An IDX file is a header and raw bytes: two zero bytes, a type code (0x08 for
uint8), the number of dimensions, each dimension as a big-endian uint32, then
the values.  Images are ``0x00000803`` (uint8, 3 dims: N x 28 x 28), labels
``0x00000801`` (uint8, N).

Each file is checked as it is decompressed: its header and shape first, so
that no more bytes are read than the expected shape holds (a small gzip bomb
cannot fill the memory), then its exact length and the SHA-256 of the
decompressed bytes.  The digests of the
decompressed data, not of the ``.gz`` files, are what identify a release:
Debian recompressed Fashion-MNIST, so its ``.gz`` bytes differ from upstream
while the data inside is identical.
"""
import gzip
import hashlib
import struct
import zlib

import numpy as np

from ..dataset import ImageDataset
from .download import DatasetError, download, download_dir, find_file, missing_error, search_dirs

__all__ = ["MNIST", "FashionMNIST", "parse_idx", "read_idx"]

IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(raw, name="IDX data"):
    """The array held by the IDX bytes ``raw``; DatasetError if the header or the length is wrong."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise DatasetError(f"{name}: bad magic number 0x{raw[:4].hex()} (not an IDX file)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{name}: truncated inside its header ({len(raw)} bytes)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(IDX_TYPES[raw[2]])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise DatasetError(f"{name}: {len(raw)} bytes, but its header (shape {dims}) needs {expected}; "
                           "the file is truncated or corrupt")
    return np.frombuffer(raw, dtype, offset=header).reshape(dims)


def read_idx(path, shape=None):
    """The decompressed bytes of an IDX file (gzip recognised by its magic bytes, not its name).

    The header is read first; with ``shape`` given, a header of another shape
    is a DatasetError before any data is read.  At most one byte more than
    the header announces is read, which is enough for :func:`parse_idx` to
    tell a file that is too long.
    """
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open if gzipped else open)(path, "rb") as f:
            magic = f.read(4)
            ndim = magic[3] if len(magic) == 4 else 0
            dims_bytes = f.read(4 * ndim)
            if len(magic) == 4 and magic[2] in IDX_TYPES and len(dims_bytes) == 4 * ndim:
                dims = struct.unpack(f">{ndim}I", dims_bytes)
                if shape is not None and dims != tuple(shape):
                    raise DatasetError(f"{path}: its header announces shape {dims}, expected {tuple(shape)}")
                size = int(np.prod(dims, dtype=np.int64)) * np.dtype(IDX_TYPES[magic[2]]).itemsize
                return magic + dims_bytes + _read_at_most(f, size + 1)
            return magic + dims_bytes
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: corrupt gzip data ({error})") from error


def _read_at_most(f, limit):
    chunks = []
    while limit > 0:
        chunk = f.read(min(limit, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        limit -= len(chunk)
    return b"".join(chunks)


def _checked_idx(path, shape, sha256):
    raw = read_idx(path, shape)
    array = parse_idx(raw, str(path))
    if array.shape != tuple(shape) or array.dtype != np.uint8:
        raise DatasetError(f"{path}: holds a {array.dtype} array of shape {array.shape}, "
                           f"expected uint8 of shape {tuple(shape)}")
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise DatasetError(f"{path}: checksum mismatch (SHA-256 of the decompressed data is "
                           f"{hashlib.sha256(raw).hexdigest()}, expected {sha256}); the file is corrupt "
                           "or not the official release: delete it and download it again")
    return array


class MNIST(ImageDataset):
    """The MNIST handwritten digits (LeCun, Cortes & Burges): 60,000 train / 10,000 test, 1x28x28 uint8.

    ``root``: a directory to search first (see :mod:`.download` for the
    search order); ``train``: which split; ``transform``: applied to images
    (C, H, W) or batches; ``download``: fetch missing files from the mirrors.
    """

    folder = "mnist"
    layouts = ("MNIST/raw",)            # torchvision's cache layout
    mirrors = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
               "https://storage.googleapis.com/cvdf-datasets/mnist/",
               "http://yann.lecun.com/exdb/mnist/")
    classes = [str(d) for d in range(10)]
    hint = ""
    # split -> (file name, shape, SHA-256 of the decompressed file) for images then labels
    files = {
        True: (("train-images-idx3-ubyte", (60000, 28, 28),
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
               ("train-labels-idx1-ubyte", (60000,),
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5")),
        False: (("t10k-images-idx3-ubyte", (10000, 28, 28),
                 "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
                ("t10k-labels-idx1-ubyte", (10000,),
                 "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2")),
    }

    def __init__(self, root=None, train=True, transform=None, download=False):
        self.train = bool(train)
        images, labels = (self._load(*spec, root, download) for spec in self.files[self.train])
        if labels.max(initial=0) >= len(self.classes):
            raise DatasetError(f"{type(self).__name__}: label {labels.max()} out of range "
                               f"0..{len(self.classes) - 1}; the labels file is corrupt")
        super().__init__(images[:, None], labels, transform=transform, classes=self.classes)

    def _load(self, name, shape, sha256, root, download_missing):
        dirs = search_dirs(self.folder, root, self.layouts)
        path = find_file([name + ".gz", name], dirs)
        if path is None:
            if not download_missing:
                raise missing_error(type(self).__name__, f"{name}.gz", dirs, self.hint)
            path = download([url + name + ".gz" for url in self.mirrors],
                            download_dir(self.folder, root) / f"{name}.gz",
                            verify=lambda p: _checked_idx(p, shape, sha256))
        return _checked_idx(path, shape, sha256)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: ten kinds of clothing in MNIST's format (60,000 / 10,000, 1x28x28).

    On Debian and Ubuntu, ``apt install dataset-fashion-mnist`` provides the
    files in ``/usr/share/datasets/fashion-mnist``, where they are found
    without any download.
    """

    folder = "fashion-mnist"
    layouts = ("FashionMNIST/raw",)
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
               "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/")
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
               "Bag", "Ankle boot"]
    hint = "On Debian or Ubuntu: apt install dataset-fashion-mnist."
    files = {
        True: (("train-images-idx3-ubyte", (60000, 28, 28),
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
               ("train-labels-idx1-ubyte", (60000,),
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9")),
        False: (("t10k-images-idx3-ubyte", (10000, 28, 28),
                 "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
                ("t10k-labels-idx1-ubyte", (10000,),
                 "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34")),
    }
