"""Data-parallel training on MPI (mpi4py), with NCCL between GPUs when CuPy has it.

Every rank holds a full copy of the model and a disjoint part of each batch.
After ``loss.backward()`` each rank calls :func:`allreduce_gradients`, which
packs all gradients into one flat float32 buffer, sums it across ranks in a
single collective call and divides by the number of ranks: every rank then
holds the gradient of the mean loss over the whole global batch and takes the
same optimizer step, so the weights stay identical.  The learning rate needs
no scaling: a global batch of B samples split into B / N per rank gives the
same averaged gradient, hence the same step, as one process on B samples.

Batch-norm statistics are *not* synchronized: each rank normalizes with its
own part of the batch and keeps its own running statistics (rank 0's are the
ones saved; evaluated on several ranks, each part of the test set is seen
with its own rank's).  So only a model without batch norm, dropout or
augmentation trains on N ranks exactly as on one, to float32 rounding.

``python -m minidl train --distributed`` does all of this (see
:func:`minidl.train.fit`'s ``distributed``); on one machine::

    mpirun -np 2 python -m mpi4py -m minidl train --model lenet5 --distributed

and on several, with the same Python environment and files on each, a
hostfile of lines ``host slots=N`` and ``mpirun -np 8 --hostfile hosts ...``.
With ``--device cuda`` rank r takes GPU ``r % device_count`` of its machine.
Rank 0 draws each epoch's order (dropout and augmentation then draw
different numbers on each rank), prints, and writes the checkpoint, history
and figures; ``--resume`` reads the checkpoint on every rank, so across
machines ``--out`` must be a folder they all see.

``-m mpi4py`` makes an uncaught exception on one rank abort the whole job
instead of leaving the others waiting in a collective forever (:func:`init`
installs the same hook).  Without ``mpirun`` (or without mpi4py) the same
command runs as a world of one and gives the same results as without
``--distributed``.
"""
import sys

import numpy as np

from . import backend
from .backend.collectives import Allreduce
from .autograd import Tensor

__all__ = ["init", "rank", "world_size", "is_main", "broadcast_parameters", "allreduce_gradients",
           "sum_over_ranks", "DistributedSampler", "shard"]

_comm = None
_allreduce = None


def init():
    """Join the MPI world (if mpi4py is installed) and return ``(rank, world_size)``."""
    global _comm, _allreduce
    if _comm is None:
        try:
            from mpi4py import MPI
        except ImportError:
            return 0, 1
        _comm = MPI.COMM_WORLD
        _allreduce = Allreduce(_comm)
        if _comm.size > 1:
            _abort_on_uncaught_exception(_comm)
    return _comm.rank, _comm.size


def _abort_on_uncaught_exception(comm):
    previous = sys.excepthook

    def hook(*exc_info):
        previous(*exc_info)
        sys.stderr.flush()
        comm.Abort(1)
    sys.excepthook = hook


def rank():
    """This process's rank, 0 without MPI."""
    return 0 if _comm is None else _comm.rank


def world_size():
    """The number of processes, 1 without MPI."""
    return 1 if _comm is None else _comm.size


# The sampler and ``shard`` take ``rank`` and ``world_size`` arguments, as PyTorch's do,
# which hide the two functions above inside them.
_current_rank, _current_world_size = rank, world_size


def is_main():
    """True on rank 0, the one that writes checkpoints and logs."""
    return rank() == 0


def _flatten(arrays, dtype):
    xp = backend.get_array_module(*arrays)
    return xp.concatenate([a.reshape(-1).astype(dtype, copy=False) for a in arrays])


def _unflatten(flat, like):
    out, start = [], 0
    for a in like:
        out.append(flat[start:start + a.size].reshape(a.shape).astype(a.dtype, copy=False))
        start += a.size
    return out


def broadcast_parameters(model, root=0):
    """Copy rank ``root``'s parameters and buffers to every rank (call once at start)."""
    if world_size() == 1:
        return
    tensors = list(model.parameters()) + list(model.buffers())
    host = np.ascontiguousarray(backend.to_numpy(_flatten([t.data for t in tensors], np.float64)))
    _comm.Bcast(host, root=root)
    for t, value in zip(tensors, _unflatten(host, [backend.to_numpy(t.data) for t in tensors])):
        t.data[...] = backend.to_device(value, t.device)


def allreduce_gradients(model):
    """Average every parameter's gradient over the ranks, through one flat float32 buffer."""
    if world_size() == 1:
        return
    params = [p for p in model.parameters() if p.requires_grad]
    xp = backend.get_array_module(*[p.data for p in params])
    grads = [p.grad.data if p.grad is not None else xp.zeros(p.shape, dtype=p.dtype) for p in params]
    flat = _flatten(grads, np.float32)
    _allreduce(flat)
    flat /= world_size()
    for p, g in zip(params, _unflatten(flat, grads)):
        p.grad = Tensor(g)


def sum_over_ranks(values):
    """``values`` (a few numbers) summed over the ranks, as a float64 NumPy array, on every rank."""
    total = np.array(values, dtype=np.float64)
    if world_size() > 1:
        _allreduce(total)
    return total


class DistributedSampler:
    """Indices of this rank's part of a dataset, reshuffled each epoch.

    Each epoch's permutation of ``range(length)`` is padded (by repeating its
    start) to a multiple of ``world_size``; rank r takes positions r,
    r + world_size, ...  So with batches of B / world_size per rank, the k-th
    batches of all ranks together are positions kB .. (k+1)B - 1 of the
    permutation: the k-th batch of one process with batch size B.

    The permutation is drawn from ``seed + epoch``, the same on every rank
    (call :meth:`set_epoch` before each epoch; :func:`minidl.train.fit` does).
    With a ``generator`` instead (e.g. ``backend.generator("cpu")``, which a
    shuffling DataLoader draws from), rank 0 draws it from that and sends it
    to the others: the order is then the one a single process with
    ``DataLoader(shuffle=True)`` draws, exactly so in a world of one.
    """

    def __init__(self, length, rank=None, world_size=None, shuffle=True, seed=0, generator=None):
        self.length = length
        self.rank = _current_rank() if rank is None else rank
        self.world_size = _current_world_size() if world_size is None else world_size
        self.shuffle, self.seed, self.epoch, self.generator = shuffle, seed, 0, generator
        self.per_rank = -(-length // self.world_size)

    def set_epoch(self, epoch):
        self.epoch = epoch

    def _order(self):
        if not self.shuffle:
            return np.arange(self.length)
        if self.generator is None:
            return np.random.Generator(np.random.PCG64(self.seed + self.epoch)).permutation(self.length)
        if world_size() == 1:
            return self.generator.permutation(self.length)
        # only rank 0 draws: the other ranks' generators stay free for their own dropout and augmentation
        if self.rank == 0:
            order = self.generator.permutation(self.length)
        else:
            order = np.empty(self.length, np.int64)
        _comm.Bcast(order, root=0)
        return order

    def indices(self):
        padded = np.resize(self._order(), self.per_rank * self.world_size)
        return padded[self.rank::self.world_size]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.per_rank


def shard(length, rank=None, world_size=None):
    """The contiguous, disjoint index range of ``rank`` in ``range(length)`` (sizes differ by <= 1)."""
    r = _current_rank() if rank is None else rank
    n = _current_world_size() if world_size is None else world_size
    return np.arange(length)[r * length // n:(r + 1) * length // n]
