"""How fast a frozen network computes features on the CPU: what fine-tuning with --cache-features costs.

Each model of the Dogs vs Cats practice runs forward in eval mode without a
graph on random batches (N, 3, 224, 224), with one and with two BLAS
threads: one untimed warm-up batch, then ``--batches`` timed ones.  It
prints images per second and the minutes that gives for the 25,000
training photos of Kaggle's Dogs vs Cats, and writes them to JSON with the
load average before and after each case (on a shared machine the other
work running at the same time slows every figure down).

    PYTHONPATH=. python benchmarks/feature_extraction.py [--out results/feature_extraction.json] [--batches 3]
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

import minidl
from benchmarks import environment
from minidl import models
from minidl.train import blas_threads

MODELS = ["alexnet", "vgg16", "googlenet", "resnet34"]
KAGGLE_TRAIN = 25_000


def time_forward(name, batch_size, image_size, batches):
    """Images per second of ``models.get(name)``'s forward pass (eval mode, no graph), and the
    seconds of each timed batch."""
    model = models.get(name).eval()
    x = minidl.tensor(np.random.default_rng(0).standard_normal((batch_size, 3, image_size, image_size),
                                                               dtype=np.float32))
    seconds = []
    with minidl.no_grad():
        for i in range(batches + 1):
            start = time.perf_counter()
            model(x)
            if i:                                  # the first batch warms up: allocations, caches
                seconds.append(time.perf_counter() - start)
    return batch_size * batches / sum(seconds), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batches", type=int, default=3, help="timed batches after the warm-up one")
    parser.add_argument("--out", default="results/feature_extraction.json")
    args = parser.parse_args(argv)

    records = []
    print(f"{'model':<10} {'threads':>7} {'images/s':>9} {'min/25k':>8}  load average (1 min) before/after")
    for threads in args.threads:
        with blas_threads(threads):
            for name in args.models:
                before = os.getloadavg()
                rate, seconds = time_forward(name, args.batch_size, args.image_size, args.batches)
                after = os.getloadavg()
                minutes = KAGGLE_TRAIN / rate / 60
                records.append({"model": name, "threads": threads, "batch_size": args.batch_size,
                                "image_size": args.image_size, "images_per_s": rate,
                                "batch_seconds": seconds, "minutes_for_25000": minutes,
                                "loadavg_before": before, "loadavg_after": after})
                print(f"{name:<10} {threads:>7} {rate:>9.1f} {minutes:>8.1f}  "
                      f"{before[0]:.2f} / {after[0]:.2f}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {"command": "python benchmarks/feature_extraction.py " + " ".join(argv or sys.argv[1:]),
              "environment": environment.collect(), "records": records}
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
