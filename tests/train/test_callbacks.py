"""Early stopping reads the history alone, so it behaves the same after a resume."""
import pytest

from minidl.train import EarlyStopping, TrainingState


def _state(losses):
    history = [{"epoch": i + 1, "val_loss": v} for i, v in enumerate(losses)]
    return TrainingState(model=None, optimizer=None, scheduler=None, train_loader=None, history=history)


@pytest.mark.parametrize("losses, stop", [
    ([1.0, 0.9, 0.8], False),               # still improving
    ([1.0, 0.9, 0.95, 0.92], False),        # best 2 epochs ago, patience 3
    ([1.0, 0.9, 0.95, 0.92, 0.91], True),   # best 3 epochs ago
    ([0.5], False),
])
def test_early_stopping_counts_epochs_since_the_best(losses, stop):
    assert EarlyStopping(patience=3)(_state(losses)) is stop


def test_early_stopping_min_delta_and_max_mode():
    state = _state([1.0, 0.99, 0.985])
    assert EarlyStopping(patience=2, min_delta=0.05)(state) is True    # improvements too small to count
    history = [{"epoch": 1, "val_acc": 0.9}, {"epoch": 2, "val_acc": 0.8}]
    accuracies = TrainingState(None, None, None, None, history)
    assert EarlyStopping("val_acc", patience=1, mode="max")(accuracies) is True


def test_early_stopping_errors():
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        EarlyStopping(mode="lowest")
    with pytest.raises(KeyError, match="no 'val_acc'"):
        EarlyStopping("val_acc")(_state([1.0]))
