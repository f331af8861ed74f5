"""Training: the loop (``fit``, ``train_one_epoch``, ``evaluate``), checkpoints, history and plots.

A whole run in a few lines::

    from minidl import models, optim, train
    model = models.get("lenet5")
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = train.fit(model, train_loader, test_loader, optimizer, epochs=10,
                        callbacks=[train.Checkpoint("runs/lenet5/checkpoint.npz")])
    train.plot_history(history, "runs/lenet5/curves.png")

To resume, build the same objects and ``history = train.load_checkpoint(path,
model, optimizer, scheduler, train_loader)``, then ``fit(..., history=history)``.
"""
from .callbacks import Checkpoint, EarlyStopping
from .checkpoint import load_checkpoint, random_state, read_checkpoint, save_checkpoint, set_random_state
from .engine import DEFAULT_METRICS, TrainingDiverged, TrainingState, evaluate, fit, predict, train_one_epoch
from .history import best_epoch, load_history, save_history
from .metrics import accuracy, confusion_matrix, top5_accuracy
from .plots import plot_confusion_matrix, plot_history, plot_misclassified
from .threads import blas_threads
