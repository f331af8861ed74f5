"""Wall-clock timing of several implementations, interleaved so that their ratios are fair.

Each function to time comes with the ``sync`` of its device (a no-op on the
CPU, a device synchronize on a GPU): GPUs queue work asynchronously, so the
clock is read only after everything queued so far has finished.

The implementations are timed round-robin (minidl, torch, minidl, torch ...)
rather than one block after the other: on a shared machine a burst of load
from elsewhere then slows both sides alike instead of biasing the ratio.

But in one process each library's thread pool keeps spinning for a while
after its last call (OpenBLAS's for 2^28 cycles by default, about 0.1 s), on
the cores the other library's call runs on next: measured on 2 cores, a torch lenet5
step took 17 ms beside minidl's calls against 4 to 7 ms alone.  So each timed
call comes after a pause of ``settle`` seconds (every pool goes to sleep) and
one untimed call of the same function (its own pools wake up and it runs as in
a training loop): each library is timed as if alone, in the same time window.

On a virtual machine the host may also take CPU time for other machines
(steal), in bursts that the load average does not show, and slows whichever
side happens to run then.  So a round (one timed call of each
implementation) during whose timed calls more than :data:`STOLEN_ROUND` of the
CPU time was stolen is thrown away and timed again, up to :data:`MAX_RETAKES`
times the number of rounds asked for; each summary says how many were retaken.
"""
import time

import numpy as np

from benchmarks import environment

__all__ = ["time_round_robin", "summarize", "rounds_retaken", "SETTLE", "STOLEN_ROUND", "MAX_RETAKES"]

# Seconds of pause before each timed call's untimed twin: longer than OpenBLAS's threads spin.
SETTLE = 0.25

# The share of a round's CPU time the host may take before the round is timed again: a few ticks
# (10 ms each) of a training step, any tick at all of a short layer.
STOLEN_ROUND = 0.03
# How many retaken rounds a measurement may spend per round asked for, so that a run on a machine
# stolen from all the time still ends: its rounds are then kept as they are (and its summaries,
# and the run's steal share, say so).
MAX_RETAKES = 3


def summarize(seconds, retaken=0):
    """Median, interquartile range, min and max of a list of durations, in milliseconds, and the
    number of rounds ``retaken`` for steal."""
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    q25, median, q75 = np.percentile(ms, [25, 50, 75])
    return {"median_ms": float(median), "iqr_ms": [float(q25), float(q75)],
            "min_ms": float(ms.min()), "max_ms": float(ms.max()), "reps": int(ms.size),
            "retaken_for_steal": retaken}


def _time_once(fn, sync):
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def time_round_robin(contestants, warmup, reps, settle=SETTLE, cpu_times=environment.cpu_times):
    """Time each ``name -> (fn, sync)`` of ``contestants`` ``reps`` times after ``warmup`` untimed calls.

    Returns ``name -> summarize(...)``.  A contestant that raises is dropped
    and reported as ``{'error': message}``.  With ``settle`` > 0 each timed call
    comes after that many seconds of pause and one untimed call.  A round with
    more than :data:`STOLEN_ROUND` of its timed calls' CPU time stolen (by
    ``cpu_times``, see :func:`environment.cpu_times`) is timed again, at most
    ``MAX_RETAKES * reps`` times.
    """
    results, alive = {}, dict(contestants)

    def call(name, fn, sync):
        try:
            return _time_once(fn, sync)
        except Exception as error:  # noqa: BLE001 - one failing implementation must not stop the run
            results[name] = {"error": f"{type(error).__name__}: {error}"}
            del alive[name]
            return None

    def timed(name, fn, sync):
        """The time of one call, and the CPU ticks (total, stolen) the machine spent meanwhile."""
        if settle > 0:
            time.sleep(settle)
            if call(name, fn, sync) is None:
                return None, (0, 0)
        before = cpu_times()
        seconds = call(name, fn, sync)
        after = cpu_times()
        if before is None or after is None:
            return seconds, (0, 0)
        return seconds, (after["total"] - before["total"], after["steal"] - before["steal"])

    for _ in range(warmup):
        for name, (fn, sync) in list(alive.items()):
            call(name, fn, sync)
    samples, retaken = {name: [] for name in alive}, 0
    while alive and len(samples[next(iter(alive))]) < reps:
        times, ticks, stolen = {}, 0, 0
        for name, (fn, sync) in list(alive.items()):
            times[name], (total, steal) = timed(name, fn, sync)
            ticks, stolen = ticks + total, stolen + steal
        if ticks and stolen > STOLEN_ROUND * ticks and retaken < MAX_RETAKES * reps:
            retaken += 1
            continue
        for name in alive:
            samples[name].append(times[name])
    results.update({name: summarize(samples[name], retaken) for name in alive})
    return results


def rounds_retaken(measurements):
    """The rounds retaken for steal over ``measurements``, results of :func:`time_round_robin`
    (each contestant of one measurement reports the same count)."""
    return sum(max((s.get("retaken_for_steal", 0) for s in m.values()), default=0) for m in measurements)
