"""Top-k accuracy against a sort-based reference and torch.topk; the confusion matrix against a count."""
import numpy as np
import pytest

from minidl.train.metrics import accuracy, confusion_matrix, top5_accuracy
from tests.conftest import make


def _reference_topk(scores, target, k):
    """The fraction of rows whose target is among the k classes with the highest scores (by sorting)."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean([t in row for t, row in zip(target, top)]))


@pytest.mark.parametrize("k", [1, 2, 5])
def test_accuracy_matches_a_sort_based_reference(device, k):
    rng = np.random.default_rng(k)
    scores = rng.standard_normal((50, 7))
    target = rng.integers(0, 7, 50)
    got = accuracy(make(scores, device), make(target, device), topk=k)
    assert got == pytest.approx(_reference_topk(scores, target, k))


def test_accuracy_small_example():
    scores = np.array([[0.1, 0.7, 0.2],     # target 1: top-1
                       [0.5, 0.3, 0.2],     # target 2: third
                       [0.2, 0.5, 0.3]])    # target 2: second
    target = np.array([1, 2, 2])
    assert accuracy(make(scores), make(target)) == pytest.approx(1 / 3)
    assert accuracy(make(scores), make(target), topk=2) == pytest.approx(2 / 3)
    assert top5_accuracy(make(scores), make(target)) == 1.0     # k >= C: every target is in the top k


@pytest.mark.torch
def test_accuracy_agrees_with_torch_topk():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((64, 10)).astype(np.float32)
    target = rng.integers(0, 10, 64)
    top5 = torch.tensor(scores).topk(5, dim=1).indices.numpy()
    expected = float(np.mean([t in row for t, row in zip(target, top5)]))
    assert top5_accuracy(make(scores, dtype=np.float32), make(target)) == pytest.approx(expected)


def test_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"accuracy: expected scores \(N, C\).*\(4, 3\) and \(5,\)"):
        accuracy(make(np.zeros((4, 3))), make(np.zeros(5, dtype=np.int64)))


def test_confusion_matrix_counts_every_pair():
    rng = np.random.default_rng(0)
    targets, predictions = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    expected = np.zeros((4, 4), dtype=np.int64)
    for t, p in zip(targets, predictions):
        expected[t, p] += 1
    np.testing.assert_array_equal(confusion_matrix(predictions, targets, 4), expected)


def test_confusion_matrix_small_example():
    # true 0 predicted 0, true 0 predicted 1, true 1 predicted 1 twice; class 2 never appears
    matrix = confusion_matrix([0, 1, 1, 1], [0, 0, 1, 1], num_classes=3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 2, 0], [0, 0, 0]])


# -- ties and NaN: what PyTorch users compute, and a diverged run never scores ----------------
def test_accuracy_of_nan_scores_is_zero():
    # a diverged run: every score NaN.  This used to report 1.0
    scores = np.full((4, 10), np.nan, np.float32)
    assert accuracy(make(scores, dtype=np.float32), make(np.array([0, 1, 2, 3]))) == 0.0
    assert top5_accuracy(make(scores, dtype=np.float32), make(np.array([0, 1, 2, 3]))) == 0.0


def test_a_row_with_one_nan_is_never_correct_even_with_k_at_least_c():
    scores = np.array([[np.nan, 0.0, 1.0], [0.0, 0.0, 1.0]])
    assert accuracy(make(scores), make(np.array([2, 2])), topk=3) == 0.5


def test_ties_go_to_the_lower_class_index_as_argmax():
    # all-zero scores: argmax is class 0 in every row, so only the first target is right
    assert accuracy(make(np.zeros((4, 10))), make(np.array([0, 1, 2, 3]))) == 0.25
    # top-2 over ties: classes 0 and 1 are the first two
    assert accuracy(make(np.zeros((4, 10))), make(np.array([0, 1, 2, 3])), topk=2) == 0.5


@pytest.mark.torch
@pytest.mark.parametrize("k", [1, 3])
def test_accuracy_on_ties_agrees_with_torch_argmax_and_topk(k):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(k)
    scores = rng.integers(0, 3, (200, 6)).astype(np.float64)     # many ties
    target = rng.integers(0, 6, 200)
    if k == 1:
        expected = (torch.tensor(scores).argmax(1) == torch.tensor(target)).double().mean().item()
    else:
        # torch.topk does not promise an order among ties; a stable sort on -score is the lower-index rule
        top = torch.tensor(-scores).sort(dim=1, stable=True).indices[:, :k]
        expected = (top == torch.tensor(target)[:, None]).any(1).double().mean().item()
    assert accuracy(make(scores), make(target), topk=k) == pytest.approx(expected)


def test_accuracy_rejects_out_of_range_targets_and_empty_batches():
    with pytest.raises(ValueError, match=r"accuracy: targets must be class indices in 0\.\.2"):
        accuracy(make(np.zeros((2, 3))), make(np.array([0, 3])))
    with pytest.raises(ValueError, match="accuracy: the batch is empty"):
        accuracy(make(np.zeros((0, 3))), make(np.zeros(0, dtype=np.int64)))


def test_confusion_matrix_from_scores_uses_the_same_tie_rule():
    scores = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    np.testing.assert_array_equal(confusion_matrix(scores, [0, 2], 3), [[1, 0, 0], [0, 0, 0], [0, 1, 0]])


def test_confusion_matrix_refuses_nan_scores_and_out_of_range_classes():
    with pytest.raises(ValueError, match="1 of 2 rows of scores hold NaN"):
        confusion_matrix(np.array([[np.nan, 0.0], [0.0, 1.0]]), [0, 1], 2)
    # class 3 of 3 used to be counted in the next row's first cell
    with pytest.raises(ValueError, match=r"predictions must be class indices in 0\.\.2"):
        confusion_matrix([0, 3], [0, 1], 3)
    with pytest.raises(ValueError, match=r"targets must be class indices"):
        confusion_matrix([0, 1], [0, -1], 3)
