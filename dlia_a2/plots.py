"""Figures for the report. Every function returns a matplotlib Figure and
trains nothing; saving and numbering figures is :mod:`dlia_a2.notebook`'s job.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot
state), so creating one never shows it by accident.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

matplotlib.rcParams.update(
    {
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "legend.fontsize": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.hashsalt": "dlia-a2",  # stable ids in SVG output
    }
)

# Colour-blind-safe pairs (Okabe-Ito): train, test, validation.
COLOURS = {"train": "#0072B2", "test": "#D55E00", "val": "#009E73", "batch": "#999999"}
LABELS = {"train": "training set", "test": "test set", "val": "validation set"}
# curves with at most this many points are drawn with a marker at each, so
# that a curve of one point (a one-epoch run) still shows
MARKERS_UP_TO = 25


def _marker(n_points: int) -> dict:
    return {"marker": "o", "markersize": 3} if n_points <= MARKERS_UP_TO else {}


def _no_grid(ax) -> None:
    """A heat map or image is read cell by cell: no grid lines over it."""
    ax.grid(False)


def _legend_below(fig, axes) -> None:
    """One legend for the whole figure, below its axes: inside an axis a
    legend sits on whatever curve happens to run there (the test accuracy of
    Fashion-MNIST ran under the legend of the accuracy plot). Entries of the
    same label on several axes appear once."""
    entries = {}
    for ax in np.atleast_1d(axes):
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    if entries:
        fig.legend(entries.values(), entries.keys(), loc="outside lower center", ncols=len(entries), frameon=False)


def _upright_or_slanted(fig, ax) -> None:
    """Slant the x tick labels (45 degrees) when side by side they would run
    into each other, as long class names do ("T-shirt/top", "Ankle boot")."""
    fig.draw_without_rendering()
    boxes = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]
    gap = 2  # pixels between neighbours, at least
    if any(a.x1 + gap > b.x0 for a, b in zip(boxes, boxes[1:])):
        for t in ax.get_xticklabels():
            t.set(rotation=45, ha="right", rotation_mode="anchor")


def training_curves(
    history,
    sets: Sequence[str] = ("train", "test"),
    x: str = "iteration",
    batch: bool = True,
    title: str | None = None,
    marks: Sequence[float] = (),
) -> Figure:
    """Loss (left) and accuracy (right) against iterations or epochs.

    Parameters
    ----------
    history : mlp_core.History
    sets : names of whole data sets to draw (columns ``<set>_loss``).
    x : "iteration" or "epoch"
    batch : also draw the current mini-batch's values (the assignment's
        curves), thin and grey behind the whole-set curves.
    marks : x positions to mark with a dotted vertical line.
    """
    fig = Figure(figsize=(7.2, 2.6), layout="constrained")
    axes = fig.subplots(1, 2)
    xs = history[x]
    for ax, metric in zip(axes, ("loss", "accuracy")):
        if batch:
            ax.plot(
                xs, history[f"batch_{metric}"], color=COLOURS["batch"], lw=0.6, alpha=0.7, label="current mini-batch"
            )
        for s in sets:
            ax.plot(
                xs, history[f"{s}_{metric}"], color=COLOURS.get(s), lw=1.4, label=LABELS.get(s, s), **_marker(len(xs))
            )
        for m in marks:
            ax.axvline(m, color="k", lw=0.6, ls=":")
        ax.set_xlabel(x)
        ax.set_ylabel("mean cross-entropy" if metric == "loss" else "accuracy")
        ax.grid(alpha=0.3, lw=0.5)
    axes[0].set_yscale("log")
    accs = np.concatenate([history[f"{s}_accuracy"] for s in sets])
    if len(accs):
        lo = float(np.quantile(accs, 0.02))
        axes[1].set_ylim(max(0.0, lo - 0.02), 1.0005)
    _legend_below(fig, axes[1])
    if title:
        fig.suptitle(title)
    return fig


def weight_filters(W: np.ndarray, class_names: Sequence[str], shape=(28, 28), cmap: str = "RdBu_r") -> Figure:
    """Each row of ``W`` as an image, all on one colour scale centred on 0.

    Parameters
    ----------
    W : ndarray, shape (C, D)
        The weights of a one-layer network, one row per class.
    """
    C = len(W)
    vmax = float(np.abs(W).max())
    cols = 5 if C == 10 else min(C, 8)
    rows = -(-C // cols)
    fig = Figure(figsize=(1.45 * cols + 0.6, 1.6 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for k, ax in enumerate(axes):
        ax.set_axis_off()
        if k < C:
            im = ax.imshow(W[k].reshape(shape), cmap=cmap, vmin=-vmax, vmax=vmax)
            ax.set_title(str(class_names[k]))
    cb = fig.colorbar(im, ax=axes.tolist(), shrink=0.8, pad=0.02)
    cb.set_label("weight")
    return fig


def heatmap(
    values: np.ndarray,
    row_labels: Sequence,
    col_labels: Sequence,
    row_title: str = "",
    col_title: str = "",
    fmt: str = "{:.2f}",
    cmap: str = "viridis",
    centred: bool = False,
    colour_label: str = "",
    missing: str = "—",
) -> Figure:
    """A labelled matrix with its values written in the cells.

    ``fmt`` is a format string or a function of the value; ``missing`` is
    written in the cells whose value is NaN. The text is white or black,
    whichever reads better on the cell's colour; long column labels are
    slanted rather than left to overlap.
    """
    values = np.asarray(values, dtype=float)
    h = 0.28 * len(row_labels) + 1.2  # inches: a 10 x 10 map is 6.3 x 4.0, shown 630 pixels wide
    w = 0.45 * len(col_labels) + 1.8
    fig = Figure(figsize=(min(w, 7.2), min(h, 7.0)), layout="constrained")
    ax = fig.subplots()
    shown = np.ma.masked_invalid(values)
    kw = {}
    if centred:
        m = float(np.nanmax(np.abs(values)))
        kw = dict(vmin=-m, vmax=m)
    im = ax.imshow(shown, cmap=cmap, aspect="auto", **kw)
    ax.set_xticks(range(len(col_labels)), [str(c) for c in col_labels])
    ax.set_yticks(range(len(row_labels)), [str(r) for r in row_labels])
    ax.set_xlabel(col_title)
    ax.set_ylabel(row_title)
    ax.spines[:].set_visible(False)
    _no_grid(ax)
    write = fmt if callable(fmt) else fmt.format
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            if not np.isfinite(v):
                if missing:
                    ax.text(j, i, missing, ha="center", va="center", fontsize=7, color="black")
                continue
            r, g, b, _ = im.cmap(im.norm(v))
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # perceived brightness of the cell
            ax.text(j, i, write(v), ha="center", va="center", fontsize=7, color="white" if dark else "black")
    cb = fig.colorbar(im, ax=ax, shrink=0.85)
    if colour_label:
        cb.set_label(colour_label)
    _upright_or_slanted(fig, ax)
    return fig


# the face of the confusion matrix's diagonal cells, which the caption names
DIAGONAL_GREY = "#d9d9d9"


def confusion_figure(cm: np.ndarray, class_names: Sequence[str]) -> Figure:
    """Counts of (true class, predicted class): the errors carry the colour
    scale, the diagonal (the correct answers) is drawn on grey
    (:data:`DIAGONAL_GREY`) so that it does not."""
    from matplotlib.patches import Rectangle

    off = cm.astype(float)
    np.fill_diagonal(off, np.nan)
    fig = heatmap(
        off,
        class_names,
        class_names,
        "true class",
        "predicted class",
        fmt="{:.0f}",
        cmap="Oranges",
        colour_label="test images",
        missing="",
    )
    ax = fig.axes[0]
    for i, v in enumerate(np.diag(cm)):
        ax.add_patch(Rectangle((i - 0.5, i - 0.5), 1, 1, facecolor=DIAGONAL_GREY, edgecolor="none", zorder=1))
        ax.text(i, i, str(int(v)), ha="center", va="center", fontsize=7, color="black", zorder=2)
    return fig


def confusion_caption(network: str, n_images: int) -> str:
    """The caption of :func:`confusion_figure`, true to what it draws."""
    return (
        f"Confusion matrix of {network} on the {n_images:,} test images (rows: true class; columns: predicted). "
        "The diagonal, on grey, counts the correct answers; the colour of the other cells shows the errors."
    )


def diverged_note(values) -> str:
    """The sentence a :func:`heatmap` caption needs when some of its cells
    are missing (written as a dash: the run diverged), else nothing."""
    return " A dash: the run diverged." if np.isnan(np.asarray(values, dtype=float)).any() else ""


def image_grid(images: np.ndarray, titles: Sequence[str], cols: int = 8, shape=(28, 28), fontsize: float = 9) -> Figure:
    """Greyscale images (rows of pixels) with a title above each, at
    ``fontsize`` points; a title too wide for its image is broken over lines
    at its spaces."""
    n = len(images)
    rows = max(1, -(-n // cols))
    width = 0.95  # inches per image
    chars = int(width * 72 / (0.6 * fontsize))  # what fits on one line
    wrapped = [textwrap.fill(str(t), chars, break_long_words=False) for t in titles]
    lines = max([w.count("\n") + 1 for w in wrapped] or [1])
    fig = Figure(figsize=(width * cols, (1.05 + 0.17 * lines) * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for k, ax in enumerate(axes):
        ax.set_axis_off()
        if k < n:
            ax.imshow(np.asarray(images[k]).reshape(shape), cmap="gray_r")
            ax.set_title(wrapped[k], fontsize=fontsize)
    return fig


def mistake_titles(true_names: Sequence[str], predicted_names: Sequence[str]) -> list[str]:
    """Titles of misclassified images: ``"4 → 9"``, true class first."""
    if len(true_names) != len(predicted_names):
        raise ValueError(f"{len(true_names)} true classes but {len(predicted_names)} predicted ones")
    return [f"{t} \u2192 {p}" for t, p in zip(true_names, predicted_names)]


def lines(xs, series: dict, xlabel: str, ylabel: str, logx: bool = False, logy: bool = False) -> Figure:
    """Several named curves on one axis (for comparisons at equal budget)."""
    fig = Figure(figsize=(4.8, 2.8), layout="constrained")
    ax = fig.subplots()
    for name, ys in series.items():
        ax.plot(xs[name] if isinstance(xs, dict) else xs, ys, lw=1.3, label=name, **_marker(len(ys)))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3, lw=0.5)
    ax.legend(frameon=False)
    return fig


def ladder(batch_accuracy: np.ndarray, values: np.ndarray, counts: np.ndarray, batch_size: int) -> Figure:
    """The accuracy on the current mini-batch at every iteration (left), and
    how often each value occurs (right), with the multiples of
    ``1/batch_size`` drawn as light lines."""
    fig = Figure(figsize=(7.2, 2.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[2, 1])
    iteration = np.arange(1, len(batch_accuracy) + 1)
    ax1.scatter(iteration, batch_accuracy, s=2, color=COLOURS["batch"], lw=0)
    for k in range(batch_size + 1):
        ax1.axhline(k / batch_size, color="#cccccc", lw=0.3, zorder=0)
    ax1.set_ylim(max(0.5, float(np.min(batch_accuracy)) - 0.02), 1.005)
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("accuracy on the current mini-batch")
    ax2.barh(values, counts, height=0.6 / batch_size, color=COLOURS["train"])
    ax2.set_ylim(ax1.get_ylim())
    ax2.set_xlabel("iterations")
    ax2.set_yticks([])
    return fig


def regularisation_curves(curves: dict, chosen_epochs: dict | None = None, sets=("train", "val", "test")) -> Figure:
    """Loss against epochs of two or more runs side by side, on one shared log
    scale: typically without and with regularisation.

    Parameters
    ----------
    curves : dict
        Per panel title, a dict of lists: ``epoch`` and ``<set>_loss`` for the
        sets drawn (``regularisation_study(...)["curves"][name]``).
    chosen_epochs : dict, optional
        Per panel title, the epoch chosen on validation: a dotted line.
    sets : the losses to draw, where present: training, validation, test.
    """
    fig = Figure(figsize=(7.2, 2.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(curves), sharey=True))
    for ax, (title, c) in zip(axes, curves.items()):
        for s in sets:
            if f"{s}_loss" in c:
                ax.plot(
                    c["epoch"], c[f"{s}_loss"], color=COLOURS[s], lw=1.4, label=LABELS[s], **_marker(len(c["epoch"]))
                )
        if chosen_epochs and title in chosen_epochs:
            ax.axvline(chosen_epochs[title], color="k", lw=0.6, ls=":", label="epoch chosen on validation")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        ax.grid(alpha=0.3, lw=0.5)
    axes[0].set_ylabel("mean cross-entropy")
    _legend_below(fig, axes)
    return fig


def regularisation_caption(panels: Sequence[str], network: str, epochs: int, sets: Sequence[str]) -> str:
    """The caption of :func:`regularisation_curves`: one panel when the
    setting chosen on validation is no regularisation, two otherwise.

    Parameters
    ----------
    panels : the panel titles, as drawn (``"none"`` is no regularisation).
    network : e.g. ``"784-256-10"``.
    epochs : epochs of each run.
    sets : the sets whose loss is drawn, by their keys (``"val"``, ``"test"``).
    """
    if not 1 <= len(panels) <= 2:
        raise ValueError(f"the caption describes one or two panels, got {len(panels)}")
    drawn = " and ".join(LABELS[s].removesuffix(" set") for s in sets)
    head = f"Loss of the {network} network on the {drawn} sets over {epochs} epoch{'s' if epochs != 1 else ''}"
    if len(panels) == 2:
        head += f", without regularisation (left) and with {panels[1]}, the setting chosen on validation (right)"
    else:
        head += f": the setting chosen on validation is {panels[0]}" + (
            " (no regularisation)" if panels[0] == "none" else ""
        )
    return head + "; dotted: the epoch chosen on the validation accuracy."
