"""The phrases the report's sentences quote: ties called ties, both signs,
zero, and the sizes at which "barely" and "narrow" stop being true."""

import pytest

from dlia_a2 import verdicts as v


def test_formulas_hold_below_the_tolerance_only():
    assert v.formulas_hold(0.0) == "hold"
    assert v.formulas_hold(9.9e-7) == "hold"
    assert v.formulas_hold(v.GRADIENT_TOLERANCE) == "do **not** hold"
    assert v.formulas_hold(0.3) == "do **not** hold"
    with pytest.raises(ValueError, match="0 or more"):
        v.formulas_hold(float("nan"))


def test_reading_stability_stops_being_narrow_at_the_threshold():
    narrow = v.reading_stability(0.0)
    assert "does not hang" in narrow and narrow == v.reading_stability(v.STABLE_SPREAD_POINTS - 1e-9)
    assert "could differ" in v.reading_stability(v.STABLE_SPREAD_POINTS)
    assert "could differ" in v.reading_stability(1.16)
    with pytest.raises(ValueError, match="spread_points"):
        v.reading_stability(-0.1)


@pytest.mark.parametrize(
    "points, phrase",
    [
        (0.0, "does not move"),
        (0.05, "barely moves (+0.05 points)"),
        (-0.19, "barely moves (\u22120.19 points)"),
        (v.BARELY_POINTS, "rises by 0.20 points"),
        (-v.BARELY_POINTS, "falls by 0.20 points"),
        (-1.16, "falls by 1.16 points"),  # the reference build's case: not "barely"
        (0.4, "rises by 0.40 points"),
    ],
)
def test_accuracy_change_names_the_size_and_the_sign(points, phrase):
    assert v.accuracy_change(points) == phrase


def test_easier_set_both_ways_and_a_tie():
    assert v.easier_set(0.82, 0.80) == "here the test set is the easier one"
    assert "training set is the easier" in v.easier_set(0.80, 0.82)
    assert "tie" in v.easier_set(0.81, 0.81)
    with pytest.raises(ValueError, match="not percentages"):
        v.easier_set(82.0, 80.0)


@pytest.mark.parametrize(
    "order, words",
    [
        ({"pattern": "never", "share_below": 0.0, "cross_epoch": 0.1}, "is never below"),
        ({"pattern": "throughout", "share_below": 1.0, "cross_epoch": None}, "at every evaluation point"),
        (
            {"pattern": "early", "share_below": 0.25, "cross_epoch": 1.5},
            "25% of the evaluation points, all before epoch 1.5",
        ),
        ({"pattern": "crossing", "share_below": 0.5, "cross_epoch": 0.2}, "first cross at epoch 0.2"),
    ],
)
def test_loss_order_phrase_per_pattern(order, words):
    assert words in v.loss_order(order)


def test_loss_order_refuses_an_unknown_pattern():
    with pytest.raises(ValueError, match="'sometimes'.*never, throughout"):
        v.loss_order({"pattern": "sometimes", "share_below": 0.5, "cross_epoch": 1.0})


def test_on_rungs_and_share():
    assert v.on_rungs(True) == "every one of them" and v.on_rungs(False) == "not all of them"
    assert v.share(10, 10) == "all 10" and v.share(0, 10) == "none of the 10" and v.share(7, 10) == "7 of the 10"
    with pytest.raises(ValueError, match="between 0 and n = 10"):
        v.share(11, 10)


def test_diverged_counts_none_and_some():
    assert v.diverged(0) == "none diverged" and v.diverged(1) == "1 diverged" and v.diverged(3) == "3 diverged"
    with pytest.raises(ValueError):
        v.diverged(-1)


def test_halving_listing_names_each_rung():
    rungs = [{"trained": 24, "epochs": 1}, {"trained": 8, "epochs": 3}, {"trained": 3, "epochs": 9}]
    assert v.halving_listing(rungs) == (
        "24 configurations for 1 epoch, the best 8 for 3 epochs and the best 3 for 9 epochs"
    )
    assert v.halving_listing([{"trained": 1, "epochs": 2}]) == "1 configuration for 2 epochs"
    with pytest.raises(ValueError):
        v.halving_listing([])


def test_majority_calls_a_tie_a_tie():
    words = ("faster", "slower", "as often faster as slower")
    assert v.majority(2, 3, *words) == "faster"
    assert v.majority(1, 3, *words) == "slower"
    assert v.majority(0, 3, *words) == "slower"
    assert v.majority(1, 2, *words) == "as often faster as slower"
    assert v.majority(0, 0, *words) == v.NOT_COMPARED  # a grid of one batch size compares nothing
    with pytest.raises(ValueError, match="0 <= k <= n"):
        v.majority(4, 3, *words)


def test_claim_holds_only_on_both_majorities():
    assert v.claim(2, 2, 3) == "the claim holds"
    assert v.claim(3, 1, 3) == "the data does not bear the claim out"
    assert v.claim(0, 3, 3) == "the data does not bear the claim out"
    assert "split evenly" in v.claim(1, 2, 2)
    assert v.claim(0, 0, 0) == f"the claim cannot be tested: {v.NOT_COMPARED}"
    with pytest.raises(ValueError):
        v.claim(4, 0, 3)


def test_best_learning_rate_trend():
    assert v.best_lr_listing([(32, 0.1), (128, 0.2)]) == "0.1 at batch 32 and 0.2 at batch 128"
    lrs = [0.05, 0.1, 0.2]
    assert v.best_lr_trend([(32, 0.1), (128, 0.1)], lrs).endswith("this grid shows no such dependence")
    assert "grows with the batch size" in v.best_lr_trend([(128, 0.1), (32, 0.05)], [0.02, 0.05, 0.1, 0.2])
    assert "does not grow" in v.best_lr_trend([(32, 0.1), (128, 0.05)], [0.02, 0.05, 0.1, 0.2])
    assert v.best_lr_trend([(32, 0.1)], lrs) == f"the claim cannot be tested: {v.NOT_COMPARED}"


@pytest.mark.parametrize("lr, edge", [(0.2, "the largest tried"), (0.05, "the smallest tried")])
def test_a_best_rate_at_the_grids_edge_draws_no_conclusion(lr, edge):
    """Issue 20: the best rate 0.2 at every batch size was the largest tried,
    and "no dependence on the batch size" was an artefact of the grid's end."""
    phrase = v.best_lr_trend([(32, lr), (64, lr), (128, lr)], [0.05, 0.1, 0.2])
    assert edge in phrase and "may lie beyond the grid" in phrase
    assert "shows no such dependence" not in phrase


def test_grid_edges_names_each_axis_at_its_edge():
    grids = {"learning rate": [0.02, 0.05, 0.1, 0.2], "batch size": [32, 64, 128]}
    at_edges = v.grid_edges({"learning rate": 0.2, "batch size": 32}, grids)
    assert at_edges == (
        "the best batch size (32) is the smallest tried and the best learning rate (0.2) is the largest tried: "
        "a better setting may lie past the grid's edges"
    )
    assert v.grid_edges({"batch size": 32, "learning rate": 0.2}, grids) == at_edges  # any order of the axes
    assert v.grid_edges({"learning rate": 0.1, "batch size": 64}, grids) == (
        "the best batch size (64) and the best learning rate (0.1) lie inside the grid"
    )
    assert v.grid_edges({"learning rate": 0.05, "batch size": 128}, grids) == (
        "the best batch size (128) is the largest tried and the best learning rate (0.05) lies inside the grid: "
        "a better setting may lie past the grid's edges"
    )
    assert v.grid_edge(0.1, [0.1]) == ""  # one value has no inside and no edge


def test_long_run_phrases():
    summary = {
        "short_range": {"spread_points": 0.1, "min": 0.9790, "max": 0.9800, "from_epoch": 1, "to_epoch": 5},
        "last_range": {"spread_points": 0.6, "min": 0.9610, "max": 0.9670, "from_epoch": 6, "to_epoch": 10},
        # the last reading's, the one quoted, decides
        "first_perfect_epoch": None,
        "last": {"train_accuracy": 0.99504},
        "overfits": True,
        "min_test_loss_epoch": 3,
        "accuracy_change_points": -1.16,
    }
    out = v.long_run(summary)
    assert "could differ" in out["stability"]
    assert out["training_accuracy"] == "ends at 0.9950"
    assert out["test_loss"].startswith("is lowest at epoch 3 and rises after it") and "overfitting" in out["test_loss"]
    assert out["accuracy_change"] == "falls by 1.16 points"
    summary.update(first_perfect_epoch=12, overfits=False, accuracy_change_points=0.0)
    out = v.long_run(summary)
    assert out["training_accuracy"].endswith("at epoch 12") and "still falling" in out["test_loss"]
    assert out["accuracy_change"] == "does not move"
    summary.update(short_range={"spread_points": 1.58}, last_range={"spread_points": 0.14})  # Fashion-MNIST's
    assert "does not hang" in v.long_run(summary)["stability"]


def test_a_change_inside_overlapping_ranges_says_the_step_could_account_for_it():
    # the Fashion-MNIST reference run of 5563fb1: 88.92% at epoch 100, 87.74% at 200
    short = {"min": 0.8791, "max": 0.8921, "from_epoch": 96, "to_epoch": 100}
    last = {"min": 0.8726, "max": 0.8860, "from_epoch": 196, "to_epoch": 200}
    assert v.change_between_readings(-1.18, short, last) == (
        "falls by 1.18 points; its ranges over epochs 96–100 and 196–200 overlap, so the step each was read at "
        "could account for the change"
    )
    apart = {**last, "max": 0.8790}  # below the other range's low end: the change is more than the step
    assert v.change_between_readings(-1.18, short, apart) == "falls by 1.18 points"
    touching = {**last, "max": 0.8791}  # the ends meet: they overlap
    assert v.change_between_readings(-1.18, short, touching).endswith("could account for the change")
    as_printed = {**last, "max": 0.879099}  # prints as 87.91%, the other's low end: they overlap as the table shows
    assert v.change_between_readings(-1.18, short, as_printed).endswith("could account for the change")
    assert v.change_between_readings(0.05, short, last) == "barely moves (+0.05 points)"


def test_windows_that_share_epochs_say_nothing_of_the_step():
    # the small configuration: the reading at epoch 1 and the one at epoch 2 share epoch 1's points
    short = {"min": 0.7399, "max": 0.8131, "from_epoch": 1, "to_epoch": 1}
    last = {"min": 0.7399, "max": 0.8612, "from_epoch": 1, "to_epoch": 2}
    assert v.change_between_readings(4.81, short, last) == "rises by 4.81 points"
    adjacent = {"min": 0.80, "max": 0.86, "from_epoch": 2, "to_epoch": 2}  # epochs 1 and 2: no shared epoch
    assert v.change_between_readings(4.81, short, adjacent).endswith("could account for the change")


def test_separable_at_two_standard_errors():
    se = 0.005
    assert "tie" in v.separable(0.0, se)
    assert "cannot tell" in v.separable(2 * se - 1e-9, se)
    assert "tells these two apart" in v.separable(2 * se, se)
    assert "tells these two apart" in v.separable(0.01, 0.0)  # accuracies of 0 or 1 have no spread
    with pytest.raises(ValueError):
        v.separable(-0.01, se)


def test_monitors_same_everywhere_and_mixed():
    same = {"later": 0, "same": 7, "earlier": 0, "of": 7, "test_accuracy_gain_points": {}}
    assert "same epoch in each of the 7 runs" in v.monitors(same)
    mixed = {
        "later": 4,
        "same": 0,
        "earlier": 3,
        "of": 7,
        "test_accuracy_gain_points": {"mean": 0.1, "min": -0.05, "max": 0.3},
    }
    text = v.monitors(mixed)
    assert "an earlier epoch in 4 and a later one in 3" in text and "the same epoch" not in text
    assert "+0.10 points on average (from \u22120.05 to +0.30)" in text  # a typeset minus


def test_against_range():
    assert v.against_range(0.982, 0.988, 0.990) == "stays 0.60 points below that range"
    assert v.against_range(0.988, 0.988, 0.990) == "lies within that range, at its low end"
    assert v.against_range(0.9878, 0.9875, 0.9905) == "lies within that range, 0.03 points above its low end"
    assert v.against_range(0.9901, 0.9875, 0.9905) == "lies within that range, 0.04 points below its high end"
    assert v.against_range(0.990, 0.988, 0.990) == "lies within that range, at its high end"
    assert v.against_range(0.9925, 0.988, 0.990) == "lies 0.25 points above that range"


def test_regularisation_phrases_from_a_study():
    def setting(acc, epoch, epochs=30):
        return {"chosen_epoch": epoch, "at_chosen_epoch": {"val_accuracy": acc}, "config": {"epochs": epochs}}

    study = {
        "settings": {"none": setting(0.970, 4), "dropout": setting(0.972, 5, epochs=50)},
        "chosen": "dropout",
        "runner_up": "none",
        "val_accuracy_se": 0.005,
        "seeds": {"0": {"chosen_epoch": 5}, "1": {"chosen_epoch": 4}},
        "monitors": {"later": 0, "same": 3, "earlier": 0, "of": 3, "test_accuracy_gain_points": {}},
        "test_accuracy": {"mean": 0.982},
        "epochs": 30,
    }
    out = v.regularisation(study, "mnist")
    assert out["runner_up_gap"] == pytest.approx(0.002) and "cannot tell" in out["runner_up"]
    assert out["n_seeds"] == 2 and out["seed_epochs"] == "5 and 4" and out["chosen_epoch"] == 5
    assert out["published"].startswith(
        "Srivastava et al. (2014, Table 2) report 98.75% to 99.05% on MNIST for ReLU dropout networks"
    )
    assert "98.75% without max-norm, the rest with it" in out["published"]
    assert out["published_range"] == [0.9875, 0.9905]
    assert (
        "trained far longer than the 50 epochs of the networks read here. The setting chosen on validation "
        "(dropout), on the training split, stays 0.55 points below that range." in (out["published"])
    )
    assert out["refit_gain"] == {} and out["refit_paired"] == {} and out["refit_epochs"] == {}
    # retrained on all training images (Algorithm 7.2): the published range is read against the refit
    gain = {"seeds": ["0", "1"], "diff_points": {"mean": 0.13, "min": 0.1, "max": 0.16}, "leads": 2, "ties": 0,
            "seed_sd_points": 0.05}  # fmt: skip
    seeds = {"0": {"epochs": 37, "test_accuracy": 0.988}, "1": {"epochs": 35, "test_accuracy": 0.988}}
    refit = {"dropout": {"test_accuracy": {"mean": 0.9881}, "gain": gain, "seeds": seeds}}
    refitted = v.regularisation({**study, "refit": refit, "refit_paired": {"dropout": gain}}, "mnist")
    assert (
        "trained far longer than the 35 to 37 epochs of the networks read here. The setting chosen on validation "
        "(dropout), retrained on all training images, lies within that range, 0.06 points above its low end."
        in refitted["published"]
    )
    assert refitted["refit_gain"]["dropout"].startswith("dropout differs by +0.13 points on average (+0.10 to +0.16")
    assert refitted["refit_paired"]["dropout"].endswith("more than the seed spread of 0.05 points")
    assert refitted["refit_epochs"] == {"dropout": "37 and 35"}
    assert "(dropout), on the training split, stays 0.55 points below" in out["published"]
    assert v.regularisation(study, "fashion-mnist")["published"] == (
        "The dropout papers report no result on Fashion-MNIST to set beside this one."
    )
    with pytest.raises(ValueError, match="one setting only"):
        v.regularisation({**study, "runner_up": None}, "mnist")
    # Fashion-MNIST's build: dropout and weight decay tie, none is 0.04 points behind, all inside two SE
    settings = {"none": setting(0.9051, 26), "weight decay": setting(0.9055, 20), "dropout": setting(0.9055, 25)}
    tied = {**study, "runner_up": "weight decay", "val_accuracy_se": 0.003, "settings": settings}
    phrase = v.regularisation(tied, "fashion-mnist")["runner_up"]
    assert (
        phrase.startswith("zero: a tie")
        and "the lower validation loss breaks it; nor can it tell none (0.04 points behind) from the chosen" in phrase
    )
    far = {**tied, "settings": {**tied["settings"], "none": setting(0.8900, 26)}}
    assert "nor" not in v.regularisation(far, "fashion-mnist")["runner_up"]


def test_augmentation_sets_fit_and_gap_beside_the_other_run_and_names_what_else_differs():
    base = {"shift_pixels": 0, "dropout": 0.3, "epochs": 50, "learning_rate": 0.1}

    def run(fit, val, n=3, **config):
        seeds = {str(s): {} for s in range(n)}
        return {"fit_accuracy": {"mean": fit}, "val_accuracy": {"mean": val}, "seeds": seeds, "config": config}

    def phrase(shifted, plain):
        return v.augmentation("net with shifts", "net", shifted, plain, 50_000)

    shifted = {**base, "shift_pixels": 2, "dropout": 0.2, "epochs": 30}
    # the Fashion-MNIST build's pattern; it describes, and names the settings besides the shifts that differ
    out = phrase(run(0.89538, 0.8904, **shifted), run(0.9437733, 0.9094, **base))
    assert out == (
        "On the 50,000 images it trained on, without the augmentation, the net with shifts scores 89.54% "
        "(net: 94.38%) and on the validation images 89.04% (90.94%): its training accuracy is 4.84 points lower, "
        "and the gap from training to validation accuracy is 0.50 points against 3.44 (means of 3 seeds; the two "
        "runs also differ in epochs and hidden-unit dropout)"
    )
    assert "narrows" not in out and "but" not in out  # no cause claimed
    # the settings named in one order, whatever the order of the configs' keys (metrics.json sorts them)
    backwards = {k: shifted[k] for k in reversed(list(shifted))}
    assert phrase(run(0.89538, 0.8904, **backwards), run(0.9437733, 0.9094, **base)) == out
    # only the augmentation differs: nothing else is named
    assert phrase(run(0.99, 0.98, **{**base, "shift_pixels": 2}), run(0.98, 0.96, **base)).endswith(
        "is 1.00 points higher, and the gap from training to validation accuracy is 1.00 points against 2.00 "
        "(means of 3 seeds)"
    )
    # a validation accuracy above the training accuracy is a negative gap, with a true minus; equal fits
    out = phrase(run(0.98, 0.99, n=1, **shifted), run(0.98, 0.97, n=1, **base))
    assert "its training accuracy is the same, and the gap from training to validation accuracy is \u22121.00 " in out
    assert "points against 1.00 (means of 1 seed;" in out
    # differences of the percentages as printed: 90.7449% and 89.7951% print 90.74% and 89.80%, 0.94 apart,
    # though the unrounded gap, 0.9498 points, would print 0.95; and 90.74 - 94.4951 (94.50 printed) is 3.76
    out = phrase(run(0.907449, 0.897951, **shifted), run(0.944951, 0.9094, **base))
    assert "scores 90.74% (net: 94.50%) and on the validation images 89.80% (90.94%)" in out
    assert "is 3.76 points lower, and the gap from training to validation accuracy is 0.94 points against 3.56" in out
    with pytest.raises(ValueError, match="ran on other seeds"):
        phrase(run(0.9, 0.9, n=2, **shifted), run(0.9, 0.9, n=3, **base))


def test_regularisation_sets_each_augmented_run_beside_its_twin():
    def run(fit, val):
        return {"fit_accuracy": {"mean": fit}, "val_accuracy": {"mean": val}, "seeds": {"0": {}, "1": {}}}

    def setting(acc, **config):
        return {"chosen_epoch": 3, "at_chosen_epoch": {"val_accuracy": acc}, "config": {"epochs": 10, **config}}

    study = {
        "settings": {"none": setting(0.97), "dropout": setting(0.972, dropout=0.3)},
        "apart": {"dropout with shifts": setting(0.975, dropout=0.3, shift_pixels=2)},
        "chosen": "dropout",
        "runner_up": "none",
        "val_accuracy_se": 0.005,
        "seeds": {"0": {"chosen_epoch": 5}, "1": {"chosen_epoch": 4}},
        "monitors": {"later": 0, "same": 2, "earlier": 0, "of": 2, "test_accuracy_gain_points": {}},
        "test_accuracy": {"mean": 0.982},
        "by_seed": {"dropout": run(0.99, 0.97), "dropout with shifts": run(0.985, 0.975)},
        "n_fit": 1000,
    }
    assert v.regularisation(study, "fashion-mnist")["augmentation"] == {}  # no twins named
    out = v.regularisation({**study, "twins": {"dropout with shifts": "dropout"}}, "fashion-mnist")
    shifted = {**study["by_seed"]["dropout with shifts"], "config": study["apart"]["dropout with shifts"]["config"]}
    plain = {**study["by_seed"]["dropout"], "config": study["settings"]["dropout"]["config"]}
    assert out["augmentation"] == {
        "dropout with shifts": v.augmentation("dropout with shifts", "dropout", shifted, plain, 1000)
    }
    assert out["augmentation"]["dropout with shifts"].startswith("On the 1,000 images it trained on, without")
    assert out["augmentation"]["dropout with shifts"].endswith("against 2.00 (means of 2 seeds)")  # same config


def test_optimizer_ranking_ties_and_standard_errors():
    se = 0.005
    apart = v.optimizer_ranking({"sgd": 0.95, "momentum": 0.97, "adam": 0.99}, se)
    assert apart.startswith("adam has the highest validation accuracy (99.00%)") and "ahead of the next" in apart
    close_two = v.optimizer_ranking({"sgd": 0.95, "momentum": 0.985, "adam": 0.99}, se)
    assert "adam and momentum lie within two standard errors" in close_two
    all_close = v.optimizer_ranking({"sgd": 0.982, "momentum": 0.985, "adam": 0.99}, se)
    assert "all 3 lie within two standard errors" in all_close
    tie = v.optimizer_ranking({"sgd": 0.95, "momentum": 0.99, "adam": 0.99}, se)
    assert tie.startswith("momentum and adam tie for the highest validation accuracy (99.00%)")
    with pytest.raises(ValueError, match="two optimisers"):
        v.optimizer_ranking({"sgd": 0.9}, se)


def test_confidence_above_and_below_four_nines():
    assert v.confidence(0.99999) == "more than 0.9999"
    assert v.confidence(v.NEAR_CERTAIN) == "more than 0.9999"  # never "at least 1.0000"
    assert v.confidence(0.999949) == "at least 0.9999"
    assert v.confidence(0.98765) == "at least 0.9876"  # rounded down: 0.98765 is not at least 0.9877
    assert v.confidence(0.99946) == "at least 0.9994"  # the MNIST build's, once printed "at least 0.9995"
    assert v.confidence(float("nan")) == "nothing: no test image is wrong"
    with pytest.raises(ValueError, match="not percentages"):
        v.confidence(98.0)


def test_most_confused_names_one_pair_or_calls_the_tie():
    names = [str(k) for k in range(10)]
    one = [{"true": 4, "predicted": 9, "count": 7}]
    assert v.most_confused(one, names) == "the most frequent confusion is a true 4 taken for a 9 (7 images)"
    three = one + [{"true": 7, "predicted": 2, "count": 7}, {"true": 3, "predicted": 5, "count": 7}]
    text = v.most_confused(three, names)
    assert text.startswith("the most frequent confusions tie at 7 images each:")
    assert text.endswith("a true 4 taken for a 9, a true 7 taken for a 2 and a true 3 taken for a 5")
    assert "no confusion" in v.most_confused([], names)


# --- edges a review found --------------------------------------------------------


def test_claim_is_not_called_even_when_one_half_fails_by_majority():
    """claim(2, 0, 4) once read "split evenly", though "ends lower" failed in
    all 4 comparisons."""
    assert v.claim(2, 0, 4) == "the data does not bear the claim out"
    assert v.claim(0, 2, 4) == "the data does not bear the claim out"
    assert "split evenly" in v.claim(2, 2, 4) and "split evenly" in v.claim(3, 2, 4)


def test_monitors_leave_out_a_count_of_zero():
    m = {"later": 0, "same": 2, "earlier": 1, "of": 3, "test_accuracy_gain_points": {"mean": 0, "min": 0, "max": 0}}
    text = v.monitors(m)
    assert "in 0" not in text and "the same epoch in 2 and a later one in 1" in text


def test_optimizer_ranking_with_no_standard_error_never_puts_a_tie_ahead_of_itself():
    tie = v.optimizer_ranking({"sgd": 1.0, "adam": 1.0, "momentum": 0.9}, 0.0)
    assert tie.startswith("sgd and adam tie") and "ahead of the next" in tie
    close = v.optimizer_ranking({"sgd": 0.99, "adam": 0.99, "momentum": 0.985}, 0.005)
    assert close.startswith("sgd and adam tie") and "within two standard errors" in close
    assert (
        v.optimizer_ranking({"sgd": 1.0, "adam": 1.0}, 0.0)
        == "all 2 tie at 100.00%: at this budget they cannot be told apart"
    )


def test_accuracy_change_judges_the_size_as_printed_and_refuses_nan():
    assert v.accuracy_change(0.199) == "rises by 0.20 points"  # printed as 0.20, so not "barely"
    assert v.accuracy_change(0.194) == "barely moves (+0.19 points)"
    with pytest.raises(ValueError, match="finite"):
        v.accuracy_change(float("nan"))


def test_against_range_never_prints_zero_points_outside():
    assert v.against_range(0.98799, 0.988, 0.990) == "lies at the edge of that range (less than 0.01 points outside it)"
    assert v.against_range(0.985, 0.988, 0.990) == "stays 0.30 points below that range"
    assert v.against_range(0.989, 0.988, 0.990) == "lies within that range, 0.10 points above its low end"


def test_loss_order_late_says_below_from_the_crossing_on():
    text = v.loss_order({"pattern": "late", "share_below": 0.75, "cross_epoch": 1.5})
    assert text.startswith("is below the whole-set training loss at 75% of the evaluation points, all from epoch 1.5")


def test_per_epoch_leaves_ties_out():
    assert v.per_epoch(2, 1) == "faster"
    assert v.per_epoch(0, 2) == "slower, not faster"  # two ties beside them would not make it "slower" by majority of 4
    assert v.per_epoch(1, 1) == "as often faster as slower"
    assert v.per_epoch(0, 0).startswith("neither faster nor slower")


def finalist(label, mean, within, gflop=None):
    """A finalist of the search record; its cost from its label's layer sizes unless given."""
    cost = gflop if gflop is not None else float(sum(int(w) for w in label.split()[-1].split("-") if w.isdigit()) or 1)
    return {"label": label, "mean": mean, "within": within, "gflop_per_epoch": cost}


def test_one_standard_error_says_what_could_move_the_choice():
    """Issue 19: the MNIST choice once moved between 784-300-300-10 and
    784-300-10, 0.03 points apart; inside the band, such a reordering no
    longer moves the choice."""
    band = [finalist("hidden 300-300", 0.9782, True), finalist("hidden 300", 0.9779, True),
            finalist("hidden 100", 0.9740, False)]  # fmt: skip
    phrase = v.one_standard_error(band, 0.0015, "hidden 300")
    assert phrase.startswith("2 of the 3 finalists lie within one standard error (0.15 points) of the best, hidden "
                             "300-300 (97.82%), and the cheapest per epoch of them, hidden 300, is chosen")  # fmt: skip
    assert "reorders the finalists inside the band leaves the choice where it is" in phrase
    itself = v.one_standard_error(band, 0.0015, "hidden 300-300")
    assert "the best itself, is chosen" in itself
    alone = v.one_standard_error([finalist("a", 0.98, True), finalist("b", 0.97, False)], 0.0025, "a")
    assert alone.startswith("no other finalist lies within one standard error (0.25 points) of the best, a (98.00%)")
    assert "the next, b, is 1.00 points behind, 4.0 standard errors" in alone
    diverged = [finalist("a", 0.98, True), finalist("b", None, False)]
    assert v.one_standard_error(diverged, 0.002, "a") == "one finalist finished, a, and it is chosen"
    with pytest.raises(ValueError, match="within the band"):
        v.one_standard_error(band, 0.0015, "hidden 100")


def test_one_standard_error_names_the_finalists_of_the_same_cost():
    """Issue 19: the full MNIST search in float64 put three finalists of one
    shape, differing in learning rate or batch size, inside the band; the
    shape stands, the rate is the validation set's coin toss."""
    same = [finalist("300-300, lr 0.2, b32", 0.97845, True, 75.0),
            finalist("300-300, lr 0.1, b32", 0.97835, True, 75.0),
            finalist("100, lr 0.2, b32", 0.9700, False, 8.0)]  # fmt: skip
    phrase = v.one_standard_error(same, 0.0015, "300-300, lr 0.2, b32")
    assert "of the best, 300-300, lr 0.2, b32 (97.84%); they share their layer sizes, and the best of them is" in phrase
    assert "cannot tell it from 300-300, lr 0.1, b32, so rounding alone could swap the two;" in phrase
    # the cheaper 100 lies 0.70 points below the band's edge, 97.845% - 0.15 points
    assert phrase.endswith("carrying a finalist across the band's edge; the nearest cheaper one, 100, lr 0.2, b32, "
                           "lies 0.70 points below that edge")  # fmt: skip
    assert "leaves the choice where it is" not in phrase
    # the full MNIST build: all three finalists 300-300, the third outside the band
    alike = [*same[:2], finalist("300-300, lr 0.2, b64", 0.9770, False, 75.0)]
    phrase = v.one_standard_error(alike, 0.0015, "300-300, lr 0.2, b32")
    assert phrase.endswith("swap the two; every finalist has these layer sizes, so rounding cannot change them")
    assert "leaves the choice where it is" not in phrase
    # besides the pair, a dearer finalist only: no cheaper one to name
    dearer = [*same[:2], finalist("300-300-300, lr 0.2, b32", 0.9700, False, 110.0)]
    assert v.one_standard_error(dearer, 0.0015, "300-300, lr 0.2, b32").endswith(
        "swap the two; only a finalist crossing the band's edge would change the layer sizes"
    )
    # a dearer best inside the band: the pair is the cheapest part of the band, and its better member is chosen
    inside = [*same[:2], finalist("300-300-300, lr 0.2, b32", 0.9790, True, 110.0)]
    phrase = v.one_standard_error(inside, 0.0015, "300-300, lr 0.2, b32")
    assert (
        "; the 2 cheapest per epoch of them share their layer sizes, and the best of them, 300-300, lr 0.2, b32,"
        in phrase
    )
    # a cheaper finalist inside the band has no peer of its cost: the old sentence
    mixed = [finalist("300-300", 0.9790, True, 75.0), finalist("300", 0.9785, True, 25.0)]
    assert "leaves the choice where it is" in v.one_standard_error(mixed, 0.0015, "300")


def test_paired_reads_the_difference_against_the_seed_spread():
    more = {"seeds": [0, 1, 2], "diff_points": {"mean": 0.4, "min": 0.3, "max": 0.5, "std": 0.1}, "leads": 3,
            "ties": 0, "seed_sd_points": 0.08}  # fmt: skip
    assert v.paired("the dropout network", more) == (
        "the dropout network differs by +0.40 points on average (+0.30 to +0.50; ahead on 3 of the 3 seeds), "
        "more than the seed spread of 0.08 points"
    )
    within = {**more, "diff_points": {"mean": -0.05, "min": -0.2, "max": 0.1, "std": 0.15}, "leads": 1}
    phrase = v.paired("weight decay", within)
    assert "\u22120.05 points on average (\u22120.20 to +0.10; ahead on 1 of the 3 seeds), not more than" in phrase
    one = v.paired("x", {**more, "seeds": [0]})
    assert "one seed gives no spread" in one


def test_published_comparison_quotes_the_data_sets_own_literature():
    assert "Simard et al. (2003, Table 1) 98.4%" in v.published_comparison("mnist")
    assert "Xiao" not in v.published_comparison("mnist")
    assert "Xiao et al. (2017, Table 3) report 87.0%" in v.published_comparison("fashion-mnist")
    assert "Simard" not in v.published_comparison("fashion-mnist")
    assert v.published_comparison("kmnist") == "The report quotes no published result on kmnist."


def test_a_best_rate_at_the_edge_at_one_batch_size_draws_no_trend():
    """The Fashion-MNIST build once read "0.1, 0.1 and 0.2: it grows with the
    batch size" with 0.2 the largest rate of the grid."""
    phrase = v.best_lr_trend([(32, 0.1), (64, 0.1), (128, 0.2)], [0.02, 0.05, 0.1, 0.2])
    assert phrase.startswith("the best rate at batch 128, 0.2, is the largest tried")
    assert "grows" not in phrase and "cannot show" in phrase


def test_blank_pixels_says_how_far_each_group_of_weights_grew():
    # MNIST's full build: 0.0262 and 0.1792 against N(0, 0.01^2)'s 0.0080
    assert v.blank_pixels(0.02617, 0.17920, 0.007979) == (
        "so the weights of the almost-always-blank pixels end at 3.3 times the initial mean magnitude, "
        "the other pixels' at 22.5 times"
    )
    assert v.blank_pixels(0.03, 0.02, 0.01).startswith("yet the weights")
    assert v.blank_pixels(0.03, 0.02, 0.01).endswith("learn more than the others")
    assert v.blank_pixels(0.0201, 0.0204, 0.01).endswith("learn as much as the others")  # 2.0 and 2.0 as printed
    with pytest.raises(ValueError, match="mean_abs_weight_rare must be a positive number, got nan"):
        v.blank_pixels(float("nan"), 0.2, 0.008)
