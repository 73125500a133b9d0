"""The summaries the report quotes from finished runs: a long run at two
points, runs that differ only in their seed, and the optimiser comparison.
Every function reads histories and returns plain data (or table rows);
nothing here trains.
"""

from __future__ import annotations

import numpy as np

from dlia_a2 import analysis
from dlia_a2.history import History


def _check_epoch(history: History, epoch: int, name: str = "epoch") -> None:
    recorded = len(history.epoch_ends())
    if not 1 <= epoch <= recorded:
        raise ValueError(
            f"{name} = {epoch} was not recorded: the run has recorded epochs 1 to {recorded}; "
            f"pass an epoch in that range"
        )


def at_epoch(history: History, epoch: int, names=("train", "test")) -> dict:
    """The whole-set losses and accuracies recorded at the end of ``epoch``.

    Parameters
    ----------
    history : the run, with whole-set losses and accuracies of ``names``.
    epoch : int, from 1 to the number of epochs recorded.
    names : the evaluation sets to read.

    Returns
    -------
    dict
        ``<name>_loss`` and ``<name>_accuracy`` of each of ``names``.

    Raises
    ------
    ValueError
        If ``epoch`` lies outside the epochs recorded.
    """
    _check_epoch(history, epoch)
    i = history.epoch_ends()[epoch - 1]
    return {f"{s}_{m}": float(history[f"{s}_{m}"][i]) for s in names for m in ("loss", "accuracy")}


def long_run_summary(history: History, short_epochs: int, guard_epochs: int = 5) -> dict:
    """What a long run shows: the results after ``short_epochs`` and at the
    end (the weights of that step: the last iterate), the first epoch with
    every training image right (None if never), and the epoch of the lowest
    test loss, with that loss. ``short_range`` and ``last_range`` guard the
    two readings: :func:`analysis.end_range` of the test accuracy over the
    ``guard_epochs`` epochs up to each, at every evaluation point inside
    them; a run recorded with ``eval_every > 0`` thus guards the points
    between epoch ends too (``points`` says how many were read)."""
    _check_epoch(history, short_epochs, "short_epochs")
    ends = history.epoch_ends()
    test_loss, train_accuracy = history["test_loss"][ends], history["train_accuracy"][ends]
    perfect = np.flatnonzero(train_accuracy == 1.0)
    epochs = len(ends)
    short, last = at_epoch(history, short_epochs), at_epoch(history, epochs)
    return {
        "short": short,
        "short_epoch": short_epochs,
        "last": last,
        "epochs": epochs,
        "first_perfect_epoch": int(perfect[0]) + 1 if len(perfect) else None,
        "min_test_loss_epoch": int(np.argmin(test_loss)) + 1,
        "min_test_loss": float(test_loss.min()),
        "overfits": bool(np.argmin(test_loss) + 1 < epochs),
        "accuracy_change_points": 100 * (last["test_accuracy"] - short["test_accuracy"]),
        "short_range": analysis.end_range(history, short_epochs, guard_epochs),
        "last_range": analysis.end_range(history, epochs, guard_epochs),
    }


def spread(values) -> dict:
    """Mean, sample standard deviation (0 for one value), min and max."""
    a = np.asarray(values, dtype=float)
    return {
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
        "min": float(a.min()),
        "max": float(a.max()),
    }


def seed_summary(histories: dict, epoch: int, guard_epochs: int = 5) -> dict:
    """Runs that differ only in their seed, each read at the end of ``epoch``
    (its weights at that step), as the report records them.

    Returns
    -------
    dict
        ``seed_test_accuracy``: per seed (as a string); ``seed_mean``,
        ``seed_std``, ``seed_min``, ``seed_max``: their :func:`spread`;
        ``seed_range``: the guard, the lowest (``min``) and highest
        (``max``) test accuracy of any of the runs at any evaluation point
        of the ``guard_epochs`` epochs up to ``epoch`` (from ``from_epoch``
        to ``to_epoch``), as :func:`analysis.end_range` reads them.
    """
    if not histories:
        raise ValueError("no runs to summarise")
    ranges = {str(s): analysis.end_range(h, epoch, guard_epochs) for s, h in histories.items()}
    accuracy = {s: r["value"] for s, r in ranges.items()}
    window = next(iter(ranges.values()))
    return {
        "seed_test_accuracy": accuracy,
        **{f"seed_{k}": v for k, v in spread(list(accuracy.values())).items()},
        "seed_range": {
            "min": min(r["min"] for r in ranges.values()),
            "max": max(r["max"] for r in ranges.values()),
            "from_epoch": window["from_epoch"],
            "to_epoch": window["to_epoch"],
        },
    }


def optimizer_table(summary: dict, configs: dict, epochs: int):
    """Rows, headers and formats of the optimiser table; with one epoch the
    first and the last epoch are the same column."""
    acc_last = f"val. accuracy, epoch {epochs}"
    headers = ["optimiser", "learning rate", "val. accuracy, epoch 1", acc_last, "val. loss"]
    rows = [
        (n, f"{configs[n].learning_rate:g}", r["val_accuracy_epoch_1"], r["val_accuracy"], r["val_loss"])
        for n, r in summary["rows"].items()
    ]
    if epochs == 1:
        headers.pop(2)
        rows = [r[:2] + r[3:] for r in rows]
    return rows, headers, {h: "{:.4f}" for h in headers[2:]}


def optimizer_summary(histories: dict) -> dict:
    """Per optimiser: validation accuracy after the first and the last epoch
    and the final validation loss; ``winner`` and ``spread_points`` (best
    minus worst final accuracy, in percentage points)."""
    rows = {}
    for name, h in histories.items():
        ends = h.epoch_ends()
        rows[name] = {
            "val_accuracy_epoch_1": float(h["val_accuracy"][ends[0]]),
            "val_accuracy": float(h["val_accuracy"][ends[-1]]),
            "val_loss": float(h["val_loss"][ends[-1]]),
        }
    finals = {n: r["val_accuracy"] for n, r in rows.items()}
    return {
        "rows": rows,
        "winner": max(finals, key=finals.get),
        "spread_points": 100 * (max(finals.values()) - min(finals.values())),
    }
