"""What a timing depends on: CPU, cores, BLAS and its threads, library versions, GPU.

Environment variables that steer BLAS (``OPENBLAS_CORETYPE`` picks the
kernels OpenBLAS uses, ``OPENBLAS_L2_SIZE`` its blocking) can slow NumPy
down by a large factor; they are recorded as found, never changed.
"""
import importlib.metadata
import os
import platform
import subprocess
import sys

import numpy as np

__all__ = ["collect", "cpu_times", "steal_share"]

_BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                   "MKL_NUM_THREADS", "MKL_ENABLE_INSTRUCTIONS", "CUDA_VISIBLE_DEVICES")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cupy_version():
    """The installed CuPy wheel and version, read without importing it (wheels are named cupy-cuda12x ...)."""
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name == "cupy" or name.startswith("cupy-"):
            return f"{dist.metadata['Name']} {dist.version}"
    return None


def _version(package):
    """An installed package's version, or None."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _thread_pools():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl is not installed"
    keys = ("user_api", "internal_api", "prefix", "version", "num_threads", "architecture", "threading_layer")
    return [{k: pool.get(k) for k in keys if k in pool} for pool in threadpool_info()]


def _gpus():
    """GPU names from nvidia-smi (minidl's backend does not report them), or an empty list."""
    try:
        done = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                               "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in done.stdout.splitlines() if line.strip()] if done.returncode == 0 else []


def cpu_times():
    """The machine's CPU time so far, in ticks: ``{'total', 'steal'}`` from /proc/stat, or None where
    there is none (not Linux)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(n) for n in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal (guest time is counted in user already)
    return {"total": sum(ticks[:8]), "steal": ticks[7] if len(ticks) > 7 else 0}


def steal_share(before, after):
    """The share of the CPU time between two :func:`cpu_times` that the hypervisor gave to other
    machines ("steal"), or None.  On a shared virtual machine this slows a run as much as load
    does, without showing in the load average."""
    if before is None or after is None or after["total"] <= before["total"]:
        return None
    return (after["steal"] - before["steal"]) / (after["total"] - before["total"])


def collect():
    """A JSON-ready description of this machine and software (call after the thread limits are set)."""
    import minidl
    from minidl.backend import kernels
    env = {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "cupy": _cupy_version(),
        "minidl": minidl.__version__,
        # max pooling and ReLU run compiled kernels when Numba is installed, NumPy otherwise
        "numba": _version("numba"),
        "minidl_kernels": kernels.available(),
        "blas_environment": {k: os.environ.get(k) for k in _BLAS_VARIABLES},
        "thread_pools": _thread_pools(),
        "minidl_cuda_available": minidl.cuda.is_available(),
        "gpus": _gpus(),
        # other work on a shared machine slows multi-threaded libraries most: note how busy it was
        "load_average_1_5_15min": os.getloadavg(),
    }
    try:
        import torch
        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
        env["torch_cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        env["torch"] = None
    return env
