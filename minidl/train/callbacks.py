"""Callbacks for :func:`minidl.train.fit`: callables run after every epoch with the training state.

A callback is any ``fn(state)``; returning True stops training after the
epoch.  The two here keep no state of their own (early stopping reads the
history), so a resumed run behaves as if it had never stopped.
"""
from .checkpoint import save_checkpoint
from .history import save_history

__all__ = ["Checkpoint", "EarlyStopping"]


class Checkpoint:
    """Save a resumable checkpoint to ``path`` after every epoch (and the history as JSON to
    ``history_path``, if given).

    ``epoch`` is the epoch of the last checkpoint written (None before the first), which is
    what an interrupted run can resume from.
    """

    def __init__(self, path, history_path=None):
        self.path, self.history_path = path, history_path
        self.epoch = None

    def __call__(self, state):
        save_checkpoint(self.path, state.model, state.optimizer, state.scheduler, state.history,
                        state.train_loader)
        self.epoch = state.epoch
        if self.history_path is not None:
            save_history(state.history, self.history_path)


class EarlyStopping:
    """Stop when ``monitor`` has not improved on its best value for ``patience`` epochs.

    ``mode`` is 'min' for losses and 'max' for accuracies; an improvement must
    beat the best by more than ``min_delta``.
    """

    def __init__(self, monitor="val_loss", patience=5, mode="min", min_delta=0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.mode, self.min_delta = monitor, patience, mode, min_delta

    def __call__(self, state):
        history = state.history
        if self.monitor not in history[-1]:
            raise KeyError(f"EarlyStopping: the history has no {self.monitor!r}; "
                           f"it holds {sorted(history[-1])}")
        sign = 1 if self.mode == "max" else -1
        best = None
        for record in history:
            if best is None or sign * (record[self.monitor] - best[self.monitor]) > self.min_delta:
                best = record
        return history[-1]["epoch"] - best["epoch"] >= self.patience
