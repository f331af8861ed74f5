"""Grids of small pictures: filters, feature maps, and heat maps laid over their images.

Every function returns a matplotlib Figure (imported when called, so
``import minidl.viz`` needs no matplotlib), built as ``minidl.train``'s plots
are: without pyplot, drawing itself in a notebook.
"""
import numpy as np

from .. import backend
from ..autograd import Tensor, no_grad
from ..train.plots import _figure
from .probe import LayerCapture, as_batch, held_still

__all__ = ["image_grid", "plot_filters", "feature_maps", "plot_feature_maps", "plot_heatmaps"]


def _host(a):
    return backend.to_numpy(a.data if isinstance(a, Tensor) else a)


def _unit_range(tile):
    """``tile`` rescaled to [0, 1] (a constant tile to 0): each picture shown with its own contrast."""
    low, high = tile.min(), tile.max()
    return (tile - low) / (high - low) if high > low else np.zeros_like(tile)


def image_grid(tiles, ncols=8, titles=None, title=None, cmap="gray"):
    """One small picture per tile, ``ncols`` to a row; returns the figure.

    Each tile is (H, W), (1, H, W) (grey, through ``cmap``) or (3, H, W)
    (colour), rescaled to [0, 1] on its own; tiles may differ in size.
    """
    tiles = [_host(t).astype(np.float32) for t in tiles]
    for t in tiles:
        if not (t.ndim == 2 or (t.ndim == 3 and t.shape[0] in (1, 3))):
            raise ValueError(f"image_grid: a tile must be (H, W), (1, H, W) or (3, H, W), got {t.shape}")
    ncols = max(1, min(ncols, len(tiles)))
    nrows = max(1, -(-len(tiles) // ncols))
    fig = _figure(1.1 * ncols, 1.1 * nrows + (0.3 if title else 0) + (0.15 * nrows if titles else 0))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for k, ax in enumerate(axes):
        ax.axis("off")
        if k >= len(tiles):
            continue
        tile = _unit_range(tiles[k])
        tile = tile[0] if tile.ndim == 3 and tile.shape[0] == 1 else tile
        ax.imshow(tile.transpose(1, 2, 0) if tile.ndim == 3 else tile, cmap=cmap, vmin=0, vmax=1,
                  interpolation="nearest")
        if titles is not None:
            ax.set_title(str(titles[k]), fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def plot_filters(weight, channel=None, ncols=8, title=None):
    """The filters of a convolution, one tile each: ``weight`` a Conv2d, a Tensor or an array (F, C, KH, KW).

    Filters over 3 channels are shown in colour (AlexNet's and ZFNet's
    first layers); otherwise input channel ``channel`` (default 0) of each.
    """
    weight = _host(getattr(weight, "weight", weight))
    if weight.ndim != 4:
        raise ValueError(f"plot_filters: expected a weight (F, C, KH, KW), got shape {weight.shape}")
    if channel is None and weight.shape[1] != 3:
        channel = 0
    tiles = weight if channel is None else weight[:, channel]
    return image_grid(list(tiles), ncols=ncols, title=title)


def feature_maps(model, layer, images):
    """What ``layer`` of ``model`` outputs for ``images`` (N, C, H, W), in eval mode, as a NumPy array."""
    with held_still(model), no_grad(), LayerCapture(model, layer) as maps:
        model(as_batch(model, images, "feature_maps"))
    return backend.to_numpy(maps.output.data)


def plot_feature_maps(model, layer, image, max_maps=64, ncols=8):
    """The first ``max_maps`` feature maps of ``layer`` for one ``image`` (C, H, W), one tile each."""
    image = _host(image)
    maps = feature_maps(model, layer, image[None] if image.ndim == 3 else image)
    if maps.ndim != 4 or len(maps) != 1:
        raise ValueError(f"plot_feature_maps: expected one image and maps (1, K, h, w), got {maps.shape}")
    shown = maps[0, :max_maps]
    return image_grid(list(shown), ncols=ncols, titles=list(range(len(shown))),
                      title=f"{layer}: {len(shown)} of {maps.shape[1]} maps")


def plot_heatmaps(images, heatmaps, titles=None, alpha=0.5, cmap="jet"):
    """Each image (C, H, W) beside its heat map (H, W) laid over it: saliency, Grad-CAM.

    Both are rescaled to [0, 1] per image.  Returns the figure, two rows.
    """
    images, heatmaps = _host(images), _host(heatmaps)
    if len(images) != len(heatmaps) or images.shape[2:] != heatmaps.shape[1:]:
        raise ValueError(f"plot_heatmaps: images {images.shape} and heat maps {heatmaps.shape} do not "
                         "match; expected (N, C, H, W) and (N, H, W)")
    n = len(images)
    fig = _figure(1.5 * n, 3.2)
    axes = fig.subplots(2, n, squeeze=False)
    for k in range(n):
        image = _unit_range(images[k].astype(np.float32))
        image = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
        for ax in axes[:, k]:
            ax.imshow(image, cmap="gray", vmin=0, vmax=1)
            ax.axis("off")
        axes[1, k].imshow(_unit_range(heatmaps[k].astype(np.float32)), cmap=cmap, alpha=alpha, vmin=0, vmax=1)
        if titles is not None:
            axes[0, k].set_title(str(titles[k]), fontsize=8)
    return fig
