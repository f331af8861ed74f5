"""The training loop: one epoch of training, one pass of evaluation, and ``fit`` joining them.

Each epoch of :func:`fit`:

1. :func:`train_one_epoch`: for every batch, forward, loss, ``backward()``,
   ``optimizer.step()``, with the model in training mode (dropout on, batch
   norm on batch statistics);
2. :func:`evaluate` on the validation loader: the same forward in eval mode
   under ``no_grad`` (no graph is recorded, so no memory is kept for backward);
3. ``scheduler.step()``, once per epoch;
4. one dict of figures appended to the history, then the callbacks.

The history is a plain list of dicts, one per epoch, for example
``{'epoch': 3, 'lr': 0.1, 'train_loss': 0.08, 'train_acc': 0.975, 'train_top5': 1.0,
'val_loss': 0.05, 'val_acc': 0.984, 'val_top5': 1.0, 'time': 3.2, 'images_per_s': 1250.0}``.
Its length is the number of epochs done, which is how :func:`fit` resumes.

With ``distributed=True`` (data parallelism over the ranks of ``mpirun``,
see :mod:`minidl.distributed`) each rank's loaders give it its own part of
every batch and of the validation set; :func:`fit` copies rank 0's weights
to every rank first, each step averages the gradients over the ranks
between ``backward()`` and ``optimizer.step()``, and the figures are sums
over all ranks, so every rank gets the same history and the same callback
decisions.  In a world of one all of this does nothing.

A loss that is not finite (NaN or infinite) ends training at once with a
:class:`TrainingDiverged` naming the epoch and step: a score computed from
such weights would be meaningless.

Where things live: the model and the optimizer's state stay on the device
the caller put them on (build the model there before the optimizer, as in
PyTorch), and batches come on the device the loader gives them
(``DataLoader(..., device=...)``).  The ``device`` arguments are for
loaders that give host batches: batches, and with :func:`fit` the model,
are moved there; leave them None when everything is already in place.
"""
import math
import time
from dataclasses import dataclass

import numpy as np

from .. import distributed as dist
from .. import functional as F
from ..autograd import no_grad
from ..optim.lr_scheduler import ReduceLROnPlateau
from .metrics import accuracy, top5_accuracy

__all__ = ["fit", "train_one_epoch", "evaluate", "predict", "TrainingState", "TrainingDiverged",
           "DEFAULT_METRICS"]

DEFAULT_METRICS = {"acc": accuracy, "top5": top5_accuracy}


class TrainingDiverged(ArithmeticError):
    """The loss became NaN or infinite: the weights are no longer meaningful.

    ``loss``: the value; ``step``: the batch of the epoch (1-based) of ``steps``;
    ``epoch``: the epoch (1-based; None when :func:`train_one_epoch` was called
    on its own); ``lr``: the learning rate of the first parameter group.
    """

    def __init__(self, loss, step, steps, lr, epoch=None, what="loss"):
        super().__init__(loss, step, steps, lr, epoch, what)
        self.loss, self.step, self.steps, self.lr, self.epoch, self.what = loss, step, steps, lr, epoch, what

    def __str__(self):
        if self.step is None:
            where = f"after epoch {self.epoch}"
        else:
            where = "at " + ("" if self.epoch is None else f"epoch {self.epoch}, ")
            where += f"step {self.step} of {self.steps}"
        return (f"training diverged: the {self.what} is {self.loss} {where} (learning rate {self.lr:.4g}); "
                "try a smaller learning rate")


@dataclass
class TrainingState:
    """What a callback sees after each epoch; ``history[-1]`` holds the epoch's figures."""
    model: object
    optimizer: object
    scheduler: object
    train_loader: object
    history: list

    @property
    def epoch(self):
        """The number of epochs done."""
        return len(self.history)


def _progress_bar(loader, desc, enabled):
    # Imported here: tqdm.auto picks the notebook widget inside Jupyter, and warns there when ipywidgets
    # is missing, so it is imported only for a bar that will be shown.
    if enabled:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    # tqdm.auto calls iter() on what it wraps as soon as it is built, and again when iterated: given
    # the loader itself, it would start two epochs and draw two shuffles.  So it gets one iterator.
    # disable=None hides the bar where the output is no terminal (a log file), but not in notebooks.
    return tqdm(iter(loader), desc=desc, total=len(loader), disable=None if enabled else True,
                leave=False, unit="batch", dynamic_ncols=True)


def _run(model, loader, loss, metrics, device, optimizer, desc, progress, distributed=False):
    """One pass over ``loader``; with an ``optimizer``, a training step per batch.

    Returns the per-sample means of the loss and the metrics, the seconds taken
    and the images (samples) per second; ``distributed``: gradients averaged
    over the ranks before each step, and means and images per second over all
    ranks' samples (the progress bar shows this rank's).
    """
    metrics = DEFAULT_METRICS if metrics is None else metrics
    totals = dict.fromkeys(["loss", *metrics], 0.0)
    count = 0
    start = time.perf_counter()
    # closed even when a step raises, so that an error line is not written over the bar
    with _progress_bar(loader, desc, progress) as bar:
        for step, (x, y) in enumerate(bar, 1):
            if device is not None:
                x, y = x.to(device), y.to(device)
            output = model(x)
            batch_loss = loss(output, y)
            value = batch_loss.item()
            if optimizer is not None:
                _check_finite(value, step, len(loader), optimizer, distributed)
                optimizer.zero_grad()
                batch_loss.backward()
                if distributed:
                    dist.allreduce_gradients(model)
                optimizer.step()
            n = len(x)
            count += n
            totals["loss"] += value * n
            for name, fn in metrics.items():
                totals[name] += fn(output, y) * n
            if progress:
                shown = {name: f"{100 * total / count:.2f}%" for name, total in totals.items()}
                shown["loss"] = f"{totals['loss'] / count:.4f}"
                if optimizer is not None:
                    shown["lr"] = f"{optimizer.param_groups[0]['lr']:.3g}"
                shown["img/s"] = f"{count / (time.perf_counter() - start):.0f}"
                bar.set_postfix(shown, refresh=False)
    if distributed:
        count, *sums = dist.sum_over_ranks([count, *totals.values()])
        totals = dict(zip(totals, sums))
    seconds = time.perf_counter() - start
    figures = {name: total / max(count, 1) for name, total in totals.items()}
    figures.update(time=seconds, images_per_s=count / seconds if seconds > 0 else 0.0)
    return figures


def _check_finite(value, step, steps, optimizer, distributed):
    """Raise TrainingDiverged before a step on a NaN or infinite loss (on every rank at once)."""
    bad = not math.isfinite(value)
    if distributed:       # every rank must stop at the same step, or the others wait for it forever
        bad = dist.sum_over_ranks([bad])[0] > 0
    if bad:
        raise TrainingDiverged(value, step, steps, optimizer.param_groups[0]["lr"])


def train_one_epoch(model, loader, optimizer, loss=F.cross_entropy, metrics=None, device=None,
                    progress=True, desc="train", distributed=False):
    """Train ``model`` for one pass over ``loader``; returns the epoch's figures.

    ``loss(output, y)`` gives a scalar Tensor; ``metrics`` maps names to
    ``fn(output, y) -> float`` batch means, fractions in [0, 1] (default: top-1
    'acc' and 'top5').
    Batches are moved to ``device`` unless it is None.  The figures are the
    per-sample means of the loss and metrics over the epoch (as measured on
    the fly, while the weights change), plus 'time' and 'images_per_s'.
    A NaN or infinite loss raises :class:`TrainingDiverged` before its step.
    ``distributed``: ``loader`` gives this rank's part of each batch; the
    gradients are averaged over the ranks before each step and the figures
    are over all ranks' samples.
    """
    model.train()
    return _run(model, loader, loss, metrics, device, optimizer, desc, progress, distributed)


def evaluate(model, loader, loss=F.cross_entropy, metrics=None, device=None, progress=False,
             distributed=False):
    """The mean loss and metrics of ``model`` over ``loader``, in eval mode and without a graph.

    Returns ``{'loss': ..., 'acc': ..., 'top5': ..., 'time': ..., 'images_per_s': ...}``;
    the model is left in the mode it had.  ``distributed``: ``loader`` gives
    this rank's part of the data (e.g. ``sampler=minidl.distributed.shard(len(dataset))``)
    and the figures are over all ranks' parts.
    """
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return _run(model, loader, loss, metrics, device, None, "eval", progress, distributed)
    finally:
        model.train(was_training)


def predict(model, loader, device=None):
    """The predicted classes and the targets of every sample of ``loader``, as NumPy int64 arrays (N,)."""
    was_training = model.training
    model.eval()
    predictions, targets = [], []
    try:
        with no_grad():
            for x, y in loader:
                predictions.append(model(x if device is None else x.to(device)).argmax(axis=1).numpy())
                targets.append(y.numpy())
    finally:
        model.train(was_training)
    return np.concatenate(predictions).astype(np.int64), np.concatenate(targets).astype(np.int64)


def _line(record, epochs):
    """One line per epoch: 'epoch  3/20  lr 0.1  train loss 0.0812 acc 97.51%  val ...  3.2 s'."""
    parts = [f"epoch {record['epoch']:>{len(str(epochs))}}/{epochs}", f"lr {record['lr']:.4g}"]
    for split in ("train", "val"):
        if f"{split}_loss" in record:
            metrics = [key for key in record if key.startswith(f"{split}_") and key != f"{split}_loss"]
            parts.append(f"{split} loss {record[f'{split}_loss']:.4f} "
                         + " ".join(f"{key.split('_', 1)[1]} {100 * record[key]:.2f}%" for key in metrics))
    parts.append(f"{record['time']:.1f} s ({record['images_per_s']:.0f} img/s)")
    return "  ".join(parts)


def fit(model, train_loader, val_loader=None, optimizer=None, scheduler=None, epochs=1, device=None,
        loss=F.cross_entropy, metrics=None, callbacks=(), history=None, progress=True, distributed=False):
    """Train ``model`` for ``epochs`` epochs; returns the history (a list of one dict per epoch).

    Args:
        model: an ``nn.Module``, moved to ``device`` unless that is None (see the module's
            docstring: a model placed before its optimizer was built needs no ``device``).
        train_loader, val_loader: iterables of ``(x, y)`` Tensor batches with ``len()``;
            without ``val_loader`` there are no 'val_*' figures.
        optimizer: a ``minidl.optim`` optimizer over the model's parameters.
        scheduler: a learning-rate scheduler stepped once per epoch (``ReduceLROnPlateau``
            gets the validation loss, or the training loss without validation), or None.
        loss, metrics: as in :func:`train_one_epoch`.
        callbacks: callables ``cb(state)`` run after every epoch with a :class:`TrainingState`;
            training stops after the epoch when any returns True (see ``callbacks.py``).
        history: the history of the epochs already done, to resume: training
            starts at epoch ``len(history) + 1``, and the list is extended in place.
        progress: show a progress bar per epoch and print one line per epoch.
        distributed: train data-parallel over the ranks of ``mpirun`` (see the module's
            docstring): every rank calls ``fit`` with loaders over its own parts of the data,
            e.g. a :class:`~minidl.distributed.DistributedSampler` for training, whose
            ``set_epoch`` is called before each epoch.  Callbacks run on every rank and see
            the same history; give those that write files (``Checkpoint``) to rank 0 only.

    Raises :class:`TrainingDiverged` (naming the epoch and step) as soon as the
    training loss, or the validation loss after an epoch, is NaN or infinite;
    the history and the callbacks' files hold the epochs before.
    """
    if optimizer is None:
        raise ValueError("fit: an optimizer is needed, e.g. minidl.optim.SGD(model.parameters(), lr=0.1)")
    history = [] if history is None else history
    if device is not None:
        model.to(device)
    if distributed:
        dist.broadcast_parameters(model)
    sampler = getattr(train_loader, "sampler", None)
    state = TrainingState(model, optimizer, scheduler, train_loader, history)
    for epoch in range(len(history) + 1, epochs + 1):
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch - 1)
        record = {"epoch": epoch, "lr": optimizer.param_groups[0]["lr"]}
        try:
            train = train_one_epoch(model, train_loader, optimizer, loss, metrics, device, progress,
                                    desc=f"epoch {epoch}/{epochs}", distributed=distributed)
        except TrainingDiverged as error:
            error.epoch = epoch
            raise
        record.update({f"train_{k}": v for k, v in train.items() if k not in ("time", "images_per_s")})
        if val_loader is not None:
            val = evaluate(model, val_loader, loss, metrics, device, progress, distributed)
            if not math.isfinite(val["loss"]):
                raise TrainingDiverged(val["loss"], None, None, record["lr"], epoch, "validation loss")
            record.update({f"val_{k}": v for k, v in val.items() if k not in ("time", "images_per_s")})
        record.update(time=train["time"], images_per_s=train["images_per_s"])
        if isinstance(scheduler, ReduceLROnPlateau):
            scheduler.step(record.get("val_loss", record["train_loss"]))
        elif scheduler is not None:
            scheduler.step()
        history.append(record)
        if progress:
            print(_line(record, epochs), flush=True)
        stops = [callback(state) for callback in callbacks]
        if any(stops):
            break
    return history
