"""Shapes: a synthetic image dataset, generated from a seed, that a small CNN learns in seconds.

Each image shows one shape on a noisy background, at a random place, size
and brightness: 0 square outline, 1 disk, 2 triangle, 3 cross, 4 ring.  The
class depends on the shape, never on a single pixel, so it takes a
convolutional feature to tell a ring from a disk or a square outline.
"""
import numpy as np

from ..dataset import ImageDataset

__all__ = ["Shapes"]

CLASSES = ["square", "disk", "triangle", "cross", "ring"]


def _masks(labels, dy, dx, r, t):
    """Boolean masks (N, S, S) of the shapes: offsets (dy, dx) to each centre, radius r, thickness t."""
    dist = np.sqrt(dy ** 2 + dx ** 2)
    box = np.maximum(np.abs(dy), np.abs(dx))
    shapes = [
        (box <= r) & (box > r - t),                                         # square outline
        dist <= r,                                                          # disk
        (dy >= -r) & (dy <= r) & (np.abs(dx) <= (dy + r) / 2),              # triangle, apex up
        ((np.abs(dy) <= t / 2) & (np.abs(dx) <= r)) | ((np.abs(dx) <= t / 2) & (np.abs(dy) <= r)),
        (dist <= r) & (dist > r - t),                                       # ring
    ]
    return np.select([labels[:, None, None] == k for k in range(len(shapes))], shapes, False)


class Shapes(ImageDataset):
    """``num_samples`` images (C, image_size, image_size) uint8 of ``num_classes`` (2..5) shapes, balanced.

    The same ``seed`` gives the same images; the train and test splits are
    drawn from different streams of it.  Default sizes: 2,000 train, 500 test.
    """

    def __init__(self, train=True, transform=None, num_samples=None, image_size=28, channels=1,
                 num_classes=4, seed=0):
        if not 2 <= num_classes <= len(CLASSES):
            raise ValueError(f"Shapes: num_classes must be 2..{len(CLASSES)}, got {num_classes}")
        if image_size < 8 or channels < 1:
            raise ValueError(f"Shapes: need image_size >= 8 and channels >= 1, got {image_size}, {channels}")
        self.train = bool(train)
        n = num_samples if num_samples is not None else (2000 if self.train else 500)
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, int(self.train)])))
        labels = rng.permutation(np.arange(n) % num_classes)
        size = image_size
        r = rng.uniform(size / 6, size / 3, n)[:, None, None]
        cy, cx = (rng.uniform(r[:, 0, 0] + 1, size - 2 - r[:, 0, 0]) for _ in range(2))
        y, x = np.mgrid[0:size, 0:size]
        mask = _masks(labels, y - cy[:, None, None], x - cx[:, None, None], r, max(1.5, size / 10))
        colour = rng.uniform(0.6, 1.0, (n, channels))[:, :, None, None]
        noise = rng.uniform(0.0, 0.25, (n, channels, size, size))
        images = np.where(mask[:, None], colour, noise)
        super().__init__((images * 255).round().astype(np.uint8), labels, transform=transform,
                         classes=CLASSES[:num_classes])
