"""Peak memory of one benchmark case, measured the same way for minidl and torch in a fresh process.

CPU: ``tracemalloc`` misses buffers that libraries allocate outside Python's
allocator (BLAS workspaces, all of torch), so the probe reads the resident
set instead: the kernel's high-water mark ``VmHWM`` of ``/proc/self/status``.
One process per case, because a high-water mark only ever grows:

1. build the case and run it once (lazy state such as momentum buffers and
   BLAS workspaces then exists, for both libraries alike);
2. hand freed heap back to the system (``malloc_trim``), note the resident
   size, and reset the high-water mark (writing ``5`` to ``/proc/self/clear_refs``;
   where that is refused the mark since start is used, which the warm-up run
   of step 1 already set to about the same peak);
3. run the case again: its peak memory is the high-water mark minus the
   resident size noted before.

GPU: torch reports its allocator's peak (``torch.cuda.max_memory_allocated``);
minidl reports the bytes CuPy's pool holds after the step (``minidl.cuda.memory_info``)
minus those in use before it, an upper bound of its peak since the pool keeps
freed blocks for reuse.

Run as ``python -m benchmarks.memory KIND NAME IMPL DEVICE [--batch B] [--threads T]``
from the repository root; prints one JSON object.
"""
import argparse
import ctypes
import gc
import json
import subprocess
import sys
from pathlib import Path

__all__ = ["measure"]

ROOT = Path(__file__).resolve().parents[1]
MB = 2 ** 20


def _status_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_high_water_mark():
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _release_free_heap():
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _gpu_counters(impl):
    """(bytes in use, peak or held bytes) of the implementation's GPU allocator."""
    if impl.name == "torch":
        return impl.torch.cuda.memory_allocated(), impl.torch.cuda.max_memory_allocated()
    import minidl
    info = minidl.cuda.memory_info()
    return info["used"], info["total"]


def probe(kind, name, impl_name, device, batch=None, threads=2):
    """Measure one case in this process (call it in a fresh one); sizes in MiB."""
    from benchmarks import cases, impls
    impl = {"minidl": impls.Minidl, "torch": impls.Torch}[impl_name](device)
    impls.set_threads(threads)
    kind, name, cfg = cases.select(cases.load_configs(), kind, name, batch)
    case = cases.make_cases([impl], kind, name, cfg)[impl_name]
    case.run()
    impl.sync()
    gc.collect()
    _release_free_heap()
    if device != "cpu":
        if impl.name == "torch":
            impl.torch.cuda.reset_peak_memory_stats()
        used_before, _ = _gpu_counters(impl)
        case.run()
        impl.sync()
        _, peak = _gpu_counters(impl)
        method = ("torch.cuda.max_memory_allocated" if impl.name == "torch"
                  else "CuPy pool bytes held after the step (upper bound)")
        return {"peak_mb": (peak - used_before) / MB, "method": method}
    baseline_kb = _status_kb("VmRSS")
    reset = _reset_high_water_mark()
    case.run()
    peak_kb = _status_kb("VmHWM")
    return {"peak_mb": (peak_kb - baseline_kb) * 1024 / MB, "baseline_mb": baseline_kb * 1024 / MB,
            "method": "VmHWM - VmRSS before the step" + ("" if reset else " (high-water mark not reset)")}


def measure(kind, name, impl_names, device, batch=None, threads=2, timeout=600):
    """Run :func:`probe` for each implementation, each in a fresh Python process.

    The processes run side by side (each measures only itself): ``impl name
    -> the probe's dict``, or ``{'error': ...}`` for a probe that failed.
    """
    running = {}
    for impl_name in impl_names:
        cmd = [sys.executable, "-m", "benchmarks.memory", kind, name, impl_name, device,
               "--threads", str(threads)] + ([] if batch is None else ["--batch", str(batch)])
        running[impl_name] = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                              text=True)
    results = {}
    for impl_name, process in running.items():
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            results[impl_name] = {"error": f"memory probe timed out after {timeout} s"}
            continue
        if process.returncode != 0:
            lines = stderr.strip().splitlines() or ["no output"]
            results[impl_name] = {"error": f"memory probe failed: {lines[-1]}"}
        else:
            results[impl_name] = json.loads(stdout.strip().splitlines()[-1])
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["conv", "pool", "batchnorm", "model"])
    parser.add_argument("name")
    parser.add_argument("impl", choices=["minidl", "torch"])
    parser.add_argument("device")
    parser.add_argument("--batch", type=int)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    print(json.dumps(probe(args.kind, args.name, args.impl, args.device, args.batch, args.threads)))


if __name__ == "__main__":
    main()
