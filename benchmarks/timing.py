"""Wall-clock timing of several implementations, interleaved so that their ratios are fair.

Each function to time comes with the ``sync`` of its device (a no-op on the
CPU, a device synchronize on a GPU): GPUs queue work asynchronously, so the
clock is read only after everything queued so far has finished.

The implementations are timed round-robin (minidl, torch, minidl, torch ...)
rather than one block after the other: on a shared machine a burst of load
from elsewhere then slows both sides alike instead of biasing the ratio.
"""
import time

import numpy as np

__all__ = ["time_round_robin", "summarize"]


def summarize(seconds):
    """Median, interquartile range, min and max of a list of durations, in milliseconds."""
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    q25, median, q75 = np.percentile(ms, [25, 50, 75])
    return {"median_ms": float(median), "iqr_ms": [float(q25), float(q75)],
            "min_ms": float(ms.min()), "max_ms": float(ms.max()), "reps": int(ms.size)}


def _time_once(fn, sync):
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def time_round_robin(contestants, warmup, reps):
    """Time each ``name -> (fn, sync)`` of ``contestants`` ``reps`` times after ``warmup`` untimed calls.

    Returns ``name -> summarize(...)``.  A contestant that raises is dropped
    and reported as ``{'error': message}``.
    """
    results, alive = {}, dict(contestants)
    for _ in range(warmup):
        for name, (fn, sync) in list(alive.items()):
            try:
                _time_once(fn, sync)
            except Exception as error:  # noqa: BLE001 - one failing implementation must not stop the run
                results[name] = {"error": f"{type(error).__name__}: {error}"}
                del alive[name]
    samples = {name: [] for name in alive}
    for _ in range(reps):
        for name, (fn, sync) in list(alive.items()):
            try:
                samples[name].append(_time_once(fn, sync))
            except Exception as error:  # noqa: BLE001
                results[name] = {"error": f"{type(error).__name__}: {error}"}
                del alive[name], samples[name]
    results.update({name: summarize(s) for name, s in samples.items()})
    return results
