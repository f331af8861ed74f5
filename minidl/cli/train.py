"""``python -m minidl train``: a whole run from the command line's flags.

Check the flags, the output folder and, with ``--resume``, the checkpoint;
load the dataset, build the model (placed on ``--device`` once, before the
optimizer), optimizer and schedule, :func:`~minidl.train.fit` with a
checkpoint after every epoch, then print the test accuracy and draw the
figures into ``--out``: ``checkpoint.npz``, ``history.json``,
``config.json``, ``curves.png``, ``confusion.png``, ``misclassified.png``.

A run's settings are the flags of :data:`SETTINGS` (model, dataset, epochs,
optimizer, schedule ...); the others (``--device``, ``--threads``,
``--data-dir`` ...) only say how this invocation runs.  ``config.json``
records the settings of the first invocation and appends one entry per
resume.  ``--resume`` goes on from the checkpoint of ``--out``:

* the run's settings come from its ``config.json``: a flag left out keeps
  the run's value, and a flag that differs from it is refused, naming both;
* ``--epochs`` is the total: a finished run goes on to a larger total when
  its schedule allows (a cosine schedule ends at a learning rate of 0 at its
  last epoch, so it cannot be lengthened), and a total already reached
  trains nothing;
* with all the state restored (weights, optimizer, schedule, random
  generators), the epochs after a resume are those of an uninterrupted run.

Ctrl-C stops with one line naming the last checkpoint and the command that
goes on from it; a loss that becomes NaN or infinite stops with an error
naming the epoch and step (see :class:`minidl.train.TrainingDiverged`).

Fine-tuning: ``--weights PATH`` loads pretrained weights (a classifier
built for another number of classes is re-initialized, and a line says
so); ``--freeze`` trains that classifier alone, the rest of the network
frozen and kept in eval mode; ``--freeze --cache-features`` computes the
frozen network's features once, keeps them on disk (``--cache-dir``,
default ``OUT/features``) keyed by the model, the weights file's digest,
the image size and the dataset's files, and trains the head on them, with
no random augmentation (see :mod:`minidl.train.features`).

With ``--distributed``, under ``mpirun -np N python -m mpi4py -m minidl
train``, every rank runs this same command on its own part of the data (see
:mod:`minidl.distributed`): the global ``--batch-size`` B is split into B / N
samples per rank, drawn by a :class:`~minidl.distributed.DistributedSampler`
from the order one process would shuffle, and the test set into N contiguous
parts whose figures are summed over the ranks.  With ``--lr`` unchanged the
steps are those of one process on batches of B: the learning rate is not
scaled.  Rank 0 alone prints, writes the files and draws the figures.
"""
import argparse
import datetime
import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np

from minidl import autograd, backend, cuda, data, distributed, models
from minidl.summary import count_parameters
from minidl.train import Checkpoint, TrainingDiverged, blas_threads, fit, load_checkpoint, predict, recipes
from minidl.train.features import (FeatureCache, FrozenBody, extract_features, feature_key, file_digest,
                                   freeze, submodule)
from minidl.train.history import write_json
from minidl.train.metrics import confusion_matrix

from ._common import (CommandError, Interrupted, UsageError, non_negative_float, positive_float,
                      positive_int, unknown)
from ._settings import SETTINGS, plural, read_run, resumed_settings

FIGURES = ["curves.png", "confusion.png", "misclassified.png"]



# --------------------------------------------------------------------------- #
# The parser
# --------------------------------------------------------------------------- #
def _schedule(text):
    try:
        recipes.parse_schedule(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def add_parser(sub):
    p = sub.add_parser(
        "train", help="train a model of the zoo on a dataset (default: LeNet-5 on MNIST)",
        usage="python -m minidl train [--model NAME] [--dataset NAME] [--epochs N] [options]",
        description="Train a model; write the checkpoint, history, config and figures to --out.")
    p.add_argument("--model", metavar="NAME", help="a model of `python -m minidl models` (default lenet5)")
    p.add_argument("--dataset", metavar="NAME",
                   help=f"one of {', '.join(data.list_datasets())} (default mnist: the full set if its "
                        "files are found, else the bundled 5,000-digit subset)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="directory searched first for the dataset's files (image-folder: the folder "
                        "holding train/ and val/)")
    p.add_argument("--download", action="store_true", help="download missing dataset files")
    p.add_argument("--image-size", type=positive_int, metavar="N",
                   help="image-folder: the side of the square crops the model sees (training: random "
                        "resized crops, rotations and flips; validation: the shorter side resized to N, "
                        "then the centre); default the model's own input size, e.g. 224")
    p.add_argument("--epochs", type=positive_int, metavar="N",
                   help=f"the total number of epochs, those of a resumed run included "
                        f"(default {SETTINGS['epochs']})")
    p.add_argument("--batch-size", type=positive_int, metavar="N",
                   help=f"training batch size (default {SETTINGS['batch_size']})")
    p.add_argument("--optimizer", choices=recipes.OPTIMIZERS,
                   help=f"optimizer (default {SETTINGS['optimizer']})")
    p.add_argument("--lr", type=positive_float, help=f"learning rate (default {SETTINGS['lr']})")
    p.add_argument("--momentum", type=non_negative_float,
                   help=f"momentum of SGD and RMSprop (default {SETTINGS['momentum']})")
    p.add_argument("--weight-decay", type=non_negative_float, metavar="WD",
                   help="L2 weight decay (default 0)")
    p.add_argument("--schedule", type=_schedule, metavar="SCHEDULE",
                   help="learning-rate schedule: step:STEP:GAMMA (e.g. step:5:0.6667), "
                        "multistep:M1,M2,...:GAMMA (e.g. multistep:10,14,18:0.5), cosine or none "
                        f"(default {SETTINGS['schedule']})")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction,
                   help="random shifts of the training images, and left-right flips of colour ones; "
                        "image-folder: the practice's random resized crops, rotations up to 90 degrees and "
                        "flips (default on; --no-augment turns it off)")
    p.add_argument("--weights", metavar="PATH",
                   help="start from these pretrained weights (.npz, see `python -m minidl "
                        "export-torchvision`); "
                        "a classifier for another number of classes is re-initialized; image-folder photos "
                        "are then normalized with ImageNet's mean and std")
    p.add_argument("--freeze", action="store_true", default=None,
                   help="train the classifier only: every other parameter is frozen, and that part of the "
                        "network stays in eval mode (no dropout, batch norm's running statistics)")
    p.add_argument("--cache-features", action="store_true", default=None,
                   help="with --freeze: compute the frozen network's features (the classifier's input) once, "
                        "store them in --cache-dir and train the classifier on them, reusing them in every "
                        "epoch and run; no random augmentation in this mode (every image is seen as "
                        "validation sees it: resized, centre crop)")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="where --cache-features keeps the features (default OUT/features)")
    p.add_argument("--device", default="cpu", metavar="DEVICE", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--threads", type=positive_int, metavar="N",
                   help="BLAS threads on the CPU (default 1, the fastest for small networks and on a "
                        "busy machine; more helps big networks on an idle multi-core CPU)")
    p.add_argument("--seed", type=int, metavar="N", help=f"random seed (default {SETTINGS['seed']})")
    p.add_argument("--out", metavar="DIR", help="output directory (default runs/MODEL-DATASET)")
    p.add_argument("--resume", action="store_true",
                   help="go on from the checkpoint in --out, if any, with the settings of its run "
                        "(flags that differ from them are refused; --epochs is the total)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel training over the ranks of `mpirun -np N python -m mpi4py -m minidl "
                        "train ...`: each rank takes --batch-size/N samples of every batch, gradients are "
                        "averaged over the ranks after each backward, and the learning rate is not scaled "
                        "(the global batch and its mean gradient are those of one process); batch-norm "
                        "statistics are per rank; the test figures are summed over the ranks; rank 0 alone "
                        "prints and writes --out.  Without MPI: a world of one, the same as without the "
                        "flag")
    p.set_defaults(run=run, parser=p)


# --------------------------------------------------------------------------- #
# Checks before any data is loaded
# --------------------------------------------------------------------------- #
def _check_names(settings):
    if settings["model"] not in models.list_models():
        raise UsageError(unknown("model", settings["model"], models.list_models()))
    if settings["dataset"] not in data.list_datasets():
        raise UsageError(unknown("dataset", settings["dataset"], data.list_datasets()))
    if settings["image_size"] and settings["dataset"] != "image-folder":
        raise UsageError(f"--image-size resizes the images of --dataset image-folder only; the "
                         f"{settings['dataset']} images keep their size")
    if (settings["dataset"] == "image-folder" and not settings["image_size"]
            and models.input_size(settings["model"]) is None):
        raise UsageError(f"model {settings['model']} has no input size of its own: give --image-size N, the "
                         "side of the square crops it should see")
    if settings["cache_features"] and not settings["freeze"]:
        raise UsageError("--cache-features needs --freeze: features can be computed once only when the "
                         "network that computes them does not change")


def _check_fine_tuning(given, settings, args):
    """The settings of --cache-features: no augmentation (refused if asked for), one process."""
    if not settings["cache_features"]:
        return settings
    if given.get("augment"):
        raise UsageError("--cache-features computes each image's features once, so it cannot draw new "
                         "random crops every epoch: leave out --augment")
    if args.distributed:
        raise UsageError("--cache-features runs in one process: leave out --distributed")
    return {**settings, "augment": False}


def _check_device(spec):
    """The device ``spec`` names; a UsageError when it is unknown or absent."""
    try:
        dev = backend.device(spec)
    except ValueError:
        raise UsageError(unknown("device", spec, ["cpu", "cuda", "cuda:N"])) from None
    if dev.type == "cuda" and not cuda.is_available():
        raise UsageError("no CUDA device is available")
    return dev


def _check_out(out):
    """Make the folder ``out`` and write a file there now, rather than fail after training."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        blocker = next((p for p in [out, *out.parents] if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise UsageError(f"--out {out}: {blocker} is a file, not a folder") from None
        raise UsageError(f"--out {out}: cannot write there ({error.strerror})") from None


# --------------------------------------------------------------------------- #
# The run
# --------------------------------------------------------------------------- #
def run(args):
    """The train command: ``args`` are the parsed flags of ``python -m minidl train``."""
    given = {key: getattr(args, key) for key in SETTINGS if getattr(args, key) is not None}
    named = {**SETTINGS, **given}
    out = Path(args.out or f"runs/{named['model']}-{named['dataset']}")
    resumed = read_run(out) if args.resume else None
    settings = resumed_settings(resumed, given, out) if resumed else named
    _check_names(settings)
    settings = _check_fine_tuning(given, settings, args)
    if resumed and resumed.done == settings["epochs"]:
        print(f"{resumed.checkpoint} already holds {plural(resumed.done, 'epoch')}, the total asked for: "
              f"nothing to train (--epochs is the total; give more than {resumed.done} to train further)")
        return 0
    if args.distributed:
        _, ranks = distributed.init()
        if settings["batch_size"] % ranks:
            raise UsageError(f"--batch-size {settings['batch_size']} is not a multiple of the {ranks} ranks: "
                             "each rank takes an equal part of every batch")
    device = _check_device(_device_of_this_rank(args.device))
    if distributed.is_main():
        _check_out(out)
    try:
        threads = blas_threads(args.threads)
    except ImportError as error:
        raise UsageError(f"--threads: {error}") from None
    with threads:
        _train(args, settings, out, device, resumed)


def _device_of_this_rank(spec):
    """'cuda' means one GPU per rank on a machine with several ranks; anything else is kept as is."""
    if spec == "cuda" and distributed.world_size() > 1 and cuda.is_available():
        return f"cuda:{distributed.rank() % cuda.device_count()}"
    return spec


def _loaders(settings, train_set, test_set, device, split):
    """The training and test loaders of this rank (the whole sets unless ``split``); they place the
    batches on ``device``."""
    batch_size = settings["batch_size"]
    if not split:
        return (data.DataLoader(train_set, batch_size, shuffle=True, device=device),
                data.DataLoader(test_set, 500, device=device))
    # the sampler draws each epoch's order from the generator a shuffling loader would use, so the
    # global batches are those of a run without --distributed
    sampler = distributed.DistributedSampler(len(train_set), generator=backend.generator("cpu"))
    per_rank = batch_size // distributed.world_size()
    return (data.DataLoader(train_set, per_rank, sampler=sampler, device=device),
            data.DataLoader(test_set, 500, sampler=distributed.shard(len(test_set)), device=device))


def _check_input(model, dataset, settings):
    """One sample through the model first, so that a model that cannot read the dataset's images
    says so in one line instead of failing inside the first epoch."""
    x = autograd.tensor(dataset[0][0][None]).to(next(model.parameters()).device)
    try:
        with autograd.no_grad():
            model.eval()(x)
    except (autograd.OpError, ValueError) as error:
        raise UsageError(f"model {settings['model']} cannot read the {settings['dataset']} images of shape "
                         f"{tuple(x.shape[1:])}: {error}") from None
    model.train()


def _build_model(settings, num_classes):
    """The model of the run, with its --weights if given (a WeightsError is a usage error)."""
    try:
        return models.get(settings["model"], num_classes=num_classes, weights=settings["weights"])
    except models.WeightsError as error:
        raise UsageError(f"--weights {settings['weights']}: {error}") from None


def _cached_features(args, settings, model, head, train_set, test_set, out, device, image_size, say):
    """The frozen network's features of both splits, as TensorDatasets: read from the cache, or
    computed once (in the datasets' order, batch by batch) and stored there."""
    cache = FeatureCache(Path(args.cache_dir) if args.cache_dir else out / "features")
    weights = (file_digest(settings["weights"]) if settings["weights"]
               else f"random-init-seed-{settings['seed']}")
    found = []
    for name, dataset in (("training", train_set), ("validation", test_set)):
        samples = getattr(dataset, "samples", None)
        if samples is None:
            raise UsageError(f"--cache-features keys the features by the dataset's files; --dataset "
                             f"{settings['dataset']} has none: use --dataset image-folder")
        key = feature_key(settings["model"], weights, image_size, samples, dataset.transform)
        # a generator of its own: whether the features are computed or read, the run's random draws
        # after this point are the same
        loader = data.DataLoader(dataset, settings["batch_size"], device=device,
                                 generator=backend.Generator("cpu", 0))
        start = time.perf_counter()
        (x, y), cached = cache.get(key, lambda: extract_features(model, loader, head))
        say(f"{name} features {x.shape[0]:,} x {x.shape[1]:,}: "
            + (f"read from {cache.path(key)}" if cached
               else f"computed in {time.perf_counter() - start:.1f} s, stored in {cache.path(key)}"))
        found.append(data.TensorDataset(x, y))
    found[0].classes = found[1].classes = train_set.classes
    return found


def _write_config(args, settings, out, device, resumed):
    """config.json: the settings of the first invocation, then one entry per resume."""
    invocation = {"out": str(out), "device": str(device), "data_dir": args.data_dir,
                  "threads": args.threads or (1 if importlib.util.find_spec("threadpoolctl") else None),
                  "ranks": distributed.world_size(),
                  "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    if resumed:
        config = dict(resumed.config)
        config["resumes"] = [*config.get("resumes", []),
                             {"after_epoch": resumed.done, "epochs": settings["epochs"], **invocation}]
    else:
        config = {**settings, **invocation, "resumes": []}
    write_json(config, out / "config.json")


def _resume_command(args, out):
    flags = [f"--out {out}", "--resume"]
    if args.data_dir:
        flags.insert(0, f"--data-dir {args.data_dir}")
    if args.device != "cpu":
        flags.insert(0, f"--device {args.device}")
    return "python -m minidl train " + " ".join(flags)


def _train(args, settings, out, device, resumed):
    start = time.perf_counter()
    main = distributed.is_main()
    say = print if main else (lambda *_: None)
    backend.manual_seed(settings["seed"])
    options = {}
    if settings["dataset"] == "image-folder":
        options["image_size"] = settings["image_size"] or models.input_size(settings["model"])[-1]
        if settings["weights"]:
            options["stats"] = (data.presets.IMAGENET_MEAN, data.presets.IMAGENET_STD)
    try:
        train_set, test_set, line = recipes.load_datasets(settings["dataset"], args.data_dir, args.download,
                                                          settings["augment"], **options)
    except data.DatasetError as error:
        raise UsageError(" ".join(str(error).split())) from None     # the whole message, on one line
    say(line)
    # placed once, here, before the optimizer is built over its parameters (and a resumed optimizer's
    # state is loaded onto their device); the loaders place the batches, so fit moves nothing
    model = _build_model(settings, len(train_set.classes)).to(device)
    _check_input(model, train_set, settings)
    net, trained, shown = model, model, test_set      # shown: the images the figures show
    if settings["freeze"]:
        head = freeze(model)
        trained = submodule(model, head)
        inputs = "images"
        if settings["cache_features"]:
            inputs = "features"
            train_set, test_set = _cached_features(args, settings, model, head, train_set, test_set, out,
                                                   device, options.get("image_size"), say)
        net = FrozenBody(model, head, inputs)
        say(f"training {head} only ({count_parameters(trained):,} parameters); the rest is frozen")
    train_loader, test_loader = _loaders(settings, train_set, test_set, device, args.distributed)
    optimizer = recipes.make_optimizer(settings["optimizer"], trained.parameters(), settings["lr"],
                                       settings["momentum"], settings["weight_decay"])
    epochs = settings["epochs"]
    scheduler = recipes.make_scheduler(recipes.parse_schedule(settings["schedule"]), optimizer, epochs)
    checkpoint = Checkpoint(out / "checkpoint.npz", out / "history.json")
    history = None
    if resumed:
        try:
            history = load_checkpoint(resumed.contents, net, optimizer, scheduler, train_loader)
        except (RuntimeError, ValueError, KeyError) as error:
            raise UsageError(f"--resume: {checkpoint.path} does not fit this run: {error}") from None
        checkpoint.epoch = len(history)
        say(f"resuming {checkpoint.path} after {plural(len(history), 'epoch')}")
    elif args.resume:
        say(f"no checkpoint at {checkpoint.path}: starting from epoch 1")
    if main:
        _write_config(args, settings, out, device, resumed)
    ranks = f" x {distributed.world_size()} ranks" if args.distributed else ""
    say(f"training {settings['model']} ({count_parameters(model):,} parameters) on {device}{ranks} "
        f"for {plural(epochs, 'epoch')}")
    try:
        # NumPy's overflow warnings would come before the one line that says the run diverged, which
        # fit raises as soon as the loss is not finite
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            history = fit(net, train_loader, test_loader, optimizer, scheduler, epochs,
                          callbacks=[checkpoint] if main else [], history=history,
                          progress=main and not args.quiet, distributed=args.distributed)
    except TrainingDiverged as error:
        kept = (f"; {checkpoint.path} keeps epoch {checkpoint.epoch}" if checkpoint.epoch
                else "; no epoch was finished, so no checkpoint was written")
        raise CommandError(f"{error}{kept}") from None
    except KeyboardInterrupt:
        if not checkpoint.epoch:
            raise Interrupted(f"no epoch was finished, so nothing was saved in {out}") from None
        raise Interrupted(f"{checkpoint.path} holds epoch {checkpoint.epoch} of {epochs}; go on with: "
                          f"{_resume_command(args, out)}") from None
    if not main:
        return
    last = history[-1]
    print(f"test accuracy {100 * last['val_acc']:.2f}% (top-5 {100 * last['val_top5']:.2f}%, "
          f"loss {last['val_loss']:.4f}) after {plural(last['epoch'], 'epoch')}; "
          f"{time.perf_counter() - start:.1f} s")
    if args.distributed:     # the figures' predictions are of the whole test set, not of rank 0's part
        test_loader = data.DataLoader(test_set, 500, device=device)
    figures = write_figures(net, shown, test_loader, history, out)
    print(f"wrote {out}/: " + ", ".join(["checkpoint.npz", "history.json", "config.json", *figures]))


def write_figures(model, test_set, test_loader, history, out):
    """Draw the curves, the confusion matrix and the first 32 misclassified test images into ``out``.

    Returns the names of the files written (matplotlib is a dependency of minidl).
    """
    from minidl.train.plots import plot_confusion_matrix, plot_history, plot_misclassified
    plot_history(history, out / "curves.png")
    predictions, targets = predict(model, test_loader)
    classes = test_set.classes
    matrix = confusion_matrix(predictions, targets, len(classes))
    plot_confusion_matrix(matrix, out / "confusion.png", classes)
    wrong = np.flatnonzero(predictions != targets)[:32]
    images = data.get_batch(test_set, wrong)[0] if len(wrong) else np.zeros((0, *np.shape(test_set[0][0])))
    plot_misclassified(images, targets[wrong], predictions[wrong], out / "misclassified.png", classes)
    return FIGURES
