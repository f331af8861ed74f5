"""The settings of a ``train`` run: their defaults, how each is written as a flag, and how a
resumed run's settings are read from its ``config.json`` and checked against the flags given.

Checked before any data loads, so that a mistake costs one line, not a training run.
"""
import json

from minidl.serialization import CheckpointError
from minidl.train import recipes
from minidl.train.checkpoint import read_checkpoint

from ._common import UsageError

# A run's settings and their defaults, chosen for the main job: LeNet-5 on the bundled MNIST subset
# reaches 97.7-97.9% test accuracy with them (seeds 0-2; 97.4-97.5% after 15 epochs), in about 45 s on
# two busy cores.  Their flags default to None in the parser, which tells a flag given from one left out.
SETTINGS = {"model": "lenet5", "dataset": "mnist", "image_size": None, "epochs": 18, "batch_size": 64,
            "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0, "schedule": "cosine",
            "augment": True, "seed": 0, "weights": None, "freeze": False, "cache_features": False}
SWITCHES = ("augment", "freeze", "cache_features")     # settings given as flags without a value


def flag(key, value):
    """'--batch-size 64', '--no-augment': how ``value`` of setting ``key`` is written on the command line."""
    if key == "augment":
        return "--augment" if value else "--no-augment"
    if key in SWITCHES:
        return flag_name(key) if value else f"no {flag_name(key)}"
    return f"--{key.replace('_', '-')} {value}"


def flag_name(key):
    return f"--{key.replace('_', '-')}"


def plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def same(key, a, b):
    if key == "schedule":
        return recipes.parse_schedule(a) == recipes.parse_schedule(b)
    return a == b


class Resume:
    """A run to go on from: its checkpoint's contents, its config.json and its settings."""

    def __init__(self, checkpoint, contents, config):
        self.checkpoint, self.contents, self.config = checkpoint, contents, config
        self.settings = {key: config.get(key, default) for key, default in SETTINGS.items()}
        if isinstance(self.settings["schedule"], list):      # config.json of an older minidl
            self.settings["schedule"] = ":".join(
                ",".join(map(str, v)) if isinstance(v, list) else str(v) for v in self.settings["schedule"])
        self.done = contents["epoch"]
        resumes = config.get("resumes") or [config]
        self.total = resumes[-1].get("epochs", self.settings["epochs"])


def read_run(out):
    """The run in ``out`` to resume (None when there is no checkpoint), checked before any data loads."""
    checkpoint = out / "checkpoint.npz"
    if not checkpoint.exists():
        return None
    try:
        contents = read_checkpoint(checkpoint)
    except CheckpointError as error:
        raise UsageError(f"--resume: cannot go on from {checkpoint}: {error}") from None
    config_path = out / "config.json"
    try:
        config = json.loads(config_path.read_text())
    except FileNotFoundError:
        raise UsageError(f"--resume: {out} has a checkpoint but no config.json, so the settings of its run "
                         "are unknown: restore config.json, or start afresh without --resume") from None
    except (ValueError, OSError) as error:
        raise UsageError(f"--resume: cannot read {config_path}: {error}") from None
    if not isinstance(config, dict) or "model" not in config:
        raise UsageError(f"--resume: {config_path} is not the config.json of a minidl train run")
    run = Resume(checkpoint, contents, config)
    try:
        recipes.parse_schedule(run.settings["schedule"])
    except ValueError as error:
        raise UsageError(f"--resume: {config_path}: {error}") from None
    return run


def resumed_settings(run, given, out):
    """The settings of a resumed run: the run's own, with --epochs as the new total; conflicts refused."""
    conflicts = [f"{flag(key, value)} (the run's: {flag(key, run.settings[key])})"
                 for key, value in given.items()
                 if key != "epochs" and not same(key, value, run.settings[key])]
    if conflicts:
        raise UsageError(f"--resume: the run in {out} has other settings: {'; '.join(conflicts)}; a resumed "
                         "run keeps its settings, so leave these flags out, or start a new run in another "
                         "--out")
    total = given.get("epochs", run.total)
    if total < run.done:
        raise UsageError(f"--epochs {total}: --epochs is the total number of epochs, and {run.checkpoint} "
                         f"already holds {run.done}; give more than {run.done} to train further")
    cosine = recipes.parse_schedule(run.settings["schedule"]) == ("cosine",)
    if cosine and total not in (run.done, run.settings["epochs"]):
        span = plural(run.settings["epochs"], "epoch")
        raise UsageError(f"--epochs {total}: the cosine schedule of the run in {out} spans {span} and "
                         "reaches a learning rate of 0 at the last one, "
                         f"so it cannot be stretched to {total}; start a new run of {total} epochs in "
                         "another --out")
    return {**run.settings, "epochs": total}
