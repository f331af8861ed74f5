"""What every picture of a network's insides needs: a model held still, its images, its layers' outputs.

* :func:`held_still`: eval mode (dropout off, batch norm on its running
  statistics, so each image is seen alone) and parameters that need no
  gradient, so a backward for a picture leaves the training ``.grad`` alone;
  both restored afterwards.
* :func:`as_batch`: images as a Tensor on the model's device, in its dtype.
* :class:`LayerCapture`: the output of one named layer, kept by a forward hook.
* :func:`class_scores_gradient`: the seed of a backward from chosen class scores.
"""
import contextlib

import numpy as np

from .. import backend
from ..autograd import Tensor

__all__ = ["find_layer", "held_still", "as_batch", "LayerCapture", "class_scores_gradient"]


def find_layer(model, name):
    """The submodule of ``model`` with dotted name ``name`` (as ``named_modules`` spells it)."""
    modules = dict(model.named_modules())
    if name not in modules or not name:
        layers = ", ".join(n for n in modules if n)
        raise KeyError(f"{type(model).__name__} has no layer {name!r}; its layers are {layers}")
    return modules[name]


@contextlib.contextmanager
def held_still(model):
    """Eval mode and no parameter gradients while the block runs; the model as it was afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    model.requires_grad_(False)
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training
        for p, requires_grad in flags:
            p.requires_grad = requires_grad


def as_batch(model, images, name):
    """``images`` (N, C, H, W), a Tensor or array, as a new Tensor on the model's device and dtype."""
    data = images.data if isinstance(images, Tensor) else images
    if getattr(data, "ndim", None) != 4:
        raise ValueError(f"{name}: expected a batch of images (N, C, H, W), got shape "
                         f"{tuple(getattr(data, 'shape', ()))}; add the batch axis with x[None]")
    if data.dtype.kind != "f":
        raise ValueError(f"{name}: images are {data.dtype}, not floating point; give them the transform "
                         "the model was trained with (e.g. transforms.ToFloat() and Normalize)")
    ref = next(model.parameters(), None)
    if ref is None:
        return Tensor(data)
    data = backend.to_device(data, ref.device)
    if data.dtype != ref.dtype:
        data = data.astype(ref.dtype)
    return Tensor(data)


class LayerCapture:
    """A context manager holding ``output``, what layer ``name`` of ``model`` returned in the block.

    With ``as_leaf`` the output is replaced by a leaf copy that requires
    grad, so a backward stops there and leaves its gradient in
    ``output.grad``, whether or not anything before the layer records a graph.
    """

    def __init__(self, model, name, as_leaf=False):
        self.layer, self.name, self.as_leaf = find_layer(model, name), name, as_leaf
        self.output = None

    def _hook(self, module, inputs, output):
        if not isinstance(output, Tensor):
            raise TypeError(f"layer {self.name!r} returns a {type(output).__name__}, not a Tensor; "
                            "pick a layer with one output")
        if self.output is not None:
            raise RuntimeError(f"layer {self.name!r} ran twice in one forward; pick a layer that runs once")
        self.output = Tensor(output.data, requires_grad=True) if self.as_leaf else output
        return self.output

    def __enter__(self):
        self.handle = self.layer.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc):
        self.handle.remove()


def class_scores_gradient(scores, target, name):
    """The gradient to seed ``scores.backward`` with: 1 at each image's target class, 0 elsewhere.

    ``scores`` (N, K) are the class scores (logits); ``target`` None (each
    image's predicted class), an int (the same class for all) or N ints.
    Returns (the seed, the targets as a host int array).
    """
    if scores.ndim != 2:
        raise ValueError(f"{name}: the model returned scores of shape {scores.shape}; expected (N, classes)")
    n, k = scores.shape
    target = (scores.argmax(axis=1) if target is None else Tensor(target)).numpy()
    if target.ndim > 1 or target.size not in (1, n) or target.dtype.kind not in "iu" \
            or target.min() < 0 or target.max() >= k:
        raise ValueError(f"{name}: target must be one class index or {n}, in [0, {k}), "
                         f"got {target.tolist()}")
    target = np.broadcast_to(target.reshape(-1), (n,))
    return backend.to_device(np.eye(k, dtype=scores.dtype)[target], scores.device), target
