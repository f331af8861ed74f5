"""Hand-made records of run.py, for tests of the report, the spread and their targets."""


def make_record(kind, name, minidl_ms, torch_ms, rel_err=1e-6, peaks=None):
    """A CPU record of ``kind``/``name`` with the two median times and, given ``peaks`` (minidl, torch),
    peak memory; parity is ``rel_err`` (above report.PARITY_TOL: the results differ)."""
    metric = "step" if kind == "model" else "forward_backward"
    record = {"kind": kind, "name": name, "device": "cpu", "parity": {"max_rel_err": rel_err, "worst": "y"},
              metric: {"minidl": {"median_ms": minidl_ms}, "torch": {"median_ms": torch_ms}}}
    if peaks:
        record["memory"] = {"minidl": {"peak_mb": peaks[0]}, "torch": {"peak_mb": peaks[1]}}
    return record
