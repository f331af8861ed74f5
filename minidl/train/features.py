"""Fine-tuning a pretrained network's head: freeze the body, and compute its features once.

With the body frozen, every epoch pushes the same images through the same
weights, so on a CPU nearly all the time of an epoch goes into recomputing
the same numbers.  Computed once and kept on disk, those numbers (the input
of the head, e.g. ResNet's 512 pooled values per image) make each further
epoch a few matrix products::

    model = models.get("resnet18", num_classes=2, weights="resnet18.npz")
    head = freeze(model)                              # 'fc'; only model.fc trains
    cache = FeatureCache("runs/cache")
    (x, y), cached = cache.get(feature_key(...), lambda: extract_features(model, loader, head))
    fit(FrozenBody(model, head, inputs="features"), DataLoader(TensorDataset(x, y), 64, shuffle=True),
        optimizer=SGD(submodule(model, head).parameters(), lr=0.01), ...)

The features are those of the body in eval mode (dropout off, batch norm
with its running statistics) on the loader's images: with a random
augmentation they would be those of one draw, reused every epoch, so the
loader of a cached run applies no random transform.
"""
import contextlib
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .. import nn
from ..autograd import no_grad

__all__ = ["head_name", "freeze", "submodule", "FrozenBody", "extract_features", "feature_key", "file_digest",
           "FeatureCache"]


def head_name(model):
    """The name of the classifier: the module holding the last weight of ``model`` (auxiliary heads
    such as GoogLeNet's ``aux1``, ``aux2`` aside), e.g. 'fc' for ResNet, 'classifier.6' for VGG."""
    aux = set(getattr(model, "aux_heads", ()))
    names = [name.rsplit(".", 1)[0] for name, _ in model.named_parameters()
             if name.endswith(".weight") and name.split(".", 1)[0] not in aux]
    if not names:
        raise ValueError(f"head_name: {type(model).__name__} has no layer with a weight")
    return names[-1]


def freeze(model, head=None):
    """Freeze every parameter of ``model`` but those of its ``head`` (default :func:`head_name`);
    returns the head's name.  Give the optimizer ``submodule(model, head).parameters()``."""
    head = head or head_name(model)
    model.requires_grad_(False)
    submodule(model, head).requires_grad_(True)
    return head


def submodule(model, name):
    """The module of ``model`` called ``name`` ('fc', 'classifier.6'); KeyError naming the valid ones."""
    modules = dict(model.named_modules())
    if name not in modules:
        raise KeyError(f"{type(model).__name__} has no module {name!r}; "
                       f"it has {', '.join(list(modules)[1:])}")
    return modules[name]


class FrozenBody(nn.Module):
    """``model`` with a frozen body that stays in eval mode while its ``head`` trains.

    A frozen body in training mode would still drop units and update batch
    norm's running statistics; fine-tuning keeps it as it was pretrained.
    ``inputs='features'``: the module is fed the body's outputs (see
    :func:`extract_features`) and runs the head alone.  The state dict is
    ``model``'s own (no prefix), so a checkpoint of a FrozenBody loads into
    ``models.get(name)``.
    """

    def __init__(self, model, head, inputs="images"):
        super().__init__()
        if inputs not in ("images", "features"):
            raise ValueError(f"FrozenBody: inputs must be 'images' or 'features', got {inputs!r}")
        self.model, self.head, self.inputs = model, head, inputs

    def forward(self, x):
        return self.model(x) if self.inputs == "images" else submodule(self.model, self.head)(x)

    def train(self, mode=True):
        self.model.eval()
        submodule(self.model, self.head).train(mode)
        self.training = bool(mode)
        return self

    def state_dict(self, *args, **kwargs):
        return self.model.state_dict(*args, **kwargs)

    def load_state_dict(self, *args, **kwargs):
        return self.model.load_state_dict(*args, **kwargs)


@contextlib.contextmanager
def _without(model, head):
    """``model`` with its ``head`` replaced by Identity for the duration: its output is the head's input."""
    parent_name, _, child = head.rpartition(".")
    parent = submodule(model, parent_name)
    # set in place: add_module would move the entry to the end, and a Sequential runs in that order
    original = parent._modules[child]
    parent._modules[child] = nn.Identity()
    try:
        yield model
    finally:
        parent._modules[child] = original


def extract_features(model, loader, head=None):
    """The input of ``model``'s ``head`` (default :func:`head_name`) for every batch of ``loader``.

    Runs the model without its head, in eval mode and without a graph.
    Returns ``(features, targets)``: float32 (N, D) and int64 (N,) NumPy
    arrays, in the loader's order.
    """
    head = head or head_name(model)
    was_training = model.training
    model.eval()
    features, targets = [], []
    try:
        with no_grad(), _without(model, head) as body:
            for x, y in loader:
                features.append(body(x).numpy().reshape(len(x), -1).astype(np.float32))
                targets.append(y.numpy())
    finally:
        model.train(was_training)
    return np.concatenate(features), np.concatenate(targets).astype(np.int64)


def file_digest(path, chunk=1 << 20):
    """The SHA-256 of the file at ``path`` (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def feature_key(model, weights_digest, image_size, samples, transform):
    """A name for the features of one dataset split: the hash of everything they depend on.

    ``model``: the model's name; ``weights_digest``: :func:`file_digest` of
    the weights file; ``samples``: the split's (path, label) pairs, each file
    identified by its path, size and modification time (a replaced image
    changes the key); ``transform``: the loader's transform (its repr).
    """
    files = [(str(path), label, *_stamp(path)) for path, label in samples]
    text = json.dumps({"model": model, "weights": weights_digest, "image_size": image_size,
                       "files": files, "transform": repr(transform)}, sort_keys=True)
    return f"{model}-{image_size}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def _stamp(path):
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


class FeatureCache:
    """Features kept as ``FOLDER/KEY.npz``; :meth:`get` computes them only when the file is absent."""

    def __init__(self, folder):
        self.folder = Path(folder).expanduser()

    def path(self, key):
        return self.folder / f"{key}.npz"

    def get(self, key, compute):
        """``(features, targets)`` stored under ``key``, else ``compute()``'s, written first.

        Returns them and whether they came from the cache.  The file is
        written to a temporary name and renamed, so a run killed while
        writing leaves no half file behind.
        """
        path = self.path(key)
        if path.is_file():
            with np.load(path) as stored:
                return (stored["features"], stored["targets"]), True
        features, targets = compute()
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        np.savez(partial, features=features, targets=targets)
        os.replace(partial, path)
        return (features, targets), False
