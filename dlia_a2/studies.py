"""The studies of Exercise 3 built from several training runs: the
optimiser comparison's settings, and regularisation chosen on the
validation set and then measured on the test set. The runs go side by side
as :func:`dlia_a2.jobs.train_runs` runs them, checkpointed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlia_a2.config import TrainConfig
from dlia_a2.history import History
from dlia_a2.jobs import Run, train_runs
from dlia_a2.summaries import spread


def optimizer_configs(chosen: TrainConfig, epochs: int) -> dict:
    """The optimiser comparison: the chosen network with SGD at its learning
    rate, momentum 0.9 at a tenth of it (the same effective step, since
    momentum multiplies the step by 1 / (1 - 0.9)), and Adam at the 0.001 of
    its paper."""
    lr = chosen.learning_rate
    return {
        "SGD": chosen.replace(epochs=epochs, optimizer="sgd"),
        "momentum": chosen.replace(epochs=epochs, optimizer="momentum", momentum=0.9, learning_rate=lr / 10),
        "Adam": chosen.replace(epochs=epochs, optimizer="adam", learning_rate=0.001),
    }


# --- regularisation ------------------------------------------------------------------

NO_REGULARISATION = "none"


def epoch_curves(history: History) -> dict:
    """The whole-set columns of a history at its epoch ends, as plain lists:
    ``epoch`` and ``<set>_loss``, ``<set>_accuracy`` for every set."""
    ends = history.epoch_ends()
    names = ["epoch"] + [f"{s}_{m}" for s in history.set_names for m in ("loss", "accuracy")]
    return {n: [float(v) for v in history[n][ends]] for n in names}


def _at(curves: dict, epoch: int) -> dict:
    i = curves["epoch"].index(float(epoch))
    return {k: v[i] for k, v in curves.items() if k != "epoch"}


# the validation score an epoch can be chosen on, and the other one
MONITORS = {"val_accuracy": "val_loss", "val_loss": "val_accuracy"}


def compare_monitors(runs) -> dict:
    """How the epochs chosen on one validation score compare with those the
    other would have chosen, over runs of :func:`regularisation_study`
    (its ``settings`` and the chosen setting's other ``seeds``: each with
    ``chosen_epoch``, ``test_accuracy`` there and ``other_monitor``).

    Returns
    -------
    dict
        ``later``, ``same``, ``earlier``: how many runs had their epoch
        chosen later, at the same epoch or earlier than the other score
        would have chosen; ``of``: the number of runs;
        ``test_accuracy_gain_points``: the test accuracy at the chosen
        epochs minus that at the other score's, in percentage points, mean
        over the runs (``min`` and ``max`` too).
    """
    runs = list(runs)
    if not runs:
        raise ValueError("no runs to compare")
    later = same = earlier = 0
    gains = []
    for r in runs:
        other = r["other_monitor"]
        later += r["chosen_epoch"] > other["chosen_epoch"]
        same += r["chosen_epoch"] == other["chosen_epoch"]
        earlier += r["chosen_epoch"] < other["chosen_epoch"]
        gains.append(100 * (r["test_accuracy"] - other["test_accuracy"]))
    return {
        "later": later,
        "same": same,
        "earlier": earlier,
        "of": len(runs),
        "test_accuracy_gain_points": {"mean": float(np.mean(gains)), "min": min(gains), "max": max(gains)},
    }


def regularisation_study(
    base: TrainConfig,
    settings: dict,
    X_fit: np.ndarray,
    y_fit: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    checkpoint_dir,
    seeds=(0,),
    monitor: str = "val_accuracy",
    train_curve: bool = False,
    workers: int = 1,
    scheduler=None,
    label: str = "regularisation",
) -> dict:
    """Regularisation chosen on the validation set, then measured on the test set.

    1. ``base`` without regularisation (named ``"none"``) and ``base`` with
       each of ``settings`` (a name for each dict of changes, such as
       ``{"dropout": {"dropout": 0.3, "input_dropout": 0.2}, "weight decay":
       {"weight_decay": 5e-4}}``) are trained on ``X_fit`` with seed
       ``seeds[0]``. Every run keeps the weights of its epoch with the best
       ``monitor``, ``"val_accuracy"`` or ``"val_loss"`` (early stopping,
       ``keep_best``); it runs all ``base.epochs``, so the curves show what
       follows, and the epoch the other score would have chosen is known too.
    2. The setting (or ``"none"``) with the highest validation accuracy at its
       chosen epoch is chosen (ties: the lower validation loss there, then
       the first); it is trained again with each of the other ``seeds``.

    The test set is evaluated at every epoch end for the curves, and the
    test numbers are read at the epochs chosen on validation; no choice
    looks at it. The runs are checkpointed in ``checkpoint_dir`` (an
    interrupted study resumes) and go side by side as :func:`train_runs`
    runs them.

    Returns
    -------
    dict, plain data (JSON-ready):
        ``monitor``, ``epochs``, ``n_val`` (validation images);
        ``settings``: per name (``"none"`` first), ``changes``, ``config``,
        ``chosen_epoch``, ``at_chosen_epoch`` (``val_loss``, ``val_accuracy``,
        ``test_loss``, ``test_accuracy``, and ``train_*`` with
        ``train_curve``), ``last`` (the same at the last epoch) and
        ``other_monitor``: the epoch the other validation score would have
        chosen (``monitor`` and ``chosen_epoch``) and the same values there;
        ``monitors``: :func:`compare_monitors` of every run: the settings
        and the chosen setting's other seeds;
        ``curves``: per name, :func:`epoch_curves` of its run;
        ``chosen``: the name chosen on validation; ``runner_up``: the next
        best (None without settings); ``val_accuracy_se``: the standard
        error of the chosen setting's validation accuracy,
        ``sqrt(p (1 - p) / n_val)``, the scale on which two settings' scores
        can be told apart;
        ``seeds``: per seed (as a string), the chosen setting's
        ``chosen_epoch``, ``test_accuracy`` and ``test_loss`` at that epoch,
        ``last_test_accuracy`` and ``other_monitor``;
        ``test_accuracy``: :func:`spread` of the seeds' test accuracies at
        their chosen epochs; ``last_test_accuracy``: the same at the last.
    """
    if NO_REGULARISATION in settings:
        raise ValueError(f"{NO_REGULARISATION!r} names the run without regularisation; choose other names")
    if not seeds:
        raise ValueError("seeds needs at least one seed")
    if monitor not in MONITORS:
        raise ValueError(f"monitor must be one of {sorted(MONITORS)}, got {monitor!r}")
    names = [NO_REGULARISATION, *settings]
    configs = {NO_REGULARISATION: base.replace(keep_best=monitor)}
    for name, changes in settings.items():
        configs[name] = base.replace(**changes, keep_best=monitor)
    data = {"fit": (X_fit, y_fit), "val": (X_val, y_val), "test": (X_test, y_test)}
    sets = {"train": "fit", "val": "val", "test": "test"} if train_curve else {"val": "val", "test": "test"}
    folder = Path(checkpoint_dir)

    def run(name: str, seed: int) -> Run:
        file_name = "".join(c if c.isalnum() else "-" for c in name)
        return Run(configs[name], seed, folder / file_name, "fit", sets, f"{label}, {name}, seed {seed}")

    def chosen_epoch(history: History, score: str = monitor) -> int:
        return int(history["epoch"][history.best(score)])

    first = train_runs({n: run(n, seeds[0]) for n in names}, data, workers, scheduler)
    out = {"monitor": monitor, "epochs": base.epochs, "n_val": len(y_val), "settings": {}, "curves": {}}
    for name in names:
        history = first[name][1]
        curves, epoch = epoch_curves(history), chosen_epoch(history)
        other = chosen_epoch(history, MONITORS[monitor])
        out["curves"][name] = curves
        out["settings"][name] = {
            "changes": dict(settings.get(name, {})),
            "config": configs[name].to_dict(),
            "chosen_epoch": epoch,
            "at_chosen_epoch": _at(curves, epoch),
            "last": _at(curves, int(curves["epoch"][-1])),
            "other_monitor": {"monitor": MONITORS[monitor], "chosen_epoch": other, **_at(curves, other)},
        }
    score = {n: s["at_chosen_epoch"] for n, s in out["settings"].items()}
    ranked = sorted(names, key=lambda n: (-score[n]["val_accuracy"], score[n]["val_loss"], names.index(n)))
    chosen = ranked[0]
    out["chosen"] = chosen
    p = score[chosen]["val_accuracy"]
    out["val_accuracy_se"] = float(np.sqrt(p * (1 - p) / len(y_val)))
    out["runner_up"] = ranked[1] if len(ranked) > 1 else None
    more = train_runs({s: run(chosen, s) for s in seeds[1:]}, data, workers, scheduler) if len(seeds) > 1 else {}
    histories = {seeds[0]: first[chosen][1], **{s: h for s, (_, h) in more.items()}}
    out["seeds"] = {}
    for seed in seeds:
        curves, epoch = epoch_curves(histories[seed]), chosen_epoch(histories[seed])
        other = chosen_epoch(histories[seed], MONITORS[monitor])
        out["seeds"][str(seed)] = {
            "chosen_epoch": epoch,
            "test_accuracy": _at(curves, epoch)["test_accuracy"],
            "test_loss": _at(curves, epoch)["test_loss"],
            "last_test_accuracy": curves["test_accuracy"][-1],
            "other_monitor": {"monitor": MONITORS[monitor], "chosen_epoch": other, **_at(curves, other)},
        }
    runs = [{**s, "test_accuracy": s["at_chosen_epoch"]["test_accuracy"]} for s in out["settings"].values()]
    out["monitors"] = compare_monitors(runs + [out["seeds"][str(seed)] for seed in seeds[1:]])
    out["test_accuracy"] = spread([s["test_accuracy"] for s in out["seeds"].values()])
    out["last_test_accuracy"] = spread([s["last_test_accuracy"] for s in out["seeds"].values()])
    return out


def regularisation_table(study: dict):
    """Rows, headers and formats of the table of :func:`regularisation_study`:
    each setting at its epoch chosen on validation, where the other
    validation score would have stopped it, and at the last epoch. The
    column "epoch" is the epoch chosen on ``study["monitor"]``."""
    score = {"val_accuracy": "val. accuracy", "val_loss": "val. loss"}
    chosen_on, other = score[study["monitor"]], score[MONITORS[study["monitor"]]]
    headers = ["setting", "epoch", chosen_on, "test accuracy", f"epoch by {other}", "test accuracy there",
               "test accuracy, last epoch"]  # fmt: skip
    rows = [
        (name, s["chosen_epoch"], s["at_chosen_epoch"][study["monitor"]], s["at_chosen_epoch"]["test_accuracy"],
         s["other_monitor"]["chosen_epoch"], s["other_monitor"]["test_accuracy"], s["last"]["test_accuracy"])
        for name, s in study["settings"].items()
    ]  # fmt: skip
    return rows, headers, {h: "{:.4f}" for h in (chosen_on, "test accuracy", "test accuracy there", headers[-1])}
