"""ZFNet's question, answered on a dataset: which inputs, and which patches of them, excite a filter most?

Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks",
ECCV 2014, Fig. 2, show for chosen feature maps the 9 strongest activations
over the validation set, each with the image patch the unit sees.  Here
each image's activation is the largest value of ``channel`` of ``layer``
anywhere in its map; the patch is the bounding box of the pixels the
gradient of that one unit reaches.  That is the unit's receptive field
restricted by the image's own ReLU and max-pool switches (what the deconvnet
of the paper projects through), and it needs no knowledge of the
architecture, so it works on any model.
"""
from collections import namedtuple

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..data.dataset import get_batch
from .grids import image_grid
from .probe import LayerCapture, as_batch, held_still

__all__ = ["Activation", "top_activations", "plot_top_activations"]

Activation = namedtuple("Activation", ["value", "index", "position", "box"])
Activation.__doc__ = """One of the strongest activations of a filter.

value: the activation; index: the dataset index of the image; position:
(row, column) of the unit in the feature map, None for a layer without one
(a Linear layer); box: (top, left, bottom, right) of the patch of the input
it sees, bottom and right exclusive, None when its gradient reaches no pixel
(a unit that never fired)."""


def top_activations(model, layer, channel, dataset, k=9, batch_size=256):
    """The ``k`` images of ``dataset`` on which ``channel`` of ``layer`` responds most, strongest first.

    ``layer``: a dotted module name whose output is (N, K, h, w) or (N, K);
    ``dataset``: indexable, ``dataset[i]`` an image (C, H, W) as the model
    takes it (transformed), or a tuple (image, label, ...).  Runs the model in eval mode over the whole
    dataset without a graph, then once more on the ``k`` winners for their
    patches.  Returns a list of :class:`Activation`.
    """
    values, positions = [], []
    with held_still(model), no_grad():
        for start in range(0, len(dataset), batch_size):
            indices = np.arange(start, min(len(dataset), start + batch_size))
            with LayerCapture(model, layer) as maps:
                model(as_batch(model, _images(dataset, indices), "top_activations"))
            value, position = _strongest(maps.output, channel, layer)
            values.append(value)
            positions.append(position)
    values, positions = np.concatenate(values), np.concatenate(positions)
    winners = np.argsort(-values, kind="stable")[:k]
    boxes = _patches(model, layer, channel, _images(dataset, winners), positions[winners])
    return [Activation(float(values[i]), int(i), _position(positions[i]), box)
            for i, box in zip(winners, boxes)]


def _position(row_column):
    return None if row_column[0] < 0 else (int(row_column[0]), int(row_column[1]))


def _images(dataset, indices):
    batch = get_batch(dataset, indices)
    return batch[0] if isinstance(batch, tuple) else batch


def _strongest(output, channel, layer):
    """Each image's largest activation of ``channel`` and its (row, column), (-1, -1) without a map."""
    if output.ndim not in (2, 4):
        raise ValueError(f"top_activations: layer {layer!r} gives {output.shape}; expected (N, K, h, w) "
                         "or (N, K)")
    if not 0 <= channel < output.shape[1]:
        raise ValueError(f"top_activations: layer {layer!r} has {output.shape[1]} channels, "
                         f"no channel {channel}")
    maps = backend.to_numpy(output.data[:, channel])
    if maps.ndim == 1:
        return maps, np.full((len(maps), 2), -1)
    flat = maps.reshape(len(maps), -1)
    best = flat.argmax(axis=1)
    return flat[np.arange(len(flat)), best], np.stack(np.unravel_index(best, maps.shape[1:]), axis=1)


def _patches(model, layer, channel, images, positions):
    """The (top, left, bottom, right) box of input pixels that each chosen unit's gradient reaches."""
    with held_still(model), LayerCapture(model, layer) as maps:
        x = as_batch(model, images, "top_activations").requires_grad_()
        model(x)
        seed = np.zeros(maps.output.shape, dtype=maps.output.dtype)
        for n, (i, j) in enumerate(positions):
            seed[(n, channel) if i < 0 else (n, channel, i, j)] = 1
        # the images are independent in eval mode: one backward gives each its own unit's gradient
        maps.output.backward(backend.to_device(seed, maps.output.device))
    reached = backend.to_numpy(x.grad.data) != 0
    boxes = []
    for mask in reached.any(axis=1):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1) if rows.size else None
        boxes.append(box)
    return boxes


def plot_top_activations(dataset, activations, patches=True, ncols=9, title=None):
    """The images (or, with ``patches``, the patches) of :func:`top_activations`' result, strongest first.

    Each tile is titled with its activation; returns the figure.
    """
    images = _images(dataset, np.fromiter((a.index for a in activations), dtype=np.int64))
    tiles = []
    for image, a in zip(backend.to_numpy(images), activations):
        if patches and a.box is not None:
            top, left, bottom, right = a.box
            image = image[:, top:bottom, left:right]
        tiles.append(image)
    return image_grid(tiles, ncols=ncols, titles=[f"{a.value:.3g}" for a in activations], title=title)
