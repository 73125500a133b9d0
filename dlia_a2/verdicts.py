"""Verdicts on a run, as the short phrases the report's sentences quote.

The notebooks' Markdown holds look-ups only (``{{ loss_order_verdict }}``);
every word that depends on the numbers ("a tie", "falls by", "barely
moves") is chosen here, from the numbers, by a small tested function, and
recorded into the notebook's metrics with ``section.record(...)``. The
thresholds behind the words are named once, below.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from dlia_a2.prose import count, g, listing, num, pct, plural, points, signed
from dlia_a2.prose import dataset as prose_dataset

# --- thresholds ------------------------------------------------------------------

# largest relative error at which a formula agrees with finite differences
# (a step of 1e-6 leaves errors of order 1e-12 and rounding of order 1e-10)
GRADIENT_TOLERANCE = 1e-6
# a range of the test accuracy narrower than this (percentage points) means
# that a reading does not hang on the step it was taken at
STABLE_SPREAD_POINTS = 0.5
# a change of accuracy smaller than this (percentage points) "barely moves";
# from this size on the phrase says how far it rose or fell
BARELY_POINTS = 0.2
# probabilities from this on print as "more than 0.9999" (4 digits would round up to 1.0000)
NEAR_CERTAIN = 0.99995
# two accuracies closer than this many standard errors cannot be told apart
SEPARATING_STANDARD_ERRORS = 2
# ... as the prose spells it
_STANDARD_ERRORS_WORD = {1: "one", 2: "two", 3: "three"}.get(SEPARATING_STANDARD_ERRORS, "several")
# what a comparison of grid values says when the grid holds fewer than two
NOT_COMPARED = "this grid has fewer than two values with a finished run to compare"


def _check_fraction(name: str, x: float) -> None:
    if not 0 <= x <= 1:
        raise ValueError(f"{name} must be a fraction between 0 and 1, got {x}; pass accuracies, not percentages")


# --- Exercise 1 ------------------------------------------------------------------


def formulas_hold(max_rel_error: float, tolerance: float = GRADIENT_TOLERANCE) -> str:
    """Whether the formulas hold to the accuracy finite differences can show:
    ``"hold"`` when ``max_rel_error`` is below ``tolerance``, else
    ``"do **not** hold"``."""
    if not max_rel_error >= 0:
        raise ValueError(f"max_rel_error must be 0 or more, got {max_rel_error}")
    return "hold" if max_rel_error < tolerance else "do **not** hold"


# --- readings at one step --------------------------------------------------------


def reading_stability(spread_points: float) -> str:
    """What a range of the test accuracy of ``spread_points`` percentage
    points around a reading says about it: below :data:`STABLE_SPREAD_POINTS`
    the reading does not hang on its last step."""
    if not spread_points >= 0:
        raise ValueError(f"spread_points must be 0 or more, got {spread_points}")
    if spread_points < STABLE_SPREAD_POINTS:
        return "narrow enough that a reading does not hang on the step it was taken at"
    return "wide enough that a reading taken a little earlier or later could differ by that much"


def accuracy_change(points: float) -> str:
    """A change of test accuracy of ``points`` percentage points, as a verb
    phrase: ``"does not move"``, ``"barely moves (+0.05 points)"`` below
    :data:`BARELY_POINTS`, else ``"rises by 0.40 points"`` or
    ``"falls by 1.16 points"``. The size is judged as printed (to 0.01
    points), so a phrase never calls "barely" what it prints as 0.20."""
    if not math.isfinite(points):
        raise ValueError(f"points must be a finite number, got {points}")
    if points == 0:
        return "does not move"
    shown = round(points, 2)
    if abs(shown) < BARELY_POINTS:
        return f"barely moves ({signed(points)} points)"
    return f"{'rises' if points > 0 else 'falls'} by {abs(points):.2f} points"


# --- Exercise 2: the filters -------------------------------------------------------


def blank_pixels(mean_abs_weight_rare: float, mean_abs_weight_ink: float, initial_mean_abs_weight: float) -> str:
    """How far the weights of almost-always-blank pixels moved from their
    start, against the other pixels', from the mean weight magnitudes of
    :func:`dlia_a2.analysis.rare_pixel_weights` and the mean magnitude of
    the distribution the weights are drawn from: ``"so the weights of the
    almost-always-blank pixels end at 3.3 times the initial mean magnitude,
    the other pixels' at 22.5 times"``. The clause says whether the blank
    pixels learn less, as the gradient's proportionality predicts, judged as
    printed."""
    for name, x in (
        ("mean_abs_weight_rare", mean_abs_weight_rare),
        ("mean_abs_weight_ink", mean_abs_weight_ink),
        ("initial_mean_abs_weight", initial_mean_abs_weight),
    ):
        if not (math.isfinite(x) and x > 0):
            raise ValueError(f"{name} must be a positive number, got {x}")
    rare, ink = mean_abs_weight_rare / initial_mean_abs_weight, mean_abs_weight_ink / initial_mean_abs_weight
    growth = (
        f"the weights of the almost-always-blank pixels end at {rare:.1f} times the initial mean magnitude, "
        f"the other pixels' at {ink:.1f} times"
    )
    if f"{rare:.1f}" == f"{ink:.1f}":
        return f"yet {growth}: here the blank pixels learn as much as the others"
    if rare > ink:
        return f"yet {growth}: here the blank pixels learn more than the others"
    return f"so {growth}"


# --- Exercise 2: test loss and training loss -------------------------------------


def easier_set(test_accuracy: float, train_accuracy: float) -> str:
    """Which set a simple model finds easier, from its accuracy on each."""
    _check_fraction("test_accuracy", test_accuracy)
    _check_fraction("train_accuracy", train_accuracy)
    if test_accuracy > train_accuracy:
        return "here the test set is the easier one"
    if test_accuracy == train_accuracy:
        return "here the two are a tie"
    return "here the training set is the easier one, so this reason does not apply"


def loss_order(order: Mapping) -> str:
    """How the whole-set test loss stands to the training loss over a run,
    from :func:`dlia_a2.analysis.loss_order`: a phrase that follows
    "the whole-set test loss"."""
    pattern = order["pattern"]
    if pattern == "never":
        return "is never below the whole-set training loss"
    if pattern == "throughout":
        return "is below the whole-set training loss at every evaluation point"
    share = pct(order["share_below"], 0)
    if pattern == "early":
        return (
            f"is below the whole-set training loss at {share} of the evaluation points, all before epoch "
            f"{num(order['cross_epoch'], 1)}; from there on the network fits its own training images better "
            "than unseen ones and the order stays flipped"
        )
    if pattern == "late":
        return (
            f"is below the whole-set training loss at {share} of the evaluation points, all from epoch "
            f"{num(order['cross_epoch'], 1)} on; before that it is not"
        )
    if pattern == "crossing":
        return (
            f"is below the whole-set training loss at {share} of the evaluation points; the two first cross "
            f"at epoch {num(order['cross_epoch'], 1)}"
        )
    raise ValueError(f"unknown loss order pattern {pattern!r}; expected never, throughout, early, late or crossing")


def on_rungs(all_on_rungs: bool) -> str:
    """``"every one of them"`` or ``"not all of them"``."""
    return "every one of them" if all_on_rungs else "not all of them"


def share(k: int, n: int) -> str:
    """``k`` of ``n`` things: ``"all 10"``, ``"none of the 10"``, ``"7 of the 10"``."""
    if not 0 <= k <= n:
        raise ValueError(f"k must lie between 0 and n = {n}, got {k}")
    if k == n:
        return f"all {n}"
    return f"none of the {n}" if k == 0 else f"{k} of the {n}"


# --- Exercise 3: the search ------------------------------------------------------


def diverged(n: int) -> str:
    """``"none diverged"``, ``"1 diverged"``, ``"3 diverged"``."""
    if n < 0:
        raise ValueError(f"the number of diverged runs must be 0 or more, got {n}")
    return "none diverged" if n == 0 else f"{n} diverged"


def majority(k: int, n: int, yes: str, no: str, tie: str) -> str:
    """``yes`` when ``k`` of ``n`` comparisons is a majority, ``no`` when it
    is a minority, ``tie`` when it is exactly half, and
    :data:`NOT_COMPARED` when there was nothing to compare (``n = 0``)."""
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k = {k}, n = {n}")
    if n == 0:
        return NOT_COMPARED
    if 2 * k == n:
        return tie
    return yes if 2 * k > n else no


def per_epoch(faster: int, slower: int) -> str:
    """Whether a setting's larger value reached a higher accuracy after the
    first epoch more often than a lower one, ties (neither) left out:
    ``"faster"``, ``"slower, not faster"``, ``"as often faster as slower"``,
    or that every comparison tied."""
    if faster < 0 or slower < 0:
        raise ValueError(f"need counts of 0 or more, got {faster} and {slower}")
    if faster == slower == 0:
        return "neither faster nor slower: every comparison tied or none was made"
    return majority(faster, faster + slower, "faster", "slower, not faster", "as often faster as slower")


def claim(faster: int, lower: int, of: int) -> str:
    """Whether "converges faster but ends lower" holds by majority over
    ``of`` comparisons."""
    if not (0 <= faster <= of and 0 <= lower <= of):
        raise ValueError(f"need 0 <= faster, lower <= of, got {faster}, {lower}, {of}")
    if of == 0:
        return f"the claim cannot be tested: {NOT_COMPARED}"
    if 2 * faster > of and 2 * lower > of:
        return "the claim holds"
    if 2 * faster < of or 2 * lower < of:  # either half of the claim fails by majority
        return "the data does not bear the claim out"
    return "the data is split evenly and neither bears the claim out nor refutes it"


def best_lr_listing(best_lr_by_batch: Sequence[Sequence]) -> str:
    """``"0.1 at batch 32 and 0.2 at batch 128"``; ``"none"`` when every
    run diverged."""
    if not best_lr_by_batch:
        return "none (every run diverged)"
    return listing([f"{g(lr)} at batch {b}" for b, lr in best_lr_by_batch])


def grid_edge(value: float, grid: Sequence[float]) -> str:
    """Where ``value`` sits in the grid it was chosen from: ``"the largest
    tried"``, ``"the smallest tried"``, or ``""`` inside it (or when the grid
    has one value only, which has no inside)."""
    if len(set(grid)) < 2:
        return ""
    if value == max(grid):
        return "the largest tried"
    if value == min(grid):
        return "the smallest tried"
    return ""


def grid_edges(best: Mapping[str, float], grids: Mapping[str, Sequence[float]]) -> str:
    """What the best setting of a grid search says about its own grid, one
    clause per axis, axes in alphabetical order (so that the phrase does not
    depend on the order of a mapping): ``"the best batch size (32) is the
    smallest tried and the best learning rate (0.2) is the largest tried:
    a better setting may lie past the grid's edges"``, or ``"the best batch size
    (64) and the best learning rate (0.1) lie inside the grid"``."""
    edges = {name: grid_edge(best[name], grids[name]) for name in sorted(best)}
    named = {name: f"the best {name} ({g(best[name])})" for name in sorted(best)}
    if not any(edges.values()):
        return listing(list(named.values())) + (" lie" if len(named) > 1 else " lies") + " inside the grid"
    clauses = [f"{named[name]} {'is ' + edge if edge else 'lies inside the grid'}" for name, edge in edges.items()]
    return listing(clauses) + ": a better setting may lie past the grid's edges"


def best_lr_trend(best_lr_by_batch: Sequence[Sequence], learning_rates: Sequence[float]) -> str:
    """Whether the best learning rate grows with the batch size, from
    ``(batch_size, best_learning_rate)`` pairs (any order) and the learning
    rates of the grid. A best rate at the grid's edge shows nothing: the
    best rates may lie beyond it, and differ there, so no trend is read
    from a grid whose best rate sits on its edge at any batch size."""
    ordered = [lr for _, lr in sorted(best_lr_by_batch)]
    if len(ordered) < 2:
        return f"the claim cannot be tested: {NOT_COMPARED}"
    if len(set(ordered)) == 1:
        edge = grid_edge(ordered[0], learning_rates)
        if edge:
            return (
                f"the same learning rate, {edge}, was best at every batch size; the best rates may lie beyond "
                "the grid, so it cannot show whether they depend on the batch size"
            )
        return "the same learning rate was best at every batch size, so this grid shows no such dependence"
    at_edge = [(batch, lr) for batch, lr in sorted(best_lr_by_batch) if grid_edge(lr, learning_rates)]
    if at_edge:
        batch, lr = at_edge[0]
        return (
            f"the best rate at batch {batch}, {g(lr)}, is {grid_edge(lr, learning_rates)}; the best rates may "
            "lie beyond the grid, so it cannot show how they depend on the batch size"
        )
    if all(a <= b for a, b in zip(ordered, ordered[1:])):
        return "it grows with the batch size, so within this grid the data agrees with the claim"
    return "it does not grow with the batch size, so within this grid the data does not support the claim"


# --- Exercise 3: the long runs ---------------------------------------------------


def training_accuracy(first_perfect_epoch: int | None, last_train_accuracy: float) -> str:
    """``"reaches 1.0, every training image right, at epoch 12"`` or ``"ends at 0.9950"``."""
    if first_perfect_epoch:
        return f"reaches 1.0, every training image right, at epoch {first_perfect_epoch}"
    return f"ends at {num(last_train_accuracy)}"


def long_run(summary: Mapping) -> dict:
    """The phrases about one long run, from
    :func:`dlia_a2.summaries.long_run_summary`: ``stability`` of its last
    reading (the one the report quotes), ``training_accuracy``,
    ``test_loss`` and ``accuracy_change`` between its two readings."""
    return {
        "stability": reading_stability(summary["last_range"]["spread_points"]),
        "training_accuracy": training_accuracy(summary["first_perfect_epoch"], summary["last"]["train_accuracy"]),
        "test_loss": test_loss_trend(summary["overfits"], summary["min_test_loss_epoch"]),
        "accuracy_change": change_between_readings(
            summary["accuracy_change_points"], summary["short_range"], summary["last_range"]
        ),
    }


def change_between_readings(points: float, short_range: Mapping, last_range: Mapping) -> str:
    """:func:`accuracy_change` between two readings of one run, said to be
    within what the step of a reading decides when the test accuracy's
    ranges over the epochs up to each (:func:`dlia_a2.analysis.end_range`:
    ``min``, ``max``, ``from_epoch``, ``to_epoch``) overlap as printed (to
    0.01 points): ``"falls by 1.18 points; its ranges over epochs 96–100 and
    196–200 overlap, so the step each was read at could account for the
    change"``. Windows that share epochs overlap whatever the run does, and
    a change printed as none or "barely" needs no such word: both get the
    change alone."""
    phrase = accuracy_change(points)
    if abs(round(points, 2)) < BARELY_POINTS or short_range["to_epoch"] >= last_range["from_epoch"]:
        return phrase
    low = max(round(100 * short_range["min"], 2), round(100 * last_range["min"], 2))
    high = min(round(100 * short_range["max"], 2), round(100 * last_range["max"], 2))
    if low > high:
        return phrase
    windows = " and ".join(f"{r['from_epoch']}–{r['to_epoch']}" for r in (short_range, last_range))
    return (
        f"{phrase}; its ranges over epochs {windows} overlap, so the step each was read at could account for the change"
    )


def test_loss_trend(overfits: bool, min_test_loss_epoch: int) -> str:
    """What the test loss did over a long run: lowest before the end and
    rising (overfitting), or still falling at the end."""
    if overfits:
        return (
            f"is lowest at epoch {min_test_loss_epoch} and rises after it: the network grows more confident "
            "on its training images than the test images justify, which is overfitting"
        )
    return "is still falling at the last epoch: no overfitting within this run"


# --- Exercise 3: the regularisation study ----------------------------------------


def separable(gap: float, standard_error: float, what: str = "these two") -> str:
    """Whether two accuracies ``gap`` apart can be told apart by a set whose
    accuracy has ``standard_error`` (fractions, not points)."""
    if not (gap >= 0 and standard_error >= 0):
        raise ValueError(f"need gap >= 0 and standard_error >= 0, got {gap} and {standard_error}")
    if gap == 0:
        return f"zero: a tie, and the validation set cannot tell {what} apart"
    if gap < SEPARATING_STANDARD_ERRORS * standard_error:
        return f"less than {_STANDARD_ERRORS_WORD} standard errors, so the validation set cannot tell {what} apart"
    return f"{_STANDARD_ERRORS_WORD} standard errors or more, so the validation set tells {what} apart"


def halving_listing(rungs: Sequence[Mapping]) -> str:
    """The rungs of the successive halving, from
    :func:`dlia_a2.search.search_record`: "24 configurations for 1 epoch,
    the best 8 for 3 epochs and the best 3 for 9 epochs"."""
    if not rungs:
        raise ValueError("the halving ran no rung")
    parts = [f"{plural(rungs[0]['trained'], 'configuration')} for {plural(rungs[0]['epochs'], 'epoch')}"]
    parts += [f"the best {r['trained']} for {plural(r['epochs'], 'epoch')}" for r in rungs[1:]]
    return listing(parts)


def one_standard_error(finalists: Sequence[Mapping], se: float, chosen_label: str) -> str:
    """The one-standard-error choice among the search's finalists, in words,
    from :func:`dlia_a2.search.search_record`'s ``finalists`` (each with
    ``label``, ``mean``, None if diverged, and ``within``), the standard
    error ``se`` (a fraction) and the chosen finalist's label: how many lie
    within one standard error of the best, and what would have to happen
    for rounding to move the choice. Finalists of the chosen's cost
    (``gflop_per_epoch``) inside the band are named: between those the
    rule goes by the mean, which rounding can reorder."""
    scored = [f for f in finalists if f["mean"] is not None]
    if not scored:
        raise ValueError("no finalist finished, so none was chosen")
    best = max(scored, key=lambda f: f["mean"])
    within = [f for f in scored if f["within"]]
    if chosen_label not in [f["label"] for f in within]:
        raise ValueError(f"the chosen {chosen_label!r} must lie within the band")
    band = f"one standard error ({points(se)} points) of the best, {best['label']} ({pct(best['mean'])})"
    if len(within) == 1:
        others = sorted((f for f in scored if f is not best), key=lambda f: -f["mean"])
        if not others:
            return f"one finalist finished, {best['label']}, and it is chosen"
        gap = best["mean"] - others[0]["mean"]
        return (
            f"no other finalist lies within {band}: the next, {others[0]['label']}, is {points(gap)} points "
            f"behind, {num(gap / se, 1)} standard errors, so the choice would move only if rounding moved a "
            "finalist by more than that"
        )
    chosen = "the best itself" if chosen_label == best["label"] else chosen_label
    head = f"{len(within)} of the {len(scored)} finalists lie within {band}"
    cost = next(f["gflop_per_epoch"] for f in within if f["label"] == chosen_label)
    peers = [f["label"] for f in within if f["label"] != chosen_label and f["gflop_per_epoch"] == cost]
    if peers:
        shared = (
            "they share their layer sizes"
            if len(peers) + 1 == len(within)
            else f"the {len(peers) + 1} cheapest per epoch of them share their layer sizes"
        )
        pick = (
            "the best of them is chosen" if chosen_label == best["label"] else f"the best of them, {chosen}, is chosen"
        )
        cheaper = sorted((f for f in scored if f["gflop_per_epoch"] < cost), key=lambda f: -f["mean"])
        if cheaper:  # all outside the band, or the rule would have taken one of them
            gap = best["mean"] - se - cheaper[0]["mean"]
            sizes = (
                "it could change the layer sizes only by carrying a finalist across the band's edge; the nearest "
                f"cheaper one, {cheaper[0]['label']}, lies {points(gap)} points below that edge"
            )
        elif all(f["gflop_per_epoch"] == cost for f in scored):
            sizes = "every finalist has these layer sizes, so rounding cannot change them"
        else:
            sizes = "only a finalist crossing the band's edge would change the layer sizes"
        return (
            f"{head}; {shared}, and {pick}. The validation set cannot tell it from {listing(peers)}, so rounding "
            f"alone could swap {'the two' if len(peers) == 1 else 'them'}; {sizes}"
        )
    return (
        f"{head}, and the cheapest per epoch of them, {chosen}, is chosen: rounding that reorders the finalists "
        "inside the band leaves the choice where it is; only a finalist crossing the band's edge would move it"
    )


# what the report compares its multilayer networks with, per data set (each with its table)
PUBLISHED_MLP = {
    "mnist": (
        "For comparison, the reference hand-in reported about 98%, and Simard et al. (2003, Table 1) 98.4% "
        "for a 784-800-10 network trained with cross-entropy and no distortions."
    ),
    "fashion-mnist": (
        "For comparison, Xiao et al. (2017, Table 3) report 87.0% for scikit-learn's multilayer perceptron "
        "with ReLU hidden layers of 100 and 10 units, and 89.7% for their best model, a support vector "
        "machine with a Gaussian kernel."
    ),
}


def published_comparison(dataset: str) -> str:
    """The published results on ``dataset`` the multilayer network is read
    against (:data:`PUBLISHED_MLP`), or a sentence saying there are none."""
    return PUBLISHED_MLP.get(dataset, f"The report quotes no published result on {prose_dataset(dataset)}.")


def monitors(m: Mapping) -> str:
    """How the epochs chosen on the validation accuracy compare with those
    the validation loss would have chosen, from
    :func:`dlia_a2.studies.compare_monitors`."""
    of = m["of"]
    if m["same"] == of:
        return (
            f"the validation loss would have chosen the same epoch in each of the {of} runs, "
            "so here the choice of score changes nothing"
        )
    parts = [f"an earlier epoch in {m['later']}"] if m["later"] else []
    if m["same"]:
        parts.append(f"the same epoch in {m['same']}")
    if m["earlier"]:
        parts.append(f"a later one in {m['earlier']}")
    gain = {k: signed(v) for k, v in m["test_accuracy_gain_points"].items() if k in ("mean", "min", "max")}
    return (
        f"of the {of} runs, the validation loss would have chosen {listing(parts)}; the test accuracy at the "
        f"epochs chosen on accuracy differs from that at the epochs the loss would choose by "
        f"{gain['mean']} points on average (from {gain['min']} to {gain['max']})"
    )


# Srivastava et al. (2014), Table 2: ReLU dropout networks on MNIST without
# data augmentation or pretraining, 3x1024 without max-norm (1.25% error) to
# 2x8192 with it (0.95%)
DROPOUT_MNIST_RANGE = (0.9875, 0.9905)


def regularisation(study: Mapping, dataset: str) -> dict:
    """The numbers and phrases the regularisation paragraph quotes, from
    :func:`dlia_a2.studies.regularisation_study` (without its curves)
    and the data set's name."""
    settings, chosen, runner_up = study["settings"], study["chosen"], study["runner_up"]
    if runner_up is None:
        raise ValueError("the study compared one setting only; give it two or more to choose between")
    best = settings[chosen]["at_chosen_epoch"]["val_accuracy"]
    gap = best - settings[runner_up]["at_chosen_epoch"]["val_accuracy"]
    low, high = DROPOUT_MNIST_RANGE
    epochs = settings[chosen]["config"]["epochs"]  # the chosen setting's own run, not the base's
    refit = study.get("refit", {})
    if dataset == "mnist":
        # the benchmark's networks train on all its training images: the refit, when there is one, is the fair reading
        ours, trained, spans = (
            (refit[chosen]["test_accuracy"]["mean"], "retrained on all training images",
             [r["epochs"] for r in refit[chosen]["seeds"].values()])
            if chosen in refit
            else (study["test_accuracy"]["mean"], "on the training split", [epochs])
        )  # fmt: skip
        here = f"{min(spans)}" if min(spans) == max(spans) else f"{min(spans)} to {max(spans)}"
        published = (
            f"Srivastava et al. (2014, Table 2) report {pct(low, 2)} to {pct(high, 2)} on MNIST for ReLU dropout "
            f"networks without augmentation or pretraining, 1,024 to 8,192 units wide ({pct(low, 2)} without "
            f"max-norm, the rest with it) and trained far longer than the {here} epochs of the networks read here. The "
            f"setting chosen on validation ({chosen}), {trained}, {against_range(ours, low, high)}."
        )
    else:
        published = f"The dropout papers report no result on {prose_dataset(dataset)} to set beside this one."
    return {
        "chosen_val_accuracy": best,
        "chosen_epoch": settings[chosen]["chosen_epoch"],
        "runner_up_gap": gap,
        "runner_up": separable(gap, study["val_accuracy_se"])
        + (", so the lower validation loss breaks it" if gap == 0 else "")
        + close_behind(settings, chosen, runner_up, study["val_accuracy_se"]),
        "n_seeds": len(study["seeds"]),
        "seed_epochs": listing([str(s["chosen_epoch"]) for s in study["seeds"].values()]),
        "monitors": monitors(study["monitors"]),
        "published": published,
        # the published range quoted, kept with the numbers the report prints
        "published_range": [low, high] if dataset == "mnist" else None,
        "paired": {name: paired(name, c) for name, c in study.get("paired", {}).items()},
        # the refits (Algorithm 7.2): what the validation images add, and the paired comparison among refits
        "refit_gain": {name: paired(name, r["gain"]) for name, r in refit.items()},
        "refit_epochs": {name: listing([str(r["epochs"]) for r in s["seeds"].values()]) for name, s in refit.items()},
        "refit_paired": {name: paired(name, c) for name, c in study.get("refit_paired", {}).items()},
        # each augmented run beside the run it is compared with: how well each fits, and its gap to validation
        "augmentation": {
            name: augmentation(name, twin, *(_with_config(study, n) for n in (name, twin)), study["n_fit"])
            for name, twin in study.get("twins", {}).items()
        },
    }


def _with_config(study: Mapping, name: str) -> dict:
    """A setting's ``by_seed`` readings with its ``config`` (from
    ``settings``, or ``apart`` for one run apart)."""
    config = {**study.get("settings", {}), **study.get("apart", {})}[name]["config"]
    return {**study["by_seed"][name], "config": config}


def close_behind(settings: Mapping, chosen: str, runner_up: str, standard_error: float) -> str:
    """The settings besides the runner-up that the validation set cannot
    tell from the chosen either (less than two standard errors behind), as
    ``"; nor can it tell none (0.04 points behind) from the chosen"``, or
    ``""``."""
    best = settings[chosen]["at_chosen_epoch"]["val_accuracy"]
    gaps = {
        name: best - s["at_chosen_epoch"]["val_accuracy"]
        for name, s in settings.items()
        if name not in (chosen, runner_up)
    }
    close = [(name, gap) for name, gap in gaps.items() if gap < SEPARATING_STANDARD_ERRORS * standard_error]
    if not close:
        return ""
    named = listing([f"{name} ({points(gap)} points behind)" for name, gap in sorted(close, key=lambda c: c[1])])
    return f"; nor can it tell {named} from the chosen"


def against_range(value: float, low: float, high: float) -> str:
    """Where ``value`` lies against a published range ``low``–``high``,
    inside it measured from the nearer end (as printed, to 0.01 points)."""
    below, above = round(100 * (low - value), 2), round(100 * (value - high), 2)  # as printed
    if below > 0:
        return f"stays {below:.2f} points below that range"
    if above > 0:
        return f"lies {above:.2f} points above that range"
    if value < low or value > high:
        return "lies at the edge of that range (less than 0.01 points outside it)"
    above_low, below_high = round(100 * (value - low), 2), round(100 * (high - value), 2)
    if above_low <= below_high:
        end = f"{above_low:.2f} points above its low end" if above_low else "at its low end"
    else:
        end = f"{below_high:.2f} points below its high end" if below_high else "at its high end"
    return f"lies within that range, {end}"


# the settings that augment the training data; any other setting two compared runs differ in is named
AUGMENTING = ("shift_pixels",)
# TrainConfig's fields as the prose names them (a field not listed: its name, spaced)
SETTING_WORDS = {"dropout": "hidden-unit dropout", "input_dropout": "input dropout", "learning_rate": "learning rate",
                 "lr_schedule": "schedule", "batch_size": "batch size", "layer_sizes": "layer sizes",
                 "optimizer": "optimiser", "weight_decay": "weight decay", "max_norm": "max-norm",
                 "eval_every": "evaluation points"}  # fmt: skip


def augmentation(name: str, twin: str, augmented: Mapping, plain: Mapping, n_fit: int) -> str:
    """How an augmented run and the run it is set beside compare, from the
    means over seeds of :func:`dlia_a2.studies.regularisation_study`'s
    ``by_seed`` readings (``augmented`` of ``name``, ``plain`` of ``twin``,
    each with its ``config``): their accuracy at their chosen epochs on the
    ``n_fit`` images they trained on, without the augmentation, and on the
    validation images; how much lower or higher the augmented run's training
    accuracy is; and the gap from training to validation accuracy of each.

    It describes and does not explain: when the two runs differ in more than
    the augmentation (:data:`AUGMENTING`), those settings are named, since
    any of them moves both numbers too. Differences are of the percentages
    as printed, so that the reader's subtraction agrees."""
    if set(augmented["seeds"]) != set(plain["seeds"]):
        raise ValueError(f"{name} and {twin} ran on other seeds; compare runs on the same seeds")
    fit, val, fit_plain, val_plain = (
        round(100 * r[k]["mean"], 2) for r in (augmented, plain) for k in ("fit_accuracy", "val_accuracy")
    )
    moved = round(fit - fit_plain, 2)
    lower = f"{abs(moved):.2f} points {'higher' if moved > 0 else 'lower'}" if moved else "the same"

    def gap(a: float, b: float) -> str:
        return f"{round(a - b, 2):.2f}".replace("-", "\u2212")

    others = sorted(  # in one order whatever the configs' key order (metrics.json sorts its keys)
        SETTING_WORDS.get(k, k.replace("_", " "))
        for k in augmented["config"]
        if k not in AUGMENTING and augmented["config"][k] != plain["config"].get(k)
    )
    also = f"; the two runs also differ in {listing(others)}" if others else ""
    return (
        f"On the {count(n_fit)} images it trained on, without the augmentation, the {name} scores {fit:.2f}% "
        f"({twin}: {fit_plain:.2f}%) and on the validation images {val:.2f}% ({val_plain:.2f}%): its training "
        f"accuracy is {lower}, and the gap from training to validation accuracy is {gap(fit, val)} points against "
        f"{gap(fit_plain, val_plain)} (means of {plural(len(augmented['seeds']), 'seed')}{also})"
    )


def paired(name: str, comparison: Mapping) -> str:
    """A setting against the unregularised network on the same seeds, from
    :func:`dlia_a2.studies.paired_difference`: the mean difference, on how
    many seeds it leads, and whether the difference exceeds the seed spread
    (the larger standard deviation over the seeds of the two)."""
    d, n, sd = comparison["diff_points"], len(comparison["seeds"]), comparison["seed_sd_points"]
    mean, low, high = (signed(d[k]) for k in ("mean", "min", "max"))
    if n < 2:
        return f"{name} differs by {mean} points on one seed: one seed gives no spread to read it against"
    verdict = "more than" if abs(d["mean"]) > sd else "not more than"
    return (
        f"{name} differs by {mean} points on average ({low} to {high}; ahead on {comparison['leads']} of the {n} "
        f"seeds), {verdict} the seed spread of {sd:.2f} points"
    )


# --- Exercise 3: optimisers and errors -------------------------------------------


def optimizer_ranking(val_accuracy: Mapping[str, float], standard_error: float) -> str:
    """Which optimiser leads on the validation set and whether the lead is
    real: a sentence from each optimiser's validation accuracy."""
    if len(val_accuracy) < 2:
        raise ValueError(f"need two optimisers or more, got {len(val_accuracy)}")
    ranked = sorted(val_accuracy.items(), key=lambda kv: -kv[1])
    (first, a), (second, b) = ranked[0], ranked[1]
    worst = ranked[-1][1]
    tied = [n for n, v in ranked if v == a]
    k = _STANDARD_ERRORS_WORD
    if len(tied) == len(ranked):
        return f"all {len(ranked)} tie at {pct(a)}: at this budget they cannot be told apart"
    if len(tied) > 1:
        lead = f"{listing(tied)} tie for the highest validation accuracy ({pct(a)})"
        b = ranked[len(tied)][1]  # the next below the tie
    else:
        lead = f"{first} has the highest validation accuracy ({pct(a)})"
    if a - worst < SEPARATING_STANDARD_ERRORS * standard_error:
        return f"{lead}, but all {len(ranked)} lie within {k} standard errors: at this budget they cannot be told apart"
    if len(tied) == 1 and a - b < SEPARATING_STANDARD_ERRORS * standard_error:
        return (
            f"{lead}, but {first} and {second} lie within {k} standard errors: "
            "at this budget the validation set cannot tell them apart"
        )
    if a - b < SEPARATING_STANDARD_ERRORS * standard_error:
        return f"{lead}, but the next lies within {k} standard errors of them"
    return f"{lead}, {k} standard errors or more ahead of the next"


def confidence(p_min: float) -> str:
    """The lowest probability among confident mistakes: ``"more than
    0.9999"`` from :data:`NEAR_CERTAIN` on (where four digits would print
    1.0000), else ``"at least 0.9876"``, rounded down (0.99946 is "at
    least 0.9994", never "at least 0.9995")."""
    if p_min != p_min:  # NaN: no mistakes to show
        return "nothing: no test image is wrong"
    _check_fraction("p_min", p_min)
    if p_min >= NEAR_CERTAIN:
        return "more than 0.9999"
    return f"at least {math.floor(p_min * 10_000) / 10_000:.4f}"  # rounded down: "at least" stays true


def most_confused(pairs: Sequence[Mapping], class_names: Sequence[str]) -> str:
    """The most frequent confusion, from
    :func:`dlia_a2.analysis.most_confused_pairs` (all pairs tied at the top
    count): one pair is named, a tie is called a tie."""
    if not pairs:
        return "there is no confusion: every test image is right"

    def name(p):
        return f"a true {class_names[p['true']]} taken for a {class_names[p['predicted']]}"

    n = pairs[0]["count"]
    if len(pairs) == 1:
        return f"the most frequent confusion is {name(pairs[0])} ({plural(n, 'image')})"
    return f"the most frequent confusions tie at {plural(n, 'image')} each: {listing([name(p) for p in pairs])}"
