"""Independent trainings side by side: in this process, in loky workers and
on a Dask cluster, with the same bits; checkpointed runs whose checkpoint
names carry their seed; and no task graph that carries a data set."""

import os
import warnings
from dataclasses import replace
from unittest import mock

import numpy as np
import pytest

from dlia_a2 import checkpoint, jobs
from dlia_a2.config import TrainConfig
from dlia_a2.jobs import Run, run_jobs, train_runs
from dlia_a2.search import grid, search


def square(x):
    return x * x


def total(x, data):
    return float(x * data.sum())


def test_run_jobs_keeps_order_and_refuses_bad_workers():
    seen = []
    assert run_jobs(square, [dict(x=k) for k in range(5)], workers=1, on_done=seen.append) == [0, 1, 4, 9, 16]
    assert seen == [0, 1, 4, 9, 16]
    assert run_jobs(square, [dict(x=k) for k in range(5)], workers=2) == [0, 1, 4, 9, 16]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="workers must be a whole number of processes, 1 or more"):
            run_jobs(square, [dict(x=1)], workers=bad)


def test_run_jobs_gives_every_job_the_shared_data():
    data = np.arange(4.0)
    for workers in (1, 2):
        assert run_jobs(total, [dict(x=k) for k in range(3)], workers, shared=dict(data=data)) == [0.0, 6.0, 12.0]


def test_scheduler_can_come_from_the_environment(monkeypatch):
    import dask.distributed

    class Reached(Exception):
        pass

    def client(address):
        raise Reached(address)

    monkeypatch.setattr(dask.distributed, "Client", client)
    monkeypatch.setenv(jobs.SCHEDULER_ENV, "tcp://scheduler.example:8786")
    with pytest.raises(Reached, match="tcp://scheduler.example:8786"):
        run_jobs(square, [dict(x=1)], workers=1)
    monkeypatch.delenv(jobs.SCHEDULER_ENV)
    assert run_jobs(square, [dict(x=3)], workers=1) == [9]


def test_the_checkpoint_path_carries_the_seed(tmp_path):
    run = Run(TrainConfig(layer_sizes=(20, 4)), 7, tmp_path / "chosen", "train", {})
    assert run.checkpoint_path == tmp_path / "chosen-seed7.npz"
    assert Run(run.config, 8, run.checkpoint, "train", {}).checkpoint_path != run.checkpoint_path
    # a dot in the name is not a suffix that takes the seed with it
    dotted = [Run(run.config, s, tmp_path / "lr-0.05", "train", {}).checkpoint_path for s in (0, 1)]
    assert dotted == [tmp_path / "lr-0.05-seed0.npz", tmp_path / "lr-0.05-seed1.npz"]


def test_train_runs_refuses_runs_that_name_missing_data(tmp_path, blobs):
    runs = {"a": Run(TrainConfig(layer_sizes=(20, 4)), 0, tmp_path / "a", "train", {"test": "tset"})}
    with pytest.raises(ValueError, match=r"name data sets \['tset'\] that are not in data .*\['test', 'train'\]"):
        train_runs(runs, {"train": blobs(), "test": blobs(seed=1)})


@pytest.mark.slow
def test_train_runs_checkpoint_and_return_by_name(tmp_path, blobs):
    data = {"blobs": blobs()}
    runs = {
        f"run{e}": Run(TrainConfig(layer_sizes=(20, 4), epochs=e), s, tmp_path / f"run{e}", "blobs", {"t": "blobs"})
        for e, s in ((1, 0), (3, 1))
    }
    out = train_runs(runs, data, workers=2)
    assert list(out) == ["run1", "run3"]
    assert [h.last("iteration") for _, h in out.values()] == [5, 15]
    assert (tmp_path / "run3-seed1.npz").exists()
    again = train_runs(runs, data, workers=1)  # resumed from the finished checkpoints
    for (p1, _), (p2, _) in zip(out.values(), again.values()):
        assert all(p1[k].tobytes() == p2[k].tobytes() for k in p1)


def test_a_changed_seed_trains_afresh_even_where_the_fingerprint_misses_it(tmp_path, monkeypatch, blobs):
    """The seed is in the checkpoint's name: another seed finds no checkpoint
    to resume, even if the fingerprint did not tell the seeds apart."""
    fingerprint = checkpoint.fingerprint
    monkeypatch.setattr(
        checkpoint, "fingerprint", lambda X, y, config, seed, eval_sets=None: fingerprint(X, y, config, 0, eval_sets)
    )
    data, config = {"blobs": blobs()}, TrainConfig(layer_sizes=(20, 8, 4), epochs=2)
    first = train_runs({"a": Run(config, 0, tmp_path / "run", "blobs", {})}, data)["a"][0]
    second = train_runs({"a": Run(config, 1, tmp_path / "run", "blobs", {})}, data)["a"][0]
    fresh = train_runs({"a": Run(config, 1, tmp_path / "fresh" / "run", "blobs", {})}, data)["a"][0]
    assert all(second[k].tobytes() == fresh[k].tobytes() for k in fresh)
    assert any(second[k].tobytes() != first[k].tobytes() for k in first)
    assert (tmp_path / "run-seed0.npz").exists() and (tmp_path / "run-seed1.npz").exists()


def search_values(results):
    return [(r.val_accuracy, r.val_loss) for r in results]


def history_values(trained):
    return {n: ({k: v.tobytes() for k, v in p.items()}, h.columns) for n, (p, h) in trained.items()}


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_bits_and_no_graph_carries_the_data(tmp_path, blobs):
    """The README's cluster route, against a LocalCluster: the scheduler's
    address is all the search and the long runs need. The data go to the
    workers once: with the warning threshold below the size of the data,
    Dask warns of a large graph when a job carries them (the check can
    fail), and not for the search and the long runs."""
    import dask
    from dask.distributed import LocalCluster

    X, y = blobs(n=2000)  # 160 kB of training images
    Xv, yv = blobs(seed=1)
    cfgs = grid(TrainConfig(layer_sizes=(20, 16, 4), init="he", epochs=2), learning_rate=[0.02, 0.1])
    data = {"fit": (X, y), "val": (Xv, yv)}
    config = TrainConfig(layer_sizes=(20, 16, 4), epochs=2)
    runs = {
        "a": Run(config, 0, tmp_path / "here" / "a", "fit", {"val": "val"}),
        "b": Run(config.replace(epochs=1), 1, tmp_path / "here" / "b", "fit", {"train": "fit", "val": "val"}),
    }
    on_cluster = {n: Run(r.config, r.seed, tmp_path / "there" / n, r.train, r.eval_sets) for n, r in runs.items()}
    here = search(cfgs, X, y, Xv, yv, seed=3, workers=1), train_runs(runs, data, workers=1)
    # distributed sets OMP_NUM_THREADS and friends in this process's
    # environment for its workers; restore it, or later builds in this
    # session would run with one BLAS thread and other bits
    with mock.patch.dict(os.environ), dask.config.set({"distributed.admin.large-graph-warning-threshold": "100kB"}):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            address = cluster.scheduler_address
            with pytest.warns(UserWarning, match="Sending large graph"):
                run_jobs(total, [dict(x=1, data=X)], scheduler=address)
            with warnings.catch_warnings():
                warnings.filterwarnings("error", message=".*large graph")
                there = search(cfgs, X, y, Xv, yv, seed=3, scheduler=address), train_runs(on_cluster, data, 1, address)
    assert search_values(here[0]) == search_values(there[0])
    assert history_values(here[1]) == history_values(there[1])
    assert (tmp_path / "there" / "b-seed1.npz").exists()  # written by a worker


def test_a_following_run_trains_in_the_same_job_for_the_epochs_the_first_chose(tmp_path, blobs):
    """Run.then: the refit of Algorithm 7.2 starts as soon as its run on fit
    ends, for as many epochs as that run's keep_best score chose."""
    data = {"fit": blobs(), "val": blobs(seed=1), "all": blobs(seed=2)}
    first = TrainConfig(layer_sizes=(20, 4), epochs=6, keep_best="val_accuracy", learning_rate=0.5)
    follower = Run(first.replace(keep_best="", lr_schedule="cosine"), 3, tmp_path / "refit", "all", {"v": "val"})
    run = Run(first, 3, tmp_path / "fit", "fit", {"val": "val"}, then=("refit", follower))
    out = train_runs({"fit": run}, data, workers=2)
    assert list(out) == ["fit", "refit"]
    epochs = int(out["fit"][1]["epoch"][out["fit"][1].best("val_accuracy")])
    assert epochs < first.epochs, "the first run chose its last epoch: the test cannot see the epochs set"
    params, history = out["refit"]
    alone = train_runs({"x": Run(follower.config.replace(epochs=epochs), 3, tmp_path / "alone", "all", {"v": "val"})},
                       data)["x"]  # fmt: skip
    assert history.epoch_ends().size == epochs
    assert all(np.array_equal(params[k], alone[0][k]) for k in params)
    with pytest.raises(ValueError, match="chooses no epoch"):
        train_runs({"a": replace(run, config=first.replace(keep_best=""))}, data)
