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
from dlia_a2.training import evaluate


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


def evaluation_step(n_images: int, batch_size: int, per_epoch: int) -> int:
    """The ``eval_every`` that scores a run about ``per_epoch`` times an
    epoch of ``n_images`` in batches of ``batch_size`` (every epoch end is
    scored as well), so that a guard can read points inside the epochs."""
    iterations = -(-n_images // batch_size)
    return max(1, iterations // per_epoch)


def long_runs(chosen: TrainConfig, reference: TrainConfig, optimizers: dict, seeds, seed: int, checkpoints) -> dict:
    """The runs of Exercise 3 after the search, as :func:`train_runs` takes
    them: the reference hand-in's on all training images (``"all"``,
    scored on ``"train"`` and ``"test"``), the chosen network's on every
    seed on the training split (``"fit"``, scored on it, ``"val"`` and
    ``"test"``: these are the regularisation study's runs without
    regularisation, in its folder, so that it reads them back rather than
    training them again), and each optimiser's (scored on ``"val"``)."""
    folder = Path(checkpoints)
    sets = {"train": "fit", "val": "val", "test": "test"}
    return {
        "reference": Run(reference, seed, folder / "reference", "all", {"train": "all", "test": "test"},
                         "exercise 3, reference"),
        **{f"chosen, seed {s}": Run(chosen.replace(keep_best="val_accuracy"), s,
                                    folder / "regularisation" / NO_REGULARISATION, "fit", sets,
                                    f"exercise 3, chosen, seed {s}") for s in seeds},
        **{name: Run(config, seed, folder / f"optimizer-{name}", "fit", {"val": "val"}, f"exercise 3, {name}")
           for name, config in optimizers.items()},
    }  # fmt: skip


# --- regularisation ------------------------------------------------------------------

NO_REGULARISATION = "none"
REFIT = " on all training images"  # a refit run's name: the setting's and this


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


def paired_difference(a: dict, b: dict) -> dict:
    """``a`` against ``b``, run for run on the same seeds (seed -> test
    accuracy, fractions): the differences ``a - b`` in percentage points,
    how many seeds ``a`` leads on, and the seed spread it is to be read
    against, the larger sample standard deviation of the two over the seeds
    (0 with one seed).

    Raises
    ------
    ValueError
        If the two were not run on the same seeds.
    """
    if set(a) != set(b) or not a:
        raise ValueError(f"a paired comparison needs the same seeds on both sides, got {sorted(a)} and {sorted(b)}")
    diffs = [100 * (a[s] - b[s]) for s in sorted(a)]
    return {
        "seeds": sorted(a),
        "diff_points": spread(diffs),
        "leads": sum(d > 0 for d in diffs),
        "ties": sum(d == 0 for d in diffs),
        "seed_sd_points": 100 * max(spread(list(a.values()))["std"], spread(list(b.values()))["std"]),
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
    train_curve=(),
    every_seed=(),
    apart: dict | None = None,
    twins: dict | None = None,
    refit=(),
    workers: int = 1,
    scheduler=None,
    label: str = "regularisation",
) -> dict:
    """Regularisation chosen on the validation set, then measured on the test set.

    1. ``base`` without regularisation (named ``"none"``) and ``base`` with
       each of ``settings`` (a name for each dict of changes, such as
       ``{"dropout": {"dropout": 0.3, "input_dropout": 0.2}, "weight decay":
       {"weight_decay": 5e-4}}``; a change may be the whole recipe, the
       layer sizes and optimiser included) are trained on ``X_fit`` with
       seed ``seeds[0]``, and the names in ``every_seed`` (``"none"``
       allowed) with every seed, for paired comparisons. Every run keeps
       the weights of its epoch with the best ``monitor``,
       ``"val_accuracy"`` or ``"val_loss"`` (early stopping,
       ``keep_best``); it runs all its epochs, so the curves show what
       follows, and the epoch the other score would have chosen is known too.
    2. The setting (or ``"none"``) with the highest validation accuracy at its
       chosen epoch is chosen (ties: the lower validation loss there, then
       the first); it is trained with each of the other ``seeds`` it lacks.
    3. ``apart`` (settings like ``settings``) are trained with every seed
       and reported on their own, never chosen: data augmentation, kept out
       of the comparison with results published without it. ``twins`` maps
       a name of ``apart`` to the setting of ``every_seed`` it is set beside
       (:func:`dlia_a2.verdicts.augmentation` compares how well each fits and
       names any setting they differ in besides the augmentation).
    4. The names in ``refit`` (of ``every_seed``) are trained again with
       every seed on ``X_fit`` and ``X_val`` together, the same settings
       without a validation set, for as many epochs as that seed's run on
       ``X_fit`` chose, with the learning-rate schedule fitted to those
       epochs, and read at the end (Goodfellow, Bengio and Courville 2016,
       Algorithm 7.2): published results train on all the training images,
       the epochs are still chosen on validation, and the reading is taken
       where the rate has decayed, not partway down a longer schedule,
       where neighbouring epochs differ by tenths of a point. Each trains
       in the same job as its run on ``X_fit``, right after it.

    The test set is evaluated at every evaluation point for the curves, and
    the test numbers are read at the epochs chosen on validation; no choice
    looks at it. The runs are checkpointed in ``checkpoint_dir`` (an
    interrupted study resumes; a run trained before with the same settings
    and path is read back, not trained again) and go side by side as
    :func:`train_runs` runs them.

    Returns
    -------
    dict, plain data (JSON-ready):
        ``monitor``, ``epochs`` (of ``base``), ``n_val`` (validation images);
        ``settings``: per name (``"none"`` first), ``changes``, ``config``,
        ``chosen_epoch``, ``at_chosen_epoch`` (``val_loss``, ``val_accuracy``,
        ``test_loss``, ``test_accuracy``, and ``train_*`` for the names in
        ``train_curve``, whose runs are also scored on ``X_fit``), ``last`` (the same at the last epoch) and
        ``other_monitor``: the epoch the other validation score would have
        chosen (``monitor`` and ``chosen_epoch``) and the same values there;
        ``monitors``: :func:`compare_monitors` of every run: the settings
        and the chosen setting's other seeds;
        ``curves``: per name (``apart`` too), :func:`epoch_curves` of its
        first seed's run;
        ``chosen``: the name chosen on validation; ``runner_up``: the next
        best (None without settings); ``val_accuracy_se``: the standard
        error of the chosen setting's validation accuracy,
        ``sqrt(p (1 - p) / n_val)``, the scale on which two settings' scores
        can be told apart;
        ``seeds``: per seed (as a string), the chosen setting's
        ``chosen_epoch``, ``val_accuracy``, ``test_accuracy`` and
        ``test_loss`` at that epoch, ``fit_accuracy`` (its weights there
        scored on ``X_fit``, unaugmented and without dropout),
        ``last_test_accuracy`` and ``other_monitor``;
        ``test_accuracy``: :func:`spread` of the seeds' test accuracies at
        their chosen epochs; ``last_test_accuracy``: the same at the last;
        ``by_seed``: per name run on every seed (``every_seed``, the chosen
        and ``apart``), per seed the same reading as ``seeds``, and the
        spreads of its ``test_accuracy``, ``val_accuracy`` and
        ``fit_accuracy``; ``twins`` as given, and ``n_fit``, the images of
        ``X_fit``; ``paired``: per such name but ``"none"``,
        :func:`paired_difference` of its test accuracies against
        ``"none"``'s (when ``"none"`` ran on every seed);
        ``apart``: per name, what ``settings`` holds per name;
        ``refit``: per name of ``refit``, ``n_images`` trained on,
        ``seeds``: per seed (as a string) the ``epochs`` it trained (the
        epoch its run on ``X_fit`` chose) and ``test_accuracy`` at the end;
        ``test_accuracy``: their :func:`spread`;
        ``gain``: :func:`paired_difference` against the same seeds' runs on
        ``X_fit``; ``refit_paired``: per name of ``refit`` but ``"none"``,
        :func:`paired_difference` of its refits against ``"none"``'s (when
        ``"none"`` is refitted too).
    """
    apart, twins = dict(apart or {}), dict(twins or {})
    if NO_REGULARISATION in settings or NO_REGULARISATION in apart:
        raise ValueError(f"{NO_REGULARISATION!r} names the run without regularisation; choose other names")
    if not seeds:
        raise ValueError("seeds needs at least one seed")
    if monitor not in MONITORS:
        raise ValueError(f"monitor must be one of {sorted(MONITORS)}, got {monitor!r}")
    names = [NO_REGULARISATION, *settings]
    unknown = sorted(set(every_seed) - set(names))
    if unknown or set(settings) & set(apart):
        raise ValueError(f"every_seed must name settings ({names}), got {unknown}; apart names must be new ones")
    unknown = sorted((set(twins) - set(apart)) | (set(twins.values()) - set(every_seed)))
    if unknown:
        raise ValueError(
            f"twins must map names of apart ({list(apart)}) to settings of every_seed ({list(every_seed)}); "
            f"got {unknown}"
        )
    unknown = sorted(set(refit) - set(every_seed))
    if unknown:
        raise ValueError(f"refit must name settings of every_seed ({list(every_seed)}), got {unknown}")
    configs = {NO_REGULARISATION: base.replace(keep_best=monitor)}
    for name, changes in {**settings, **apart}.items():
        configs[name] = base.replace(**changes, keep_best=monitor)
    data = {"fit": (X_fit, y_fit), "val": (X_val, y_val), "test": (X_test, y_test)}
    if refit:
        data["all"] = (np.concatenate([X_fit, X_val]), np.concatenate([y_fit, y_val]))
    unknown = sorted(set(train_curve) - set(configs))
    if unknown:
        raise ValueError(f"train_curve names {unknown}, which are not settings of the study ({sorted(configs)})")
    folder = Path(checkpoint_dir)

    def run(name: str, seed: int) -> Run:
        file_name = "".join(c if c.isalnum() else "-" for c in name)
        if name.endswith(REFIT):  # trained on all the training images, scored on the test set only; its
            setting = name[: -len(REFIT)]  # epochs are set to those its run on fit chose, in the same job
            return Run(configs[setting].replace(keep_best=""), seed, folder / file_name, "all", {"test": "test"},
                       f"{label}, {name}, seed {seed}")  # fmt: skip
        sets = {"train": "fit", "val": "val", "test": "test"} if name in train_curve else {"val": "val", "test": "test"}
        then = (f"{name}{REFIT}, seed {seed}", run(name + REFIT, seed)) if name in refit else None
        return Run(configs[name], seed, folder / file_name, "fit", sets, f"{label}, {name}, seed {seed}", then)

    def chosen_epoch(history: History, score: str = monitor) -> int:
        return int(history["epoch"][history.best(score)])

    fitted = {}  # (name, seed) -> the accuracy of its kept weights on X_fit, computed once

    def fit_accuracy(key: tuple) -> float:
        if key not in fitted:
            fitted[key] = evaluate(X_fit, y_fit, trained[key][0], configs[key[0]].activation)[1]
        return fitted[key]

    def reading(key: tuple) -> dict:
        params, history = trained[key]
        curves, epoch = epoch_curves(history), chosen_epoch(history)
        other = chosen_epoch(history, MONITORS[monitor])
        return {
            "chosen_epoch": epoch,
            "val_accuracy": _at(curves, epoch)["val_accuracy"],
            # the kept weights (those of the chosen epoch) on the images they trained on, as they are
            # (unshifted, no dropout): beside the validation accuracy, how well the run fits
            "fit_accuracy": fit_accuracy(key),
            "test_accuracy": _at(curves, epoch)["test_accuracy"],
            "test_loss": _at(curves, epoch)["test_loss"],
            "last_test_accuracy": curves["test_accuracy"][-1],
            "other_monitor": {"monitor": MONITORS[monitor], "chosen_epoch": other, **_at(curves, other)},
        }

    def record(name: str, history: History) -> dict:
        curves, epoch = epoch_curves(history), chosen_epoch(history)
        other = chosen_epoch(history, MONITORS[monitor])
        out["curves"][name] = curves
        return {
            "changes": dict({**settings, **apart}.get(name, {})),
            "config": configs[name].to_dict(),
            "chosen_epoch": epoch,
            "at_chosen_epoch": _at(curves, epoch),
            "last": _at(curves, int(curves["epoch"][-1])),
            "other_monitor": {"monitor": MONITORS[monitor], "chosen_epoch": other, **_at(curves, other)},
        }

    wanted = {(n, seeds[0]) for n in names} | {(n, s) for n in [*every_seed, *apart] for s in seeds}
    trained = _train(wanted, run, data, workers, scheduler)  # with the refits, each after its run on fit
    out = {"monitor": monitor, "epochs": base.epochs, "n_val": len(y_val), "settings": {}, "curves": {}}
    out["twins"], out["n_fit"] = twins, len(y_fit)
    for name in names:
        out["settings"][name] = record(name, trained[(name, seeds[0])][1])
    score = {n: s["at_chosen_epoch"] for n, s in out["settings"].items()}
    ranked = sorted(names, key=lambda n: (-score[n]["val_accuracy"], score[n]["val_loss"], names.index(n)))
    chosen = ranked[0]
    out["chosen"] = chosen
    p = score[chosen]["val_accuracy"]
    out["val_accuracy_se"] = float(np.sqrt(p * (1 - p) / len(y_val)))
    out["runner_up"] = ranked[1] if len(ranked) > 1 else None
    trained.update(_train({(chosen, s) for s in seeds} - set(trained), run, data, workers, scheduler))
    out["seeds"] = {str(seed): reading((chosen, seed)) for seed in seeds}
    out["monitors"] = compare_monitors(
        [{**s, "test_accuracy": s["at_chosen_epoch"]["test_accuracy"]} for s in out["settings"].values()]
        + [out["seeds"][str(seed)] for seed in seeds[1:]]
    )
    out["test_accuracy"] = spread([s["test_accuracy"] for s in out["seeds"].values()])
    out["last_test_accuracy"] = spread([s["last_test_accuracy"] for s in out["seeds"].values()])
    out["apart"] = {name: record(name, trained[(name, seeds[0])][1]) for name in apart}
    full = [n for n in [*names, *apart] if all((n, s) in trained for s in seeds)]
    out["by_seed"] = {}
    for name in full:
        per_seed = {str(s): reading((name, s)) for s in seeds}
        out["by_seed"][name] = {
            "seeds": per_seed,
            **{k: spread([r[k] for r in per_seed.values()]) for k in ("test_accuracy", "val_accuracy", "fit_accuracy")},
        }
    out["refit"] = {
        name: {  # each seed for the epochs its run on fit chose: Algorithm 7.2
            "n_images": len(data["all"][1]),
            **_refit_reading({s: trained[(name + REFIT, s)][1] for s in seeds}, out["by_seed"][name]["seeds"]),
        }
        for name in refit
    }
    if NO_REGULARISATION in refit:
        refit_acc = {n: {s: r["test_accuracy"] for s, r in out["refit"][n]["seeds"].items()} for n in refit}
        out["refit_paired"] = {
            n: paired_difference(refit_acc[n], refit_acc[NO_REGULARISATION]) for n in refit if n != NO_REGULARISATION
        }
    base_acc = {s: r["test_accuracy"] for s, r in out["by_seed"].get(NO_REGULARISATION, {}).get("seeds", {}).items()}
    out["paired"] = {
        name: paired_difference({s: r["test_accuracy"] for s, r in out["by_seed"][name]["seeds"].items()}, base_acc)
        for name in full
        if name != NO_REGULARISATION and base_acc
    }
    return out


def _refit_reading(histories: dict, fit_readings: dict) -> dict:
    """A setting's refits (``histories``: seed -> history), each read at its
    end, against the same seeds' runs on fit (``fit_readings``: seed as a
    string -> reading with ``chosen_epoch``, the epochs the refit trained,
    and ``test_accuracy``); see :func:`regularisation_study`."""
    seeds = {}
    for s, fit in fit_readings.items():
        curves = epoch_curves(histories[int(s)])
        if int(curves["epoch"][-1]) != fit["chosen_epoch"]:
            raise ValueError(
                f"the refit of seed {s} trained {int(curves['epoch'][-1])} epochs, not the {fit['chosen_epoch']} its "
                "run on fit chose; remove its checkpoint and run the study again"
            )
        seeds[s] = {"epochs": fit["chosen_epoch"], "test_accuracy": curves["test_accuracy"][-1]}
    return {
        "seeds": seeds,
        "test_accuracy": spread([r["test_accuracy"] for r in seeds.values()]),
        "gain": paired_difference(
            {s: r["test_accuracy"] for s, r in seeds.items()}, {s: r["test_accuracy"] for s, r in fit_readings.items()}
        ),
    }


def _train(wanted, run, data, workers, scheduler) -> dict:
    """Train the (name, seed) runs of ``wanted`` side by side, in a stable
    order; returns (name, seed) -> (params, history), the runs that follow
    them (:attr:`dlia_a2.jobs.Run.then`) included."""
    keys = sorted(wanted, key=lambda k: (str(k[0]), k[1]))
    done = train_runs({f"{n}, seed {s}": run(n, s) for n, s in keys}, data, workers, scheduler) if keys else {}
    return {(key.rsplit(", seed ", 1)[0], int(key.rsplit(", seed ", 1)[1])): result for key, result in done.items()}


def regularisation_table(study: dict):
    """Rows, headers and formats of the table of :func:`regularisation_study`:
    each setting (those run apart last) at its epoch chosen on validation, where the other
    validation score would have stopped it, and at the last epoch. The
    column "epoch" is the epoch chosen on ``study["monitor"]``."""
    score = {"val_accuracy": "val. accuracy", "val_loss": "val. loss"}
    chosen_on, other = score[study["monitor"]], score[MONITORS[study["monitor"]]]
    headers = ["setting", "epoch", chosen_on, "test accuracy", f"epoch by {other}", "test accuracy there",
               "test accuracy, last epoch"]  # fmt: skip
    rows = [
        (name, s["chosen_epoch"], s["at_chosen_epoch"][study["monitor"]], s["at_chosen_epoch"]["test_accuracy"],
         s["other_monitor"]["chosen_epoch"], s["other_monitor"]["test_accuracy"], s["last"]["test_accuracy"])
        for name, s in {**study["settings"], **study.get("apart", {})}.items()
    ]  # fmt: skip
    return rows, headers, {h: "{:.4f}" for h in (chosen_on, "test accuracy", "test accuracy there", headers[-1])}
