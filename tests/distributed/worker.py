"""Run by tests/distributed/test_distributed.py under ``mpirun -np 2 python -m mpi4py``.

Each rank checks data-parallel training against a single-process reference
that it computes itself, and rank 0 writes the largest differences to the
JSON file named on the command line.
"""
import json
import sys

import numpy as np

import minidl
from minidl import backend
from minidl import distributed as dist


class MLP:
    """A two-layer perceptron from raw tensors: anything with parameters() and buffers() will do."""

    def __init__(self, seed):
        rng = np.random.default_rng(seed)
        self.params = [minidl.tensor(rng.standard_normal(s).astype(np.float32) * 0.5, requires_grad=True)
                       for s in [(5, 8), (8,), (8, 1), (1,)]]

    def parameters(self):
        return iter(self.params)

    def buffers(self):
        return iter(())

    def __call__(self, x):
        w1, b1, w2, b2 = self.params
        return minidl.autograd.maximum(x @ w1 + b1, 0.0) @ w2 + b2


def loss(model, x, y):
    return ((model(minidl.tensor(x)) - minidl.tensor(y)) ** 2).mean()


def sgd_step(model, lr=0.1):
    for p in model.parameters():
        p.data -= lr * p.grad.data
        p.grad = None


def main(out_path):
    rank, size = dist.init()
    rng = np.random.default_rng(42)
    x = rng.standard_normal((16, 5)).astype(np.float32)
    y = rng.standard_normal((16, 1)).astype(np.float32)
    mine = dist.shard(len(x), rank, size)
    disjoint = dist.DistributedSampler(len(x), rank, size, seed=3).indices()
    # the ranks' generators differ on purpose: rank 0's draw is the one every rank must use
    drawn = dist.DistributedSampler(len(x), rank, size, generator=backend.Generator("cpu", rank)).indices()
    sums = dist.sum_over_ranks([rank, 1.5]).tolist()

    # every rank starts from rank 0's weights
    model = MLP(seed=rank)
    dist.broadcast_parameters(model)
    reference = MLP(seed=0)
    init_diff = max(float(np.abs(p.numpy() - q.numpy()).max())
                    for p, q in zip(model.parameters(), reference.parameters()))

    # averaged gradients of the halves == gradient of the whole batch
    loss(model, x[mine], y[mine]).backward()
    dist.allreduce_gradients(model)
    loss(reference, x, y).backward()
    grad_diff = max(float(np.abs(p.grad.numpy() - q.grad.numpy()).max())
                    for p, q in zip(model.parameters(), reference.parameters()))

    # a few steps of training keep the ranks identical and equal to one process on the full batch
    sgd_step(model)
    sgd_step(reference)
    for _ in range(5):
        loss(model, x[mine], y[mine]).backward()
        dist.allreduce_gradients(model)
        sgd_step(model)
        loss(reference, x, y).backward()
        sgd_step(reference)
    flat = np.concatenate([p.numpy().ravel() for p in model.parameters()])
    everyone = dist._comm.gather(flat, root=0)
    samplers = dist._comm.gather(disjoint.tolist(), root=0)
    drawn = dist._comm.gather(drawn.tolist(), root=0)
    if rank == 0:
        ref = np.concatenate([p.numpy().ravel() for p in reference.parameters()])
        json.dump({
            "world_size": size,
            "init_diff": init_diff,
            "grad_diff": grad_diff,
            "rank_weight_diff": max(float(np.abs(w - everyone[0]).max()) for w in everyone),
            "single_process_weight_diff": float(np.abs(everyone[0] - ref).max()),
            "sampler_parts": samplers,
            "drawn_parts": drawn,
            "rank_0_permutation": backend.Generator("cpu", 0).permutation(len(x)).tolist(),
            "sums": sums,
        }, open(out_path, "w"))


if __name__ == "__main__":
    main(sys.argv[1])
