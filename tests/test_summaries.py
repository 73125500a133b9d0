"""The summaries of long runs, seeds and optimisers, and their tables."""

import numpy as np
import pytest

from dlia_a2 import summaries
from dlia_a2.config import TrainConfig
from dlia_a2.history import History


def test_optimizer_table_has_unique_headers_with_one_epoch():
    summary = {"rows": {"SGD": {"val_accuracy_epoch_1": 0.9, "val_accuracy": 0.9, "val_loss": 0.3}}}
    configs = {"SGD": TrainConfig(learning_rate=0.1)}
    rows, headers, fmt = summaries.optimizer_table(summary, configs, epochs=1)
    assert len(headers) == len(set(headers)) == 4 and rows == [("SGD", "0.1", 0.9, 0.3)]
    rows, headers, _ = summaries.optimizer_table(summary, configs, epochs=3)
    assert headers[2:4] == ["val. accuracy, epoch 1", "val. accuracy, epoch 3"] and len(rows[0]) == 5


def five_epochs() -> History:
    """Five epochs, one evaluation each: the test loss falls to 0.2 at
    epoch 3 and rises again; every training image right from epoch 3."""
    h = History(("train", "test"), 10)
    test_losses = [0.5, 0.3, 0.2, 0.25, 0.3]
    train_acc = [0.9, 0.99, 1.0, 1.0, 1.0]
    for e, (tl, ta) in enumerate(zip(test_losses, train_acc), start=1):
        h.append(iteration=10 * e, epoch=float(e), batch_loss=0.1, batch_accuracy=1.0, train_loss=0.1 / e,
                 train_accuracy=ta, test_loss=tl, test_accuracy=0.9 + e / 100)  # fmt: skip
    return h


def test_long_run_summary_finds_overfitting_and_first_perfect_epoch():
    h = five_epochs()
    s = summaries.long_run_summary(h, short_epochs=2)
    assert s["first_perfect_epoch"] == 3 and s["min_test_loss_epoch"] == 3 and s["overfits"]
    assert s["short"]["test_accuracy"] == pytest.approx(0.92) and s["last"]["test_loss"] == 0.3
    assert s["accuracy_change_points"] == pytest.approx(3.0)
    # the guards: the test accuracy over the epochs up to each reading
    assert (s["short_range"]["from_epoch"], s["short_range"]["to_epoch"]) == (1, 2)
    assert s["last_range"]["min"] == pytest.approx(0.91) and s["last_range"]["max"] == pytest.approx(0.95)
    assert summaries.long_run_summary(h, short_epochs=2, guard_epochs=2)["last_range"]["from_epoch"] == 4


@pytest.mark.parametrize("epoch", [0, -1, 6])
def test_at_epoch_refuses_an_epoch_that_was_not_recorded(epoch):
    """Epoch 0 once read the last epoch (index -1)."""
    h = five_epochs()
    with pytest.raises(ValueError, match=rf"epoch = {epoch} was not recorded.*recorded epochs 1 to 5"):
        summaries.at_epoch(h, epoch)
    assert summaries.at_epoch(h, 1)["test_loss"] == 0.5 and summaries.at_epoch(h, 5)["test_loss"] == 0.3


@pytest.mark.parametrize("short_epochs", [0, 6])
def test_long_run_summary_refuses_a_short_reading_outside_the_run(short_epochs):
    with pytest.raises(ValueError, match=rf"short_epochs = {short_epochs} was not recorded.*1 to 5"):
        summaries.long_run_summary(five_epochs(), short_epochs=short_epochs)


def test_seed_summary_reads_each_run_at_the_epoch_and_guards_it():
    def run(accuracies):
        h = History(("test",), 1)
        for e, a in enumerate(accuracies, start=1):
            h.append(iteration=e, epoch=float(e), batch_loss=0.0, batch_accuracy=0.0, test_loss=0.0, test_accuracy=a)
        return h

    # seed 0 is a longer run, read at epoch 3 like the others
    s = summaries.seed_summary(
        {0: run([0.5, 0.9, 0.92, 0.99]), 1: run([0.6, 0.95, 0.90]), 2: run([0.7, 0.8, 0.94])}, 3, 2
    )
    assert s["seed_test_accuracy"] == {"0": 0.92, "1": 0.90, "2": 0.94}
    assert s["seed_mean"] == pytest.approx(0.92) and s["seed_min"] == 0.90 and s["seed_max"] == 0.94
    assert s["seed_range"] == {"min": 0.8, "max": 0.95, "from_epoch": 2, "to_epoch": 3}
    with pytest.raises(ValueError, match="no runs"):
        summaries.seed_summary({}, 3)


def test_spread_of_one_value_has_zero_std():
    assert summaries.spread([0.5]) == {"mean": 0.5, "std": 0.0, "min": 0.5, "max": 0.5}
    assert summaries.spread([1.0, 3.0])["std"] == pytest.approx(np.sqrt(2))


def run_evaluated_within_epochs(ends, lows, points_per_epoch=4) -> History:
    """A run evaluated ``points_per_epoch`` times an epoch (as ``eval_every``
    records it): accuracy ``ends[e]`` at each epoch end and ``lows[e]`` at
    the point before it, 0.9 elsewhere."""
    h = History(("train", "test"), points_per_epoch)
    for e, (end, low) in enumerate(zip(ends, lows, strict=True)):
        for k in range(1, points_per_epoch + 1):
            a = end if k == points_per_epoch else low if k == points_per_epoch - 1 else 0.9
            it = e * points_per_epoch + k
            h.append(iteration=it, epoch=it / points_per_epoch, batch_loss=0.1, batch_accuracy=1.0, train_loss=0.1,
                     train_accuracy=0.99, test_loss=1 - a, test_accuracy=a)  # fmt: skip
    return h


def test_guards_read_the_evaluation_points_between_epoch_ends():
    """A dip between two epoch ends (issue 19: 77.40% between ends of
    81.95-84.62%) is inside the guard of both summaries; a dip before the
    window is not."""
    h = run_evaluated_within_epochs(ends=[0.95] * 6, lows=[0.10, 0.9, 0.9, 0.9, 0.77, 0.9])
    last = summaries.long_run_summary(h, short_epochs=1, guard_epochs=5)["last_range"]
    assert (last["min"], last["max"], last["value"], last["points"]) == (0.77, 0.95, 0.95, 20)
    s = summaries.seed_summary({0: h, 1: run_evaluated_within_epochs([0.95] * 6, [0.9] * 6)}, 6, 5)
    assert s["seed_range"]["min"] == 0.77 and s["seed_test_accuracy"] == {"0": 0.95, "1": 0.95}
    # the window starts after epoch 1, whose dip to 0.10 it leaves out
    assert summaries.long_run_summary(h, short_epochs=1, guard_epochs=5)["last_range"]["from_epoch"] == 2
