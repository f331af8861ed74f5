"""The round-robin timer: each timed call settled first; rounds in which the host stole CPU time
are timed again."""
from benchmarks import timing


class _Host:
    """A fake /proc/stat: each timed call takes 100 ticks, with the steal given per call."""

    def __init__(self, steal_per_call):
        self.steal_per_call, self.reads, self.total, self.steal = list(steal_per_call), 0, 0, 0

    def __call__(self):
        # read twice per timed call: before it (nothing added) and after it
        self.reads += 1
        if self.reads % 2 == 0:
            self.total += 100
            self.steal += self.steal_per_call.pop(0) if self.steal_per_call else 0
        return {"total": self.total, "steal": self.steal}


def _counting():
    calls = []

    def contestant(name):
        return lambda: calls.append(name), lambda: None
    return calls, {"a": contestant("a"), "b": contestant("b")}


def test_a_round_with_stolen_time_is_timed_again():
    calls, contestants = _counting()
    # per round (a, b): 0% kept, 10% and 4% thrown away, 3% kept (6 of 200 ticks), 0% kept
    host = _Host([0, 0, 20, 0, 0, 8, 6, 0, 0, 0])
    results = timing.time_round_robin(contestants, warmup=0, reps=3, settle=0, cpu_times=host)
    assert calls == ["a", "b"] * 5
    for name in "ab":
        assert results[name]["reps"] == 3 and results[name]["retaken_for_steal"] == 2
    assert timing.rounds_retaken([results, results]) == 4


def test_retakes_are_bounded_on_a_host_that_always_steals():
    calls, contestants = _counting()
    results = timing.time_round_robin(contestants, warmup=0, reps=2, settle=0, cpu_times=_Host([50] * 100))
    # MAX_RETAKES per round asked for, then the rounds are kept as they are
    assert len(calls) == 2 * (2 + timing.MAX_RETAKES * 2)
    assert results["a"]["reps"] == 2 and results["a"]["retaken_for_steal"] == timing.MAX_RETAKES * 2


def test_each_timed_call_follows_a_pause_and_an_untimed_call_of_its_own():
    calls, contestants = _counting()
    results = timing.time_round_robin(contestants, warmup=1, reps=2, settle=1e-3, cpu_times=lambda: None)
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 2
    assert results["a"]["reps"] == 2 and results["b"]["retaken_for_steal"] == 0


def test_a_failing_contestant_is_dropped_and_the_others_go_on():
    def fail():
        raise ValueError("no")
    calls, contestants = _counting()
    contestants["c"] = (fail, lambda: None)
    results = timing.time_round_robin(contestants, warmup=0, reps=2, settle=1e-3, cpu_times=_Host([0] * 10))
    assert results["c"] == {"error": "ValueError: no"} and results["a"]["reps"] == 2
