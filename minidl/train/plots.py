"""Pictures of a run: learning curves, the confusion matrix and a grid of misclassified images.

matplotlib is imported inside each function, so ``import minidl`` never pays
for it.  The figures are built with ``matplotlib.figure.Figure`` rather than
``pyplot``: no global state and no window, so they render the same in a
script, a test and a notebook (where the returned figure displays itself).
"""
import functools
import io

import numpy as np

__all__ = ["plot_history", "plot_confusion_matrix", "plot_misclassified"]


def _png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _figure(width, height):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), layout="constrained")
    # Jupyter draws a Figure with a printer that the inline backend installs only once pyplot has loaded
    # it, which these figures never make it do: without a PNG of their own, a notebook whose first figure
    # is one of them would show '<Figure size 1000x400 with 2 Axes>'.
    fig._repr_png_ = functools.partial(_png, fig)
    return fig


def _finish(fig, path):
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def plot_history(history, path=None):
    """Loss (left) and accuracy (right) per epoch, training and validation; saved as PNG to ``path``.

    ``history`` is the list of per-epoch dicts of :func:`minidl.train.fit`
    (keys such as 'train_loss', 'val_acc', 'val_top5').  Returns the figure.
    """
    if not history:
        raise ValueError("plot_history: the history is empty; train for at least one epoch")
    from matplotlib.ticker import MaxNLocator
    epochs = [r["epoch"] for r in history]
    fig = _figure(10, 4)
    loss_ax, acc_ax = fig.subplots(1, 2)
    for key, style in [("train_loss", "-"), ("val_loss", "--")]:
        if key in history[0]:
            loss_ax.plot(epochs, [r[key] for r in history], style, marker="o", label=key.split("_")[0])
    for key, style in [("train_acc", "-"), ("val_acc", "--"), ("val_top5", ":")]:
        if key in history[0]:
            label = {"train_acc": "train", "val_acc": "val", "val_top5": "val top-5"}[key]
            acc_ax.plot(epochs, [100 * r[key] for r in history], style, marker="o", label=label)
    loss_ax.set(title="loss", xlabel="epoch", ylabel="loss")
    acc_ax.set(title="accuracy", xlabel="epoch", ylabel="accuracy (%)")
    for ax in (loss_ax, acc_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    return _finish(fig, path)


def plot_confusion_matrix(matrix, path=None, class_names=None):
    """The confusion matrix (true class by row, predicted by column) as a heat map with counts.

    ``matrix`` comes from :func:`minidl.train.metrics.confusion_matrix`.  Returns the figure.
    """
    matrix = np.asarray(matrix)
    n = matrix.shape[0]
    names = [str(c) for c in (class_names if class_names is not None else range(n))]
    size = min(max(4.0, 0.45 * n + 2), 14.0)
    fig = _figure(size + 1, size)
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true",
           title=f"confusion matrix ({100 * np.trace(matrix) / max(matrix.sum(), 1):.2f}% correct)")
    ax.set_xticklabels(names, rotation=90 if n > 10 else 0)
    ax.set_yticklabels(names)
    if n <= 20:     # beyond that the numbers no longer fit in their cells
        for (i, j), count in np.ndenumerate(matrix):
            ax.text(j, i, str(count), ha="center", va="center", fontsize=8,
                    color="white" if count > matrix.max() / 2 else "black")
    return _finish(fig, path)


def plot_misclassified(images, targets, predictions, path=None, class_names=None, ncols=8):
    """A grid of images, each titled 'true -> predicted'.  Returns the figure.

    images: (N, C, H, W) with C = 1 (grey) or 3 (RGB), as given to the model:
    each is rescaled to [0, 1] for display, which undoes any normalization.
    targets, predictions: class indices (N,).  The grid is drawn as one
    mosaic image (one axes instead of N keeps it quick).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"plot_misclassified: expected images (N, 1 or 3, H, W), got {images.shape}")
    n, channels, h, w = images.shape
    label = (lambda c: str(class_names[int(c)])) if class_names is not None else (lambda c: str(int(c)))
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    gap, band = max(1, w // 8), max(2, h // 3)        # between columns; above each row, for the labels
    mosaic = np.ones((nrows * (h + band) + gap, ncols * (w + gap) + gap, channels), dtype=np.float32)
    for k, image in enumerate(images):
        low, high = image.min(), image.max()
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
        top, left = band + (k // ncols) * (h + band), gap + (k % ncols) * (w + gap)
        mosaic[top:top + h, left:left + w] = image.transpose(1, 2, 0)
    fig = _figure(1.3 * ncols, 1.45 * nrows + 0.3)
    ax = fig.subplots()
    ax.imshow(mosaic[..., 0] if channels == 1 else mosaic, cmap="gray", vmin=0, vmax=1,
              interpolation="nearest")
    ax.axis("off")
    for k, (t, p) in enumerate(zip(targets, predictions)):
        ax.text(gap + (k % ncols) * (w + gap) + w / 2, band / 2 + (k // ncols) * (h + band),
                f"{label(t)} \u2192 {label(p)}", ha="center", va="center", fontsize=8, color="firebrick")
    ax.set_title("misclassified: true \u2192 predicted" if n else "no misclassified images")
    return _finish(fig, path)
