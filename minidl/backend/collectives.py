"""Summing a flat buffer across processes: NCCL on GPUs when CuPy has it, MPI otherwise.

The distributed layer hands over one contiguous float32 buffer per step; this
module is where the device matters, so it lives in the backend.
"""
import numpy as np

from . import cupy_or_none, device_of, to_device, to_numpy

__all__ = ["Allreduce"]


class Allreduce:
    """``Allreduce(comm)(buffer)`` sums ``buffer`` in place over every rank of ``comm``.

    ``comm`` is an mpi4py communicator.  A CuPy buffer goes through NCCL when
    ``cupy.cuda.nccl`` is available (GPU to GPU, no host copy); otherwise it
    is staged through host memory and reduced by MPI.
    """

    def __init__(self, comm):
        self.comm = comm
        self._nccl = None

    def __call__(self, buffer):
        if device_of(buffer).type == "cpu":
            from mpi4py import MPI
            self.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            return buffer
        nccl = self._nccl_comm(buffer)
        if nccl is not None:
            cp = cupy_or_none()
            nccl.allReduce(buffer.data.ptr, buffer.data.ptr, buffer.size, _nccl_dtype(buffer.dtype),
                           0, cp.cuda.Stream.null.ptr)   # 0 = ncclSum
            return buffer
        host = np.ascontiguousarray(to_numpy(buffer))
        from mpi4py import MPI
        self.comm.Allreduce(MPI.IN_PLACE, host, op=MPI.SUM)
        buffer[...] = to_device(host, device_of(buffer))
        return buffer

    def _nccl_comm(self, buffer):
        if self._nccl is None:
            try:
                from cupy.cuda import nccl
            except ImportError:
                self._nccl = False
                return None
            uid = nccl.get_unique_id() if self.comm.rank == 0 else None
            uid = self.comm.bcast(uid, root=0)
            with cupy_or_none().cuda.Device(device_of(buffer).index):
                self._nccl = nccl.NcclCommunicator(self.comm.size, uid, self.comm.rank)
        return self._nccl or None


def _nccl_dtype(dtype):
    from cupy.cuda import nccl
    return {np.dtype(np.float32): nccl.NCCL_FLOAT32, np.dtype(np.float64): nccl.NCCL_FLOAT64}[dtype]
