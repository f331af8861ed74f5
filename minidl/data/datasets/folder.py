"""ImageFolder: images sorted into one folder per class, read with Pillow when asked for.

    root/cat/cat.0.jpg
    root/cat/cat.1.jpg
    root/dog/dog.0.png      ->  classes ['cat', 'dog'], labels 0 and 1

The Dogs vs Cats layout of the course.  Images are decoded one at a time (a
folder of JPEGs rarely fits in memory once decoded), optionally resized on
load, and returned as uint8 arrays (C, H, W) for the transforms.
"""
from pathlib import Path

import numpy as np

from ..dataset import Dataset
from ..transforms import Resize
from .download import DatasetError

__all__ = ["ImageFolder"]


def _pil_image():
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError("ImageFolder reads images with Pillow: pip install pillow") from error
    return Image


class ImageFolder(Dataset):
    """One sub-folder of ``root`` per class (sorted names give the labels 0, 1, ...).

    ``transform``: applied to each image (C, H, W) uint8; ``size``: resize on
    load (an int sets the shorter side, keeping the aspect ratio; (h, w) is
    exact), with Pillow's bilinear filter; ``mode``: Pillow mode, 'RGB'
    (3 channels) or 'L' (grey, 1 channel).  ``samples`` lists (path, label).
    """

    extensions = (".jpg", ".jpeg", ".png", ".bmp")

    def __init__(self, root, transform=None, size=None, mode="RGB"):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DatasetError(f"ImageFolder: {self.root} is not a directory")
        if mode not in ("RGB", "L"):
            raise ValueError(f"ImageFolder: mode must be 'RGB' or 'L', got {mode!r}")
        self.classes = sorted(d.name for d in self.root.iterdir() if d.is_dir())
        self.samples = [(path, label) for label, name in enumerate(self.classes)
                        for path in sorted((self.root / name).rglob("*"))
                        if path.suffix.lower() in self.extensions and path.is_file()]
        if not self.samples:
            raise DatasetError(f"ImageFolder: no images ({', '.join(self.extensions)}) in class folders "
                               f"under {self.root}; expected root/<class>/<image>")
        self.targets = np.array([label for _, label in self.samples], dtype=np.int64)
        self.transform, self.size, self.mode = transform, size, mode
        self._resize = Resize(size) if size is not None else None

    def __len__(self):
        return len(self.samples)

    def load(self, path):
        """The image at ``path`` as a uint8 array (C, H, W), resized to ``size`` if set."""
        Image = _pil_image()
        try:
            with Image.open(path) as img:
                img = img.convert(self.mode)
                if self._resize is not None:
                    h, w = self._resize.output_size(img.height, img.width)
                    img = img.resize((w, h), Image.Resampling.BILINEAR)
                pixels = np.asarray(img, dtype=np.uint8)
        except (OSError, SyntaxError, ValueError) as error:     # what Pillow raises for bad files
            raise DatasetError(f"ImageFolder: cannot read image {path} ({error})") from error
        return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)

    def __getitem__(self, index):
        path, label = self.samples[index]
        x = self.load(path)
        if self.transform is not None:
            x = self.transform(x)
        return x, label

    def __repr__(self):
        return (f"ImageFolder({str(self.root)!r}, {len(self)} images, {len(self.classes)} classes, "
                f"size={self.size!r}, transform={self.transform!r})")
