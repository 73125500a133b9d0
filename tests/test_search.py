"""The search of Exercise 3 on small synthetic data: its grid, its budget,
its record and the claims read off it; loky workers give the bits of one
process."""

import numpy as np
import pytest

from dlia_a2 import search as sr
from dlia_a2 import verdicts
from dlia_a2.config import TrainConfig


def test_grid_builds_every_combination():
    base = TrainConfig(layer_sizes=(20, 8, 4))
    cfgs = sr.grid(base, learning_rate=[0.1, 0.2], hidden_sizes=[[8], [16, 16]])
    assert [(c.learning_rate, c.layer_sizes) for c in cfgs] == [
        (0.1, (20, 8, 4)),
        (0.1, (20, 16, 16, 4)),
        (0.2, (20, 8, 4)),
        (0.2, (20, 16, 16, 4)),
    ]
    with pytest.raises(ValueError, match="unknown training setting"):
        sr.grid(base, lr=[0.1])


def test_search_marks_diverged_runs_and_goes_on(blobs):
    X, y = blobs()
    Xv, yv = blobs(seed=1)
    base = TrainConfig(layer_sizes=(20, 16, 4), init="he", epochs=2, batch_size=16)
    results = sr.search(sr.grid(base, learning_rate=[0.05, 1e5]), X, y, Xv, yv, workers=1)
    assert not results[0].diverged and results[0].final > 0.9
    assert "training loss became" in results[1].diverged and np.isnan(results[1].final)
    assert sr.best(results) is results[0]
    with pytest.raises(RuntimeError, match="every configuration of the search diverged"):
        sr.best(results[1:])


def search_values(results):
    return [(r.val_accuracy, r.val_loss) for r in results]


@pytest.mark.slow
def test_loky_workers_give_the_bits_of_one_process(blobs):
    X, y = blobs()
    Xv, yv = blobs(seed=1)
    cfgs = sr.grid(TrainConfig(layer_sizes=(20, 16, 4), init="he", epochs=2), learning_rate=[0.02, 0.1])
    one = sr.search(cfgs, X, y, Xv, yv, seed=3, workers=1)
    two = sr.search(cfgs, X, y, Xv, yv, seed=3, workers=2)
    assert search_values(one) == search_values(two)


def test_two_stage_search_trains_each_configuration_once_and_respects_the_budget(blobs):
    X, y = blobs()
    Xv, yv = blobs(seed=1)
    base = TrainConfig(layer_sizes=(20, 8, 4), init="he", epochs=1, batch_size=32)
    long_run = {"epochs": 10, "n_train": 300, "n_eval": 300}
    big = 10 * sr.epoch_flops((20, 32, 32, 4), 300, 300) / 1e12
    found = sr.two_stage_search(
        base, [0.1, 0.05], [32], [[8], [32, 32]], ["relu"], X, y, Xv, yv, long_run, budget_tflop=big * 0.99
    )
    labels = [r.label for r in found.searched]
    assert len(labels) == len(set(labels)) == 3  # 2 in stage 1, 1 new in stage 2
    assert found.stage2[0] in found.stage1  # the best of stage 1, not trained twice
    assert found.over_budget == [found.stage2[1].label]  # 784-32-32 would cost too much
    assert found.chosen.config.layer_sizes == (20, 8, 4)
    record = sr.search_record(found)
    assert record["n_search_configs"] == 3 and record["chosen_label"] == found.chosen.label


def fake_search(outcomes):
    """A stand-in for :func:`sr.search` that trains nothing: each
    configuration ends with the accuracy ``outcomes`` gives for its first
    hidden width, or diverges when that is None."""

    def run(configs, *data, **settings):
        results = []
        for c in configs:
            r = sr.SearchResult(c)
            accuracy = outcomes[c.layer_sizes[1]]
            if accuracy is None:
                r.diverged = "the training loss became nan"
            else:
                r.val_accuracy = [accuracy]
            results.append(r)
        return results

    return run


def two_stage(monkeypatch, outcomes, budget_factor, base_width=8):
    """A two-stage search over hidden widths 8, 32 and 64 (stage 1: two
    learning rates at ``base_width``) with a budget of ``budget_factor``
    times the long run of the 8-wide network."""
    monkeypatch.setattr(sr, "search", fake_search(outcomes))
    base = TrainConfig(layer_sizes=(20, base_width, 4), epochs=1)
    long_run = {"epochs": 10, "n_train": 300, "n_eval": 300}
    small = 10 * sr.epoch_flops((20, 8, 4), 300, 300) / 1e12
    no_data = (None, None, None, None)
    return sr.two_stage_search(
        base, [0.1, 0.05], [32], [[8], [32], [64]], ["relu"], *no_data, long_run, budget_tflop=budget_factor * small
    )


def test_two_stage_search_never_chooses_a_diverged_configuration(monkeypatch):
    """When every configuration within the budget diverged, it once said that
    every configuration of the search had."""
    # only 8 wide fits the budget, and it diverged; 32 and 64 wide finished but cost too much
    with pytest.raises(RuntimeError, match=r"no configuration that finished fits the budget of [0-9.e-]+ TFLOP") as e:
        two_stage(monkeypatch, {8: None, 32: 0.9, 64: 0.85}, budget_factor=1.5, base_width=64)
    assert "(the 1 that fit it diverged); the cheapest that finished, hidden 32, relu" in str(e.value)


def test_two_stage_search_chooses_the_best_that_finished_within_the_budget(monkeypatch):
    # 64 wide is the best of all but over the budget; 32 wide diverged; 8 wide is chosen
    found = two_stage(monkeypatch, {8: 0.8, 32: None, 64: 0.95}, budget_factor=4.5)
    assert found.chosen.config.layer_sizes == (20, 8, 4) and not found.chosen.diverged
    assert found.best_overall.config.layer_sizes == (20, 64, 4)
    assert found.over_budget == [found.stage2[2].label]


def test_runner_up_is_the_best_other_choice_that_finished_within_the_budget(monkeypatch):
    """The runner-up is what rounding could choose instead: never a diverged
    or an over-budget configuration, never the chosen one."""
    found = two_stage(monkeypatch, {8: 0.8, 32: None, 64: 0.95}, budget_factor=4.5)
    second = sr.runner_up(found)
    assert second is not found.chosen and not second.diverged and second.label not in found.over_budget
    assert second.config.layer_sizes == (20, 8, 4)  # stage 1's other learning rate, 8 wide
    assert sr.search_record(found)["runner_up"] == {"label": second.label, "val_accuracy": second.final}


def test_two_stage_search_refuses_when_nothing_fits_the_budget(monkeypatch):
    """It once chose the cheapest configuration, diverged or not, and went
    over the budget without a word."""
    with pytest.raises(
        RuntimeError,
        match=r"fits the budget of [0-9.e-]+ TFLOP .*\(none of the 4 searched fits it\).*raise budget_tflop",
    ):
        two_stage(monkeypatch, {8: 0.8, 32: 0.9, 64: 0.95}, budget_factor=0.5)


def test_epoch_flops_counts_forward_backward_and_evaluation():
    # one layer 3x2: forward 12 per sample, backward dW 12, no dA below the first layer
    assert sr.epoch_flops((3, 2), n_train=1) == 24
    # two layers 3x2, 2x4: forward 12 + 16, backward 28 + dA of the second layer 16
    assert sr.epoch_flops((3, 2, 4), n_train=1) == 28 + 44
    assert sr.epoch_flops((3, 2, 4), n_train=0, n_eval=10) == 280


def fake_result(lr, batch, accuracies):
    r = sr.SearchResult(TrainConfig(layer_sizes=(4, 2), learning_rate=lr, batch_size=batch))
    r.val_accuracy = accuracies
    return r


def test_claims_compare_by_value_whatever_the_order_of_the_lists():
    """The prose once assumed sorted lists: with [50, 0.1] it called 50 the
    lowest learning rate."""
    stage1 = [
        fake_result(0.1, 32, [0.90, 0.97]),
        fake_result(0.1, 128, [0.80, 0.95]),
        fake_result(50, 32, [0.95, 0.96]),
        fake_result(50, 128, [0.85, 0.94]),
    ]
    for lrs, bss in (([0.1, 50], [32, 128]), ([50, 0.1], [128, 32])):
        c = sr.claims(stage1, lrs, bss)
        assert c["learning_rate"]["largest"] == 50 and c["learning_rate"]["smallest"] == 0.1
        assert c["batch"]["largest"] == 128
        # the larger batch starts slower (0.80 < 0.90, 0.85 < 0.95) and ends lower at both rates
        assert (c["batch"]["faster"], c["batch"]["lower"], c["batch"]["of"]) == (0, 2, 2)
        assert verdicts.claim(c["batch"]["faster"], c["batch"]["lower"], c["batch"]["of"]) != "the claim holds"
        # the larger rate starts faster and ends lower at both batch sizes: the claim holds
        assert (c["learning_rate"]["faster"], c["learning_rate"]["lower"]) == (2, 2)
        assert verdicts.claim(*(c["learning_rate"][k] for k in ("faster", "lower", "of"))) == "the claim holds"
        assert c["best_lr"] == {32: 0.1, 128: 0.1}
        # 0.1 is the smallest rate of the grid: a best rate at its edge draws no conclusion
        assert "the smallest tried" in verdicts.best_lr_trend(sorted(c["best_lr"].items()), lrs)


def test_claims_count_ties_apart_and_never_as_slower_or_higher():
    """With 1000 validation images equal accuracies are plausible; a tie was
    once counted as "not faster" and "not lower", so read as slower."""
    stage1 = [
        fake_result(0.1, 32, [0.90, 0.97]),
        fake_result(0.1, 128, [0.90, 0.97]),  # a tie at both epochs
        fake_result(0.2, 32, [0.90, 0.96]),
        fake_result(0.2, 128, [0.85, 0.97]),  # slower, and higher at the end
    ]
    c = sr.claims(stage1, [0.1, 0.2], [32, 128])
    assert c["batch"] == {
        "faster": 0, "faster_ties": 1, "slower": 1,
        "lower": 0, "lower_ties": 1, "higher": 1,
        "of": 2, "smallest": 32, "largest": 128,
    }  # fmt: skip
    # rate 0.2 vs 0.1: a tie and slower after the first epoch; lower and a tie at the end
    lr = c["learning_rate"]
    assert (lr["faster"], lr["faster_ties"], lr["slower"]) == (0, 1, 1)
    assert (lr["lower"], lr["lower_ties"], lr["higher"]) == (1, 1, 0)
    for counts in (c["batch"], lr):
        assert counts["faster"] + counts["faster_ties"] + counts["slower"] == counts["of"]
        assert counts["lower"] + counts["lower_ties"] + counts["higher"] == counts["of"]


def test_claims_skip_diverged_runs():
    stage1 = [fake_result(0.1, 32, [0.9, 0.95]), fake_result(0.2, 32, [0.9, 0.96])]
    stage1[1].diverged = "the training loss became nan"
    c = sr.claims(stage1, [0.1, 0.2], [32])
    assert c["learning_rate"]["of"] == 0 and c["best_lr"] == {32: 0.1}


def test_search_label_names_the_regularisation():
    base = TrainConfig(layer_sizes=(784, 300, 10), learning_rate=0.2, batch_size=32)
    assert sr.SearchResult(base).label == "hidden 300, relu, lr 0.2, batch 32"
    reg = base.replace(dropout=0.3, weight_decay=5e-4, lr_schedule="cosine")
    assert sr.SearchResult(reg).label.endswith("batch 32, dropout 0.3, weight decay 0.0005, cosine schedule")
    more = base.replace(max_norm=3.0, shift_pixels=2)
    assert sr.SearchResult(more).label.endswith("batch 32, max-norm 3, shifts up to 2")
