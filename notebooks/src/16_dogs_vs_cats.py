# %% [markdown]
# # 16. Dogs vs Cats, as the practice deck does it
#
# The practice deck trains four networks of the course on Kaggle's Dogs vs Cats (25,000
# labelled photos, `cat.0.jpg` ... `dog.12499.jpg`, of every size and shape) with these
# transforms:
#
# | training | validation |
# |---|---|
# | RandomResizedCrop(224), RandomRotation(90), Normalize | Resize(224), Normalize |
#
# and reports these validation accuracies: AlexNet 0.9515, VGG16 0.9750, GoogLeNet 0.9850,
# ResNet-34 0.9885. This notebook teaches:
# - how a folder of photos becomes batches: Kaggle's flat layout, a validation split drawn from
#   the training folder, the deck's transforms on photos of mixed sizes;
# - one network of the deck (ResNet-34) trained from scratch with `python -m minidl train`;
# - the pretrained route: export weights, load them with a new two-class head, freeze the
#   rest, compute the frozen network's features once and train the head on them, which is what
#   makes fine-tuning practical on a CPU;
# - what this machine reached beside the deck's four numbers, and why they are not comparable.
#
# It runs on Kaggle's photos when they are found in `$MINIDL_DATA/dogs-vs-cats/train`. This
# machine has none, and no network: the notebook then draws its own stand-in, and says so.

# %%
import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import minidl
from minidl import cli, models
import minidl.optim
import minidl.train
from minidl.data import DataLoader, presets, transforms
from minidl.data.datasets import ImageFolder, Shapes, image_folder_split
from minidl.train import blas_threads

FAST = os.environ.get("MINIDL_FAST") == "1"
minidl.manual_seed(0)
# One BLAS thread: on a shared 2-core CPU, threads waiting for a core slow every step down.
blas_threads()
WORK = Path(tempfile.mkdtemp(prefix="dogs-vs-cats-"))
PER_CLASS = 24 if FAST else 300          # photos of each class used here
SIZE = 32                                # the side of the crops the networks see (the deck: 224)
EPOCHS = 1 if FAST else 8

# %% [markdown]
# ## The folder
# Kaggle's `train/` holds all 25,000 photos in one folder, the class being the file name up to
# its first dot. `ImageFolder` reads that flat layout as well as class folders
# (`train/cat/0.jpg`), and `image_folder_split` draws a validation split (10% of each class,
# always the same for a given seed) when there is no `val/` folder beside `train/`.
#
# Without Kaggle's photos, the stand-in is drawn here: "photographs" of mixed sizes
# (70-180 x 60-160 pixels) of a cat's head (pointed ears) or a dog's (hanging ears, a snout)
# in a random colour, size, place and tilt, on a random gradient with noise, saved as JPEGs in
# Kaggle's flat layout. It is far easier than real photos; it is here to run the same code.

# %%
def draw_animal(kind, rng):
    """A drawn 'photo' of a cat's or a dog's head: a PIL RGB image of random size."""
    from PIL import Image, ImageDraw, ImageFilter
    w, h = int(rng.integers(70, 180)), int(rng.integers(60, 160))
    top, bottom = rng.integers(40, 220, 3), rng.integers(40, 220, 3)
    ramp = np.linspace(0, 1, h)[:, None, None]
    background = (top * (1 - ramp) + bottom * ramp) * np.ones((1, w, 1)) + rng.normal(0, 12, (h, w, 3))
    img = Image.fromarray(background.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    s = rng.uniform(0.2, 0.36) * min(w, h)                       # the head's radius
    cx, cy = rng.uniform(1.3 * s, w - 1.3 * s), rng.uniform(1.4 * s, h - 1.1 * s)
    fur = tuple(int(v) for v in rng.integers(30, 230, 3))
    if kind == "cat":                                            # pointed ears standing up
        for side in (-1, 1):
            draw.polygon([(cx + side * 0.95 * s, cy - 0.2 * s), (cx + side * 0.25 * s, cy - 0.8 * s),
                          (cx + side * 0.85 * s, cy - 1.45 * s)], fill=fur)
    draw.ellipse([cx - s, cy - 0.85 * s, cx + s, cy + 0.85 * s], fill=fur)
    if kind == "dog":                                            # hanging ears and a snout
        dark, light = (tuple(int(np.clip(v + d, 0, 255)) for v in fur) for d in (-60, 40))
        for side in (-1, 1):
            ear = cx + side * 0.95 * s
            draw.ellipse([ear - 0.3 * s, cy - 0.7 * s, ear + 0.3 * s, cy + 0.9 * s], fill=dark)
        draw.ellipse([cx - 0.45 * s, cy + 0.1 * s, cx + 0.45 * s, cy + 0.75 * s], fill=light)
    for side in (-1, 1):                                         # eyes, then the nose
        eye = cx + side * 0.4 * s
        draw.ellipse([eye - 0.1 * s, cy - 0.3 * s, eye + 0.1 * s, cy - 0.1 * s], fill=(20, 20, 20))
    draw.ellipse([cx - 0.12 * s, cy + 0.2 * s, cx + 0.12 * s, cy + 0.35 * s], fill=(40, 20, 20))
    tilted = img.rotate(float(rng.uniform(-25, 25)), resample=Image.Resampling.BILINEAR,
                        fillcolor=tuple(int(v) for v in top))
    return tilted.filter(ImageFilter.GaussianBlur(0.6))


photos = WORK / "train"
photos.mkdir()
kaggle = Path(os.environ.get("MINIDL_DATA", "/nonexistent")).expanduser() / "dogs-vs-cats" / "train"
if kaggle.is_dir():
    for kind in ("cat", "dog"):       # the first PER_CLASS of each class, linked, not copied
        for i in range(PER_CLASS):
            (photos / f"{kind}.{i}.jpg").symlink_to(kaggle / f"{kind}.{i}.jpg")
    SOURCE = f"Kaggle's Dogs vs Cats from {kaggle} (the first {PER_CLASS} photos of each class)"
else:
    rng = np.random.default_rng(0)
    for i in range(PER_CLASS):
        for kind in ("cat", "dog"):
            draw_animal(kind, rng).save(photos / f"{kind}.{i}.jpg", quality=90)
    SOURCE = f"a drawn stand-in: {PER_CLASS} cats and {PER_CLASS} dogs, no real photo"

folder = ImageFolder(photos)
shapes = sorted({folder.load(path).shape[1:] for path, _ in folder.samples})
print(f"data: {SOURCE}")
print(f"{photos}: {', '.join(p.name for p in sorted(photos.iterdir())[:3])}, ... ({len(folder)} files)")
print(f"classes {folder.classes}, labels {np.bincount(folder.targets).tolist()} photos each; "
      f"{len(shapes)} different sizes (H, W) from {shapes[0]} to {shapes[-1]}")
assert folder.classes == ["cat", "dog"] and len(shapes) > 1

# %% [markdown]
# ## The deck's transforms
# `presets.photo_train_transform(size, mean, std)` is the deck's training column:
# RandomResizedCrop (a random part of 8% to 100% of the photo, of random aspect ratio, resized
# to size x size), RandomRotation(90), a left-right flip, then Normalize.
# `presets.photo_eval_transform` is its validation column: the shorter side resized to size,
# then the central square, so that every photo of a batch has one shape. Below, one photo,
# eight draws of the training transform, and the validation transform (shown at 224 pixels, as
# in the deck; the networks below see 32).

# %%
mean, std = presets.IMAGENET_MEAN, presets.IMAGENET_STD
augment = presets.photo_train_transform(224, mean, std)
validate = presets.photo_eval_transform(224, mean, std)
photo = folder.load(folder.samples[0][0])


def shown(x):
    """A normalized (3, H, W) image back to [0, 1] (H, W, 3) for imshow."""
    return (np.transpose(x, (1, 2, 0)) * std + mean).clip(0, 1)


fig, axes = plt.subplots(2, 5, figsize=(11, 4.6))
axes[0, 0].imshow(np.transpose(photo, (1, 2, 0)))
axes[0, 0].set_title(f"photo {photo.shape[2]}x{photo.shape[1]}", fontsize=9)
axes[1, 0].imshow(shown(validate(photo)))
axes[1, 0].set_title("validation", fontsize=9)
for ax in axes[:, 1:].flat:
    ax.imshow(shown(augment(photo)))
    ax.set_title("training draw", fontsize=9)
for ax in axes.flat:
    ax.axis("off")
plt.show()

sizes = {augment(folder.load(path)).shape for path, _ in folder.samples[:20]}
sizes |= {validate(folder.load(path)).shape for path, _ in folder.samples[:20]}
print(f"shapes after either transform, over 20 photos of {len(shapes)} sizes: {sizes}")
assert sizes == {(3, 224, 224)}
assert np.array_equal(validate(photo), validate(photo)), "validation draws nothing at random"

# %% [markdown]
# ## ResNet-34 from scratch
# The whole run is one command. `--dataset image-folder` uses the deck's transforms (with
# `--image-size` as their size) and normalizes with the training photos' own mean and
# standard deviation, measured on small squares since photos of mixed sizes cannot be stacked.
#
# ```
# python -m minidl train --dataset image-folder --data-dir DIR --model resnet34 --image-size 32 ...
# ```
#
# Here at 32 pixels rather than 224, on a few hundred photos, for a few epochs: what a shared
# 2-core CPU does in a minute or two (the time is printed below).

# %%
def train(*flags, out):
    """`python -m minidl train ...` in this process; returns what it printed and its history."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cli.main(["train", "--dataset", "image-folder", "--data-dir", str(photos), "--quiet",
                         "--out", str(WORK / out), *map(str, flags)])
    assert code == 0, printed.getvalue()
    return printed.getvalue(), json.loads((WORK / out / "history.json").read_text())


start = time.perf_counter()
printed, scratch = train("--model", "resnet34", "--image-size", SIZE, "--epochs", EPOCHS, "--batch-size", 32,
                         "--optimizer", "adam", "--lr", 0.001, out="scratch")
scratch_seconds = time.perf_counter() - start
print(printed)
scratch_acc = scratch[-1]["val_acc"]
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot([r["epoch"] for r in scratch], [100 * r["train_acc"] for r in scratch], marker="o", label="training")
ax.plot([r["epoch"] for r in scratch], [100 * r["val_acc"] for r in scratch], marker="o", label="validation")
ax.axhline(50, color="gray", linestyle=":", label="chance")
ax.set(xlabel="epoch", ylabel="accuracy (%)", title="ResNet-34 from scratch", ylim=(30, 101))
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
plt.show()
assert 0 <= scratch_acc <= 1 and len(scratch) == EPOCHS

# %% [markdown]
# ## The pretrained route
# The deck's networks start from ImageNet weights. torchvision has them;
# `python -m minidl export-torchvision resnet34 resnet34.npz` (or
# `models.export_torchvision`) writes them as a `.npz` file that loads anywhere NumPy runs.
# It needs torch and torchvision, and the network, where it runs. Here:

# %%
try:
    exported = models.export_torchvision("resnet34", WORK / "resnet34-imagenet.npz")
    print(f"exported {exported}")
except models.WeightsError as error:
    exported = None
    print(f"WeightsError: {error}")

# %% [markdown]
# Where that fails, as on this machine, the notebook makes its own "pretrained" weights: a
# ResNet-34 trained here on another stand-in task, minidl's synthetic shapes (a square, disk,
# triangle, cross or ring on noise, drawn at 32x32 in colour, 5 classes) and saved with
# `minidl.save`. They know edges and outlines, not animals: a weak stand-in for ImageNet, which
# is exactly what the numbers below measure.

# %%
if exported is None:
    # normalized with ImageNet's statistics, as `train --weights` normalizes the photos
    normalize = transforms.Compose([transforms.ToFloat(), transforms.Normalize(mean, std)])
    shape_sets = [Shapes(train=split, num_samples=n, image_size=SIZE, channels=3, num_classes=5,
                         transform=normalize) for split, n in ((True, 64 if FAST else 1000), (False, 100))]
    pretrained = models.get("resnet34", num_classes=5)
    optimizer = minidl.optim.Adam(pretrained.parameters(), lr=0.001)
    history = minidl.train.fit(pretrained, DataLoader(shape_sets[0], 32, shuffle=True),
                               DataLoader(shape_sets[1], 100), optimizer, epochs=1 if FAST else 4,
                               progress=False)
    weights = WORK / "resnet34-shapes.npz"
    minidl.save(pretrained.state_dict(), weights)
    WEIGHTS = "ResNet-34 trained here on 5 classes of drawn shapes (not ImageNet)"
    print(f"shapes: test accuracy {history[-1]['val_acc']:.3f} after {len(history)} epoch(s)")
else:
    weights, WEIGHTS = exported, "torchvision's ImageNet weights"
print(f"weights: {weights.name}: {WEIGHTS}")

# %% [markdown]
# `models.get(name, num_classes=2, weights=PATH)` loads every tensor of the file and
# re-initializes the classifier, built for another number of classes, saying so:

# %%
model = models.get("resnet34", num_classes=2, weights=weights)

# %% [markdown]
# ## Freeze, cache the features, train the head
# `--freeze` trains the new classifier (`fc`, 1,026 parameters) alone; the other 21 million are
# frozen and the body stays in eval mode. Then every epoch pushes the same photos through the
# same weights, so `--cache-features` computes the body's output (the 512 numbers `fc` reads)
# once, stores it on disk, keyed by the model, the weights file's digest, the image size and
# the photos, and trains `fc` on it. No random augmentation in that mode: each photo is seen as
# validation sees it. A second run with the same cache reads the features instead.

# %%
flags = ["--model", "resnet34", "--image-size", SIZE, "--weights", weights, "--freeze", "--cache-features",
         "--cache-dir", WORK / "features", "--epochs", 5 if FAST else 30, "--batch-size", 32,
         "--optimizer", "adam", "--lr", 0.01]
timings = []
for run in ("head", "head-again"):
    start = time.perf_counter()
    printed, head = train(*flags, out=run)
    timings.append(time.perf_counter() - start)
    print(f"--- {run}: {timings[-1]:.1f} s\n{printed}")
head_acc = head[-1]["val_acc"]
assert printed.count("read from") == 2 and "computed in" not in printed, "the second run reads the cache"
if not FAST:      # the first run's forward pass over every photo is what the cache saves
    assert timings[1] < timings[0], timings

# %% [markdown]
# The first run paid for one forward pass of the body over every photo; the second, none (both
# times are printed above). On the real folder at 224 pixels that forward pass is the whole
# cost: the README's Dogs vs Cats section gives the images per second of the four networks on
# this CPU, and the minutes it takes for 25,000 photos.
#
# ## Beside the deck

# %%
deck = {"AlexNet": 0.9515, "VGG16": 0.9750, "GoogLeNet": 0.9850, "ResNet-34": 0.9885}
print(f"{'':<52}{'validation accuracy':>20}")
for name, acc in deck.items():
    print(f"{'the deck: ' + name + ', 224 px, Kaggle photos':<52}{acc:>20.4f}")
here = f"{2 * PER_CLASS} photos of {SOURCE.split(':')[0]}, {SIZE} px"
scratch_name = f"here: ResNet-34 from scratch, {EPOCHS} epoch{'s' if EPOCHS > 1 else ''}"
print(f"{scratch_name:<52}{scratch_acc:>20.4f}   ({here})")
print(f"{'here: ResNet-34 head on frozen features':<52}{head_acc:>20.4f}   (weights: {WEIGHTS})")
n_val = len(image_folder_split(photos, train=False))
print(f"validation photos here: {n_val}; one photo is {100 / n_val:.1f} points of accuracy")
print(f"time here: {scratch_seconds:.0f} s from scratch, {timings[0]:.1f} s for the head with its features, "
      f"{timings[1]:.1f} s with them cached")
if not FAST:
    # the stand-in's classes differ in their outlines: both routes learn something
    assert scratch_acc > 0.6 and head_acc > 0.6, (scratch_acc, head_acc)

# %% [markdown]
# The deck's numbers come from 224-pixel crops of 25,000 real photos, networks pretrained on
# ImageNet's 1.2 million, and hours of a GPU; the ones here from a few hundred photos (drawn
# heads, on this machine) at 32 pixels, minutes of a shared CPU and, without torchvision,
# weights that never saw an animal. They are printed side by side to show the gap, not to
# compare the networks: with so few validation photos, one photo moves the accuracy by the
# amount printed above. Whether borrowed features beat a network trained from scratch depends
# on how close the task they were learnt on is: ImageNet's photos are close to Kaggle's, drawn
# shapes are far from drawn animals.
#
# ## Exercises
# 1. Train the head with `--freeze` alone (no cache) for 2 epochs, and compare its time per
#    epoch with the cached run's.
# 2. Train the head with `--freeze --augment` (no cache: random crops every epoch). Does the
#    augmentation help the head on so few photos?
# 3. With Kaggle's folder and torchvision's weights (exported where torch is installed), run
#    `python -m minidl train --dataset image-folder --data-dir dogs-vs-cats/train --model resnet34
#    --weights resnet34.npz --freeze --cache-features`. How close does the head alone get to 0.9885?
