"""A stand-in for the part of CuPy that ``minidl.backend.cuda_kernels`` uses, running on the host.

``ElementwiseKernel(in_params, out_params, operation, name)`` here wraps the
kernel's CUDA C body, unchanged, in a C++ loop over the element index ``i``
(what CuPy does with one GPU thread per ``i``), compiles it with the host's
C++ compiler and calls it through ctypes on NumPy arrays.  The bodies use
only C arithmetic, so the same text that runs on a GPU runs here: on a
machine without one, the kernels' indexing is still checked against the
NumPy ops they mirror.

Parameters follow CuPy's syntax: ``raw T x`` is an array indexed by hand,
``int32 H`` a scalar, and each output ``T y`` is the element ``y[i]``.
"""
import ctypes
import hashlib
import shutil
import subprocess
import tempfile
import types
from pathlib import Path

import numpy as np

_CTYPES = {"int32": ctypes.c_int32}
_C_TYPES = {"int32": "int", "T": "T"}
_C_OF_DTYPE = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_BUILD = Path(tempfile.gettempdir()) / "minidl-host-kernels"


def available():
    return shutil.which("g++") is not None


def _params(text):
    """'raw T x, int32 H' -> [(raw, type, name), ...]."""
    params = []
    for item in text.split(","):
        words = item.split()
        raw = words[0] == "raw"
        params.append((raw, *words[raw:]))
    return params


class ElementwiseKernel:
    def __init__(self, in_params, out_params, operation, name):
        self.inputs, self.outputs = _params(in_params), _params(out_params)
        self.operation, self.name = operation, name
        self._compiled = {}

    def _source(self, c_type):
        args = [f"{'const ' if raw else ''}{_C_TYPES[t]}{'*' if raw else ''} {name}"
                for raw, t, name in self.inputs]
        args += [f"{_C_TYPES[t]}* {name}_out" for _, t, name in self.outputs]
        bind = "\n".join(f"        {_C_TYPES[t]}& {name} = {name}_out[i];" for _, t, name in self.outputs)
        return (f"#include <cmath>\n#include <cstddef>\nusing std::isnan;\ntypedef {c_type} T;\n"
                f'extern "C" void {self.name}({", ".join(args)}, ptrdiff_t n) {{\n'
                f"    for (ptrdiff_t i = 0; i < n; ++i) {{\n{bind}\n"
                f"        {{\n{self.operation}\n        }}\n    }}\n}}\n")

    def _function(self, c_type):
        if c_type not in self._compiled:
            source = self._source(c_type)
            digest = hashlib.sha256(source.encode()).hexdigest()[:16]
            _BUILD.mkdir(exist_ok=True)
            library = _BUILD / f"{self.name}_{c_type}_{digest}.so"
            if not library.exists():
                cpp = library.with_suffix(".cpp")
                cpp.write_text(source)
                partial = library.with_suffix(".so.tmp")
                result = subprocess.run(["g++", "-O1", "-shared", "-fPIC", "-o", str(partial), str(cpp)],
                                        capture_output=True, text=True)
                if result.returncode:
                    raise RuntimeError(f"kernel {self.name} does not compile:\n{result.stderr}")
                partial.replace(library)
            self._compiled[c_type] = getattr(ctypes.CDLL(str(library)), self.name)
        return self._compiled[c_type]

    def __call__(self, *args):
        outs = args[len(self.inputs):]
        c_type = _C_OF_DTYPE[next(a.dtype for a, (_, t, _) in zip(args, self.inputs + self.outputs)
                                  if t == "T")]
        values = []
        for value, (raw, t, _) in zip(args, self.inputs + self.outputs):
            if isinstance(value, np.ndarray):
                assert value.flags.c_contiguous, "the kernels index plain row-major blocks"
                values.append(ctypes.c_void_p(value.ctypes.data))
            else:
                values.append(_CTYPES[t](value))
        self._function(c_type)(*values, ctypes.c_ssize_t(outs[0].size))
        return outs[0] if len(outs) == 1 else tuple(outs)


cupy = types.SimpleNamespace(ElementwiseKernel=ElementwiseKernel, ascontiguousarray=np.ascontiguousarray,
                             empty=np.empty, int32=np.int32)
