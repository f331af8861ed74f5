"""Image transforms on NumPy arrays: one image (C, H, W) or a batch (N, C, H, W).

Every transform accepts both.  On a batch, a random transform draws its
parameters per image, all at once, and applies them in a few vectorized steps
(a gather, a lerp), so augmenting a batch of 128 MNIST digits costs about as
much as augmenting one.  Random draws come from :func:`minidl.data.seeding.current`,
the backend's seeded CPU generator unless a loader installed its own.

Geometry follows torchvision: bilinear sampling at half-pixel centres
(``align_corners=False``), antialiased when shrinking as torchvision's
transforms are by default; rotations turn the picture
counter-clockwise for positive angles, about its centre, filling with ``fill``.

    >>> t = Compose([ToFloat(), Normalize([0.5], [0.5])])
    >>> t(np.full((1, 2, 2), 255, dtype=np.uint8)).tolist()
    [[[1.0, 1.0], [1.0, 1.0]]]
"""
import numbers

import numpy as np

from minidl import backend

from . import seeding

__all__ = ["Transform", "Compose", "ToFloat", "to_unit_interval", "Normalize", "CenterCrop", "RandomCrop",
           "RandomShift", "RandomHorizontalFlip", "RandomVerticalFlip", "Resize", "RandomResizedCrop",
           "RandomRotation", "apply_to_batch"]


def _size_pair(size, name):
    pair = (size, size) if isinstance(size, numbers.Integral) else tuple(size)
    if len(pair) != 2 or not all(isinstance(s, numbers.Integral) and s > 0 for s in pair):
        raise ValueError(f"{name}: size must be a positive int or (height, width), got {size!r}")
    return int(pair[0]), int(pair[1])


def _range(value, name, what):
    lo, hi = (-value, value) if isinstance(value, numbers.Number) else tuple(value)
    if lo > hi:
        raise ValueError(f"{name}: {what} must be a number or a (min, max) pair, got {value!r}")
    return float(lo), float(hi)


def apply_to_batch(transform, batch):
    """``transform`` applied to a batch (N, C, H, W): in one call when vectorized, else image by image."""
    if getattr(transform, "batched", False):
        return transform(batch)
    return np.stack([np.asarray(transform(x)) for x in batch])


class Transform:
    """A transform of an image (C, H, W) or a batch (N, C, H, W); subclasses define :meth:`apply`."""

    batched = True

    def __call__(self, x):
        x = np.asarray(x)
        if x.ndim == 3:
            return self.apply(x[None])[0]
        if x.ndim == 4:
            return self.apply(x)
        raise ValueError(f"{type(self).__name__}: expected an image (C, H, W) or a batch (N, C, H, W), "
                         f"got shape {x.shape}")

    def apply(self, x):
        """Transform the batch ``x`` (N, C, H, W)."""
        raise NotImplementedError(f"{type(self).__name__} must define apply")

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Compose:
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    @property
    def batched(self):
        return all(getattr(t, "batched", False) for t in self.transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return "Compose([" + ", ".join(map(repr, self.transforms)) + "])"


def to_unit_interval(x, dtype):
    """uint8 pixels 0..255 as floats in [0, 1] of ``dtype``; floating arrays are only cast.

    The one place minidl scales pixels: :class:`ToFloat` on the host, the
    DataLoader on the device (a NumPy or CuPy array), the channel statistics.
    """
    if x.dtype == np.uint8:
        out = x.astype(dtype)
        out /= 255
        return out
    return x.astype(dtype, copy=False)


class ToFloat(Transform):
    """uint8 pixels 0..255 to floats in [0, 1] of ``dtype`` (default: minidl's default dtype).

    Floating images are only cast.  (torchvision's ``ToTensor`` without the
    HWC-to-CHW transpose: images here are CHW already.)
    """

    def __init__(self, dtype=None):
        self.dtype = dtype

    def apply(self, x):
        if x.dtype != np.uint8 and x.dtype.kind != "f":
            raise TypeError(f"ToFloat: expected uint8 or floating images, got {x.dtype}")
        return to_unit_interval(x, np.dtype(self.dtype or backend.get_default_dtype()))


class Normalize(Transform):
    """``(x - mean[c]) / std[c]`` per channel c, on floating images."""

    def __init__(self, mean, std):
        self.mean = [float(m) for m in np.ravel(mean)]
        self.std = [float(s) for s in np.ravel(std)]
        if len(self.mean) != len(self.std) or not self.mean or min(self.std) <= 0:
            raise ValueError(f"Normalize: mean {self.mean} and std {self.std} must have the same length "
                             "and std must be positive")

    def apply(self, x):
        if x.dtype.kind != "f":
            raise TypeError(f"Normalize: expected floating images, got {x.dtype}; put ToFloat() first")
        if len(self.mean) not in (1, x.shape[1]):
            raise ValueError(f"Normalize: {len(self.mean)} means for images with {x.shape[1]} channels")
        mean = np.array(self.mean, dtype=x.dtype).reshape(-1, 1, 1)
        std = np.array(self.std, dtype=x.dtype).reshape(-1, 1, 1)
        return (x - mean) / std


def _crop(x, top, left, h, w):
    """The crops ``x[n, :, top[n]:top[n] + h, left[n]:left[n] + w]`` of every image, as one gather."""
    windows = np.lib.stride_tricks.sliding_window_view(x, (h, w), axis=(2, 3))
    return windows[np.arange(len(x)), :, top, left]


class CenterCrop(Transform):
    """The central ``size`` (int or (h, w)) region, placed as torchvision places it."""

    def __init__(self, size):
        self.size = _size_pair(size, "CenterCrop")

    def apply(self, x):
        (h, w), (H, W) = self.size, x.shape[2:]
        if h > H or w > W:
            raise ValueError(f"CenterCrop: crop {h}x{w} is larger than the image {H}x{W}")
        top, left = int(round((H - h) / 2)), int(round((W - w) / 2))
        return x[:, :, top:top + h, left:left + w]


class RandomCrop(Transform):
    """A random ``size`` crop of the image zero-padded (``fill``) by ``padding`` pixels on every side.

    ``size=None`` keeps the image size (a random translation, see :class:`RandomShift`).
    """

    def __init__(self, size, padding=0, fill=0):
        self.size = None if size is None else _size_pair(size, type(self).__name__)
        if not isinstance(padding, numbers.Integral) or padding < 0:
            raise ValueError(f"{type(self).__name__}: padding must be a non-negative int, got {padding!r}")
        self.padding, self.fill = int(padding), fill

    def apply(self, x):
        h, w = self.size or x.shape[2:]
        p = self.padding
        if p:
            x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=self.fill)
        n, _, H, W = x.shape
        if h > H or w > W:
            raise ValueError(f"{type(self).__name__}: crop {h}x{w} is larger than the padded image {H}x{W}")
        gen = seeding.current()
        return _crop(x, gen.integers(0, H - h + 1, size=n), gen.integers(0, W - w + 1, size=n), h, w)


class RandomShift(RandomCrop):
    """Translate each image by up to ``max_pixels`` in x and in y, filling with zeros.

    The MNIST augmentation: a digit moved by a pixel or two is the same digit.
    """

    def __init__(self, max_pixels):
        super().__init__(None, padding=max_pixels)


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p``."""

    axis = 3

    def __init__(self, p=0.5):
        self.p = float(p)

    def apply(self, x):
        flip = seeding.current().uniform(0.0, 1.0, size=len(x), dtype=np.float64) < self.p
        out = x.copy()
        out[flip] = np.flip(x[flip], axis=self.axis)
        return out


class RandomVerticalFlip(RandomHorizontalFlip):
    """Turn each image upside down with probability ``p``."""

    axis = 2


def _taps(start, length, out_size, antialias):
    """Taps of a bilinear resize of [start, start + length) to out_size samples: index, weight (N, OUT, K).

    Output pixel i is centred at c = (i + 0.5) * length / out_size in the region
    (half-pixel centres) and averages the source pixels j within ``support``
    of c with triangle weights 1 - |j + 0.5 - c| / support, normalized to sum
    to 1.  Support 1 is plain bilinear interpolation between the two nearest
    pixel centres (torch's ``antialias=False``; at the borders the nearest pixel
    is repeated, as torch clamps).  With ``antialias``, a shrinking resize
    widens the support to the scale so that every source pixel counts, which
    is Pillow's bilinear filter and torch's ``antialias=True``.
    """
    start = np.asarray(start, np.int64)[:, None, None]
    length = np.asarray(length, np.int64)[:, None, None]
    scale = length / out_size
    support = np.maximum(scale, 1.0) if antialias else np.ones_like(scale)
    centre = (np.arange(out_size)[None, :, None] + 0.5) * scale
    # The source pixels within support of c lie in an open interval of length 2 * support: at most
    # ceil(2 * support) of them, from the first one past its start.
    j = np.maximum(np.floor(centre - support + 0.5), 0) + np.arange(int(np.ceil(2 * support.max())))
    weight = np.maximum(0.0, 1 - np.abs(j + 0.5 - centre) / support) * (j < length)
    weight /= weight.sum(axis=2, keepdims=True)
    return start + np.minimum(j, length - 1).astype(np.int64), weight


def _take(x, axis, index):
    """``x[n]`` gathered at ``index[n]`` along ``axis``, image by image.

    A 1-D gather per image copies whole rows and runs several times faster
    than one batched ``take_along_axis``, whose index spans every element.
    """
    return np.stack([np.take(x[n], index[n], axis=axis - 1) for n in range(len(x))])


def _resample(x, axis, index, weight):
    """The sum over k of x gathered at index[..., k] along ``axis`` times weight[..., k], in floats."""
    shape = [len(x), 1, 1, 1]
    shape[axis] = index.shape[1]
    out = 0
    for k in range(index.shape[2]):
        tap = _as_working(_take(x, axis, index[:, :, k]))
        out = out + tap * weight[:, :, k].reshape(shape).astype(tap.dtype)
    return out


def _as_working(x):
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def _like(out, x):
    """``out`` back in the dtype of ``x`` (integer images rounded and clipped)."""
    if x.dtype.kind == "f":
        return out.astype(x.dtype, copy=False)
    info = np.iinfo(x.dtype)
    return np.clip(np.rint(out), info.min, info.max).astype(x.dtype)


def _resized_crop(x, top, left, h, w, size, antialias):
    """Crop (top[n], left[n], h[n], w[n]) of each image, resized bilinearly to ``size`` (OH, OW)."""
    rows = _resample(x, 2, *_taps(top, h, size[0], antialias))
    return _like(_resample(rows, 3, *_taps(left, w, size[1], antialias)), x)


class Resize(Transform):
    """Bilinear resize to ``size``: (h, w), or an int for the shorter side (aspect ratio kept).

    ``antialias`` (torchvision's default, True) averages every source pixel
    when shrinking, as Pillow does; False samples the two nearest per axis
    (``torch.nn.functional.interpolate(mode='bilinear')``).
    """

    def __init__(self, size, antialias=True):
        self.size = int(size) if isinstance(size, numbers.Integral) else _size_pair(size, "Resize")
        if isinstance(self.size, int) and self.size <= 0:
            raise ValueError(f"Resize: size must be positive, got {size}")
        self.antialias = bool(antialias)

    def output_size(self, H, W):
        if not isinstance(self.size, int):
            return self.size
        short, long = (H, W) if H <= W else (W, H)
        new_long = int(self.size * long / short)
        return (self.size, new_long) if H <= W else (new_long, self.size)

    def apply(self, x):
        n, _, H, W = x.shape
        zero = np.zeros(n)
        return _resized_crop(x, zero, zero, np.full(n, H), np.full(n, W), self.output_size(H, W),
                             self.antialias)


class RandomResizedCrop(Transform):
    """A crop of random area (``scale`` of the image) and aspect ``ratio``, resized to ``size``.

    The crop is drawn as torchvision draws it: up to 10 tries of area and
    log-uniform aspect ratio, else a central crop of the nearest allowed ratio.
    ``antialias`` as in :class:`Resize`.
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), antialias=True):
        self.size, self.antialias = _size_pair(size, "RandomResizedCrop"), bool(antialias)
        self.scale, self.ratio = tuple(map(float, scale)), tuple(map(float, ratio))
        if not (0 < self.scale[0] <= self.scale[1] and 0 < self.ratio[0] <= self.ratio[1]):
            raise ValueError("RandomResizedCrop: need 0 < scale[0] <= scale[1] and 0 < ratio[0] <= ratio[1], "
                             f"got scale={scale}, ratio={ratio}")

    def get_params(self, n, H, W, tries=10):
        """Crop boxes (top, left, h, w) for ``n`` images of size H x W, each an int array (n,)."""
        gen = seeding.current()
        area = H * W * gen.uniform(*self.scale, size=(n, tries), dtype=np.float64)
        log_ratio = np.log(self.ratio)
        aspect = np.exp(gen.uniform(*log_ratio, size=(n, tries), dtype=np.float64))
        w = np.rint(np.sqrt(area * aspect)).astype(np.int64)
        h = np.rint(np.sqrt(area / aspect)).astype(np.int64)
        ok = (w > 0) & (w <= W) & (h > 0) & (h <= H)
        pick = np.argmax(ok, axis=1)
        h, w = h[np.arange(n), pick], w[np.arange(n), pick]
        found = ok.any(axis=1)
        fallback_h, fallback_w = H, W
        if W / H < self.ratio[0]:
            fallback_h = int(round(W / self.ratio[0]))
        elif W / H > self.ratio[1]:
            fallback_w = int(round(H * self.ratio[1]))
        h, w = np.where(found, h, fallback_h), np.where(found, w, fallback_w)
        top = np.where(found, gen.integers(0, H - h + 1, size=n), (H - h) // 2)
        left = np.where(found, gen.integers(0, W - w + 1, size=n), (W - w) // 2)
        return top, left, h, w

    def apply(self, x):
        return _resized_crop(x, *self.get_params(len(x), *x.shape[2:]), self.size, self.antialias)


def _source_pixels(yi, xi, H, W):
    """Flat indices (N, H*W) of integer source coordinates, clipped into the image, and which were inside."""
    inside = (yi >= 0) & (yi <= H - 1) & (xi >= 0) & (xi <= W - 1)
    index = np.clip(yi, 0, H - 1).astype(np.int64) * W + np.clip(xi, 0, W - 1).astype(np.int64)
    return index.reshape(len(yi), -1), inside.reshape(len(yi), 1, -1)


def _rotate(x, degrees, interpolation="nearest", fill=0):
    """Each image x[n] turned counter-clockwise by degrees[n] about its centre, ``fill`` outside."""
    n, C, H, W = x.shape
    theta = np.deg2rad(np.asarray(degrees, np.float64))[:, None, None]
    cos, sin = np.cos(theta), np.sin(theta)
    cy, cx = (H - 1) / 2, (W - 1) / 2
    y, xx = np.mgrid[0:H, 0:W]
    y, xx = y - cy, xx - cx
    # The inverse map: where, in the source, each output pixel comes from.
    sx = cos * xx - sin * y + cx
    sy = sin * xx + cos * y + cy
    if interpolation == "nearest":     # a pure gather: bytes stay bytes
        index, inside = _source_pixels(np.rint(sy), np.rint(sx), H, W)
        out = np.where(inside, _take(x.reshape(n, C, H * W), 2, index), np.asarray(fill, x.dtype))
        return out.reshape(x.shape)
    y0, x0 = np.floor(sy), np.floor(sx)
    fy, fx = sy - y0, sx - x0
    src = _as_working(x).reshape(n, C, H * W)
    out = np.zeros_like(src)
    for dy, dx, weight in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                           (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        index, inside = _source_pixels(y0 + dy, x0 + dx, H, W)
        # A neighbour outside the image reads ``fill``.
        value = np.where(inside, _take(src, 2, index), np.asarray(fill, src.dtype))
        out += value * weight.reshape(n, 1, -1).astype(src.dtype)
    return _like(out.reshape(x.shape), x)


class RandomRotation(Transform):
    """Rotate each image by an angle drawn uniformly from ``degrees`` (d means (-d, d)).

    ``interpolation`` is 'nearest' (torchvision's default) or 'bilinear';
    pixels that come from outside the image get ``fill``.
    """

    def __init__(self, degrees, interpolation="nearest", fill=0):
        self.degrees = _range(degrees, "RandomRotation", "degrees")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError("RandomRotation: interpolation must be 'nearest' or 'bilinear', "
                             f"got {interpolation!r}")
        self.interpolation, self.fill = interpolation, fill

    def apply(self, x):
        angles = seeding.current().uniform(*self.degrees, size=len(x), dtype=np.float64)
        return _rotate(x, angles, self.interpolation, self.fill)

