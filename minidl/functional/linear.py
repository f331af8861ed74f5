"""Fully connected layers: ``linear`` (y = x W^T + b) and ``embedding`` (a row lookup).

An embedding is a linear layer applied to one-hot vectors: multiplying by a
one-hot row selects one row of W, so the lookup ``W[indices]`` is the same
product without the zeros, and its backward adds gy into the selected rows.
"""
from .. import backend
from ..autograd import Function, OpError, Tensor

__all__ = ["linear", "embedding"]


class Linear(Function):
    """y = x W^T + b.

    x: (N, *, in), W: (out, in), b: (out,) -> y: (N, *, out).  The leading
    axes are flattened into one so each direction is a single matrix product:
    gx = gy W, gW = gy^T x, gb = sum of gy over the rows.
    """

    float_inputs = True

    def forward(self, x, W, b=None):
        x2 = x.reshape(-1, x.shape[-1])
        self.x_shape = x.shape
        self.x2 = x2 if self.needs_input_grad[1] else None
        self.W = W if self.needs_input_grad[0] else None
        y = x2 @ W.T
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (W.shape[0],))

    def backward(self, gy):
        gy2 = gy.reshape(-1, gy.shape[-1])
        gx = (gy2 @ self.W).reshape(self.x_shape) if self.needs_input_grad[0] else None
        gW = gy2.T @ self.x2 if self.needs_input_grad[1] else None
        if len(self.needs_input_grad) == 2:
            return gx, gW
        return gx, gW, gy2.sum(axis=0) if self.needs_input_grad[2] else None


class Embedding(Function):
    """y = W[indices]; gW = gy added into the rows named by indices (repeats accumulate).

    indices: (*) integers, W: (num_embeddings, embedding_dim) -> y: (*, embedding_dim).
    """

    float_inputs = True

    def __init__(self, indices, padding_idx):
        self.indices, self.padding_idx = indices, padding_idx

    def forward(self, W):
        self.W_shape = W.shape
        return W[self.indices]

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        gW = xp.zeros(self.W_shape, dtype=gy.dtype)
        backend.scatter_add(gW, self.indices.reshape(-1), gy.reshape(-1, gy.shape[-1]))
        if self.padding_idx is not None:
            gW[self.padding_idx] = 0      # the padding row stays fixed, as in PyTorch
        return gW


def linear(x, weight, bias=None):
    """x: (N, *, in_features) @ weight.T (weight: (out_features, in_features)) + bias: (out_features,)."""
    if x.ndim < 1 or weight.ndim != 2 or x.shape[-1] != weight.shape[1]:
        raise OpError(f"linear: input of shape {x.shape} needs a weight of shape (out_features, "
                      f"{x.shape[-1] if x.ndim else '?'}), got {weight.shape}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise OpError(f"linear: bias has shape {tuple(bias.shape)} but weight {weight.shape} has "
                      f"{weight.shape[0]} outputs")
    if bias is None:
        return Linear()(x, weight)
    return Linear()(x, weight, bias)


def embedding(indices, weight, padding_idx=None):
    """Rows of weight: (num_embeddings, embedding_dim) picked by integer ``indices`` of any shape.

    ``indices`` is an integer Tensor or array; the row ``padding_idx``, if given,
    gets no gradient.
    """
    idx = indices.data if isinstance(indices, Tensor) else indices
    if weight.ndim != 2:
        raise OpError(f"embedding: weight must be (num_embeddings, embedding_dim), got {weight.shape}")
    if idx.dtype.kind not in "iu":
        raise OpError(f"embedding: indices must be integers, got dtype {idx.dtype}")
    idx = backend.to_device(idx, weight.device)
    num = weight.shape[0]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num):
        raise OpError(f"embedding: indices range over [{int(idx.min())}, {int(idx.max())}] but "
                      f"weight has {num} rows")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise OpError(f"embedding: padding_idx {padding_idx} is out of range for {num} rows")
        padding_idx %= num
    return Embedding(idx, padding_idx)(weight)
