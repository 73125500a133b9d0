"""The hyperparameter search on a validation set: a grid of settings, each
trained with the same seed side by side (:func:`dlia_a2.jobs.run_jobs`),
the two-stage search of Exercise 3 with the cost of the chosen network's
long run bounded, and what the report reads off it (the record, table rows
and the reference hand-in's claims). Every function returns plain data.
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
    chosen. Within the band, the lowest ``cost(config)`` wins, and equal
    costs go to the earlier in ``results`` (the grid's order): a key with
    no rounding in it.

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
    top = max(finished, key=lambda k: (means[k], -k))
    se_images = analysis.accuracy_standard_error(means[top], n_val)
    k_seeds = len(results[top])
    se_seeds = stds[top] / math.sqrt(k_seeds) if k_seeds > 1 else 0.0
    se = math.hypot(se_images, se_seeds)
    band = means[top] - se
    within = [k for k in finished if means[k] >= band]
    chosen = min(within, key=lambda k: (costs[k], k))
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
    chosen is the best (by final validation accuracy) of those that did not
    diverge and whose long run costs at most ``budget_tflop``, counted (not
    timed, so that the choice is the same on every machine) by
    :func:`epoch_flops` with ``long_run = {"epochs": ..., "n_train": ...,
    "n_eval": ...}``.

    Raises
    ------
    RuntimeError
        If every configuration of stage 1 diverged, or no configuration
        that finished fits the budget (the message names the budget and the
        cost of the cheapest that finished).
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
    finished = [r for r in affordable if not r.diverged]
    if not finished:
        cheapest = min((r for r in searched if not r.diverged), key=tflop)
        why = (
            f"the {len(affordable)} that fit it diverged"
            if affordable
            else f"none of the {len(searched)} searched fits it"
        )
        raise RuntimeError(
            f"no configuration that finished fits the budget of {budget_tflop:g} TFLOP for the long run ({why}); "
            f"the cheapest that finished, {cheapest.label}, needs {cost[cheapest.label]:.3g} TFLOP: raise "
            "budget_tflop, shorten the long run or search smaller networks"
        )
    over_budget = [r.label for r in searched if r not in affordable]
    return TwoStageSearch(stage1, stage2, searched, best(finished), best(searched), over_budget, cost)


def runner_up(found: TwoStageSearch) -> SearchResult | None:
    """The configuration that would have been chosen without the chosen
    one: the best of the others that finished and fit the budget (None when
    there is no other). How far behind it lies says whether the choice could
    move when only the rounding does."""
    others = [
        r for r in found.searched if r is not found.chosen and not r.diverged and r.label not in found.over_budget
    ]
    return best(others) if others else None


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
        "runner_up": ({"label": second.label, "val_accuracy": second.final} if (second := runner_up(found)) else None),
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
