"""Every verdict and every caption of the built report held to the numbers
in its ``metrics.json`` (issue 20).

A verdict phrase is recorded by a notebook from numbers it also records;
here each one is computed again, by the same function of :mod:`dlia_a2.verdicts`,
from the recorded numbers alone, and must come out the same. A verdict key
this table does not know fails the test, so a new phrase cannot go
unchecked. Every number in a figure's or a table's caption must be a value
of the metrics (its parameters included)."""

import json
import math
import re
import subprocess
from pathlib import Path

import pytest

from dlia_a2 import verdicts as v
from dlia_a2.prose import g, num, pct

pytestmark = [pytest.mark.slow, pytest.mark.data]

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "report" / "build" / "mnist-small"


@pytest.fixture(scope="module")
def metrics():
    subprocess.run(["make", "--no-print-directory", "report", "CONFIG=small", "DATASET=mnist"], cwd=ROOT, check=True)
    return json.loads((OUT / "metrics.json").read_text())


def _stage1_grids(m):
    p = m["parameters"]
    return {"learning rate": p["search_learning_rates"], "batch size": p["search_batch_sizes"]}


# (notebook, key) -> the verdict computed again from that notebook's metrics m (and the data set's name)
RECOMPUTED = {
    ("1_partial_derivatives", "formulas_verdict"): lambda m, d: v.formulas_hold(
        max(m["max_rel_error_formula_vs_fd"], m["max_rel_error_code_vs_fd"])
    ),
    ("2_one_layer", "reading_verdict"): lambda m, d: v.reading_stability(m["test_accuracy_range"]["spread_points"]),
    ("2_one_layer", "loss_order_verdict"): lambda m, d: v.loss_order(m["loss_order"]),
    ("2_one_layer", "centroid_verdict"): lambda m, d: v.easier_set(
        m["nearest_centroid_test_accuracy"], m["nearest_centroid_train_accuracy"]
    ),
    ("2_one_layer", "rungs_verdict"): lambda m, d: v.on_rungs(m["ladder"]["all_on_rungs"]),
    ("2_one_layer", "blank_pixels_verdict"): lambda m, d: v.blank_pixels(
        m["mean_abs_weight_rare"], m["mean_abs_weight_ink"], m["initial_mean_abs_weight"]
    ),
    ("3_multilayer", "diverged_verdict"): lambda m, d: v.diverged(m["n_diverged"]),
    ("3_multilayer", "batch_verdict"): lambda m, d: v.per_epoch(
        m["claims"]["batch"]["faster"], m["claims"]["batch"]["slower"]
    ),
    ("3_multilayer", "lr_claim_verdict"): lambda m, d: v.claim(
        *(m["claims"]["learning_rate"][k] for k in ("faster", "lower", "of"))
    ),
    ("3_multilayer", "best_lr_listing"): lambda m, d: v.best_lr_listing(m["best_lr_by_batch"]),
    ("3_multilayer", "best_lr_verdict"): lambda m, d: v.best_lr_trend(
        m["best_lr_by_batch"], m["parameters"]["search_learning_rates"]
    ),
    ("3_multilayer", "halving_listing"): lambda m, d: v.halving_listing(m["rungs"]),
    ("3_multilayer", "choice_verdict"): lambda m, d: v.one_standard_error(
        m["finalists"], m["choice_se"], m["chosen_label"]
    ),
    ("3_multilayer", "published_comparison"): lambda m, d: v.published_comparison(d),
    ("3_multilayer", "grid_edge_verdict"): lambda m, d: v.grid_edges(m["stage1_best"], _stage1_grids(m)),
    ("3_multilayer", "long_run_verdicts"): lambda m, d: {name: v.long_run(s) for name, s in m["summary"].items()},
    ("3_multilayer", "regularisation_verdicts"): lambda m, d: v.regularisation(m["regularisation"], d),
    ("3_multilayer", "optimizer_verdict"): lambda m, d: v.optimizer_ranking(
        {name: row["val_accuracy"] for name, row in m["optimizers"].items()}, m["optimizer_se"]
    ),
    ("3_multilayer", "confidence_verdict"): lambda m, d: v.confidence(m["mistake_confidence_min"]),
    ("3_multilayer", "confusion_verdict"): lambda m, d: v.most_confused(m["most_confused"], m["class_names"]),
}


def verdict_keys(notebooks: dict) -> set:
    return {
        (name, key)
        for name, m in notebooks.items()
        for key in m
        if "verdict" in key or key.endswith(("_listing", "_comparison"))
    }


def test_every_verdict_follows_from_the_recorded_numbers(metrics):
    notebooks = metrics["notebooks"]
    assert verdict_keys(notebooks) == set(RECOMPUTED), "a verdict was added or removed: list how to recompute it here"
    for (name, key), again in RECOMPUTED.items():
        recorded = json.loads(json.dumps(again(notebooks[name], metrics["dataset"])))  # as metrics.json stores it
        assert notebooks[name][key] == recorded, (name, key)


def test_a_verdict_the_table_does_not_know_fails():
    notebooks = {"2_one_layer": {"reading_verdict": "x", "new_verdict": "y"}}
    assert verdict_keys(notebooks) - set(RECOMPUTED) == {("2_one_layer", "new_verdict")}


NUMBER = re.compile(r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
# numbers a caption may name that no run computes: the 28x28 image side and the
# assignment's N(0, 0.01²) initialisation
CONSTANTS = {"28", "0", "0.01"}


def shown_values(tree) -> set:
    """Every way the report prints a number of the metrics: as an integer
    (with or without thousands commas), by ``g``, as a percentage, with 1 to
    4 decimals, and with 4 rounded down (a bound, "at least 0.9984" for
    0.99848: :func:`dlia_a2.verdicts.confidence`); lists also by their
    length, layer sizes also joined by "-"."""
    out = set()

    def walk(x):
        if isinstance(x, bool):
            return
        if isinstance(x, (int, float)):
            if float(x).is_integer():
                out.update({str(int(x)), f"{int(x):,}"})
            out.update({g(x), pct(x).rstrip("%"), *(num(x, k) for k in range(1, 5))})
            out.add(f"{math.floor(x * 10_000) / 10_000:.4f}")
        elif isinstance(x, dict):
            for key, value in x.items():
                if isinstance(key, str) and key.isdigit():
                    out.add(key)  # epochs as keys: long_runs["100"]
                walk(value)
        elif isinstance(x, (list, tuple)):
            out.add(str(len(x)))
            for value in x:
                walk(value)
        elif isinstance(x, str) and re.fullmatch(NUMBER, x):
            out.add(x)

    walk(tree)
    return out


def unknown_numbers(text: str, known: set) -> list[str]:
    return [t for t in NUMBER.findall(text) if t not in known and t not in CONSTANTS]


def captions(metrics) -> dict:
    """Figure captions from the metrics; table captions from the report's HTML."""
    out = {}
    for name, m in metrics["notebooks"].items():
        for fig, entry in m.get("figures", {}).items():
            out[f"{name}: figure {fig}"] = (name, entry["caption"])
    page = (OUT / "report.html").read_text()
    for label, number, text in re.findall(r"<strong>(Table (\d)\.\d+)\.</strong>(.*?)</p>", page, flags=re.S):
        out[label] = (
            ["1_partial_derivatives", "2_one_layer", "3_multilayer"][int(number) - 1],
            re.sub(r"<[^>]+>", "", text),
        )
    return out


def test_every_number_in_a_caption_is_a_value_of_the_metrics(metrics):
    found = captions(metrics)
    assert sum(key.startswith("Table") for key in found) >= 4 and len(found) >= 10, sorted(found)
    wrong = {}
    for where, (name, caption) in found.items():
        known = shown_values(metrics["notebooks"][name])
        if bad := unknown_numbers(caption, known):
            wrong[where] = bad
    assert not wrong, f"numbers in captions that metrics.json does not hold: {wrong}"


def test_the_caption_check_can_fail():
    known = shown_values({"epochs": 30, "learning_rate": 0.1, "n_train": 60000, "layer_sizes": [784, 100, 10]})
    assert unknown_numbers("784-100-10 network, 60,000 images, learning rate 0.1, 30 epochs, 28x28", known) == []
    assert unknown_numbers("after 31 epochs at learning rate 0.2, 6,000 images", known) == ["31", "0.2", "6,000"]
    bound = shown_values({"mistake_confidence_min": 0.9984760880470276})
    assert unknown_numbers("at a probability of at least 0.9984", bound) == []  # rounded down, as printed
    assert unknown_numbers("at least 0.9983, or 0.9986", bound) == ["0.9983", "0.9986"]
