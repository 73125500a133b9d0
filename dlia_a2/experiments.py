"""Experiments built from the core: hyperparameter search on a validation
set, runs over several seeds, and the analysis of a trained model. The
notebooks call these; nothing here prints or plots."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from dlia_a2 import checkpoint, training
from dlia_a2.progress import terminal_progress


@dataclass
class SearchResult:
    """One configuration of a search and what it scored on validation."""

    config: training.TrainConfig
    val_accuracy: list = field(default_factory=list)  # at every epoch end
    val_loss: list = field(default_factory=list)
    diverged: str = ""  # the error message when the loss became NaN or inf
    seconds: float = 0.0

    @property
    def final(self) -> float:
        return self.val_accuracy[-1] if self.val_accuracy and not self.diverged else float("nan")

    @property
    def label(self) -> str:
        c = self.config
        hidden = "-".join(map(str, c.layer_sizes[1:-1])) or "none"
        return f"hidden {hidden}, {c.activation}, lr {c.learning_rate:g}, batch {c.batch_size}"


def grid(base: training.TrainConfig, **axes) -> list[training.TrainConfig]:
    """Every combination of the given settings on top of ``base``.

    ``grid(base, learning_rate=[0.01, 0.1], batch_size=[32, 64])`` gives
    four configurations; ``hidden_sizes`` is accepted as a convenience and
    turns into ``layer_sizes``.
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
        out.append(training.TrainConfig.from_dict(d))
    return out


# --- running independent trainings side by side ----------------------------------
#
# At the small batch sizes of this assignment, one BLAS thread multiplies the
# matrices about as fast as two, so two trainings in two processes, one
# thread each, finish sooner than one after the other. Each job is
# self-contained (its own seed and generator), so the results do not depend
# on which worker runs it or when; they do depend on the BLAS thread count,
# which is always one here.

_SHARED: dict = {}


def _init_worker():
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def run_jobs(fn, jobs, workers: int = 2, on_done=None):
    """``[fn(job) for job in jobs]``, on ``workers`` processes with one BLAS
    thread each (``workers=1``: here, in order, also with one thread).

    ``fn`` must be a module-level function. Large arrays go in
    :func:`share` before the call rather than in the jobs: forked workers
    inherit them without copying.
    """
    from threadpoolctl import threadpool_limits

    if workers == 1 or len(jobs) == 1:
        with threadpool_limits(1):
            out = []
            for job in jobs:
                out.append(fn(job))
                if on_done is not None:
                    on_done(out[-1])
            return out
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"), initializer=_init_worker) as pool:
        futures = [pool.submit(fn, job) for job in jobs]
        out = []
        for f in futures:
            out.append(f.result())
            if on_done is not None:
                on_done(out[-1])
        return out


def share(**arrays) -> None:
    """Make arrays available to the jobs of :func:`run_jobs` by name."""
    _SHARED.clear()
    _SHARED.update(arrays)


def shared(name: str):
    return _SHARED[name]


def _search_job(job) -> SearchResult:
    config, seed = job
    r = SearchResult(config)
    t0 = time.perf_counter()
    try:
        _, history = training.train(
            shared("X_fit"),
            shared("y_fit"),
            config,
            np.random.default_rng(seed),
            eval_sets={"val": (shared("X_val"), shared("y_val"))},
        )
    except training.TrainingDiverged as e:
        r.diverged = str(e)
        history = e.history
    ends = history.epoch_ends() if len(history) else []
    r.val_accuracy = [float(v) for v in history["val_accuracy"][ends]] if len(ends) else []
    r.val_loss = [float(v) for v in history["val_loss"][ends]] if len(ends) else []
    r.seconds = time.perf_counter() - t0
    return r


def search(
    configs, X_train, y_train, X_val, y_val, seed: int = 0, on_result=None, workers: int = 2
) -> list[SearchResult]:
    """Train every configuration with the same seed and record its
    validation accuracy at every epoch end. A configuration whose loss
    becomes NaN or infinite is marked diverged and the search goes on."""
    share(X_fit=X_train, y_fit=y_train, X_val=X_val, y_val=y_val)
    return run_jobs(_search_job, [(c, seed) for c in configs], workers, on_result)


def best(results) -> SearchResult:
    """The result with the highest final validation accuracy (ties: the
    first, i.e. the cheaper setting in grid order)."""
    scored = [r for r in results if not r.diverged]
    if not scored:
        raise RuntimeError("every configuration of the search diverged; try smaller learning rates")
    return max(scored, key=lambda r: r.final)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``cm[i, j]`` of images of class ``i`` predicted as ``j``."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def most_confident_mistakes(P: np.ndarray, y: np.ndarray, k: int = 16):
    """Indices of the ``k`` misclassified images whose wrong prediction had
    the highest probability, most confident first."""
    pred = P.argmax(axis=1)
    wrong = np.flatnonzero(pred != y)
    order = np.argsort(-P[wrong, pred[wrong]], kind="stable")
    return wrong[order[:k]]


def _train_job(job: dict):
    """One long training run for :func:`train_runs`."""
    X, y = shared(job["data"][0]), shared(job["data"][1])
    sets = {name: (shared(a), shared(b)) for name, (a, b) in job["eval_sets"].items()}
    params, history = checkpoint.train_resumable(
        X,
        y,
        job["config"],
        job["seed"],
        job["checkpoint"],
        eval_sets=sets,
        callback=terminal_progress(job["label"], every_epochs=max(1, job["config"].epochs // 10)),
        log=lambda m: None,
    )
    return params, history


def train_runs(jobs: list[dict], workers: int = 2):
    """Several checkpointed training runs side by side (see :func:`run_jobs`).

    Each job is a dict with ``config``, ``seed``, ``checkpoint`` (a path),
    ``label`` (for the terminal), ``data`` (the names of the shared training
    arrays, e.g. ``("X_all", "y_all")``) and ``eval_sets`` (``{name: (X name,
    y name)}``). Returns ``(params, history)`` per job, in order.
    """
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i]["config"].epochs)  # longest first
    done = run_jobs(_train_job, [jobs[i] for i in order], workers)
    out = [None] * len(jobs)
    for i, r in zip(order, done):
        out[i] = r
    return out
