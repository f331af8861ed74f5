"""``Linear`` (y = x W^T + b, W of shape (out_features, in_features) as in PyTorch) and
``Embedding`` (a lookup table of rows)."""
from .. import functional as F
from ..autograd import OpError, empty
from . import init
from .module import Module, Parameter, check_channels

__all__ = ["Linear", "Embedding"]


def _positive(name, **values):
    for arg, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise OpError(f"{name}: {arg} must be a positive int, got {value!r}")


class Linear(Module):
    """Fully connected layer: x (N, *, in_features) -> y (N, *, out_features).

    Initialized as PyTorch's: W and b uniform in +-1/sqrt(in_features).
    """

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        _positive("Linear", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(empty(out_features, in_features))
        self.bias = Parameter(empty(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.reset_affine_(self, self.in_features)

    def forward(self, x):
        check_channels(self, x, self.in_features, axis=-1)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``: indices (*) -> (*, embedding_dim).

    Initialized N(0, 1), as PyTorch's.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None):
        super().__init__()
        _positive("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise OpError(f"Embedding({num_embeddings}, {embedding_dim}): padding_idx "
                              f"{padding_idx} is out of range")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(empty(num_embeddings, embedding_dim))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, indices):
        return F.embedding(indices, self.weight, padding_idx=self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"
