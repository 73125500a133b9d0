"""The figures as a reader sees them: no grid over a heat map, labels that do
not run into each other, text that reads on its cell, curves of one point
that still show."""

import functools

import matplotlib
import numpy as np
import pytest

from dlia_a2 import plots
from dlia_a2.history import History

FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DIGITS = [str(k) for k in range(10)]


def heat_maps(names):
    """Every figure of the report that shows an image, with these class names."""
    rng = np.random.default_rng(0)
    cm = rng.integers(0, 40, (10, 10))
    np.fill_diagonal(cm, 900)
    yield plots.confusion_figure(cm, names)
    yield plots.heatmap(rng.uniform(-1, 1, (10, 10)), names, names, cmap="RdBu_r", centred=True)
    yield plots.heatmap(rng.uniform(0.9, 1, (4, 3)), [0.02, 0.05, 0.1, 0.2], [32, 64, 128], fmt="{:.4f}")
    yield plots.weight_filters(rng.standard_normal((10, 784)), names)
    yield plots.image_grid(
        rng.random((16, 784)), [f"{names[k % 10]} → {names[(k + 3) % 10]} (1.00)" for k in range(16)]
    )


@functools.cache
def drawn(names: tuple) -> list:
    """The figures of :func:`heat_maps`, made under a style that turns the grid
    on everywhere, and laid out as they will be saved (once per test run)."""
    with matplotlib.rc_context({"axes.grid": True}):
        figs = list(heat_maps(list(names)))
        for fig in figs:
            fig.draw_without_rendering()
    return figs


def gridlines_shown(ax):
    """The grid lines an axes draws (none when its axis is switched off)."""
    return [g for g in ax.get_xgridlines() + ax.get_ygridlines() if g.get_visible() and ax.axison]


@pytest.mark.parametrize("names", [DIGITS, FASHION], ids=["mnist", "fashion-mnist"])
def test_no_grid_lines_over_heat_maps(names):
    """Even under a style that turns the grid on everywhere, no axes that
    shows an image (heat map, filter, digit) draws grid lines over it."""
    for fig in drawn(tuple(names)):
        for ax in fig.axes:
            if ax.images:
                assert not gridlines_shown(ax), (fig.axes[0].get_xlabel(), ax.get_title())


def test_the_grid_check_can_fail():
    with matplotlib.rc_context({"axes.grid": True}):
        fig = matplotlib.figure.Figure()
        ax = fig.subplots()
        ax.imshow(np.eye(3))
        fig.draw_without_rendering()
        assert gridlines_shown(ax)


def overlaps(boxes):
    return [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if a.overlaps(b)]


def colliding_labels(fig, labels):
    """Pairs of neighbouring tick labels that touch. Upright labels collide
    when their boxes overlap; slanted ones (parallel lines of text) when the
    distance between neighbouring lines is less than the height of the text."""
    shown = [t for t in labels if t.get_text() and t.get_visible()]
    if not shown:
        return []
    angle = np.radians(shown[0].get_rotation())
    if angle == 0:
        return overlaps([t.get_window_extent() for t in shown])
    x = [t.get_window_extent().x1 for t in shown]  # anchored at the tick: right ends are the ticks
    height = shown[0].get_fontsize() * fig.dpi / 72
    return [(a, b) for a, b in zip(shown, shown[1:]) if abs(x[1] - x[0]) * np.sin(angle) < height]


@pytest.mark.parametrize("names", [DIGITS, FASHION], ids=["mnist", "fashion-mnist"])
def test_tick_labels_and_titles_do_not_run_into_each_other(names):
    for fig in drawn(tuple(names)):
        for ax in fig.axes:
            for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
                assert not colliding_labels(fig, labels), [t.get_text() for t in labels]
        titles = [ax.title.get_window_extent() for ax in fig.axes if ax.get_title()]
        assert not overlaps(titles), [ax.get_title() for ax in fig.axes]


def test_the_label_check_can_fail():
    fig = matplotlib.figure.Figure(figsize=(3, 2))
    ax = fig.subplots()
    ax.set_xticks(range(10), FASHION)
    fig.draw_without_rendering()
    assert colliding_labels(fig, ax.get_xticklabels())


def test_long_class_names_are_slanted_short_ones_upright():
    fig = drawn(tuple(FASHION))[0]
    assert all(t.get_rotation() == 45 for t in fig.axes[0].get_xticklabels())
    fig = drawn(tuple(DIGITS))[0]
    assert all(t.get_rotation() == 0 for t in fig.axes[0].get_xticklabels())


def test_confusion_figure_writes_each_count_once():
    """One text per cell: nothing (such as the dash of a missing value) drawn
    under the diagonal counts."""
    cm = np.arange(100).reshape(10, 10) + 1
    fig = plots.confusion_figure(cm, DIGITS)
    texts = [(round(t.get_position()[0]), round(t.get_position()[1]), t.get_text()) for t in fig.axes[0].texts]
    cells = [(x, y) for x, y, _ in texts]
    assert len(cells) == len(set(cells)) == 100
    assert {(x, y): s for x, y, s in texts}[(3, 3)] == str(cm[3, 3])


@pytest.mark.parametrize("cmap,centred", [("Oranges", False), ("viridis", False), ("RdBu_r", True)])
def test_cell_text_contrasts_with_its_cell(cmap, centred):
    values = np.linspace(-1 if centred else 0, 1, 30).reshape(5, 6)
    fig = plots.heatmap(values, range(5), range(6), cmap=cmap, centred=centred)
    ax = fig.axes[0]
    im = ax.images[0]
    for t in ax.texts:
        x, y = (round(c) for c in t.get_position())
        r, g, b, _ = im.cmap(im.norm(values[y, x]))
        cell = 0.299 * r + 0.587 * g + 0.114 * b
        text = np.mean(matplotlib.colors.to_rgb(t.get_color()))
        assert abs(cell - text) > 0.35, (t.get_text(), cell, t.get_color())


def one_point_history():
    h = History(("train", "test"), 10)
    h.append(
        iteration=10, epoch=1.0, batch_loss=0.5, batch_accuracy=0.8,
        train_loss=0.4, train_accuracy=0.9, test_loss=0.45, test_accuracy=0.88,
    )  # fmt: skip
    return h


def visible_curves(fig):
    """The lines of a figure that show something: two points or a marker."""
    out = []
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_linestyle() == ":" or line.get_label().startswith("_"):
                continue  # marks and helper lines
            shown = len(line.get_xdata()) > 1 or line.get_marker() not in (None, "", "None", " ")
            out.append(shown)
    return out


def test_curves_of_one_point_show_a_marker():
    fig = plots.lines({"SGD": [1], "Adam": [1]}, {"SGD": [0.5], "Adam": [0.6]}, "epoch", "loss", logy=True)
    assert visible_curves(fig) and all(visible_curves(fig))
    fig = plots.training_curves(one_point_history(), x="epoch", batch=False)
    assert len(visible_curves(fig)) == 4 and all(visible_curves(fig))
    long = plots.lines(np.arange(100), {"a": np.ones(100)}, "epoch", "loss")
    assert long.axes[0].get_lines()[0].get_marker() in (None, "", "None")  # long curves stay plain


def test_regularisation_curves_side_by_side_on_one_scale():
    rng = np.random.default_rng(0)
    losses = ("train_loss", "val_loss", "test_loss")
    run = lambda: {"epoch": list(range(1, 31)), **{k: list(rng.uniform(0.05, 0.5, 30)) for k in losses}}
    curves = {"without": run(), "with dropout 0.2": run()}
    fig = plots.regularisation_curves(curves, {"without": 7, "with dropout 0.2": 25})
    left, right = fig.axes
    assert len([line for line in left.get_lines() if line.get_linestyle() != ":"]) == 3
    assert left.get_shared_y_axes().joined(left, right)  # one scale: the curves compare
    assert [ax.get_title() for ax in fig.axes] == list(curves)
    assert [line.get_xdata()[0] for line in left.get_lines() if line.get_linestyle() == ":"] == [7]
    one_epoch = plots.regularisation_curves({"a": {"epoch": [1], "test_loss": [0.3]}})
    assert all(visible_curves(one_epoch))


def legend_overlaps(fig) -> list:
    """The axes a figure's legends (of the figure or of an axis) cover."""
    fig.draw_without_rendering()
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    boxes = [legend.get_window_extent() for legend in legends]
    return [ax for ax in fig.axes for box in boxes if box.overlaps(ax.get_window_extent())]


def test_curve_legends_sit_below_the_axes_not_on_the_curves():
    h = History(("train", "test"), 10)
    for e in range(1, 31):  # accuracies low on the scale, where a lower-right legend would sit on them
        h.append(iteration=10 * e, epoch=float(e), batch_loss=0.5, batch_accuracy=0.8, train_loss=0.4,
                 train_accuracy=0.86, test_loss=0.45, test_accuracy=0.84)  # fmt: skip
    for batch in (True, False):
        fig = plots.training_curves(h, x="epoch", batch=batch)
        assert len(fig.legends) == 1 and not legend_overlaps(fig)
        assert len(fig.legends[0].get_texts()) == (3 if batch else 2)
    run = {"epoch": [1, 2, 3], "val_loss": [0.5, 0.4, 0.45], "test_loss": [0.6, 0.5, 0.55]}
    fig = plots.regularisation_curves({"none": run, "dropout": run}, {"none": 2, "dropout": 2})
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["validation set", "test set", "epoch chosen on validation"] and not legend_overlaps(fig)


def test_the_legend_check_can_fail():
    fig = plots.lines([1, 2], {"a": [1, 2]}, "x", "y")  # a legend inside its axis
    assert legend_overlaps(fig)
