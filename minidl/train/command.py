"""``python -m minidl train``: a whole run from the command line's flags.

Load the dataset, build the model, optimizer and schedule, resume from the
checkpoint of ``--out`` if asked, :func:`~minidl.train.fit` with a
checkpoint after every epoch, then print the test accuracy and draw the
figures.  The flags are parsed by :mod:`minidl.cli`, which turns a
:class:`UsageError` (an unknown name, a model that cannot read the images)
into argparse's one-line error and exit code 2.

With ``--distributed``, under ``mpirun -np N python -m mpi4py -m minidl
train``, every rank runs this same command on its own part of the data (see
:mod:`minidl.distributed`): the global ``--batch-size`` B is split into B / N
samples per rank, drawn by a :class:`~minidl.distributed.DistributedSampler`
from the order one process would shuffle, and the test set into N contiguous
parts whose figures are summed over the ranks.  With ``--lr`` unchanged the
steps are those of one process on batches of B: the learning rate is not
scaled.  Rank 0 alone prints, writes the files and draws the figures.
"""
import contextlib
import difflib
import json
import time
from pathlib import Path

import numpy as np

from .. import autograd, backend, cuda, data, distributed, models
from ..summary import count_parameters
from . import recipes
from .callbacks import Checkpoint
from .checkpoint import load_checkpoint
from .engine import fit, predict
from .metrics import confusion_matrix

__all__ = ["run", "write_figures", "UsageError", "unknown"]

FIGURES = ["curves.png", "confusion.png", "misclassified.png"]


class UsageError(ValueError):
    """A flag the user can fix; the message is one line."""


def unknown(what, value, valid, message=None):
    """'unknown model 'lenet' (did you mean 'lenet5'?); valid models: ...' (or ``message`` first)."""
    close = difflib.get_close_matches(value, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{message or f'unknown {what} {value!r}'}{hint}; valid {what}s: {', '.join(valid)}"


def check_device(spec):
    """The device ``spec`` names; a UsageError when it is unknown or absent."""
    try:
        dev = backend.device(spec)
    except ValueError:
        raise UsageError(unknown("device", spec, ["cpu", "cuda", "cuda:N"])) from None
    if dev.type == "cuda" and not cuda.is_available():
        raise UsageError("no CUDA device is available")
    return dev


def blas_threads(threads=None):
    """A context in which NumPy's BLAS uses at most ``threads`` threads (default: one).

    One thread is the default because the matrices of small networks are too
    small for threads to pay, and on a shared machine BLAS threads that spin
    while waiting for a core make each step several times slower (LeNet-5 on
    a busy 2-core machine: 40 ms a step on one thread, 130 ms on two).  Big
    networks on an idle multi-core CPU want more.  BLAS reads its thread
    count when NumPy is imported, which ``python -m minidl`` has done before
    any flag is read, so the limit is set with threadpoolctl (the way
    scikit-learn does it); without threadpoolctl only an explicit request is
    an error.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if threads is None:
            return contextlib.nullcontext()
        raise UsageError("--threads needs threadpoolctl (pip install threadpoolctl)") from None
    return threadpool_limits(1 if threads is None else threads, user_api="blas")


def _check_input(model, dataset, args):
    """One sample through the model first, so that a model that cannot read the dataset's images
    says so in one line instead of failing inside the first epoch."""
    x = autograd.tensor(dataset[0][0][None]).to(next(model.parameters()).device)
    try:
        with autograd.no_grad():
            model.eval()(x)
    except (autograd.OpError, ValueError) as error:
        raise UsageError(f"model {args.model} cannot read the {args.dataset} images of shape "
                         f"{tuple(x.shape[1:])}: {error}") from None
    model.train()


def write_figures(model, test_set, test_loader, history, out, device=None):
    """Draw the curves, the confusion matrix and the first 32 misclassified test images into ``out``.

    Returns the names of the files written: none without matplotlib, an
    optional dependency.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("no figures: matplotlib is not installed (pip install matplotlib)")
        return []
    from .plots import plot_confusion_matrix, plot_history, plot_misclassified
    out = Path(out)
    plot_history(history, out / "curves.png")
    predictions, targets = predict(model, test_loader, device)
    classes = test_set.classes
    matrix = confusion_matrix(predictions, targets, len(classes))
    plot_confusion_matrix(matrix, out / "confusion.png", classes)
    wrong = np.flatnonzero(predictions != targets)[:32]
    images = data.get_batch(test_set, wrong)[0] if len(wrong) else np.zeros((0, *np.shape(test_set[0][0])))
    plot_misclassified(images, targets[wrong], predictions[wrong], out / "misclassified.png", classes)
    return FIGURES


def run(args):
    """The train command: ``args`` are the parsed flags of ``python -m minidl train``."""
    if args.model not in models.list_models():
        raise UsageError(unknown("model", args.model, models.list_models()))
    if args.dataset not in data.list_datasets():
        raise UsageError(unknown("dataset", args.dataset, data.list_datasets()))
    if args.distributed:
        _, ranks = distributed.init()
        if args.batch_size % ranks:
            raise UsageError(f"--batch-size {args.batch_size} is not a multiple of the {ranks} ranks: "
                             "each rank takes an equal part of every batch")
    device = check_device(_device_of_this_rank(args.device))
    with blas_threads(args.threads):
        _run(args, device)


def _device_of_this_rank(spec):
    """'cuda' means one GPU per rank on a machine with several ranks; anything else is kept as is."""
    if spec == "cuda" and distributed.world_size() > 1 and cuda.is_available():
        return f"cuda:{distributed.rank() % cuda.device_count()}"
    return spec


def _loaders(args, train_set, test_set, device):
    """The training and test loaders of this rank: the whole sets without --distributed."""
    if not args.distributed:
        return (data.DataLoader(train_set, args.batch_size, shuffle=True, device=device),
                data.DataLoader(test_set, 500, device=device))
    # the sampler draws each epoch's order from the generator a shuffling loader would use, so the
    # global batches are those of a run without --distributed
    sampler = distributed.DistributedSampler(len(train_set), generator=backend.generator("cpu"))
    return (data.DataLoader(train_set, args.batch_size // distributed.world_size(), sampler=sampler,
                            device=device),
            data.DataLoader(test_set, 500, sampler=distributed.shard(len(test_set)), device=device))


def _run(args, device):
    start = time.perf_counter()
    main = distributed.is_main()
    say = print if main else (lambda *_: None)
    backend.manual_seed(args.seed)
    options = {"size": args.image_size} if args.dataset == "image-folder" and args.image_size else {}
    try:
        train_set, test_set, line = recipes.load_datasets(args.dataset, args.data_dir, args.download,
                                                          args.augment, **options)
    except data.DatasetError as error:
        raise UsageError(str(error).splitlines()[0]) from None
    say(line)
    train_loader, test_loader = _loaders(args, train_set, test_set, device)
    model = models.get(args.model, num_classes=len(train_set.classes)).to(device)
    _check_input(model, train_set, args)
    optimizer = recipes.make_optimizer(args.optimizer, model.parameters(), args.lr, args.momentum,
                                       args.weight_decay)
    scheduler = recipes.make_scheduler(args.schedule, optimizer, args.epochs)

    out = Path(args.out or f"runs/{args.model}-{args.dataset}")
    if main:
        out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / "checkpoint.npz"
    history = None
    if args.resume and checkpoint.exists():
        history = load_checkpoint(checkpoint, model, optimizer, scheduler, train_loader)
        say(f"resuming {checkpoint} after epoch {len(history)}")
    elif args.resume:
        say(f"no checkpoint at {checkpoint}: starting from epoch 1")
    if main:
        config = {k: v for k, v in vars(args).items() if k not in ("func", "parser")}
        (out / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    ranks = f" x {distributed.world_size()} ranks" if args.distributed else ""
    say(f"training {args.model} ({count_parameters(model):,} parameters) on {device}{ranks} "
        f"for {args.epochs} epochs")
    history = fit(model, train_loader, test_loader, optimizer, scheduler, args.epochs, device,
                  callbacks=[Checkpoint(checkpoint, out / "history.json")] if main else [], history=history,
                  progress=main and not args.quiet, distributed=args.distributed)
    if not main:
        return
    last = history[-1]
    print(f"test accuracy {100 * last['val_acc']:.2f}% (top-5 {100 * last['val_top5']:.2f}%, "
          f"loss {last['val_loss']:.4f}) after {last['epoch']} epochs; {time.perf_counter() - start:.1f} s")
    if args.distributed:     # the figures' predictions are of the whole test set, not of rank 0's part
        test_loader = data.DataLoader(test_set, 500, device=device)
    figures = write_figures(model, test_set, test_loader, history, out, device)
    print(f"wrote {out}/: " + ", ".join(["checkpoint.npz", "history.json", "config.json", *figures]))
