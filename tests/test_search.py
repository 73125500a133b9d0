"""The search of Exercise 3 on small synthetic data: its grid, stage 1,
the halving's plan, its record and the claims read off it; loky workers give the bits of one
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


def test_halving_search_reads_stage_1_and_chooses_within_one_standard_error(blobs):
    """Stage 1 is the claims' grid; its best pairs, and only they, enter the
    halving; the record names every rung and finalist, and the chosen is
    one of the finalists within the band."""
    X, y = blobs()
    Xv, yv = blobs(seed=1)
    base = TrainConfig(layer_sizes=(20, 8, 4), init="he", epochs=2, batch_size=32)
    found = sr.halving_search(
        base, [0.02, 0.1], [16, 32], [[8], [16, 16]], ["relu"], X, y, Xv, yv,
        n_pairs=2, min_epochs=1, max_epochs=2, eta=2, finalist_seeds=(0, 1), n_finalists=2,
    )  # fmt: skip
    assert len(found.stage1) == 4 and len(found.grid) == 4  # 2 shapes x 1 activation x 2 pairs
    ranked = sorted(found.stage1, key=lambda r: -r.final)
    assert found.pairs == [(r.config.learning_rate, r.config.batch_size) for r in ranked[:2]]
    assert {(c.learning_rate, c.batch_size) for c in found.grid} == set(found.pairs)
    record = sr.search_record(found)
    assert [(r["trained"], r["epochs"]) for r in record["rungs"]] == sr.halving_rungs(4, 1, 2, 2, 2)
    assert record["n_search_configs"] == 8 and len(record["finalists"]) == 2
    chosen = next(f for f in record["finalists"] if f["label"] == record["chosen_label"])
    assert chosen["within"] and chosen["config"] == found.chosen.to_dict()
    assert (
        record["chosen_val_accuracy"] == chosen["mean"] == pytest.approx(np.mean(list(chosen["val_accuracy"].values())))
    )
    best = max(f["mean"] for f in record["finalists"])
    assert record["best_finalist"]["val_accuracy"] == best
    assert all(f["within"] == (f["mean"] >= best - record["choice_se"]) for f in record["finalists"])
    rows, headers, fmt = sr.finalist_table(record)
    assert headers[4:6] == ["seed 0", "seed 1"] and len(rows) == 2 and rows[0][-1] in ("yes", "no")


def test_halving_rungs_are_the_rungs_the_halving_runs(blobs, monkeypatch):
    """The plan that bounds the cost before the search starts is the plan
    the search carries out when nothing diverges."""
    monkeypatch.setattr(sr, "search", fake_search({w: 0.5 + w / 1000 for w in range(1, 30)}))
    base = TrainConfig(layer_sizes=(20, 8, 4), epochs=1)
    configs = [base.replace(layer_sizes=(20, w, 4)) for w in range(1, 24)]
    for min_e, max_e, eta, n_fin in [(1, 9, 3, 3), (1, 2, 2, 2), (2, 20, 2, 1), (3, 3, 3, 5)]:
        out = sr.successive_halving(configs, *[np.zeros(5)] * 2, *[np.zeros(7)] * 2, min_epochs=min_e,
                                    max_epochs=max_e, eta=eta, n_finalists=n_fin)  # fmt: skip
        ran = [(len(r["trained"]), r["epochs"]) for r in out["rungs"]]
        assert ran == sr.halving_rungs(len(configs), min_e, max_e, eta, n_fin)


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


def test_halving_search_never_enters_a_diverged_pair(monkeypatch):
    """A pair of stage 1 that diverged never reaches the halving, and when
    every pair diverged the search says so."""
    monkeypatch.setattr(sr, "search", fake_search_by_rate({0.1: None, 0.05: 0.9, 0.02: 0.8}))
    base = TrainConfig(layer_sizes=(20, 8, 4), epochs=1)
    no_data = (*[np.zeros(3)] * 2, *[np.zeros(4)] * 2)
    found = sr.halving_search(base, [0.02, 0.05, 0.1], [32], [[8]], ["relu"], *no_data, n_pairs=3, min_epochs=1,
                              max_epochs=1, finalist_seeds=(0,), n_finalists=1)  # fmt: skip
    assert found.pairs == [(0.05, 32), (0.02, 32)]
    monkeypatch.setattr(sr, "search", fake_search_by_rate({0.1: None}))
    with pytest.raises(RuntimeError, match="every configuration of the search diverged"):
        sr.halving_search(base, [0.1], [32], [[8]], ["relu"], *no_data, n_pairs=1, min_epochs=1, max_epochs=1)


def fake_search_by_rate(outcomes):
    """As :func:`fake_search`, by learning rate."""

    def run(configs, *data, **settings):
        results = []
        for c in configs:
            r = sr.SearchResult(c)
            if outcomes[c.learning_rate] is None:
                r.diverged = "the training loss became nan"
            else:
                r.val_accuracy = [outcomes[c.learning_rate]]
            results.append(r)
        return results

    return run


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
