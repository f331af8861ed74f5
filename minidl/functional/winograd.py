"""Winograd's minimal filtering F(2x2, 3x3): a 3x3 convolution with 2.25x fewer multiplications.

Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks" (2016).
A 3x3 stride-1 convolution computes each 2x2 block of outputs from a 4x4
tile of input.  Done directly that is 2*2*9 = 36 multiplications per
channel; Winograd's algorithm does it with 16:

    Y = A^T [ (G g G^T) * (B^T d B) ] A        (* elementwise, 4x4)

with d the 4x4 input tile, g the 3x3 filter and the constant matrices
B^T (4x4), G (4x3) and A^T (2x4) below.  Summed over the input channels,
the elementwise product becomes, for each of the 16 positions of the tile,
one matrix product of the transformed tiles V (tiles, C) with the
transformed filters U (C, F): 16 products with 16/36 of the direct
method's work, plus cheap additions for the transforms.  The transforms
only add and subtract (and halve, for the filters), so float32 results stay
within a few units of rounding of the direct convolution's.

Everything here is channels last: an image is (N, H, W, C), so each
addition moves whole rows of C contiguous channels.
"""
from .. import backend

__all__ = ["filter_transform", "convolve"]

# U = G g G^T, the filter transform
G = ((1.0, 0.0, 0.0),
     (0.5, 0.5, 0.5),
     (0.5, -0.5, 0.5),
     (0.0, 0.0, 1.0))


def filter_transform(W):
    """U (16, C, F) of filters W (F, C, 3, 3): U[4u + v] = (G W G^T)[u, v], one (C, F)
    matrix per position of the 4x4 tile."""
    xp = backend.get_array_module(W)
    G_ = xp.asarray(G, dtype=W.dtype)
    F, C = W.shape[:2]
    GgGt = G_ @ W @ G_.T                                            # (F, C, 4, 4)
    return xp.ascontiguousarray(GgGt.transpose(2, 3, 1, 0)).reshape(16, C, F)


def convolve(x, U, y):
    """y = the 3x3 stride-1 convolution of padded x, through its 4x4 tiles.

    Args:
        x: padded input (m, 2*TH + 2, 2*TW + 2, C), channels last.
        U: transformed filters (16, C, F), from :func:`filter_transform`.
        y: output (m, 2*TH, 2*TW, F), written.
    """
    xp = backend.get_array_module(x)
    m, TH, TW, C = x.shape[0], (x.shape[1] - 2) // 2, (x.shape[2] - 2) // 2, x.shape[3]
    # V = B^T d B, rows first: the tiles' rows u are every other row of x, from row u
    r = [x[:, u:u + 2 * TH:2] for u in range(4)]                     # (m, TH, W + 2, C)
    rows = (r[0] - r[2], r[1] + r[2], r[2] - r[1], r[1] - r[3])      # B^T d
    V = xp.empty((4, 4, m, TH, TW, C), dtype=x.dtype)
    for u, t in enumerate(rows):                                      # then columns: (B^T d) B
        c = [t[:, :, v:v + 2 * TW:2] for v in range(4)]
        xp.subtract(c[0], c[2], out=V[u, 0])
        xp.add(c[1], c[2], out=V[u, 1])
        xp.subtract(c[2], c[1], out=V[u, 2])
        xp.subtract(c[1], c[3], out=V[u, 3])
    # the 16 products, one per tile position: (tiles, C) @ (C, F)
    M = xp.matmul(V.reshape(16, -1, C), U).reshape(4, 4, m, TH, TW, -1)
    # Y = A^T M A: rows, then columns, each output pixel of the 2x2 block into its place in y
    for a, s in enumerate((M[0] + M[1] + M[2], M[1] - M[2] - M[3])):
        xp.add(s[0] + s[1], s[2], out=y[:, a::2, 0::2])
        xp.subtract(s[1] - s[2], s[3], out=y[:, a::2, 1::2])
    return y
