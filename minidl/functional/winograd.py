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

Backward runs the same formula in reverse, each step transposed (M = V U
gives gV = gM U^T and gU = V^T gM):

    gM = A gY A^T,   gU = V^T gM,   gV = gM U^T,   gd = B gV B^T,   gg = G^T gU G

so both gradients cost what the forward costs: 2 x 16 products and four
transforms.  Each tile's gd is added onto the pixels it came from: tiles
overlap by two rows and two columns.

Everything here is channels last: an image is (N, H, W, C), so each
addition moves whole rows of C contiguous channels.  With the compiled
kernels (:mod:`minidl.backend.kernels`) each transform is one pass over
memory on every core; the NumPy forms below are the definition they are
tested equal to.
"""
from .. import backend
from ..backend import kernels
from ._windows import pad

__all__ = ["filter_transform", "filter_gradient", "convolve", "gradients", "input_transform",
           "output_transform", "output_gradient", "input_gradient"]

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


def filter_gradient(gU):
    """gW (F, C, 3, 3) = G^T gU G, of the gradient gU (16, C, F) of :func:`filter_transform`."""
    xp = backend.get_array_module(gU)
    G_ = xp.asarray(G, dtype=gU.dtype)
    _, C, F = gU.shape
    return G_.T @ gU.reshape(4, 4, C, F).transpose(3, 2, 0, 1) @ G_


def convolve(x, U, b, y, padding, V, M):
    """y = the 3x3 stride-1 convolution of x, through its 4x4 tiles.

    Args:
        x: input (m, H, W, C), channels last.
        U: transformed filters (16, C, F), from :func:`filter_transform`.
        b: bias (F,), or None.
        y: output (m, OH, OW, F), written.
        padding: (top, left), the zeros before x's first row and column.
        V, M: buffers of at least 16*m*TH*TW*C and 16*m*TH*TW*F numbers, TH = ceil(OH/2) and
            TW = ceil(OW/2): the transformed tiles and their products.
    """
    m, OH, OW, F = y.shape
    V = input_transform(x, padding, _tile_buffer(V, m, OH, OW, x.shape[3]))
    M = _tile_buffer(M, m, OH, OW, F)
    backend.get_array_module(x).matmul(V.reshape(16, -1, x.shape[3]), U, out=M.reshape(16, -1, F))
    return output_transform(M, b, y)


def gradients(x, U, gy, gx, padding, V, gM):
    """The gradients of :func:`convolve` for its output gradient gy (m, OH, OW, F).

    Adds the input gradient onto ``gx`` (m, H, W, C) (unless it is None), and returns gU
    (16, C, F), the gradient of U.  V and gM are buffers as in :func:`convolve`.
    """
    xp = backend.get_array_module(x)
    m, OH, OW, F = gy.shape
    C = x.shape[3]
    gM = output_gradient(gy, _tile_buffer(gM, m, OH, OW, F)).reshape(16, -1, F)
    V = input_transform(x, padding, _tile_buffer(V, m, OH, OW, C))
    gU = xp.matmul(V.reshape(16, -1, C).transpose(0, 2, 1), gM)
    if gx is not None:      # gV, where V was
        xp.matmul(gM, U.transpose(0, 2, 1), out=V.reshape(16, -1, C))
        input_gradient(V, padding, gx)
    return gU


def input_transform(x, padding, V):
    """V = B^T d B for each 4x4 tile d of x (m, H, W, C), padded by (top, left) zeros before and
    by as many as the tiles need after; written into V (16, m, TH, TW, C), row 4u + v for the
    position (u, v) in the tile.  Tile (th, tw) starts at padded pixel (2th, 2tw)."""
    if kernels.enabled_for(x, V, min_size=0):
        kernels.winograd_input(x, *padding, V)
        return V
    xp = backend.get_array_module(x)
    _, m, TH, TW, C = V.shape
    x = _padded(x, padding, 2 * TH + 2, 2 * TW + 2)
    out = V.reshape(4, 4, m, TH, TW, C)
    # rows first: the tiles' rows u are every other row of x, from row u
    r = [x[:, u:u + 2 * TH:2] for u in range(4)]                     # (m, TH, 2TW + 2, C)
    rows = (r[0] - r[2], r[1] + r[2], r[2] - r[1], r[1] - r[3])      # B^T d
    for u, t in enumerate(rows):                                      # then columns: (B^T d) B
        c = [t[:, :, v:v + 2 * TW:2] for v in range(4)]
        xp.subtract(c[0], c[2], out=out[u, 0])
        xp.add(c[1], c[2], out=out[u, 1])
        xp.subtract(c[2], c[1], out=out[u, 2])
        xp.subtract(c[1], c[3], out=out[u, 3])
    return V


def output_transform(M, b, y):
    """y (m, OH, OW, F) = A^T M A (+ b) for each tile's M (16, m, TH, TW, F): each 2x2 block of
    outputs, written into its place in y (an odd size's last blocks hang over the edge)."""
    xp = backend.get_array_module(M)
    if kernels.enabled_for(M, y, min_size=0):
        kernels.winograd_output(M, xp.zeros(y.shape[3], y.dtype) if b is None else b, y)
        return y
    _, m, TH, TW, F = M.shape
    OH, OW = y.shape[1:3]
    blocks = y if (OH, OW) == (2 * TH, 2 * TW) else xp.empty((m, 2 * TH, 2 * TW, F), y.dtype)
    M = M.reshape(4, 4, m, TH, TW, F)
    for a, s in enumerate((M[0] + M[1] + M[2], M[1] - M[2] - M[3])):    # rows, then columns
        xp.add(s[0] + s[1], s[2], out=blocks[:, a::2, 0::2])
        xp.subtract(s[1] - s[2], s[3], out=blocks[:, a::2, 1::2])
    if blocks is not y:
        y[...] = blocks[:, :OH, :OW]
    if b is not None:
        y += b
    return y


def output_gradient(gy, gM):
    """gM = A gY A^T for each 2x2 block gY of gy (m, OH, OW, F) (zeros where an odd size's last
    blocks hang over), written into gM (16, m, TH, TW, F): the gradient of :func:`output_transform`."""
    if kernels.enabled_for(gy, gM, min_size=0):
        kernels.winograd_output_gradient(gy, gM)
        return gM
    xp = backend.get_array_module(gy)
    _, m, TH, TW, F = gM.shape
    if gy.shape[1:3] != (2 * TH, 2 * TW):       # an odd size: zeros under the overhanging blocks
        gy = _padded(gy, (0, 0), 2 * TH, 2 * TW)
    out = gM.reshape(4, 4, m, TH, TW, F)
    g = [gy[:, a::2] for a in range(2)]                               # the blocks' rows
    for u, r in enumerate((g[0], g[0] + g[1], g[0] - g[1], -g[1])):     # A gY
        c = [r[:, :, b::2] for b in range(2)]                          # then columns: (A gY) A^T
        out[u, 0] = c[0]
        xp.add(c[0], c[1], out=out[u, 1])
        xp.subtract(c[0], c[1], out=out[u, 2])
        xp.negative(c[1], out=out[u, 3])
    return gM


def input_gradient(gV, padding, gx):
    """gx (m, H, W, C) += B gV B^T for each tile's gV (16, m, TH, TW, C), added onto the pixels
    the tile came from (those inside x): the gradient of :func:`input_transform`."""
    if kernels.enabled_for(gV, gx, min_size=0):
        kernels.winograd_input_gradient(gV, *padding, gx)
        return gx
    xp = backend.get_array_module(gV)
    _, m, TH, TW, C = gV.shape
    (top, left), (H, W) = padding, gx.shape[1:3]
    g_padded = xp.zeros((m, 2 * TH + 2, 2 * TW + 2, C), gV.dtype)
    g = gV.reshape(4, 4, m, TH, TW, C)
    rows = (g[0], g[1] - g[2] + g[3], g[1] + g[2] - g[0], -g[3])     # B gV
    for u, t in enumerate(rows):                                      # then columns: (B gV) B^T
        for v, d in enumerate((t[0], t[1] - t[2] + t[3], t[1] + t[2] - t[0], -t[3])):
            g_padded[:, u:u + 2 * TH:2, v:v + 2 * TW:2] += d        # one pixel per tile: no overlap
    gx += g_padded[:, top:top + H, left:left + W]
    return gx


def _tile_buffer(buffer, m, OH, OW, channels):
    """(16, m, TH, TW, channels) at the start of a flat buffer, for outputs (OH, OW)."""
    TH, TW = -(-OH // 2), -(-OW // 2)
    return buffer[:16 * m * TH * TW * channels].reshape(16, m, TH, TW, channels)


def _padded(x, padding, H, W):
    """x (m, h, w, C) with ``padding`` (top, left) zeros before and zeros after, to (m, H, W, C)."""
    (top, left), (h, w) = padding, x.shape[1:3]
    padded = pad(x.transpose(0, 3, 1, 2), ((top, H - top - h), (left, W - left - w)), 0.0, True)
    return padded.transpose(0, 2, 3, 1)
