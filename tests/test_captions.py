"""Every caption true to its figure: each figure whose caption depends on
the run is built on small data, with the caption the notebooks give it, and
the caption may name a panel, a marker or a colour only if the figure has
it."""

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from dlia_a2 import plots


def panels(fig) -> list:
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def is_grey(colour) -> bool:
    r, g, b = to_rgb(colour)
    return max(r, g, b) - min(r, g, b) < 0.02 and 0.2 < r < 0.95  # neither white nor black


def false_claims(fig, caption: str) -> list[str]:
    """What ``caption`` names that ``fig`` does not draw."""
    axes = panels(fig)
    wrong = []
    for side in ("(left)", "(right)"):
        if side in caption and len(axes) < 2:
            wrong.append(f"{side}, but the figure has {len(axes)} panel")
    if "dash" in caption and not any(t.get_text() == "—" for ax in axes for t in ax.texts):
        wrong.append("a dash, but no cell holds one")
    if "dotted" in caption and not any(line.get_linestyle() == ":" for ax in axes for line in ax.get_lines()):
        wrong.append("a dotted line, but none is drawn")
    if "grey" in caption:
        faces = [p.get_facecolor() for ax in axes for p in ax.patches]
        lines = [line.get_color() for ax in axes for line in ax.get_lines()]
        if not any(is_grey(c) for c in faces + lines):
            wrong.append("grey, but nothing is drawn in grey")
    return wrong


def stage1(with_divergence: bool):
    values = np.array([[0.91, 0.93], [0.95, np.nan if with_divergence else 0.94]])
    fig = plots.heatmap(values, [0.03, 0.1], [32, 128], "learning rate", "batch size", fmt="{:.4f}")
    return fig, "Stage 1: validation accuracy by learning rate and batch size." + plots.diverged_note(values)


@pytest.mark.parametrize("with_divergence", [True, False])
def test_search_caption_mentions_a_dash_only_when_a_run_diverged(with_divergence):
    fig, caption = stage1(with_divergence)
    assert ("dash" in caption) == with_divergence
    assert false_claims(fig, caption) == []


def curves(k):
    return {"epoch": [1, 2, 3], "val_loss": [0.3, 0.2 + k, 0.25], "test_loss": [0.31, 0.21, 0.26 + k]}


@pytest.mark.parametrize("panel_names", [["none"], ["none", "dropout"]], ids=["one panel", "two panels"])
def test_regularisation_caption_names_the_panels_drawn(panel_names):
    fig = plots.regularisation_curves(
        {n: curves(k / 100) for k, n in enumerate(panel_names)}, dict.fromkeys(panel_names, 2)
    )
    caption = plots.regularisation_caption(panel_names, "784-64-10", 3, ("val", "test"))
    assert len(panels(fig)) == len(panel_names)
    assert false_claims(fig, caption) == []
    assert "validation and test sets" in caption and "over 3 epochs" in caption


def test_regularisation_caption_refuses_three_panels():
    with pytest.raises(ValueError, match="one or two panels, got 3"):
        plots.regularisation_caption(["none", "a", "b"], "784-64-10", 3, ("val",))


def test_confusion_caption_grey_diagonal_is_drawn():
    cm = np.array([[50, 2, 1], [3, 40, 7], [0, 7, 45]])
    fig = plots.confusion_figure(cm, ["a", "b", "c"])
    caption = plots.confusion_caption("the chosen network", 147)
    assert "grey" in caption and false_claims(fig, caption) == []
    greys = [p for p in panels(fig)[0].patches if is_grey(p.get_facecolor())]
    assert sorted((p.get_x() + 0.5, p.get_y() + 0.5) for p in greys) == [(0, 0), (1, 1), (2, 2)]


def test_the_caption_check_can_fail():
    """The captions of the build before: a dash where none diverged, a
    right-hand panel that did not exist, a grey diagonal drawn white."""
    fig, _ = stage1(with_divergence=False)
    assert false_claims(fig, "Stage 1 (a dash: the run diverged).")
    fig = plots.regularisation_curves({"none": curves(0)}, {"none": 2})
    assert false_claims(fig, "without regularisation (left) and with the setting chosen (right)")
    off = np.array([[np.nan, 2.0], [3.0, np.nan]])
    fig = plots.heatmap(off, ["a", "b"], ["a", "b"], cmap="Oranges", missing="")  # diagonal left white
    assert false_claims(fig, "The diagonal, in grey, counts the correct answers.")
    fig = plots.regularisation_curves({"none": curves(0)})  # no chosen epoch: no dotted line
    assert false_claims(fig, "dotted: the epoch chosen on the validation accuracy")


def test_mistake_labels_show_true_and_predicted_class_readably():
    names = ["T-shirt/top", "Trouser", "Pullover", "Ankle boot"]
    titles = plots.mistake_titles([names[0], names[3]], [names[2], names[1]])
    assert titles == ["T-shirt/top \u2192 Pullover", "Ankle boot \u2192 Trouser"]
    fig = plots.image_grid(np.zeros((2, 784)), titles)
    shown = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert [t.replace("\n", " ") for t in shown] == titles
    assert min(ax.title.get_fontsize() for ax in fig.axes if ax.get_title()) >= 8
    fig.draw_without_rendering()
    boxes = [ax.title.get_window_extent() for ax in fig.axes if ax.get_title()]
    assert boxes[0].x1 <= boxes[1].x0, "neighbouring labels overlap"
    with pytest.raises(ValueError, match="2 true classes but 1 predicted"):
        plots.mistake_titles(["a", "b"], ["c"])
