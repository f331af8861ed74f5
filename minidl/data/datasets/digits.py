"""Digits: scikit-learn's 8x8 handwritten digits (1,797 images from the UCI repository).

scikit-learn is imported only when the dataset is made, so it is no
dependency of minidl.  Pixels 0..16 are scaled to 0..255.  The split is
fixed: every fifth image (index % 5 == 4) is a test image (1,438 train /
359 test).
"""
import numpy as np

from ..dataset import ImageDataset

__all__ = ["Digits"]


class Digits(ImageDataset):
    """The 8x8 digits of ``sklearn.datasets.load_digits`` as 1x8x8 uint8 images, labels 0..9."""

    classes = [str(d) for d in range(10)]

    def __init__(self, train=True, transform=None):
        try:
            from sklearn.datasets import load_digits
        except ImportError as error:
            raise ImportError("Digits comes from scikit-learn: pip install scikit-learn") from error
        digits = load_digits()
        self.train = bool(train)
        keep = (np.arange(len(digits.target)) % 5 == 4) != self.train
        images = np.rint(digits.images[keep] * (255 / 16)).astype(np.uint8)
        super().__init__(images[:, None], digits.target[keep], transform=transform, classes=self.classes)
