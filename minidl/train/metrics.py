"""Classification metrics on a batch of scores: top-k accuracy and the confusion matrix.

The metrics read the raw arrays of their Tensors with the backend's ``xp``, so
they run where the scores are (no copy to the host per batch) and return
Python floats.
"""
import numpy as np

from .. import backend
from ..autograd import Tensor

__all__ = ["accuracy", "top5_accuracy", "confusion_matrix"]


def _array(value):
    return value.data if isinstance(value, Tensor) else value


def _host(values):
    """Class indices from a Tensor, a device array or a list, as an int64 NumPy array."""
    values = _array(values)
    values = np.asarray(values) if isinstance(values, (list, tuple)) else backend.to_numpy(values)
    return values.astype(np.int64)


def accuracy(output, target, topk=1):
    """The fraction of samples whose target class is among the ``topk`` highest scores.

    output: scores (N, C) (logits or probabilities); target: class indices (N,).
    A class is in the top k when fewer than k classes score strictly higher,
    which needs no sort; with k >= C every sample counts as correct.
    """
    scores, target = _array(output), _array(target)
    if scores.ndim != 2 or target.shape != scores.shape[:1]:
        raise ValueError(f"accuracy: expected scores (N, C) and targets (N,), "
                         f"got {tuple(scores.shape)} and {tuple(target.shape)}")
    xp = backend.get_array_module(scores)
    rows = xp.arange(scores.shape[0])
    target_score = scores[rows, target.astype(xp.int64)][:, None]
    rank = (scores > target_score).sum(axis=1)
    return float((rank < topk).mean())


def top5_accuracy(output, target):
    """Top-5 accuracy, the ILSVRC measure: :func:`accuracy` with ``topk=5``."""
    return accuracy(output, target, topk=5)


def confusion_matrix(predictions, targets, num_classes):
    """Counts (num_classes, num_classes) of samples of true class i predicted as class j (row i, column j).

    predictions, targets: class indices (N,), as NumPy arrays, lists or Tensors.
    """
    predictions, targets = _host(predictions).ravel(), _host(targets).ravel()
    counts = np.bincount(targets * num_classes + predictions, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)
