"""The README's results table, from a build's ``metrics.json``; written
between the README's ``<!-- results-table -->`` markers by
:func:`dlia_a2.files.write_between_markers`."""

from __future__ import annotations

import json
from pathlib import Path

README_MARKER = "results-table"


def readme_table(build: Path) -> str:
    """The README's results table, from a build's metrics.json: each result
    with the weights it was read from (the last iterate of a run, or the
    epoch chosen on validation) and, for a last iterate, the range of the
    test accuracy over the epochs before it."""
    m = json.loads((build / "metrics.json").read_text())
    env = json.loads((build / "environment.json").read_text())
    nb = m["notebooks"]
    e1, e2, e3 = nb["1_partial_derivatives"], nb["2_one_layer"], nb["3_multilayer"]
    p2, p3 = e2["parameters"], e3["parameters"]
    ch, runs, reg, summary = e3["chosen"], e3["long_runs"], e3["regularisation"], e3["summary"]
    s, l = str(p3["short_epochs"]), str(p3["epochs"])
    arch = lambda sizes: "-".join(map(str, sizes))
    pct = lambda x: f"{x:.2%}"
    between = lambda r: f"{pct(r['min'])}–{pct(r['max'])} over epochs {r['from_epoch']}–{r['to_epoch']}"
    n_all = e3["n_fit_images"] + reg["n_val"]

    def long_run(name: str) -> str:
        sm = summary[name]
        return (
            f"last iterates after {s} and {l} epochs | {pct(runs[name][s]['test_accuracy'])} and "
            f"{pct(runs[name][l]['test_accuracy'])} ({between(sm['short_range'])}; {between(sm['last_range'])}) |"
        )

    r2 = e2["test_accuracy_range"]
    rows = [
        "| exercise | network and training | weights read | test result |",
        "|---|---|---|---|",
        f"| 1 | gradient of the mean cross-entropy, formula vs. centred finite differences "
        f"({e1['n_pairs']} weights, 10 biases, {e1['n_samples']} images, float64) | — | largest "
        f"relative error {e1['max_rel_error_formula_vs_fd']:.1e} |",
        f"| 2 | 784-10 softmax, SGD, learning rate {p2['learning_rate']:g}, batch {p2['batch_size']}, "
        f"{p2['epochs']} epochs on {e2['n_train_images']:,} training images | last iterate | accuracy "
        f"**{pct(e2['test_accuracy'])}** ({pct(r2['min'])}–{pct(r2['max'])} at the {r2['points']} evaluation "
        f"points of epochs {r2['from_epoch']}–{r2['to_epoch']}) |",
        f"| 3 | chosen on validation: {arch(ch['layer_sizes'])} {ch['activation']}, learning rate "
        f"{ch['learning_rate']:g}, batch {ch['batch_size']}, {ch['init']} init, on {n_all:,} training images "
        f"(the validation images included) | {long_run('chosen')}",
        f"| 3 | the same with {len(p3['seeds'])} seeds, {p3['seed_epochs']} epochs | last iterates | mean ± sd "
        f"**{pct(e3['seed_mean'])} ± {pct(e3['seed_std'])}** (any run: {between(e3['seed_range'])}) |",
        f"| 3 | the reference hand-in's: 784-{'-'.join(map(str, p3['reference_hidden_sizes']))}-10 "
        f"ReLU, learning rate {p3['reference_learning_rate']:g}, batch "
        f"{p3['reference_batch_size']}, N(0, 0.01²) init | {long_run('reference')}",
        f"| 3 | regularised, chosen on validation among weight decay {p3['regularisation_weight_decay']:g}, "
        f"dropout {p3['regularisation_dropout']:g} and both: {reg['chosen']}, {p3['regularisation_epochs']} "
        f"epochs on the {e3['n_fit_images']:,} images of the training split, {len(reg['seeds'])} seeds | "
        f"each run's epoch of highest {reg['monitor'].replace('val_', 'validation ')} (early stopping) | "
        f"mean ± sd **{pct(reg['test_accuracy']['mean'])} ± {pct(reg['test_accuracy']['std'])}** "
        f"(last iterates: {pct(reg['last_test_accuracy']['mean'])}) |",
        "",
        f"Built {env['built']} from commit `{env['git_commit'][:10]}` on {env['cpu']} ({env['cores']} cores).",
    ]
    return "\n".join(rows)
