"""ImageFolder: labelled photos on disk, read with Pillow when asked for.

Two layouts are read.  Class folders, as torchvision's ImageFolder::

    root/cat/0001.jpg
    root/dog/0002.png          ->  classes ['cat', 'dog'], labels 0 and 1

and the flat layout of Kaggle's Dogs vs Cats, the label being the file name
up to its first dot::

    root/cat.0.jpg
    root/dog.12499.jpg         ->  classes ['cat', 'dog'], labels 0 and 1

Hidden entries (``.ipynb_checkpoints/``, ``.DS_Store``) are skipped.  The
class list of a validation split must be the training split's (pass
``classes=train.classes``), so that a label means the same class in both;
a split that lacks or adds a class raises instead of renumbering in silence.

Images are decoded one at a time (a folder of JPEGs rarely fits in memory
once decoded), optionally resized on load, and returned as uint8 arrays
(C, H, W) for the transforms.
"""
import copy
from pathlib import Path

import numpy as np

from minidl import backend

from ..dataset import Dataset
from ..transforms import Resize
from .download import DatasetError

__all__ = ["ImageFolder", "image_folder_split", "train_val_split"]

LAYOUTS = ("auto", "folders", "flat")


def _pil_image():
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError("ImageFolder reads images with Pillow: pip install pillow") from error
    return Image


def _visible(path):
    return not path.name.startswith(".")


def _images_under(folder, extensions):
    """The image files below ``folder``, sorted, none inside a hidden folder."""
    found = []
    for path in sorted(folder.iterdir()):
        if not _visible(path):
            continue
        if path.is_dir():
            found += _images_under(path, extensions)
        elif path.suffix.lower() in extensions and path.is_file():
            found.append(path)
    return found


class ImageFolder(Dataset):
    """Images labelled by class folder or, in the flat layout, by file name prefix.

    ``transform``: applied to each image (C, H, W) uint8; ``size``: resize on
    load (an int sets the shorter side, keeping the aspect ratio; (h, w) is
    exact), with Pillow's bilinear filter; ``mode``: Pillow mode, 'RGB'
    (3 channels) or 'L' (grey, 1 channel).  ``layout``: 'folders', 'flat'
    (``<class>.<anything>.<ext>``) or 'auto' (class folders if ``root`` has
    visible sub-folders, else flat).  ``classes`` (a list) or ``class_to_idx``
    (a dict, as torchvision's) fixes the labels, normally to the training
    split's; by default the sorted class names found give 0, 1, ...

    ``samples`` lists (path, label); ``targets`` the labels (int64).
    Raises :class:`DatasetError` on an empty class and on a split whose
    classes differ from the given ones.
    """

    extensions = (".jpg", ".jpeg", ".png", ".bmp")

    def __init__(self, root, transform=None, size=None, mode="RGB", layout="auto", classes=None,
                 class_to_idx=None):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DatasetError(f"ImageFolder: {self.root} is not a directory")
        if mode not in ("RGB", "L"):
            raise ValueError(f"ImageFolder: mode must be 'RGB' or 'L', got {mode!r}")
        if layout not in LAYOUTS:
            raise ValueError(f"ImageFolder: layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
        if classes is not None and class_to_idx is not None:
            raise ValueError("ImageFolder: give classes or class_to_idx, not both")
        found = self._find(layout)          # class name -> its image paths
        if class_to_idx is not None or classes is not None:
            class_to_idx = class_to_idx or {name: i for i, name in enumerate(classes)}
            self._check_split(found, class_to_idx)
        else:
            class_to_idx = {name: i for i, name in enumerate(sorted(found))}
        self.class_to_idx = dict(class_to_idx)
        self.classes = sorted(self.class_to_idx, key=self.class_to_idx.get)
        samples = [(path, self.class_to_idx[name]) for name, paths in found.items() for path in paths]
        self.samples = sorted(samples, key=lambda sample: (sample[1], sample[0]))
        self.targets = np.array([label for _, label in self.samples], dtype=np.int64)
        self.transform, self.size, self.mode = transform, size, mode
        self._resize = Resize(size) if size is not None else None

    def _find(self, layout):
        """{class name: [image paths]} of the folder, in ``layout``; raises on empty classes."""
        entries = [p for p in sorted(self.root.iterdir()) if _visible(p)]
        folders = [p for p in entries if p.is_dir()]
        loose = [p for p in entries if p.is_file() and p.suffix.lower() in self.extensions]
        if layout == "auto" and folders and loose:
            raise DatasetError(f"ImageFolder: {self.root} holds both folders ({folders[0].name}, ...) "
                               f"and images ({loose[0].name}, ...); pass layout='folders' (class folders) "
                               "or 'flat' (<class>.<n>.jpg files)")
        if layout == "auto":
            layout = "folders" if folders else "flat"
        if layout == "folders":
            found = {folder.name: _images_under(folder, self.extensions) for folder in folders}
            empty = sorted(name for name, paths in found.items() if not paths)
            if empty:
                raise DatasetError(f"ImageFolder: class folder(s) {', '.join(empty)} of {self.root} hold no "
                                   f"images ({', '.join(self.extensions)}); remove them or add images")
        else:
            found = {}
            for path in loose:
                if "." not in path.stem:
                    raise DatasetError(f"ImageFolder: cannot tell the class of {path}: the flat layout "
                                       "names images <class>.<anything>.<ext>, e.g. cat.123.jpg")
                found.setdefault(path.stem.split(".")[0], []).append(path)
        if not found:
            raise DatasetError(f"ImageFolder: no images ({', '.join(self.extensions)}) under {self.root}; "
                               "expected root/<class>/<image> or root/<class>.<n>.<ext>")
        return found

    def _check_split(self, found, class_to_idx):
        lacks = sorted(set(class_to_idx) - set(found))
        adds = sorted(set(found) - set(class_to_idx))
        if lacks or adds:
            what = "; ".join(f"{verb} {', '.join(names)}"
                             for verb, names in (("lacks", lacks), ("adds", adds)) if names)
            raise DatasetError(f"ImageFolder: {self.root} {what} against the given classes "
                               f"{', '.join(sorted(class_to_idx, key=class_to_idx.get))}; a split must hold "
                               "the training split's classes, or labels would mean different classes")

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
        except Image.DecompressionBombError as error:
            raise DatasetError(f"ImageFolder: {path} is too large to decode safely ({error}); raise "
                               "PIL.Image.MAX_IMAGE_PIXELS if the file is trusted") from error
        except (OSError, SyntaxError, ValueError) as error:     # what Pillow raises for bad files
            raise DatasetError(f"ImageFolder: cannot read image {path} ({error})") from error
        return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)

    def __getitem__(self, index):
        path, label = self.samples[index]
        x = self.load(path)
        if self.transform is not None:
            x = self.transform(x)
        return x, label

    def subset(self, indices, transform=None):
        """A copy holding only the samples at ``indices``, with its own ``transform``."""
        part = copy.copy(self)
        part.samples = [self.samples[i] for i in indices]
        part.targets = self.targets[np.asarray(indices, dtype=np.int64)]
        part.transform = transform
        return part

    def __repr__(self):
        return (f"ImageFolder({str(self.root)!r}, {len(self)} images, {len(self.classes)} classes, "
                f"size={self.size!r}, transform={self.transform!r})")


def train_val_split(dataset, val_fraction=0.1, seed=0):
    """Two disjoint parts of an :class:`ImageFolder`: (train, val), ``val_fraction`` of each class in val.

    Stratified, so both parts keep the class balance, and drawn from a
    generator of its own seeded with ``seed``: the same folder and seed give
    the same split in every run and process, whatever else was drawn.  Each
    part gets its own ``transform`` (None; set them after).
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"train_val_split: val_fraction must be in (0, 1), got {val_fraction}")
    gen = backend.Generator("cpu", seed)
    val = []
    for label in range(len(dataset.classes)):
        members = np.flatnonzero(dataset.targets == label)
        k = int(round(val_fraction * len(members)))
        if k == 0 or k == len(members):
            raise DatasetError(f"train_val_split: class {dataset.classes[label]!r} has {len(members)} "
                               f"images, too few to put {val_fraction:.0%} of them aside for validation")
        val.append(members[gen.permutation(len(members))[:k]])
    val = np.sort(np.concatenate(val))
    train = np.setdiff1d(np.arange(len(dataset)), val)
    return dataset.subset(train), dataset.subset(val)


def image_folder_split(root, train=True, transform=None, size=None, val_fraction=0.1, seed=0):
    """The training or validation split of the photos under ``root``.

    Training images are ``root/train`` if it exists, else ``root`` itself
    (class folders or Kaggle's flat ``cat.N.jpg`` files).  Validation images
    are the first of ``root/val``, ``root/valid``, ``root/test`` (labelled
    with the training split's classes), else ``val_fraction`` of the training
    images drawn by :func:`train_val_split` with ``seed``, the rest being the
    training split.  ``transform`` and ``size`` go to :class:`ImageFolder`.
    """
    if root is None:
        raise DatasetError("image-folder: give root, a folder of class folders or of cat.N.jpg files, "
                           "or one with train/ and val/ (or test/) folders of them")
    root = Path(root).expanduser()
    train_dir = root / "train" if (root / "train").is_dir() else root
    training = ImageFolder(train_dir, size=size)
    val_dirs = [root / name for name in ("val", "valid", "test") if (root / name).is_dir()]
    if val_dirs and not train:
        return ImageFolder(val_dirs[0], transform=transform, size=size, classes=training.classes)
    if val_dirs:
        training.transform = transform
        return training
    part = train_val_split(training, val_fraction, seed)[0 if train else 1]
    part.transform = transform
    return part
