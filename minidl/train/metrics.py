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


def _ranks(name, scores, target):
    """The rank of each target class among its row's scores: 0 for the top class.

    Ties are broken as ``argmax`` and ``topk`` break them in PyTorch, by the
    lower class index first.  A row holding a NaN has no ranking: its rank is
    C, worse than any k can reach, so a diverged model never scores.
    """
    if scores.ndim != 2 or tuple(target.shape) != tuple(scores.shape[:1]):
        raise ValueError(f"{name}: expected scores (N, C) and targets (N,), "
                         f"got {tuple(scores.shape)} and {tuple(target.shape)}")
    xp = backend.get_array_module(scores)
    N, C = scores.shape
    target = target.astype(xp.int64)
    if N and (bool((target < 0).any()) or bool((target >= C).any())):
        raise ValueError(f"{name}: targets must be class indices in 0..{C - 1}, got values from "
                         f"{int(target.min())} to {int(target.max())}")
    target_score = scores[xp.arange(N), target][:, None]
    before = (scores > target_score) | ((scores == target_score) & (xp.arange(C) < target[:, None]))
    rank = before.sum(axis=1)
    return xp.where(xp.isnan(scores).any(axis=1), C, rank)


def accuracy(output, target, topk=1):
    """The fraction of samples whose target class is among the ``topk`` highest scores.

    output: scores (N, C) (logits or probabilities); target: class indices (N,).
    This is PyTorch's ``(output.topk(k, 1).indices == target[:, None]).any(1).mean()``
    with ties going to the lower class index (so top-1 is ``argmax(output, 1) == target``),
    except that a row holding a NaN is never correct.  An empty batch raises.
    """
    scores, target = _array(output), _array(target)
    rank = _ranks("accuracy", scores, target)
    if rank.size == 0:
        raise ValueError("accuracy: the batch is empty; the accuracy of no samples is undefined")
    return float((rank < topk).mean())


def top5_accuracy(output, target):
    """Top-5 accuracy, the ILSVRC measure: :func:`accuracy` with ``topk=5``."""
    return accuracy(output, target, topk=5)


def confusion_matrix(predictions, targets, num_classes):
    """Counts (num_classes, num_classes) of samples of true class i predicted as class j (row i, column j).

    predictions: class indices (N,), or scores (N, C) whose prediction is
    ``argmax`` with the lower index on ties, as :func:`accuracy` counts them;
    targets: class indices (N,); as NumPy arrays, lists or Tensors.  Scores
    holding a NaN predict no class, so they raise rather than land in a cell.
    """
    scores = _array(predictions)
    if getattr(scores, "ndim", 1) == 2:
        xp = backend.get_array_module(scores)
        nan_rows = int(xp.isnan(scores).any(axis=1).sum())
        if nan_rows:
            raise ValueError(f"confusion_matrix: {nan_rows} of {scores.shape[0]} rows of scores hold NaN "
                             "and predict no class (did training diverge?)")
        predictions = scores.argmax(axis=1)
    predictions, targets = _host(predictions).ravel(), _host(targets).ravel()
    if predictions.shape != targets.shape:
        raise ValueError(f"confusion_matrix: {predictions.size} predictions but {targets.size} targets")
    for what, values in (("predictions", predictions), ("targets", targets)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"confusion_matrix: {what} must be class indices in 0..{num_classes - 1}, "
                             f"got values from {values.min()} to {values.max()}")
    counts = np.bincount(targets * num_classes + predictions, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)
