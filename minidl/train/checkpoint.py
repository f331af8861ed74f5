"""Checkpoints that resume a run exactly where it stopped.

A run is resumable when everything that decides its future is saved: the
weights and buffers, the optimizer's state (momentum buffers, Adam's moments
and step counts), the scheduler's epoch, the history, and the state of every
random generator that will be drawn from (weight-free layers such as dropout
draw from the generator of their device; shuffling and augmentation from the
CPU's and the loader's).  With all of it restored, the epochs after a resume
draw the same numbers and do the same arithmetic as an uninterrupted run, so
on the CPU the final weights are equal bit for bit.

The file is written with :func:`minidl.serialization.save`, atomically: a run
killed while writing leaves the previous checkpoint whole.
"""
from .. import backend
from ..serialization import CheckpointError, load, save

__all__ = ["save_checkpoint", "load_checkpoint", "read_checkpoint", "random_state", "set_random_state"]

# what save_checkpoint writes; a file without them (a plain state_dict) cannot resume a run
_KEYS = ("epoch", "history", "model", "optimizer", "scheduler", "random")


def _devices(model):
    """The CPU (where loaders and augmentation draw) and every device holding the model."""
    devices = {backend.device("cpu")} | {p.device for p in model.parameters()}
    return sorted(devices, key=str)


def random_state(model, loader=None):
    """The states of the random generators a training run of ``model`` on ``loader`` draws from."""
    state = {"generators": {str(dev): backend.generator(dev).get_state() for dev in _devices(model)}}
    generator = getattr(loader, "generator", None)
    if generator is not None:
        state["loader"] = generator.get_state()
    return state


def set_random_state(state, loader=None):
    """Restore what :func:`random_state` returned."""
    for dev, generator_state in state["generators"].items():
        backend.generator(dev).set_state(generator_state)
    if "loader" in state and loader is not None:
        loader.generator.set_state(state["loader"])


def save_checkpoint(path, model, optimizer=None, scheduler=None, history=(), loader=None):
    """Write everything needed to resume training to ``path`` (an ``.npz``), atomically.

    ``loader`` is the training loader, whose shuffling generator is saved
    when it has its own.  ``history`` is the list of per-epoch figures; its
    length is the number of epochs done.
    """
    save({
        "epoch": len(history),
        "history": list(history),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "random": random_state(model, loader),
    }, path)


def read_checkpoint(path):
    """The contents of a checkpoint of :func:`save_checkpoint`, as :func:`minidl.load` reads them.

    Raises :class:`~minidl.serialization.CheckpointError` for a file that
    cannot be read and for one that holds no training state, such as a
    model's weights alone.
    """
    contents = load(path)
    missing = [key for key in _KEYS if not isinstance(contents, dict) or key not in contents]
    if missing:
        raise CheckpointError(f"{path} holds no training state (no {', '.join(missing)}): it looks like a "
                              "model's weights alone, which can be loaded with model.load_state_dict but "
                              "cannot resume a run; a resumable checkpoint is written by "
                              "minidl.train.save_checkpoint (train.Checkpoint)")
    return contents


def load_checkpoint(checkpoint, model, optimizer=None, scheduler=None, loader=None):
    """Restore a checkpoint of :func:`save_checkpoint` into the given objects; returns the history.

    ``checkpoint`` is the file's path, or its contents as :func:`read_checkpoint`
    returned them.  Build the model, optimizer, scheduler and loader as for
    the original run first (the model on its device before the optimizer, so
    that the optimizer's state goes there too); pass the returned history to
    :func:`minidl.train.fit` to go on from the next epoch.
    """
    checkpoint = checkpoint if isinstance(checkpoint, dict) else read_checkpoint(checkpoint)
    model.load_state_dict(checkpoint["model"])
    if optimizer is not None and checkpoint["optimizer"] is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None and checkpoint["scheduler"] is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    set_random_state(checkpoint["random"], loader)
    return checkpoint["history"]
