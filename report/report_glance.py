""" "Results at a glance": one short table that answers each exercise, with
the weights each number was read from and its spread. The same table opens
the report (page 1) and the README's results section, both written from a
build's ``metrics.json``, so the two cannot disagree."""

from __future__ import annotations

import html
import re

from dlia_a2.prose import dataset as dataset_name
from dlia_a2.prose import pct, plural, points, sci

HEADERS = ("exercise", "question", "answer", "read from")
# activations as the literature writes them
ACTIVATIONS = {"relu": "ReLU", "sigmoid": "sigmoid"}


def _arch(sizes) -> str:
    return "-".join(map(str, sizes))


def _between(r: dict) -> str:
    return f"{pct(r['min'])}–{pct(r['max'])} over epochs {r['from_epoch']}–{r['to_epoch']}"


def glance_rows(notebooks: dict, dataset: str) -> list[tuple[str, str, str, str]]:
    """The rows of the table, from the ``notebooks`` part of a build's
    combined ``metrics.json``: (exercise, question, answer, read from).

    Every number comes from the metrics; a row whose notebook is missing
    from the build is left out."""
    rows = []
    e1 = notebooks.get("1_partial_derivatives")
    if e1:
        rows.append(
            (
                "1",
                "the gradient of the mean cross-entropy $J$",
                r"$\partial J/\partial b_m = \frac{1}{n}\sum_i (p_{im} - y_{im})$ and "
                r"$\partial J/\partial w_{mj} = \frac{1}{n}\sum_i (p_{im} - y_{im})\, x_{ij}$; "
                f"the formulas {e1['formulas_verdict']}",
                f"largest relative difference from centred finite differences {sci(e1['max_rel_error_formula_vs_fd'])} "
                f"({e1['n_pairs']} weights, {e1['n_classes']} biases, float64)",
            )
        )
    e2 = notebooks.get("2_one_layer")
    if e2:
        p, r = e2["parameters"], e2["test_accuracy_range"]
        rows += [
            (
                "2",
                f"test accuracy of the one-layer softmax network on {dataset_name(dataset)}",
                f"**{pct(e2['test_accuracy'])}**",
                f"the last update of epoch {p['epochs']} (learning rate {p['learning_rate']:g}, batch "
                f"{p['batch_size']}, one seed); {pct(r['min'])}–{pct(r['max'])} at the {r['points']} evaluation "
                f"points of epochs {r['from_epoch']}–{r['to_epoch']}",
            ),
            (
                "2",
                "what the ten weight vectors show",
                f"a template of each class: the filter of class m correlates best with the mean image of class m "
                f"for {e2['filters_matching']} classes",
                "the same weights",
            ),
        ]
    e3 = notebooks.get("3_multilayer")
    if e3:
        p, ch, reg = e3["parameters"], e3["chosen"], e3["regularisation"]
        ref = e3["summary"]["reference"]
        n_seeds = len(e3["seed_test_accuracy"])
        within = sum(f["within"] for f in e3["finalists"])
        # the one-standard-error rule takes the cheapest in the band; when all cost the same, the best of them
        costs = {f["gflop_per_epoch"] for f in e3["finalists"] if f["within"]}
        rule = "the best" if within > 1 and len(costs) == 1 else "the cheapest"
        alike = ", all equally cheap" if rule == "the best" else ""
        rows += [
            (
                "3",
                "the network chosen on the validation set",
                f"{_arch(ch['layer_sizes'])} {ACTIVATIONS.get(ch['activation'], ch['activation'])}, "
                f"learning rate {ch['learning_rate']:g}, "
                f"batch {ch['batch_size']}",
                f"mean validation accuracy {pct(e3['chosen_val_accuracy'])} on "
                f"{plural(len(e3['finalists'][0]['val_accuracy']), 'seed')} after "
                f"{plural(p['halving_max_epochs'], 'epoch')}: {rule} of the {within} of "
                f"{len(e3['finalists'])} finalists within one standard error ({points(e3['choice_se'])} points) of "
                f"the best{alike}; {e3['n_search_configs']} configurations trained in stage 1 and the halving",
            ),
            (
                "3",
                "its test accuracy",
                f"**{pct(e3['seed_mean'])} ± {pct(e3['seed_std'])}**",
                f"mean ± sd of {n_seeds} seeds, the last update of epoch {p['seed_epochs']}, the end of a cosine "
                f"schedule, trained on the {e3['n_fit_images']:,} images of the training split; any run "
                f"{_between(e3['seed_range'])}",
            ),
            (
                "3",
                f"the reference hand-in's {e3['reference_arch']} (learning rate {p['reference_learning_rate']:g}, "
                f"batch {p['reference_batch_size']})",
                f"{pct(ref['short']['test_accuracy'])} after {p['short_epochs']} epochs, "
                f"{pct(ref['last']['test_accuracy'])} after {p['epochs']}",
                f"one seed, last updates at a constant rate on every training image; {_between(ref['short_range'])}, "
                f"{_between(ref['last_range'])}",
            ),
            (
                "3",
                (
                    "regularisation: none chosen on validation (early stopping only)"
                    if reg["chosen"] == "none"
                    else f"regularised: {reg['chosen']}, chosen on validation"
                ),
                f"**{pct(reg['test_accuracy']['mean'])} ± {pct(reg['test_accuracy']['std'])}**",
                f"mean ± sd of {len(reg['seeds'])} seeds, each read at the one of its "
                f"{reg['settings'][reg['chosen']]['config']['epochs']} epochs with the highest validation accuracy"
                + (
                    f"; against the unregularised network on the same seeds, the "
                    f"{e3['regularisation_verdicts']['paired'][reg['chosen']]}"
                    if reg["chosen"] in e3["regularisation_verdicts"]["paired"]
                    else ""
                ),
            ),
            *(
                (
                    "3",
                    f"{name}, retrained on all {r['n_images']:,} training images",
                    f"**{pct(r['test_accuracy']['mean'])} ± {pct(r['test_accuracy']['std'])}**",
                    f"mean ± sd of {len(r['seeds'])} seeds, the last update of each, trained for the epochs "
                    f"({e3['regularisation_verdicts']['refit_epochs'][name]}) its run on the training split chose by "
                    f"validation accuracy, on a cosine schedule ending there (after Goodfellow et al. 2016, "
                    f"Algorithm 7.2, in epochs rather than updates)",
                )
                for name, r in reg.get("refit", {}).items()
            ),
            *(
                (
                    "3",
                    f"{name}, reported apart from the results without augmentation",
                    f"{pct(r['test_accuracy']['mean'])} ± {pct(r['test_accuracy']['std'])}",
                    f"mean ± sd of {len(r['seeds'])} seeds, each read at the one of its "
                    f"{reg['apart'][name]['config']['epochs']} epochs with the highest validation accuracy",
                )
                for name, r in reg.get("by_seed", {}).items()
                if name in reg.get("apart", {})
            ),
        ]
    return rows


def glance_markdown(notebooks: dict, dataset: str) -> str:
    """The table as Markdown (a pipe in a cell is escaped)."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|---|---|---|---|"]
    for row in glance_rows(notebooks, dataset):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)


def glance_html(notebooks: dict, dataset: str) -> str:
    """The table as HTML, ``<table class="glance">``: its cells wrap, where
    every other table of the report keeps each cell on one line."""
    bold = lambda text: re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text))
    head = "".join(f"<th>{h}</th>" for h in HEADERS)
    body = "".join(
        "<tr>" + "".join(f"<td>{bold(cell)}</td>" for cell in row) + "</tr>" for row in glance_rows(notebooks, dataset)
    )
    return f'<table class="glance"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
