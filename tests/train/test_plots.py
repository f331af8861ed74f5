"""The figures: the curves plot what the history holds; every function writes a PNG."""
import numpy as np
import pytest

pytest.importorskip("matplotlib")

from minidl.train.plots import plot_confusion_matrix, plot_history, plot_misclassified  # noqa: E402

HISTORY = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "train_acc": 0.5 + e / 10,
            "val_acc": 0.45 + e / 10, "val_top5": 0.9} for e in (1, 2, 3)]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_plot_history_draws_the_curves_and_writes_a_png(tmp_path):
    path = tmp_path / "curves.png"
    fig = plot_history(HISTORY, path)
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    loss_ax, acc_ax = fig.axes
    curves = {line.get_label(): line.get_ydata() for line in loss_ax.lines}
    np.testing.assert_allclose(curves["train"], [1, 1 / 2, 1 / 3])
    np.testing.assert_allclose(curves["val"], [1.2, 0.6, 0.4])
    accuracy = {line.get_label(): line.get_ydata() for line in acc_ax.lines}
    np.testing.assert_allclose(accuracy["val"], [55, 65, 75])     # in percent
    assert set(accuracy) == {"train", "val", "val top-5"}


def test_a_figure_displays_itself_in_a_notebook():
    # IPython's PNG formatter, as a notebook has it before any pyplot figure installs matplotlib's printer
    formatters = pytest.importorskip("IPython.core.formatters")
    assert formatters.PNGFormatter()(plot_history(HISTORY))[:8] == PNG_SIGNATURE


def test_plot_history_without_validation():
    fig = plot_history([{"epoch": 1, "train_loss": 0.5, "train_acc": 0.8}])
    assert [line.get_label() for line in fig.axes[0].lines] == ["train"]


def test_plot_history_rejects_an_empty_history():
    with pytest.raises(ValueError, match="history is empty"):
        plot_history([])


def test_plot_confusion_matrix(tmp_path):
    matrix = np.array([[5, 1], [2, 7]])
    fig = plot_confusion_matrix(matrix, tmp_path / "cm.png", class_names=["cat", "dog"])
    assert (tmp_path / "cm.png").read_bytes()[:8] == PNG_SIGNATURE
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), matrix)
    assert "80.00% correct" in ax.get_title()       # (5 + 7) / 15
    assert [t.get_text() for t in ax.texts] == ["5", "1", "2", "7"]


@pytest.mark.parametrize("channels", [1, 3])
def test_plot_misclassified_titles_true_and_predicted(tmp_path, channels):
    images = np.random.default_rng(0).standard_normal((5, channels, 8, 8))
    fig = plot_misclassified(images, [1, 2, 3, 4, 0], [0, 0, 1, 2, 3], tmp_path / "wrong.png", ncols=4)
    assert (tmp_path / "wrong.png").read_bytes()[:8] == PNG_SIGNATURE
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["1 \u2192 0", "2 \u2192 0", "3 \u2192 1", "4 \u2192 2",
                                                 "0 \u2192 3"]
    mosaic = np.asarray(ax.images[0].get_array())
    assert mosaic.shape[:2] == (2 * (2 + 8) + 1, 4 * 9 + 1)   # 2 x 4 tiles of 8x8, label bands of 2 rows
    first = mosaic[2:10, 1:9].reshape(8, 8, channels)
    image = images[0].transpose(1, 2, 0)        # rescaled to [0, 1] as a whole, all channels together
    np.testing.assert_allclose(first, (image - image.min()) / (image.max() - image.min()), rtol=1e-5)


def test_plot_misclassified_with_class_names_and_nothing_wrong(tmp_path):
    fig = plot_misclassified(np.zeros((1, 1, 4, 4)), [0], [1], class_names=["cat", "dog"])
    assert [t.get_text() for t in fig.axes[0].texts] == ["cat \u2192 dog"]
    fig = plot_misclassified(np.zeros((0, 1, 4, 4)), [], [], tmp_path / "none.png")
    assert fig.axes[0].get_title() == "no misclassified images"


def test_plot_misclassified_rejects_flat_images():
    with pytest.raises(ValueError, match=r"expected images \(N, 1 or 3, H, W\)"):
        plot_misclassified(np.zeros((2, 64)), [0, 1], [1, 0])
