"""The diagnostics of the report, on data where the answer is known."""

import numpy as np
import pytest

from dlia_a2 import analysis, training
from dlia_a2.config import TrainConfig
from dlia_a2.history import History


def history_with(test_losses, train_losses):
    h = History(("train", "test"), 1)
    for i, (te, tr) in enumerate(zip(test_losses, train_losses), start=1):
        h.append(iteration=i, epoch=float(i), batch_loss=0.0, batch_accuracy=0.0, train_loss=tr,
                 train_accuracy=0.0, test_loss=te, test_accuracy=0.0)  # fmt: skip
    return h


@pytest.mark.parametrize(
    "test,train,pattern,share,cross",
    [
        ([1, 2, 3], [0.5, 1, 2], "never", 0.0, None),
        ([0.1, 0.2], [1, 1], "throughout", 1.0, None),
        ([0.5, 0.9, 1.5, 2], [1, 1, 1, 1], "early", 0.5, 3.0),
        ([0.5, 1.5, 0.5], [1, 1, 1], "crossing", 2 / 3, 2.0),
        # above at the first point, below for good from the second on: no crossing at the first point
        ([1.5, 0.5, 0.5], [1, 1, 1], "late", 2 / 3, 2.0),
        # above, below, above again: they first cross at the second point, not at the first
        ([1.5, 0.5, 1.5, 0.5], [1, 1, 1, 1], "crossing", 0.5, 2.0),
        ([1.5, 1.5, 0.5, 1.5], [1, 1, 1, 1], "crossing", 0.25, 3.0),
    ],
)
def test_loss_order_names_the_pattern(test, train, pattern, share, cross):
    order = analysis.loss_order(history_with(test, train))
    assert order == {"share_below": pytest.approx(share), "cross_epoch": cross, "pattern": pattern}


def history_of_accuracies(per_epoch, points_per_epoch=1):
    """A run with ``points_per_epoch`` evaluations an epoch (the last at its
    end), each with the test accuracy given, epoch by epoch."""
    h = History(("test",), points_per_epoch)
    for e, accuracies in enumerate(per_epoch):
        for k, a in enumerate(np.atleast_1d(accuracies), start=1):
            h.append(iteration=e * points_per_epoch + k, epoch=e + k / points_per_epoch, batch_loss=0.0,
                     batch_accuracy=0.0, test_loss=0.0, test_accuracy=a)  # fmt: skip
    return h


def test_end_range_catches_an_unlucky_last_step():
    # the last epoch ends on a bad step; the window shows how far it is from the rest
    h = history_of_accuracies([0.80, 0.90, 0.91, 0.92, 0.90, 0.70])
    r = analysis.end_range(h, epochs=3)
    assert r == {"value": 0.70, "min": 0.70, "max": 0.92, "spread_points": pytest.approx(22.0),
                 "from_epoch": 4, "to_epoch": 6, "points": 3}  # fmt: skip
    # read at an earlier epoch, the window ends there
    r = analysis.end_range(h, epoch=4, epochs=2)
    assert (r["value"], r["min"], r["max"], r["from_epoch"], r["points"]) == (0.92, 0.91, 0.92, 3, 2)


def test_end_range_uses_every_point_of_the_window_and_clips_at_the_start():
    # two evaluations an epoch: the one inside the epoch counts too
    h = history_of_accuracies([[0.5, 0.6], [0.95, 0.7], [0.8, 0.9]], points_per_epoch=2)
    r = analysis.end_range(h, epochs=2)
    assert (r["min"], r["max"], r["value"], r["points"]) == (0.7, 0.95, 0.9, 4)
    r = analysis.end_range(h, epoch=2, epochs=5)  # only two epochs to look back on
    assert (r["from_epoch"], r["points"], r["min"]) == (1, 4, 0.5)
    with pytest.raises(ValueError, match="epoch 4"):
        analysis.end_range(h, epoch=4)
    with pytest.raises(ValueError, match="epochs must be 1 or more"):
        analysis.end_range(h, epochs=0)


def test_nearest_centroid_classifies_separated_clusters():
    X = np.array([[0.0, 0], [0, 1], [10, 10], [10, 11]])
    y = np.array([3, 3, 7, 7])
    assert analysis.nearest_centroid_accuracy(X, y, np.array([[1.0, 0], [9, 9]]), np.array([3, 7])) == 1.0
    assert analysis.nearest_centroid_accuracy(X, y, np.array([[1.0, 0]]), np.array([7])) == 0.0


def test_first_epochs_repeat_the_main_run():
    r = np.random.default_rng(0)
    X, y = r.random((130, 6), dtype=np.float32), r.integers(0, 3, 130)
    cfg = TrainConfig(layer_sizes=(6, 3), learning_rate=0.5, batch_size=32, epochs=3, eval_every=2)
    _, history = training.train(X, y, cfg, np.random.default_rng(4), eval_sets={"train": (X, y)})
    first = analysis.first_epochs(X, y, X[:20], y[:20], cfg, seed=4, epochs=2)
    assert len(first["batch_loss"]) == 2 * 5 and len(first["epochs"]) == 2
    assert analysis.same_trajectory(first, history)
    assert first["epochs"][1]["train_loss"] == pytest.approx(history["train_loss"][history.epoch_ends()[1]])
    assert not analysis.same_trajectory(analysis.first_epochs(X, y, X, y, cfg, seed=5, epochs=1), history)
    with pytest.raises(ValueError, match="only for plain SGD"):
        analysis.first_epochs(X, y, X, y, cfg.replace(optimizer="adam"), seed=4, epochs=1)


def test_ladder_finds_the_rungs_of_a_batch():
    acc = np.array([60 / 64, 61 / 64, 60 / 64, 50 / 56])
    rungs = analysis.ladder(acc, batch_size=64, n_train=3000)  # 3000 = 46 x 64 + 56
    assert rungs["distinct"] == 3 and rungs["all_on_rungs"]
    assert (rungs["n_last"], rungs["full_batches"], rungs["remainder"]) == (56, 46, 56)
    assert not analysis.ladder(np.array([0.5001]), 64, 3000)["all_on_rungs"]


def test_filter_correlation_recognises_class_templates():
    r = np.random.default_rng(0)
    templates = r.standard_normal((3, 16))
    y = np.repeat(np.arange(3), 20)
    X = templates[y] + 0.1 * r.standard_normal((60, 16))
    out = analysis.filter_class_correlation(templates - templates.mean(axis=0), X, y)
    assert out["matches"] == 3 and out["diagonal"].min() > 0.9
    assert out["corr"].shape == (3, 3)


def test_rare_pixel_weights_split_by_ink():
    X = np.zeros((100, 3))
    X[:, 0] = 1.0  # always ink
    X[0, 1] = 1.0  # ink in 1% of the images: not rare
    W = np.array([[2.0, 4.0, 8.0]])
    out = analysis.rare_pixel_weights(W, X)
    assert out == {"rare_pixels": 1, "mean_abs_weight_rare": 8.0, "mean_abs_weight_ink": 3.0}
    with pytest.raises(ValueError, match="no pixel carries ink in fewer than 1% of the 100 images"):
        analysis.rare_pixel_weights(W, np.ones((100, 3)))
    with pytest.raises(ValueError, match="every pixel carries ink in fewer than 1% of the 100 images"):
        analysis.rare_pixel_weights(W, np.zeros((100, 3)))


def test_errors_count_confusions_and_order_mistakes_by_confidence():
    y = np.array([0, 1, 2, 2])
    P = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5], [0.05, 0.9, 0.05], [0.1, 0.1, 0.8]])
    e = analysis.errors(P, y, k=5)
    assert e["confusion"].tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]
    assert e["n_errors"] == 2
    assert e["mistakes"]["index"].tolist() == [2, 1] and e["least_confidence"] == 0.5
    assert e["most_confused"] == [  # two pairs tie at one image: both are named
        {"true": 1, "predicted": 2, "count": 1},
        {"true": 2, "predicted": 1, "count": 1},
    ]


def test_most_confused_pairs_names_every_tie_and_none_without_errors():
    cm = np.array([[5, 7, 0], [1, 4, 7], [7, 0, 9]])
    assert [(p["true"], p["predicted"]) for p in analysis.most_confused_pairs(cm)] == [(0, 1), (1, 2), (2, 0)]
    cm[0, 1] = 8
    assert analysis.most_confused_pairs(cm) == [{"true": 0, "predicted": 1, "count": 8}]
    assert analysis.most_confused_pairs(np.diag([3, 4, 5])) == []
    with pytest.raises(ValueError, match="square"):
        analysis.most_confused_pairs(np.zeros((2, 3)))


def test_accuracy_standard_error_is_binomial():
    assert analysis.accuracy_standard_error(0.9, 100) == pytest.approx(0.03)
    assert analysis.accuracy_standard_error(1.0, 50) == 0.0
    with pytest.raises(ValueError, match="fraction"):
        analysis.accuracy_standard_error(90.0, 100)
    with pytest.raises(ValueError, match="images"):
        analysis.accuracy_standard_error(0.9, 0)
