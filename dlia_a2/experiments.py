"""Experiments built from the training loop: the hyperparameter search on a
validation set, long runs side by side, and the summaries the report
quotes. Every function returns plain data; nothing here plots.

Independent runs go through joblib (:func:`run_jobs`): in this process
with ``workers=1``, in ``workers`` loky processes on one machine, or on a
Dask cluster when a scheduler address is given (``tcp://host:8786``, or the
environment variable ``DLIA_DASK_SCHEDULER``), through joblib's Dask
backend. Each job limits BLAS to one thread itself, so a result does not
depend on where it ran: ``workers=1``, loky and Dask give the same bits.
At the small batch sizes of this assignment one BLAS thread multiplies as
fast as two, so two single-threaded runs side by side finish sooner than
one after the other.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dlia_a2 import analysis, checkpoint, training
from dlia_a2.config import TrainConfig
from dlia_a2.divergence import TrainingDiverged
from dlia_a2.history import History
from dlia_a2.progress import bar as progress_bar
from dlia_a2.progress import terminal_note, terminal_progress

SCHEDULER_ENV = "DLIA_DASK_SCHEDULER"


# --- running independent jobs ---------------------------------------------------


def _one_blas_thread(fn, kwargs):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return fn(**kwargs)


def run_jobs(
    fn: Callable,
    jobs: list[dict],
    workers: int = 1,
    scheduler: str | None = None,
    on_done: Callable | None = None,
    progress: str | None = None,
) -> list:
    """``[fn(**job) for job in jobs]``, run side by side, in order.

    Parameters
    ----------
    fn : a module-level function (it is pickled to the workers).
    jobs : keyword arguments of each call; arrays in them are passed as
        arguments (joblib memory-maps large ones for its worker processes
        and scatters them to a Dask cluster).
    workers : processes on this machine; 1 runs here, one job after another.
    scheduler : address of a Dask scheduler (``tcp://host:port``); default
        ``$DLIA_DASK_SCHEDULER``. When set, the jobs run on that cluster
        and ``workers`` is ignored.
    on_done : called with each result, in job order, as results come in.
    progress : a label for a progress bar over the jobs in Jupyter.
    """
    import joblib

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number of processes, 1 or more; got {workers!r}")
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    calls = [joblib.delayed(_one_blas_thread)(fn, job) for job in jobs]
    if scheduler:
        from dask.distributed import Client

        with Client(scheduler), joblib.parallel_config(backend="dask"):
            return _collect(joblib.Parallel(n_jobs=-1, return_as="generator")(calls), len(jobs), on_done, progress)
    if workers == 1 or len(jobs) <= 1:
        return _collect((_one_blas_thread(fn, job) for job in jobs), len(jobs), on_done, progress)
    parallel = joblib.Parallel(n_jobs=workers, backend="loky", return_as="generator", inner_max_num_threads=1)
    return _collect(parallel(calls), len(jobs), on_done, progress)


def _collect(results, n: int, on_done, progress) -> list:
    bar = progress_bar(progress, n) if progress else None
    out = []
    try:
        for r in results:
            out.append(r)
            if on_done is not None:
                on_done(r)
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    return out


# --- the search -----------------------------------------------------------------


@dataclass
class SearchResult:
    """One configuration of a search and what it scored on validation."""

    config: TrainConfig
    val_accuracy: list = field(default_factory=list)  # at every epoch end
    val_loss: list = field(default_factory=list)
    diverged: str = ""  # the error message when training diverged
    seconds: float = 0.0

    @property
    def final(self) -> float:
        return self.val_accuracy[-1] if self.val_accuracy and not self.diverged else float("nan")

    @property
    def label(self) -> str:
        c = self.config
        hidden = "-".join(map(str, c.layer_sizes[1:-1])) or "none"
        extra = [
            f"{name} {getattr(c, key):g}"
            for key, name in (
                ("dropout", "dropout"),
                ("input_dropout", "input dropout"),
                ("weight_decay", "weight decay"),
            )
            if getattr(c, key)
        ]
        if c.lr_schedule != "constant":
            extra.append(f"{c.lr_schedule} schedule")
        return ", ".join([f"hidden {hidden}, {c.activation}, lr {c.learning_rate:g}, batch {c.batch_size}", *extra])


def grid(base: TrainConfig, **axes) -> list[TrainConfig]:
    """Every combination of the given settings on top of ``base``.

    ``grid(base, learning_rate=[0.01, 0.1], batch_size=[32, 64])`` gives
    four configurations; ``hidden_sizes`` turns into ``layer_sizes``.
    """
    names = list(axes)
    out = []
    for values in itertools.product(*(axes[n] for n in names)):
        d = base.to_dict()
        for n, v in zip(names, values):
            if n == "hidden_sizes":
                d["layer_sizes"] = [d["layer_sizes"][0], *v, d["layer_sizes"][-1]]
            else:
                d[n] = v
        out.append(TrainConfig.from_dict(d))
    return out


def _search_job(config, seed, X_train, y_train, X_val, y_val) -> SearchResult:
    r = SearchResult(config)
    t0 = time.perf_counter()
    try:
        _, history = training.train(
            X_train, y_train, config, np.random.default_rng(seed), eval_sets={"val": (X_val, y_val)}
        )
    except TrainingDiverged as e:
        r.diverged = str(e)
        history = e.history
    ends = history.epoch_ends() if len(history) else []
    r.val_accuracy = [float(v) for v in history["val_accuracy"][ends]] if len(ends) else []
    r.val_loss = [float(v) for v in history["val_loss"][ends]] if len(ends) else []
    r.seconds = time.perf_counter() - t0
    return r


def note_result(r: SearchResult) -> None:
    """One line per finished configuration on the build's terminal."""
    terminal_note(
        f"search: {r.label}: " + ("diverged" if r.diverged else f"val acc {r.final:.4f}") + f" ({r.seconds:.0f} s)"
    )


def search(
    configs, X_train, y_train, X_val, y_val, seed: int = 0, workers: int = 1, scheduler=None, on_result=note_result
) -> list[SearchResult]:
    """Train every configuration with the same seed and record its
    validation accuracy at every epoch end. A configuration that diverges is
    marked so and the search goes on."""
    data = dict(seed=seed, X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val)
    jobs = [dict(config=c, **data) for c in configs]
    return run_jobs(_search_job, jobs, workers, scheduler, on_result, progress="search")


def best(results) -> SearchResult:
    """The result with the highest final validation accuracy (ties: the
    first, the cheaper setting in grid order)."""
    scored = [r for r in results if not r.diverged]
    if not scored:
        raise RuntimeError("every configuration of the search diverged; try smaller learning rates")
    return max(scored, key=lambda r: r.final)


def epoch_flops(layer_sizes, n_train: int, n_eval: int = 0) -> float:
    """Floating-point operations of one training epoch over ``n_train``
    samples, plus a forward pass over ``n_eval`` samples to evaluate.

    Per sample and layer of ``n_in x n_out`` weights: ``2 n_in n_out`` for
    the forward product, as many for ``dW = dZ^T A``, and as many again for
    ``dA = dZ W`` above the first layer (nothing needs ``dA`` below it).
    """
    pairs = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    forward = sum(2 * a * b for a, b in pairs)
    backward = forward + sum(2 * a * b for a, b in pairs[1:])
    return float(n_train * (forward + backward) + n_eval * forward)


@dataclass
class TwoStageSearch:
    """What :func:`two_stage_search` found."""

    stage1: list  # SearchResult per (learning rate, batch size), grid order
    stage2: list  # SearchResult per (hidden sizes, activation), grid order
    searched: list  # every distinct configuration trained
    chosen: SearchResult  # the best within the budget
    best_overall: SearchResult  # the best of all, budget or not
    over_budget: list  # the labels of the configurations too costly to choose
    long_run_tflop: dict  # label -> TFLOP of its long run


def two_stage_search(
    base: TrainConfig,
    learning_rates,
    batch_sizes,
    hidden_sizes,
    activations,
    X_train,
    y_train,
    X_val,
    y_val,
    long_run: dict,
    budget_tflop: float,
    seed: int = 0,
    workers: int = 1,
    scheduler=None,
    on_result=note_result,
) -> TwoStageSearch:
    """Stage 1: learning rate x batch size of ``base``; stage 2: the best of
    stage 1 with every hidden-layer shape x activation. The configuration
    chosen is the best (by final validation accuracy) whose long run costs
    at most ``budget_tflop``, counted (not timed, so that the choice is the
    same on every machine) by :func:`epoch_flops` with ``long_run =
    {"epochs": ..., "n_train": ..., "n_eval": ...}``.
    """
    run = dict(seed=seed, workers=workers, scheduler=scheduler, on_result=on_result)
    data = (X_train, y_train, X_val, y_val)
    stage1 = search(grid(base, learning_rate=learning_rates, batch_size=batch_sizes), *data, **run)
    best1 = best(stage1)
    stage2_grid = grid(best1.config, hidden_sizes=hidden_sizes, activation=activations)
    new = [c for c in stage2_grid if c != best1.config]  # stage 1 trained that one already
    trained = dict(zip(map(id, new), search(new, *data, **run)))
    stage2 = [best1 if c == best1.config else trained[id(c)] for c in stage2_grid]
    searched = stage1 + [r for r in stage2 if r is not best1]

    def tflop(r):
        n_train, n_eval = long_run["n_train"], long_run["n_eval"]
        return long_run["epochs"] * epoch_flops(r.config.layer_sizes, n_train, n_eval) / 1e12

    cost = {r.label: tflop(r) for r in searched}
    affordable = [r for r in searched if cost[r.label] <= budget_tflop]
    chosen = best(affordable) if affordable else min(searched, key=tflop)
    return TwoStageSearch(
        stage1, stage2, searched, chosen, best(searched), [r.label for r in searched if r not in affordable], cost
    )


def search_record(found: TwoStageSearch) -> dict:
    """What the report quotes of a two-stage search, JSON-ready (results
    only: the seconds each run took are in the results themselves)."""
    return {
        "search": [
            dict(label=r.label, config=r.config.to_dict(), val_accuracy=r.val_accuracy, diverged=bool(r.diverged))
            for r in found.searched
        ],
        "n_search_configs": len(found.searched),
        "n_diverged": sum(bool(r.diverged) for r in found.searched),
        "budget_excluded": found.over_budget,
        "best_overall": {"label": found.best_overall.label, "val_accuracy": found.best_overall.final},
        "best_overall_excluded": found.best_overall.label in found.over_budget,
        "chosen": found.chosen.config.to_dict(),
        "chosen_label": found.chosen.label,
        "chosen_val_accuracy": found.chosen.final,
    }


def result_rows(results) -> list[tuple]:
    """Table rows of search results: network, activation, final validation
    accuracy (or "diverged") and seconds per epoch."""
    return [
        (
            "-".join(map(str, r.config.layer_sizes)),
            r.config.activation,
            "diverged" if r.diverged else r.final,
            r.seconds / max(1, len(r.val_accuracy)),
        )
        for r in results
    ]


def claims(stage1, learning_rates, batch_sizes) -> dict:
    """The reference hand-in's claims, read off the stage-1 grid.

    "A larger batch size and learning rate converge faster but end lower":
    for each value of the other setting, does the largest setting reach a
    higher validation accuracy after the first epoch ("faster") and a lower
    one after the last ("lower") than the smallest? "A smaller batch wants a
    smaller learning rate": does the best learning rate grow with the batch
    size? Settings are compared by value, whatever order the lists are in.

    Returns
    -------
    dict
        ``batch`` and ``learning_rate``: ``faster``, ``lower``, ``of`` (the
        number of comparisons), ``largest``, ``smallest``, and the verdicts
        by majority ``mostly_faster`` and ``claim_holds``; ``best_lr``:
        batch size -> best learning rate; ``best_lr_grows``: whether it
        never falls as the batch size grows; ``best_lr_constant``.
    """
    lrs, bss = sorted(learning_rates), sorted(batch_sizes)
    first = np.full((len(lrs), len(bss)), np.nan)
    last = np.full_like(first, np.nan)
    for r in stage1:
        if not r.diverged and r.val_accuracy:
            i, j = lrs.index(r.config.learning_rate), bss.index(r.config.batch_size)
            first[i, j], last[i, j] = r.val_accuracy[0], r.val_accuracy[-1]

    def compare(first_line, last_line):  # values along one setting, smallest first
        ok = np.flatnonzero(np.isfinite(first_line) & np.isfinite(last_line))
        if len(ok) < 2:
            return None
        lo, hi = ok[0], ok[-1]
        return bool(first_line[hi] > first_line[lo]), bool(last_line[hi] < last_line[lo])

    def tally(pairs, values):
        pairs = [p for p in pairs if p is not None]
        return {
            "faster": sum(f for f, _ in pairs),
            "lower": sum(w for _, w in pairs),
            "of": len(pairs),
            "smallest": values[0],
            "largest": values[-1],
        }

    batch = tally([compare(first[i], last[i]) for i in range(len(lrs))], bss)
    learning_rate = tally([compare(first[:, j], last[:, j]) for j in range(len(bss))], lrs)
    for t in (batch, learning_rate):  # verdicts by majority of the comparisons
        t["mostly_faster"] = t["faster"] > t["of"] / 2
        t["claim_holds"] = t["mostly_faster"] and t["lower"] > t["of"] / 2
    best_lr = {b: lrs[int(np.nanargmax(last[:, j]))] for j, b in enumerate(bss) if np.isfinite(last[:, j]).any()}
    ordered = [best_lr[b] for b in bss if b in best_lr]
    return {
        "batch": batch,
        "learning_rate": learning_rate,
        "best_lr": best_lr,
        "best_lr_grows": all(x <= y for x, y in zip(ordered, ordered[1:])),
        "best_lr_constant": len(set(ordered)) <= 1,
        "first_epoch": first,
        "last_epoch": last,
        "learning_rates": lrs,
        "batch_sizes": bss,
    }


# --- long runs ------------------------------------------------------------------


@dataclass
class Run:
    """One long, checkpointed training run for :func:`train_runs`."""

    config: TrainConfig
    seed: int
    checkpoint: Path  # where its checkpoint lives (resumed when present)
    train: tuple  # (X, y)
    eval_sets: dict  # name -> (X, y)
    label: str = ""  # for the progress lines on the terminal


def _train_job(run: Run):
    callback = terminal_progress(run.label, every_epochs=max(1, run.config.epochs // 10))
    return checkpoint.train_resumable(
        *run.train, run.config, run.seed, run.checkpoint, eval_sets=run.eval_sets, callback=callback, log=lambda m: None
    )


def train_runs(runs: dict[str, Run], workers: int = 1, scheduler=None) -> dict:
    """Several checkpointed training runs side by side (see :func:`run_jobs`),
    the longest first. Returns ``{name: (params, history)}``."""
    names = sorted(runs, key=lambda n: -runs[n].config.epochs)
    done = run_jobs(_train_job, [dict(run=runs[n]) for n in names], workers, scheduler, progress="training runs")
    return {n: done[names.index(n)] for n in runs}


def at_epoch(history: History, epoch: int, names=("train", "test")) -> dict:
    """The whole-set losses and accuracies recorded at the end of ``epoch``."""
    i = history.epoch_ends()[epoch - 1]
    return {f"{s}_{m}": float(history[f"{s}_{m}"][i]) for s in names for m in ("loss", "accuracy")}


def long_run_summary(history: History, short_epochs: int, guard_epochs: int = 5) -> dict:
    """What a long run shows: the results after ``short_epochs`` and at the
    end (the weights of that step: the last iterate), the first epoch with
    every training image right (None if never), and the epoch of the lowest
    test loss, with that loss. ``short_range`` and ``last_range`` guard the
    two readings: :func:`analysis.end_range` of the test accuracy over the
    ``guard_epochs`` epochs up to each."""
    ends = history.epoch_ends()
    test_loss, train_accuracy = history["test_loss"][ends], history["train_accuracy"][ends]
    perfect = np.flatnonzero(train_accuracy == 1.0)
    epochs = len(ends)
    short, last = at_epoch(history, short_epochs), at_epoch(history, epochs)
    return {
        "short": short,
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


# --- regularisation ----------------------------------------------------------------

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
    sets = {"val": (X_val, y_val), "test": (X_test, y_test)}
    if train_curve:
        sets = {"train": (X_fit, y_fit), **sets}
    folder = Path(checkpoint_dir)

    def run(name: str, seed: int) -> Run:
        slug = "".join(c if c.isalnum() else "-" for c in name)
        return Run(
            configs[name], seed, folder / f"{slug}-seed{seed}", (X_fit, y_fit), sets, f"{label}, {name}, seed {seed}"
        )

    def chosen_epoch(history: History, score: str = monitor) -> int:
        return int(history["epoch"][history.best(score)])

    first = train_runs({n: run(n, seeds[0]) for n in names}, workers, scheduler)
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
    more = train_runs({s: run(chosen, s) for s in seeds[1:]}, workers, scheduler) if len(seeds) > 1 else {}
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
