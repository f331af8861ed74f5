"""Sliding windows, shared by convolution and pooling.

A window op slides a KH x KW kernel over the last two axes (H, W) of an
array, ``stride`` pixels at a time, with ``dilation - 1`` pixels skipped
between kernel taps.  These tools cover every such op (how many windows fit
is the business of :mod:`.geometry`):

* :func:`windows`: a strided *view* of all windows, (..., KH, KW, OH, OW),
  that copies nothing (im2col is one copy of it);
* :func:`taps`: the same, one kernel tap at a time, as plain slices;
* :func:`add_windows`: the reverse, summing values laid out per window back
  onto the pixels they came from (col2im), one vectorized add per kernel tap.

They work on any leading axes and any memory order, so the callers choose
the layout (channels first or last) that makes their copies contiguous.
"""
from .. import backend


def new_array(xp, shape, dtype, channels_last=False, value=0.0):
    """A new array of ``shape`` (N, channel axes..., H, W) filled with ``value``.

    With ``channels_last`` the axes still read (N, C, H, W), but the memory is
    laid out (N, H, W, C): the channels of one pixel sit side by side.
    """
    fill = xp.zeros if value == 0 else lambda s, dtype: xp.full(s, value, dtype=dtype)
    if not channels_last:
        return fill(shape, dtype=dtype)
    channels = len(shape) - 3
    memory = fill((shape[0], *shape[-2:], *shape[1:-2]), dtype=dtype)
    return memory.transpose(0, *range(3, 3 + channels), 1, 2)


def pad(x, padding, value=0.0, channels_last=False):
    """A copy of ``x`` (..., H, W) with ``padding`` ((top, bottom), (left, right)) of ``value``."""
    xp = backend.get_array_module(x)
    (top, bottom), (left, right) = padding
    *lead, H, W = x.shape
    out = new_array(xp, (*lead, H + top + bottom, W + left + right), x.dtype, channels_last, value)
    out[..., top:top + H, left:left + W] = x
    return out


def is_channels_last(x):
    """Whether a 4-D ``x`` (N, C, H, W) sits in memory as (N, H, W, C)."""
    return x.ndim == 4 and x.shape[1] > 1 and x.strides[1] < x.strides[3]


def windows(x, kernel, stride, dilation, out_size):
    """Every window of ``x`` (..., H, W) as a view (..., KH, KW, OH, OW); no copy.

    ``view[..., i, j, oh, ow] == x[..., oh*SH + i*DH, ow*SW + j*DW]``.  The
    view aliases memory (windows overlap): read it, never write to it.
    """
    *lead, _, _ = x.shape
    *lead_strides, sh, sw = x.strides
    (KH, KW), (SH, SW), (DH, DW) = kernel, stride, dilation
    return backend.as_strided(x, (*lead, KH, KW, *out_size),
                              (*lead_strides, sh * DH, sw * DW, sh * SH, sw * SW))


def taps(kernel, stride, dilation, out_size):
    """For each kernel tap, row by row: (i, j), the index of the pixels it sees, and
    whether it is the first tap to see any of them.

    ``x[index]`` has shape (..., OH, OW) and equals ``windows(x, ...)[..., i, j, :, :]``,
    but it is a plain slice, so it may be written to.  Two taps see common pixels
    only if their offsets i*DH (and j*DW) agree modulo the stride; the first tap of
    each such class sees pixels no earlier tap saw, so a sum over taps can *write*
    its values into zeros instead of adding them.  When the windows tile the input
    (stride = kernel), every tap is a first.
    """
    (KH, KW), (SH, SW), (DH, DW), (OH, OW) = kernel, stride, dilation, out_size
    seen = set()
    for i in range(KH):
        for j in range(KW):
            phase = (i * DH % SH, j * DW % SW)
            index = (Ellipsis, slice(i * DH, i * DH + SH * (OH - 1) + 1, SH),
                     slice(j * DW, j * DW + SW * (OW - 1) + 1, SW))
            yield i, j, index, phase not in seen
            seen.add(phase)


def add_windows(gx, cols, stride, dilation):
    """Sum each window of ``cols`` (..., KH, KW, OH, OW) onto zeros ``gx`` (..., H, W), in place.

    The reverse of :func:`windows`: where windows overlap their values sum.
    One write per kernel tap, each over all windows at once; no two windows
    meet in one tap's slice (it moves by the stride), so plain ``+=`` is exact.
    """
    *_, KH, KW, OH, OW = cols.shape
    for i, j, index, first in taps((KH, KW), stride, dilation, (OH, OW)):
        if first:
            gx[index] = cols[..., i, j, :, :]
        else:
            gx[index] += cols[..., i, j, :, :]
    return gx
