"""The hyperparameter search on a validation set: a grid of settings, each
trained with the same seed side by side (:func:`dlia_a2.jobs.run_jobs`),
successive halving with the one-standard-error rule, Exercise 3's search
built on them, and what the report reads off it (the record, table rows and
the reference hand-in's claims). Every function returns plain data.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from dlia_a2 import analysis, training
from dlia_a2.checks import whole_number
from dlia_a2.config import TrainConfig
from dlia_a2.divergence import TrainingDiverged
from dlia_a2.jobs import run_jobs
from dlia_a2.progress import terminal_note


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
                ("max_norm", "max-norm"),
                ("shift_pixels", "shifts up to"),
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
    configs: list[TrainConfig],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    seed: int = 0,
    workers: int = 1,
    scheduler: str | None = None,
    on_result=note_result,
) -> list[SearchResult]:
    """Train every configuration with the same seed and record its
    validation accuracy at every epoch end. A configuration that diverges is
    marked so and the search goes on.

    Parameters
    ----------
    configs : the settings to try, each trained for its ``epochs``.
    X_train, y_train : ndarray, shape (N, D) and (N,), what each trains on.
    X_val, y_val : ndarray, shape (M, D) and (M,), what each is scored on.
    seed : the seed of every run.
    workers, scheduler : as for :func:`dlia_a2.jobs.run_jobs`; the data go
        to each worker once, each job carries only its settings.
    on_result : called with each :class:`SearchResult` as it comes in.

    Returns
    -------
    list of SearchResult, in the order of ``configs``.
    """
    data = dict(X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val)
    jobs = [dict(config=c, seed=seed) for c in configs]
    return run_jobs(_search_job, jobs, workers, scheduler, on_result, progress="search", shared=data)


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


# --- successive halving and the one-standard-error rule --------------------------


def halving_rungs(n: int, min_epochs: int, max_epochs: int, eta: int, n_finalists: int) -> list[tuple[int, int]]:
    """The rungs :func:`successive_halving` runs over ``n`` configurations
    when none diverges, as (configurations trained, epochs) per rung: the
    plan that bounds the search's cost before it starts."""
    rungs, alive, epochs = [], n, min(min_epochs, max_epochs)
    while True:
        rungs.append((alive, epochs))
        if epochs >= max_epochs or alive <= n_finalists:
            return rungs
        alive, epochs = max(n_finalists, math.ceil(alive / eta)), min(epochs * eta, max_epochs)


def successive_halving(
    configs: Sequence[TrainConfig],
    X_fit: np.ndarray,
    y_fit: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    min_epochs: int,
    max_epochs: int,
    eta: int = 3,
    seeds: Sequence[int] = (0,),
    finalist_seeds: Sequence[int] = (0, 1),
    n_finalists: int = 3,
    workers: int = 1,
    scheduler: str | None = None,
    on_result=note_result,
) -> dict:
    """Successive halving (Jamieson and Talwalkar 2016) over ``configs``,
    then the one-standard-error rule among the finalists.

    Rung ``r`` trains every surviving configuration for ``min(min_epochs *
    eta**r, max_epochs)`` epochs on each of ``seeds`` and keeps the best
    ``ceil(n / eta)`` by mean final validation accuracy (never fewer than
    ``n_finalists``; diverged configurations never survive), until a rung
    has run ``max_epochs`` or only the finalists are left. Each rung trains
    its survivors afresh rather than resuming the previous rung's weights:
    a cosine schedule, and the checkpoint fingerprint, depend on the number
    of epochs, so a shorter run is not the start of a longer one. The top
    ``n_finalists`` of the last rung are then trained for ``max_epochs`` on
    every seed of ``finalist_seeds`` (a run the last rung already made at
    ``max_epochs`` is reused, not trained twice), and
    :func:`one_standard_error_choice` picks among them by the cost
    :func:`epoch_flops` of an epoch over ``X_fit``.

    Parameters
    ----------
    configs : the grid; its order breaks ties (the earlier wins).
    X_fit, y_fit : ndarray, shape (N, D) and (N,), what each trains on.
    X_val, y_val : ndarray, shape (M, D) and (M,), what each is scored on.
    min_epochs, max_epochs : int, 1 <= min_epochs <= max_epochs.
    eta : int, 2 or more: the rung's budget grows, and the field shrinks, by this factor.
    seeds : the seeds of every rung's runs.
    finalist_seeds : the seeds of the finalists' runs, two or more for a seed spread.
    n_finalists : how many configurations reach the final, 1 or more.
    workers, scheduler, on_result : as for :func:`search`.

    Returns
    -------
    dict
        ``rungs``: per rung ``epochs``, ``trained`` (grid indices),
        ``val_accuracy`` (index -> mean over ``seeds``, None if diverged) and
        ``survivors`` (best first); ``finalists``, in grid order: per finalist ``index``, ``label``,
        ``val_accuracy`` per seed (as a string); ``results``: the finalists'
        :class:`SearchResult` lists; ``choice``: what
        :func:`one_standard_error_choice` returned, with the chosen ``index``.
    """
    configs = list(configs)
    if not configs:
        raise ValueError("successive_halving needs at least one configuration")
    whole_number("min_epochs", min_epochs, at_least=1)
    whole_number("max_epochs", max_epochs, at_least=min_epochs)
    whole_number("eta", eta, at_least=2)
    whole_number("n_finalists", n_finalists, at_least=1)
    if not seeds or not finalist_seeds:
        raise ValueError("seeds and finalist_seeds each need at least one seed")
    data = (X_fit, y_fit, X_val, y_val)
    run = dict(workers=workers, scheduler=scheduler, on_result=on_result)

    def train_all(indices, epochs, seed_list):
        out = {i: [] for i in indices}
        for seed in seed_list:
            for i, r in zip(
                indices, search([configs[i].replace(epochs=epochs) for i in indices], *data, seed=seed, **run)
            ):
                out[i].append(r)
        return out

    rungs, alive, epochs, done = [], list(range(len(configs))), min(min_epochs, max_epochs), {}
    while True:
        trained = train_all(alive, epochs, seeds)
        score = {
            i: None if any(r.diverged for r in rs) else float(np.mean([r.final for r in rs]))
            for i, rs in trained.items()
        }
        finished = sorted((i for i in alive if score[i] is not None), key=lambda i: (-score[i], i))
        if not finished:
            raise RuntimeError(f"every configuration diverged at {epochs} epochs; try smaller learning rates")
        last = epochs >= max_epochs or len(finished) <= n_finalists
        keep = finished if last else finished[: max(n_finalists, math.ceil(len(alive) / eta))]
        rungs.append(dict(epochs=epochs, trained=list(alive), val_accuracy=score, survivors=list(keep)))
        if last:
            if epochs == max_epochs:
                done = {(i, s): r for i in keep for s, r in zip(seeds, trained[i], strict=True)}
            break
        alive, epochs = keep, min(epochs * eta, max_epochs)

    # in grid order, the rule's tie-break: the ranking that put them here depends on rounding
    finalists = sorted(rungs[-1]["survivors"][:n_finalists])
    results = {i: [] for i in finalists}
    for seed in finalist_seeds:
        missing = [i for i in finalists if (i, seed) not in done]
        fresh = train_all(missing, max_epochs, [seed]) if missing else {}
        for i in finalists:
            results[i].append(done[(i, seed)] if (i, seed) in done else fresh[i][0])
    n_fit = len(X_fit)
    choice = one_standard_error_choice(
        [results[i] for i in finalists], lambda c: epoch_flops(c.layer_sizes, n_fit), n_val=len(X_val)
    )
    choice["index"] = finalists[choice["finalist"]] if choice["finalist"] is not None else None
    return {
        "rungs": rungs,
        "finalists": [
            dict(
                index=i,
                label=results[i][0].label,
                val_accuracy={str(s): (None if r.diverged else r.final) for s, r in zip(finalist_seeds, results[i])},
            )
            for i in finalists
        ],
        "results": [results[i] for i in finalists],
        "choice": choice,
    }


def one_standard_error_choice(
    results: Sequence[Sequence[SearchResult]], cost: Callable[[TrainConfig], float], *, n_val: int
) -> dict:
    """The one-standard-error rule (Hastie, Tibshirani and Friedman, sec.
    7.10): the cheapest configuration whose mean validation accuracy is
    within one standard error of the best.

    The standard error is that of the best configuration's mean accuracy
    ``p`` and combines two sources of chance: the validation images,
    ``sqrt(p (1 - p) / n_val)`` (:func:`analysis.accuracy_standard_error`;
    the same images score every seed, so averaging seeds does not shrink
    it), and, where the best has two or more seeds, the training,
    ``s / sqrt(k)`` for the sample standard deviation ``s`` of its ``k``
    seeds' accuracies; the two add in quadrature. With one seed only the
    first counts. A configuration any of whose runs diverged is never
    chosen. Within the band, the lowest ``cost(config)`` wins. Equal costs
    (configurations that differ only in activation, learning rate or batch
    size) go to the higher mean, then to the earlier in ``results``: the
    order of ``results`` follows earlier rankings, which rounding can
    reorder, so it decides exact ties only.

    Parameters
    ----------
    results : per configuration, its runs (one :class:`SearchResult` per
        seed, same settings), in grid order.
    cost : the cost of a configuration, e.g. ``lambda c: epoch_flops(c.layer_sizes, n)``.
    n_val : int, the number of validation images each accuracy was measured on.

    Returns
    -------
    dict
        ``mean`` (per configuration, None if diverged), ``std`` (sample
        standard deviation over seeds, 0 with one), ``cost``, ``best`` (the
        position of the highest mean, earliest of equals), ``se``,
        ``se_images``, ``se_seeds``, ``band`` (the lowest accuracy inside
        it), ``within`` (positions inside the band) and ``finalist`` (the
        position chosen).
    """
    if not results or any(not rs for rs in results):
        raise ValueError("one_standard_error_choice needs at least one configuration, each with at least one run")
    means, stds = [], []
    for rs in results:
        if any(r.diverged for r in rs):
            means.append(None)
            stds.append(None)
            continue
        a = np.array([r.final for r in rs], dtype=float)
        means.append(float(a.mean()))
        stds.append(float(a.std(ddof=1)) if len(a) > 1 else 0.0)
    costs = [float(cost(rs[0].config)) for rs in results]
    finished = [k for k, m in enumerate(means) if m is not None]
    if not finished:
        raise RuntimeError("every configuration diverged, so none can be chosen; try smaller learning rates")
    # means of accuracies on n_val images compare as image counts: rounding them drops the last bit's
    # noise of float sums, which would otherwise break exact ties
    level = {k: round(means[k], 9) for k in finished}
    top = max(finished, key=lambda k: (level[k], -k))
    se_images = analysis.accuracy_standard_error(means[top], n_val)
    k_seeds = len(results[top])
    se_seeds = stds[top] / math.sqrt(k_seeds) if k_seeds > 1 else 0.0
    se = math.hypot(se_images, se_seeds)
    band = means[top] - se
    within = [k for k in finished if means[k] >= band]
    chosen = min(within, key=lambda k: (costs[k], -level[k], k))
    return {
        "mean": means,
        "std": stds,
        "cost": costs,
        "best": top,
        "se": se,
        "se_images": se_images,
        "se_seeds": se_seeds,
        "band": band,
        "within": within,
        "finalist": chosen,
    }


@dataclass
class HalvingSearch:
    """What :func:`halving_search` found."""

    stage1: list  # SearchResult per (learning rate, batch size) of the base network, grid order
    pairs: list  # the (learning rate, batch size) pairs that entered the halving, best first
    grid: list  # the halving's configurations, in grid order
    halving: dict  # what successive_halving returned
    chosen: TrainConfig  # the configuration the one-standard-error rule chose


def halving_search(
    base: TrainConfig,
    learning_rates,
    batch_sizes,
    hidden_sizes,
    activations,
    X_fit,
    y_fit,
    X_val,
    y_val,
    *,
    n_pairs: int,
    min_epochs: int,
    max_epochs: int,
    eta: int = 3,
    finalist_seeds: Sequence[int] = (0, 1),
    n_finalists: int = 3,
    workers: int = 1,
    scheduler: str | None = None,
    on_result=note_result,
) -> HalvingSearch:
    """Exercise 3's search: a grid read for the reference hand-in's claims,
    then successive halving and the one-standard-error rule.

    Stage 1 trains ``base`` (``base.epochs`` epochs, seed
    ``finalist_seeds[0]``) at every learning rate x batch size; its curves
    are the data of :func:`claims`. The ``n_pairs`` best pairs (diverged
    pairs never) then enter :func:`successive_halving` with every hidden
    shape x activation, from ``min_epochs`` to ``max_epochs`` epochs; the
    finalists are trained on every seed of ``finalist_seeds`` and the
    cheapest within one standard error of the best is chosen. Stage 1 only
    narrows the rates: the choice rests on the halving's longer runs and on
    two or more seeds, not on one short run that rounding can reorder.

    Raises
    ------
    RuntimeError
        If every pair of stage 1 diverged (from :func:`best`), or every
        configuration of a rung did (from :func:`successive_halving`).
    """
    whole_number("n_pairs", n_pairs, at_least=1)
    data = (X_fit, y_fit, X_val, y_val)
    seed = finalist_seeds[0]
    stage1 = search(grid(base, learning_rate=learning_rates, batch_size=batch_sizes), *data, seed=seed,
                    workers=workers, scheduler=scheduler, on_result=on_result)  # fmt: skip
    best(stage1)  # raises when every pair diverged
    ranked = sorted((r for r in stage1 if not r.diverged), key=lambda r: -r.final)  # stable: grid order on ties
    pairs = [(r.config.learning_rate, r.config.batch_size) for r in ranked[:n_pairs]]
    configs = [
        base.replace(layer_sizes=(base.layer_sizes[0], *h, base.layer_sizes[-1]), activation=a, learning_rate=lr,
                     batch_size=b)
        for h in hidden_sizes for a in activations for lr, b in pairs
    ]  # fmt: skip
    halved = successive_halving(
        configs, *data, min_epochs=min_epochs, max_epochs=max_epochs, eta=eta, seeds=(seed,),
        finalist_seeds=finalist_seeds, n_finalists=n_finalists, workers=workers, scheduler=scheduler,
        on_result=on_result,
    )  # fmt: skip
    return HalvingSearch(stage1, pairs, configs, halved, configs[halved["choice"]["index"]])


def search_record(found: HalvingSearch) -> dict:
    """What the report quotes of :func:`halving_search`, JSON-ready: stage 1
    (``search``), each rung (its epochs, how many it trained, the labels
    kept), the finalists with their per-seed validation accuracies, mean,
    sd and cost, and the one-standard-error choice."""
    h, choice = found.halving, found.halving["choice"]

    def label(i):
        return SearchResult(found.grid[i]).label

    finalists = [
        dict(label=f["label"], config=found.grid[f["index"]].to_dict(), val_accuracy=f["val_accuracy"],
             mean=choice["mean"][k], std=choice["std"][k],
             gflop_per_epoch=choice["cost"][k] / 1e9, within=k in choice["within"])
        for k, f in enumerate(h["finalists"])
    ]  # fmt: skip
    best_k = choice["best"]
    trained = len(found.stage1) + len(found.grid)
    return {
        "search": [
            dict(label=r.label, config=r.config.to_dict(), val_accuracy=r.val_accuracy, diverged=bool(r.diverged))
            for r in found.stage1
        ],
        "search_pairs": [dict(learning_rate=lr, batch_size=b) for lr, b in found.pairs],
        "rungs": [
            dict(
                epochs=r["epochs"],
                trained=len(r["trained"]),
                kept=[label(i) for i in r["survivors"]],
                diverged=sum(v is None for v in r["val_accuracy"].values()),
            )
            for r in h["rungs"]
        ],  # fmt: skip
        "finalists": finalists,
        "n_search_configs": trained,
        "n_diverged": sum(bool(r.diverged) for r in found.stage1)
        + sum(v is None for v in h["rungs"][0]["val_accuracy"].values()),
        "choice_se": choice["se"],
        "choice_se_images": choice["se_images"],
        "choice_se_seeds": choice["se_seeds"],
        "best_finalist": {"label": finalists[best_k]["label"], "val_accuracy": finalists[best_k]["mean"]},
        "chosen": found.chosen.to_dict(),
        "chosen_label": finalists[choice["finalist"]]["label"],
        "chosen_val_accuracy": finalists[choice["finalist"]]["mean"],
    }


def finalist_table(record: dict):
    """Rows, headers and formats of the finalists' table, from
    :func:`search_record`: network, activation, learning rate, batch size,
    the validation accuracy on each seed, the mean, the GFLOP of an epoch
    and whether it lies within one standard error of the best."""
    finalists = record["finalists"]
    seeds = [f"seed {s}" for s in finalists[0]["val_accuracy"]]
    rows = [
        ("-".join(map(str, f["config"]["layer_sizes"])), f["config"]["activation"], f"{f['config']['learning_rate']:g}",
         f["config"]["batch_size"], *[("diverged" if a is None else a) for a in f["val_accuracy"].values()],
         "diverged" if f["mean"] is None else f["mean"], f["gflop_per_epoch"], "yes" if f["within"] else "no")
        for f in finalists
    ]  # fmt: skip
    headers = ["network", "activation", "learning rate", "batch", *seeds, "mean", "GFLOP/epoch", "within one SE"]
    return rows, headers, {**{h: "{:.4f}" for h in (*seeds, "mean")}, "GFLOP/epoch": "{:.0f}"}


def claims(stage1, learning_rates, batch_sizes) -> dict:
    """The reference hand-in's claims, read off the stage-1 grid.

    "A larger batch size and learning rate converge faster but end lower":
    for each value of the other setting, does the largest setting reach a
    higher validation accuracy after the first epoch ("faster") and a lower
    one after the last ("lower") than the smallest? An equal accuracy is a
    tie, counted apart: neither faster nor slower, neither lower nor higher.
    "A smaller batch wants a smaller learning rate": does the best learning
    rate grow with the batch size? Settings are compared by value, whatever
    order the lists are in.

    Returns
    -------
    dict
        ``batch`` and ``learning_rate``: ``faster``, ``faster_ties``,
        ``slower`` (after the first epoch), ``lower``, ``lower_ties``,
        ``higher`` (after the last; each triple sums to ``of``), ``of`` (the
        number of comparisons), ``largest``, ``smallest``; ``best_lr``:
        batch size -> best learning rate. The verdicts on these counts are
        ``dlia_a2.verdicts.claim`` and ``best_lr_trend``.
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
        # +1: faster (higher after the first epoch) / lower (after the last); 0: a tie; -1: the opposite
        return int(np.sign(first_line[hi] - first_line[lo])), int(np.sign(last_line[lo] - last_line[hi]))

    def tally(pairs, values):
        pairs = [p for p in pairs if p is not None]
        starts, ends = [f for f, _ in pairs], [w for _, w in pairs]
        return {
            "faster": starts.count(1),
            "faster_ties": starts.count(0),
            "slower": starts.count(-1),
            "lower": ends.count(1),
            "lower_ties": ends.count(0),
            "higher": ends.count(-1),
            "of": len(pairs),
            "smallest": values[0],
            "largest": values[-1],
        }

    batch = tally([compare(first[i], last[i]) for i in range(len(lrs))], bss)
    learning_rate = tally([compare(first[:, j], last[:, j]) for j in range(len(bss))], lrs)
    best_lr = {b: lrs[int(np.nanargmax(last[:, j]))] for j, b in enumerate(bss) if np.isfinite(last[:, j]).any()}
    return {
        "batch": batch,
        "learning_rate": learning_rate,
        "best_lr": best_lr,
        "first_epoch": first,
        "last_epoch": last,
        "learning_rates": lrs,
        "batch_sizes": bss,
    }
