"""What ``python -m minidl train`` builds from its flags: datasets, optimizers, schedules.

Datasets come by name from :func:`minidl.data.datasets.get_dataset`, their
pixels scaled to [0, 1] and standardized by the training set's per-channel
mean and standard deviation.  'mnist' falls back to the bundled subset when
the full set's files are in none of the searched directories; a file that
is there but truncated or corrupt is an error naming it.  Augmentation, when asked for, moves
each image by a few pixels (about 7% of its size; MNIST: 2 pixels) and
mirrors colour images left-right at random.

'image-folder' (photos of any size, see :func:`load_photo_folder`) gets the
transforms of the Dogs vs Cats practice instead: a random resized crop,
rotation and flip for training, a resize and centre crop for validation.

Learning-rate schedules are written ``kind[:arguments]``:

* ``step:5:0.6667``: multiply by 0.6667 every 5 epochs (lab 03: 0.25 divided by 1.5 every 5 epochs);
* ``multistep:10,14,18:0.5``: halve at epochs 10, 14 and 18 (lab 04);
* ``cosine``: half a cosine from the initial rate down to 0 over the run;
* ``none``: a constant rate.
"""
import numpy as np

from .. import optim
from ..data import get_batch, presets, transforms
from ..data.datasets import DatasetNotFoundError, get_dataset, image_folder_split

__all__ = ["OPTIMIZERS", "load_datasets", "load_photo_folder", "make_optimizer", "parse_schedule",
           "make_scheduler"]

OPTIMIZERS = ["sgd", "adam", "adamw", "rmsprop", "adagrad"]
SCHEDULES = ["step:STEP:GAMMA", "multistep:M1,M2,...:GAMMA", "cosine", "none"]


def _channel_stats(dataset, limit=2000):
    """Per-channel mean and standard deviation of the training images, in [0, 1] units.

    Estimated from ``limit`` images spread evenly over the set, which is
    plenty for two numbers per channel and keeps folders of JPEGs quick.
    """
    indices = np.linspace(0, len(dataset) - 1, min(limit, len(dataset))).astype(np.int64)
    images = get_batch(dataset, indices)[0]
    images = transforms.to_unit_interval(images, np.float64)
    return images.mean(axis=(0, 2, 3)), images.std(axis=(0, 2, 3))


def _pipeline(mean, std, image_shape, augment):
    steps = []
    if augment:
        channels, height, _ = image_shape
        steps.append(transforms.RandomShift(max(1, round(height / 14))))
        if channels == 3:
            steps.append(transforms.RandomHorizontalFlip())
    return transforms.Compose([*steps, transforms.ToFloat(), transforms.Normalize(mean, std)])


# photos of mixed sizes cannot be stacked as they are: their statistics are measured on squares of
# this side (a small side keeps 2,000 decoded photos in a few hundred MB)
STATS_SIZE = 64


def load_photo_folder(root, image_size, augment=False, stats=None):
    """The training and validation splits of a folder of photos (see
    :func:`~minidl.data.datasets.image_folder_split`), and one line saying what was loaded.

    Training images get :func:`~minidl.data.presets.photo_train_transform`
    (random resized crop to ``image_size``, rotation up to 90 degrees, flip)
    when ``augment``, else the validation images' transform,
    :func:`~minidl.data.presets.photo_eval_transform` (resize the shorter
    side, centre crop).  ``stats``: the (mean, std) to normalize with, e.g.
    ImageNet's for pretrained weights; by default the training images' own,
    measured after resizing them to STATS_SIZE squares.
    """
    train_set = image_folder_split(root, train=True)
    val_set = image_folder_split(root, train=False)
    if stats is None:
        square = transforms.Resize((STATS_SIZE, STATS_SIZE))
        stats = _channel_stats(train_set.subset(range(len(train_set)), transform=square))
    mean, std = (tuple(float(v) for v in values) for values in stats)
    val_set.transform = presets.photo_eval_transform(image_size, mean, std)
    train_set.transform = (presets.photo_train_transform(image_size, mean, std) if augment
                           else val_set.transform)
    line = (f"dataset image-folder: {len(train_set):,} training / {len(val_set):,} validation photos from "
            f"{root}, cropped to {image_size}x{image_size}, {len(train_set.classes)} classes "
            f"({', '.join(train_set.classes)})")
    return train_set, val_set, line


def load_datasets(name, root=None, download=False, augment=False, **options):
    """The training and test sets of dataset ``name``, and one line saying what was loaded.

    ``root``, ``download`` and ``options`` go to :func:`get_dataset`, except
    for 'image-folder', whose ``root`` and ``options`` (``image_size``,
    ``stats``) go to :func:`load_photo_folder`.  The training set gets the
    augmentation when ``augment``; both get the same standardization.
    """
    if name == "image-folder":
        return load_photo_folder(root, augment=augment, **options)
    what, hint = "", ""
    try:
        train_set = get_dataset(name, train=True, root=root, download=download, **options)
        test_set = get_dataset(name, train=False, root=root, download=download, **options)
    except DatasetNotFoundError as missing:
        if name != "mnist":
            raise
        train_set, test_set = (get_dataset("mnist-subset", train=split) for split in (True, False))
        what = (f"{missing.filename} is in none of the {len(missing.dirs)} directories searched, "
                "so the bundled subset: ")
        hint = " (--download fetches the full set)"
    mean, std = _channel_stats(train_set)
    image_shape = tuple(np.shape(train_set[0][0]))
    train_set.transform = _pipeline(mean, std, image_shape, augment)
    test_set.transform = _pipeline(mean, std, image_shape, False)
    line = (f"dataset {name}: {what}{len(train_set):,} training / {len(test_set):,} test images "
            f"{'x'.join(map(str, image_shape))}, {len(train_set.classes)} classes{hint}")
    return train_set, test_set, line


def make_optimizer(name, parameters, lr, momentum=0.0, weight_decay=0.0):
    """The optimizer ``name`` (one of :data:`OPTIMIZERS`) over ``parameters``.

    ``momentum`` applies to SGD and RMSprop; Adam's moments have their own defaults.
    """
    parameters = list(parameters)
    if name == "sgd":
        return optim.SGD(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "rmsprop":
        return optim.RMSprop(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name in ("adam", "adamw", "adagrad"):
        cls = {"adam": optim.Adam, "adamw": optim.AdamW, "adagrad": optim.Adagrad}[name]
        return cls(parameters, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}")


def parse_schedule(text):
    """``'step:5:0.6667'`` -> ``('step', 5, 0.6667)``; ``'multistep:10,14:0.5'`` -> ``('multistep', [10, 14],
    0.5)``; ``'cosine'`` and ``'none'`` -> ``('cosine',)``, ``('none',)``.  Raises ValueError otherwise."""
    kind, *parts = text.split(":")
    try:
        if kind == "step" and len(parts) == 2 and int(parts[0]) > 0:
            return ("step", int(parts[0]), float(parts[1]))
        if kind == "multistep" and len(parts) == 2:
            return ("multistep", sorted(int(m) for m in parts[0].split(",")), float(parts[1]))
    except ValueError:
        pass
    if kind in ("cosine", "none") and not parts:
        return (kind,)
    raise ValueError(f"bad schedule {text!r}; expected one of {', '.join(SCHEDULES)}, "
                     "e.g. step:5:0.6667 or multistep:10,14,18:0.5")


def make_scheduler(schedule, optimizer, epochs):
    """The scheduler of a parsed ``schedule`` (see :func:`parse_schedule`), or None for 'none'."""
    kind, *options = schedule
    if kind == "step":
        return optim.lr_scheduler.StepLR(optimizer, step_size=options[0], gamma=options[1])
    if kind == "multistep":
        return optim.lr_scheduler.MultiStepLR(optimizer, milestones=options[0], gamma=options[1])
    if kind == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    return None
