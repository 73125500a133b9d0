"""Independent trainings side by side: in this process, in loky processes
on this machine, or on a Dask cluster.

:func:`run_jobs` runs ``fn`` once per job: with ``workers=1`` here, one
job after another; with more, in that many loky processes through joblib;
on a Dask cluster when a scheduler address is given (``tcp://host:8786``,
or the environment variable ``DLIA_DASK_SCHEDULER``). The data every job
needs (``shared``) travels once: joblib memory-maps large arrays for its
processes, and a Dask client scatters them to every worker once, so that
no task carries a data set. Each job limits BLAS to one thread itself, so
a result does not depend on where it ran: ``workers=1``, loky and Dask
give the same bits. At the small batch sizes of this assignment one BLAS
thread multiplies as fast as two, so two single-threaded runs side by side
finish sooner than one after the other.

:func:`train_runs` runs several checkpointed :class:`Run` s that way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from dlia_a2 import checkpoint
from dlia_a2.checks import is_whole
from dlia_a2.config import TrainConfig
from dlia_a2.progress import bar as progress_bar
from dlia_a2.progress import terminal_progress

SCHEDULER_ENV = "DLIA_DASK_SCHEDULER"


def _one_blas_thread(fn: Callable, kwargs: dict, shared: dict):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return fn(**kwargs, **shared)


def run_jobs(
    fn: Callable,
    jobs: list[dict],
    workers: int = 1,
    scheduler: str | None = None,
    on_done: Callable | None = None,
    progress: str | None = None,
    shared: dict | None = None,
) -> list:
    """``[fn(**job, **shared) for job in jobs]``, run side by side, in order.

    Parameters
    ----------
    fn : a module-level function (it is pickled to the workers).
    jobs : keyword arguments of each call; keep them small (settings, seeds,
        names), since each is sent with its job.
    workers : processes on this machine; 1 runs here, one job after another.
    scheduler : address of a Dask scheduler (``tcp://host:port``); default
        ``$DLIA_DASK_SCHEDULER``. When set, the jobs run on that cluster
        and ``workers`` is ignored.
    on_done : called with each result, in job order, as results come in.
    progress : a label for a progress bar over the jobs in Jupyter.
    shared : keyword arguments every call gets, such as the data sets. They
        go to each worker once: joblib memory-maps large arrays for its
        processes, and on a cluster they are scattered to every worker
        before the first job, so no task graph carries them.

    Returns
    -------
    list
        The results, in the order of ``jobs``.
    """
    if not is_whole(workers) or workers < 1:
        raise ValueError(f"workers must be a whole number of processes, 1 or more; got {workers!r}")
    shared = shared or {}
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler:
        from dask.distributed import Client

        with Client(scheduler) as client:
            on_workers = client.scatter(shared, broadcast=True, hash=False) if shared else {}
            futures = [client.submit(_one_blas_thread, fn, job, on_workers, pure=False) for job in jobs]
            return _collect((f.result() for f in futures), len(jobs), on_done, progress)
    if workers == 1 or len(jobs) <= 1:
        return _collect((_one_blas_thread(fn, job, shared) for job in jobs), len(jobs), on_done, progress)
    import joblib

    parallel = joblib.Parallel(n_jobs=workers, backend="loky", return_as="generator", inner_max_num_threads=1)
    calls = (joblib.delayed(_one_blas_thread)(fn, job, shared) for job in jobs)
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


# --- long, checkpointed runs ------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One long, checkpointed training run for :func:`train_runs`.

    The data are named, not carried: ``train`` and the values of
    ``eval_sets`` are keys of the ``data`` given to :func:`train_runs`.
    """

    config: TrainConfig
    seed: int
    checkpoint: Path  # folder and name; the checkpoint is "<name>-seed<seed>.npz" there (resumed when present)
    train: str  # the name of the (X, y) it trains on
    eval_sets: dict  # set name in the history -> name of its (X, y)
    label: str = ""  # for the progress lines on the terminal
    # (name, run) trained in the same job right after this one, for as many
    # epochs as this run's ``keep_best`` score chose (Algorithm 7.2's refit):
    # its epochs are set then, so it starts as soon as its worker is free
    then: tuple[str, Run] | None = None

    @property
    def checkpoint_path(self) -> Path:
        """Where the checkpoint lives: the seed is part of the name, so a run
        with another seed never resumes this one. The ``.npz`` is added here,
        so that a dot in the name (``lr-0.05``) is not taken for a suffix and
        the seed with it."""
        path = Path(self.checkpoint)
        return path.with_name(f"{path.name}-seed{self.seed}.npz")


def chosen_epochs(run: Run, history) -> int:
    """The epoch ``run``'s ``keep_best`` score chose in ``history``: the
    number of epochs its :attr:`Run.then` trains."""
    if not run.config.keep_best:
        raise ValueError(f"{run.label or 'a run'} chooses no epoch (keep_best is ''), so no run can follow it")
    return int(history["epoch"][history.best(run.config.keep_best)])


def _train_job(run: Run, data: dict) -> dict:
    """``{None: (params, history)}`` of ``run``, and ``{name: ...}`` of the
    run that follows it (:attr:`Run.then`), trained next in this job."""
    callback = terminal_progress(run.label, every_epochs=max(1, run.config.epochs // 10))
    eval_sets = {name: data[key] for name, key in run.eval_sets.items()}
    done = {
        None: checkpoint.train_resumable(
            *data[run.train],
            run.config,
            run.seed,
            run.checkpoint_path,
            eval_sets=eval_sets,
            callback=callback,
            log=lambda m: None,
        )
    }
    if run.then is not None:
        name, then = run.then
        then = replace(then, config=then.config.replace(epochs=chosen_epochs(run, done[None][1])))
        done[name] = _train_job(then, data)[None]
    return done


def train_runs(runs: dict[str, Run], data: dict, workers: int = 1, scheduler: str | None = None) -> dict:
    """Several checkpointed training runs side by side (see :func:`run_jobs`),
    the longest first.

    Parameters
    ----------
    runs : name -> :class:`Run`.
    data : data name -> ``(X, y)``, every set the runs name; sent to each
        worker once.
    workers, scheduler : as for :func:`run_jobs`.

    Returns
    -------
    dict
        ``{name: (params, history)}``, in the order of ``runs``, then the
        runs that follow them (:attr:`Run.then`) under their own names.
    """
    every = [*runs.values(), *(r.then[1] for r in runs.values() if r.then is not None)]
    missing = sorted({n for r in every for n in (r.train, *r.eval_sets.values())} - set(data))
    if missing:
        raise ValueError(f"the runs name data sets {missing} that are not in data (it has {sorted(data)}); add them")
    # the longest first; a run with one to follow counts both (the follower at most its full length)
    length = {n: r.config.epochs + (r.then[1].config.epochs if r.then is not None else 0) for n, r in runs.items()}
    names = sorted(runs, key=lambda n: -length[n])
    done = run_jobs(
        _train_job,
        [dict(run=runs[n]) for n in names],
        workers,
        scheduler,
        progress="training runs",
        shared=dict(data=data),
    )
    results = {n: done[names.index(n)][None] for n in runs}
    results.update({name: result for job in done for name, result in job.items() if name is not None})
    return results
