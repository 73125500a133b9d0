"""The search, the long runs and the summaries of Exercise 3, on small
synthetic data; runs side by side give the bits of runs one after another,
in this process, in loky workers and on a Dask cluster."""

import json

import numpy as np
import pytest

from dlia_a2 import experiments as ex
from dlia_a2.config import TrainConfig
from dlia_a2.history import History


def blobs(n=300, d=20, c=4, seed=0):
    """Gaussian clusters; ``seed`` draws other samples of the same clusters."""
    centres = np.random.default_rng(0).standard_normal((c, d)) * 3
    r = np.random.default_rng(seed + 1)
    y = r.integers(0, c, n)
    return (centres[y] + r.standard_normal((n, d))).astype(np.float32), y


def square(x):
    return x * x


def test_grid_builds_every_combination():
    base = TrainConfig(layer_sizes=(20, 8, 4))
    cfgs = ex.grid(base, learning_rate=[0.1, 0.2], hidden_sizes=[[8], [16, 16]])
    assert [(c.learning_rate, c.layer_sizes) for c in cfgs] == [
        (0.1, (20, 8, 4)),
        (0.1, (20, 16, 16, 4)),
        (0.2, (20, 8, 4)),
        (0.2, (20, 16, 16, 4)),
    ]
    with pytest.raises(ValueError, match="unknown training setting"):
        ex.grid(base, lr=[0.1])


def test_run_jobs_keeps_order_and_refuses_bad_workers():
    seen = []
    assert ex.run_jobs(square, [dict(x=k) for k in range(5)], workers=1, on_done=seen.append) == [0, 1, 4, 9, 16]
    assert seen == [0, 1, 4, 9, 16]
    assert ex.run_jobs(square, [dict(x=k) for k in range(5)], workers=2) == [0, 1, 4, 9, 16]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="workers must be a whole number of processes, 1 or more"):
            ex.run_jobs(square, [dict(x=1)], workers=bad)


def test_search_marks_diverged_runs_and_goes_on():
    X, y = blobs()
    Xv, yv = blobs(seed=1)
    base = TrainConfig(layer_sizes=(20, 16, 4), init="he", epochs=2, batch_size=16)
    results = ex.search(ex.grid(base, learning_rate=[0.05, 1e5]), X, y, Xv, yv, workers=1)
    assert not results[0].diverged and results[0].final > 0.9
    assert "training loss became" in results[1].diverged and np.isnan(results[1].final)
    assert ex.best(results) is results[0]
    with pytest.raises(RuntimeError, match="every configuration of the search diverged"):
        ex.best(results[1:])


def search_values(results):
    return [(r.val_accuracy, r.val_loss) for r in results]


@pytest.mark.slow
def test_loky_workers_give_the_bits_of_one_process():
    X, y = blobs()
    Xv, yv = blobs(seed=1)
    cfgs = ex.grid(TrainConfig(layer_sizes=(20, 16, 4), init="he", epochs=2), learning_rate=[0.02, 0.1])
    one = ex.search(cfgs, X, y, Xv, yv, seed=3, workers=1)
    two = ex.search(cfgs, X, y, Xv, yv, seed=3, workers=2)
    assert search_values(one) == search_values(two)


@pytest.mark.slow
def test_search_on_a_dask_cluster_gives_the_same_bits():
    """The README's cluster route, against a LocalCluster: the scheduler's
    address is all the search needs."""
    import os
    from unittest import mock

    from dask.distributed import LocalCluster

    X, y = blobs()
    Xv, yv = blobs(seed=1)
    cfgs = ex.grid(TrainConfig(layer_sizes=(20, 16, 4), init="he", epochs=2), learning_rate=[0.02, 0.1])
    here = ex.search(cfgs, X, y, Xv, yv, seed=3, workers=1)
    # distributed sets OMP_NUM_THREADS and friends in this process's
    # environment for its workers; restore it, or later builds in this
    # session would run with one BLAS thread and other bits
    with mock.patch.dict(os.environ):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            there = ex.search(cfgs, X, y, Xv, yv, seed=3, scheduler=cluster.scheduler_address)
    assert search_values(here) == search_values(there)


def test_scheduler_can_come_from_the_environment(monkeypatch):
    import dask.distributed

    class Reached(Exception):
        pass

    def client(address):
        raise Reached(address)

    monkeypatch.setattr(dask.distributed, "Client", client)
    monkeypatch.setenv(ex.SCHEDULER_ENV, "tcp://scheduler.example:8786")
    with pytest.raises(Reached, match="tcp://scheduler.example:8786"):
        ex.run_jobs(square, [dict(x=1)], workers=1)
    monkeypatch.delenv(ex.SCHEDULER_ENV)
    assert ex.run_jobs(square, [dict(x=3)], workers=1) == [9]


def test_two_stage_search_trains_each_configuration_once_and_respects_the_budget():
    X, y = blobs()
    Xv, yv = blobs(seed=1)
    base = TrainConfig(layer_sizes=(20, 8, 4), init="he", epochs=1, batch_size=32)
    long_run = {"epochs": 10, "n_train": 300, "n_eval": 300}
    big = 10 * ex.epoch_flops((20, 32, 32, 4), 300, 300) / 1e12
    found = ex.two_stage_search(
        base, [0.1, 0.05], [32], [[8], [32, 32]], ["relu"], X, y, Xv, yv, long_run, budget_tflop=big * 0.99
    )
    labels = [r.label for r in found.searched]
    assert len(labels) == len(set(labels)) == 3  # 2 in stage 1, 1 new in stage 2
    assert found.stage2[0] in found.stage1  # the best of stage 1, not trained twice
    assert found.over_budget == [found.stage2[1].label]  # 784-32-32 would cost too much
    assert found.chosen.config.layer_sizes == (20, 8, 4)
    record = ex.search_record(found)
    assert record["n_search_configs"] == 3 and record["chosen_label"] == found.chosen.label


def test_epoch_flops_counts_forward_backward_and_evaluation():
    # one layer 3x2: forward 12 per sample, backward dW 12, no dA below the first layer
    assert ex.epoch_flops((3, 2), n_train=1) == 24
    # two layers 3x2, 2x4: forward 12 + 16, backward 28 + dA of the second layer 16
    assert ex.epoch_flops((3, 2, 4), n_train=1) == 28 + 44
    assert ex.epoch_flops((3, 2, 4), n_train=0, n_eval=10) == 280


def fake_result(lr, batch, accuracies):
    r = ex.SearchResult(TrainConfig(layer_sizes=(4, 2), learning_rate=lr, batch_size=batch))
    r.val_accuracy = accuracies
    return r


def test_claims_compare_by_value_whatever_the_order_of_the_lists():
    """The prose once assumed sorted lists: with [50, 0.1] it called 50 the
    lowest learning rate."""
    stage1 = [
        fake_result(0.1, 32, [0.90, 0.97]),
        fake_result(0.1, 128, [0.80, 0.95]),
        fake_result(50, 32, [0.95, 0.96]),
        fake_result(50, 128, [0.85, 0.94]),
    ]
    for lrs, bss in (([0.1, 50], [32, 128]), ([50, 0.1], [128, 32])):
        c = ex.claims(stage1, lrs, bss)
        assert c["learning_rate"]["largest"] == 50 and c["learning_rate"]["smallest"] == 0.1
        assert c["batch"]["largest"] == 128
        # the larger batch starts slower (0.80 < 0.90, 0.85 < 0.95) and ends lower at both rates
        assert (c["batch"]["faster"], c["batch"]["lower"], c["batch"]["of"]) == (0, 2, 2)
        assert not c["batch"]["mostly_faster"] and not c["batch"]["claim_holds"]
        # the larger rate starts faster and ends lower at both batch sizes: the claim holds
        assert (c["learning_rate"]["faster"], c["learning_rate"]["lower"]) == (2, 2)
        assert c["learning_rate"]["claim_holds"]
        assert c["best_lr"] == {32: 0.1, 128: 0.1} and c["best_lr_constant"]


def test_claims_skip_diverged_runs():
    stage1 = [fake_result(0.1, 32, [0.9, 0.95]), fake_result(0.2, 32, [0.9, 0.96])]
    stage1[1].diverged = "the training loss became nan"
    c = ex.claims(stage1, [0.1, 0.2], [32])
    assert c["learning_rate"]["of"] == 0 and c["best_lr"] == {32: 0.1}


def test_optimizer_table_has_unique_headers_with_one_epoch():
    summary = {"rows": {"SGD": {"val_accuracy_epoch_1": 0.9, "val_accuracy": 0.9, "val_loss": 0.3}}}
    configs = {"SGD": TrainConfig(learning_rate=0.1)}
    rows, headers, fmt = ex.optimizer_table(summary, configs, epochs=1)
    assert len(headers) == len(set(headers)) == 4 and rows == [("SGD", "0.1", 0.9, 0.3)]
    rows, headers, _ = ex.optimizer_table(summary, configs, epochs=3)
    assert headers[2:4] == ["val. accuracy, epoch 1", "val. accuracy, epoch 3"] and len(rows[0]) == 5


def test_long_run_summary_finds_overfitting_and_first_perfect_epoch():
    h = History(("train", "test"), 10)
    test_losses = [0.5, 0.3, 0.2, 0.25, 0.3]
    train_acc = [0.9, 0.99, 1.0, 1.0, 1.0]
    for e, (tl, ta) in enumerate(zip(test_losses, train_acc), start=1):
        h.append(iteration=10 * e, epoch=float(e), batch_loss=0.1, batch_accuracy=1.0, train_loss=0.1 / e,
                 train_accuracy=ta, test_loss=tl, test_accuracy=0.9 + e / 100)  # fmt: skip
    s = ex.long_run_summary(h, short_epochs=2)
    assert s["first_perfect_epoch"] == 3 and s["min_test_loss_epoch"] == 3 and s["overfits"]
    assert s["short"]["test_accuracy"] == pytest.approx(0.92) and s["last"]["test_loss"] == 0.3
    assert s["accuracy_change_points"] == pytest.approx(3.0)
    # the guards: the test accuracy over the epochs up to each reading
    assert (s["short_range"]["from_epoch"], s["short_range"]["to_epoch"]) == (1, 2)
    assert s["last_range"]["min"] == pytest.approx(0.91) and s["last_range"]["max"] == pytest.approx(0.95)
    assert ex.long_run_summary(h, short_epochs=2, guard_epochs=2)["last_range"]["from_epoch"] == 4


def test_seed_summary_reads_each_run_at_the_epoch_and_guards_it():
    def run(accuracies):
        h = History(("test",), 1)
        for e, a in enumerate(accuracies, start=1):
            h.append(iteration=e, epoch=float(e), batch_loss=0.0, batch_accuracy=0.0, test_loss=0.0, test_accuracy=a)
        return h

    # seed 0 is a longer run, read at epoch 3 like the others
    s = ex.seed_summary({0: run([0.5, 0.9, 0.92, 0.99]), 1: run([0.6, 0.95, 0.90]), 2: run([0.7, 0.8, 0.94])}, 3, 2)
    assert s["seed_test_accuracy"] == {"0": 0.92, "1": 0.90, "2": 0.94}
    assert s["seed_mean"] == pytest.approx(0.92) and s["seed_min"] == 0.90 and s["seed_max"] == 0.94
    assert s["seed_range"] == {"min": 0.8, "max": 0.95, "from_epoch": 2, "to_epoch": 3}
    with pytest.raises(ValueError, match="no runs"):
        ex.seed_summary({}, 3)


def test_spread_of_one_value_has_zero_std():
    assert ex.spread([0.5]) == {"mean": 0.5, "std": 0.0, "min": 0.5, "max": 0.5}
    assert ex.spread([1.0, 3.0])["std"] == pytest.approx(np.sqrt(2))


@pytest.mark.slow
def test_train_runs_checkpoint_and_return_by_name(tmp_path):
    X, y = blobs()
    runs = {
        f"run{e}": ex.Run(
            TrainConfig(layer_sizes=(20, 4), epochs=e), s, tmp_path / f"run{e}-{s}", (X, y), {"t": (X, y)}
        )
        for e, s in ((1, 0), (3, 1))
    }
    out = ex.train_runs(runs, workers=2)
    assert list(out) == ["run1", "run3"]
    assert [h.last("iteration") for _, h in out.values()] == [5, 15]
    assert (tmp_path / "run3-1.npz").exists()
    again = ex.train_runs(runs, workers=1)  # resumed from the finished checkpoints
    for (p1, _), (p2, _) in zip(out.values(), again.values()):
        assert all(p1[k].tobytes() == p2[k].tobytes() for k in p1)


def overfitting_blobs():
    """Few samples of overlapping clusters and a wide network: it overfits."""
    centres = np.random.default_rng(0).standard_normal((4, 20))

    def sample(n, seed):
        r = np.random.default_rng(seed)
        y = r.integers(0, 4, n)
        return (centres[y] + 1.5 * r.standard_normal((n, 20))).astype(np.float32), y

    (X, y), (Xv, yv), (Xt, yt) = sample(60, 1), sample(300, 2), sample(300, 3)
    base = TrainConfig(layer_sizes=(20, 128, 4), init="he", learning_rate=0.2, batch_size=10, epochs=12)
    return base, X, y, Xv, yv, Xt, yt


SETTINGS = {"dropout 0.5": {"dropout": 0.5}, "weight decay": {"weight_decay": 0.02}}


def test_regularisation_study_chooses_on_validation_and_reports_test(tmp_path):
    base, X, y, Xv, yv, Xt, yt = overfitting_blobs()
    study = ex.regularisation_study(base, SETTINGS, X, y, Xv, yv, Xt, yt, tmp_path / "a", seeds=(0, 1), workers=1)
    assert list(study["settings"]) == ["none", "dropout 0.5", "weight decay"]
    assert study["monitor"] == "val_accuracy" and study["n_val"] == len(yv)
    for name, s in study["settings"].items():
        c = study["curves"][name]
        assert c["epoch"] == [float(e) for e in range(1, 13)]
        # early stopping on validation accuracy, the earliest of equals
        assert s["chosen_epoch"] == int(np.argmax(c["val_accuracy"])) + 1
        assert s["at_chosen_epoch"]["test_accuracy"] == c["test_accuracy"][s["chosen_epoch"] - 1]
        assert s["last"]["test_loss"] == c["test_loss"][-1]
        # and where the validation loss would have stopped the same run
        other = s["other_monitor"]
        assert other["monitor"] == "val_loss" and other["chosen_epoch"] == int(np.argmin(c["val_loss"])) + 1
        assert other["test_accuracy"] == c["test_accuracy"][other["chosen_epoch"] - 1]
    assert study["monitors"]["of"] == 4  # the three settings and the chosen one's second seed
    assert study["seeds"]["1"]["other_monitor"]["monitor"] == "val_loss"
    score = {n: s["at_chosen_epoch"]["val_accuracy"] for n, s in study["settings"].items()}
    assert score[study["chosen"]] == max(score.values())
    assert study["runner_up"] in score and study["runner_up"] != study["chosen"]
    assert score[study["runner_up"]] == max(v for n, v in score.items() if n != study["chosen"])
    p = score[study["chosen"]]
    assert study["val_accuracy_se"] == pytest.approx(np.sqrt(p * (1 - p) / len(yv)))
    assert list(study["seeds"]) == ["0", "1"]
    chosen = study["settings"][study["chosen"]]
    assert study["seeds"]["0"]["test_accuracy"] == chosen["at_chosen_epoch"]["test_accuracy"]
    accs = [s["test_accuracy"] for s in study["seeds"].values()]
    assert study["test_accuracy"]["mean"] == pytest.approx(np.mean(accs))
    assert study["test_accuracy"]["std"] == pytest.approx(np.std(accs, ddof=1))
    json.dumps(study)  # plain data

    # the test labels never steer a choice: shuffled, every choice stays
    shuffled = np.random.default_rng(0).permutation(yt)
    other = ex.regularisation_study(base, SETTINGS, X, y, Xv, yv, Xt, shuffled, tmp_path / "b", seeds=(0, 1), workers=1)
    assert other["chosen"] == study["chosen"]
    for name in study["settings"]:
        assert other["settings"][name]["chosen_epoch"] == study["settings"][name]["chosen_epoch"]
        assert other["curves"][name]["val_loss"] == study["curves"][name]["val_loss"]
        assert other["curves"][name]["test_loss"] != study["curves"][name]["test_loss"]
    assert [s["chosen_epoch"] for s in other["seeds"].values()] == [s["chosen_epoch"] for s in study["seeds"].values()]

    # checkpointed: run again, it resumes from the finished runs and agrees
    again = ex.regularisation_study(base, SETTINGS, X, y, Xv, yv, Xt, yt, tmp_path / "a", seeds=(0, 1), workers=1)
    assert again == study


def test_regularisation_study_with_loss_monitor(tmp_path):
    base, X, y, Xv, yv, Xt, yt = overfitting_blobs()
    study = ex.regularisation_study(
        base, SETTINGS, X, y, Xv, yv, Xt, yt, tmp_path, monitor="val_loss", train_curve=True, workers=1
    )
    for name, s in study["settings"].items():
        c = study["curves"][name]
        assert s["chosen_epoch"] == int(np.argmin(c["val_loss"])) + 1
        assert len(c["epoch"]) == base.epochs  # every run goes to the end
        assert "train_loss" in c
        assert s["other_monitor"]["chosen_epoch"] == int(np.argmax(c["val_accuracy"])) + 1
    with pytest.raises(ValueError, match="names the run without regularisation"):
        ex.regularisation_study(base, {"none": {}}, X, y, Xv, yv, Xt, yt, tmp_path)
    with pytest.raises(ValueError, match="monitor must be one of"):
        ex.regularisation_study(base, SETTINGS, X, y, Xv, yv, Xt, yt, tmp_path, monitor="test_accuracy")


def test_compare_monitors_counts_later_epochs_and_the_test_accuracy_gained():
    def run(epoch, accuracy, other_epoch, other_accuracy):
        return {"chosen_epoch": epoch, "test_accuracy": accuracy,
                "other_monitor": {"chosen_epoch": other_epoch, "test_accuracy": other_accuracy}}  # fmt: skip

    c = ex.compare_monitors([run(17, 0.9809, 14, 0.9799), run(30, 0.98, 30, 0.98), run(5, 0.97, 9, 0.975)])
    assert (c["later"], c["same"], c["earlier"], c["of"]) == (1, 1, 1, 3)
    gain = c["test_accuracy_gain_points"]
    assert gain["mean"] == pytest.approx((0.1 + 0 - 0.5) / 3) and gain["max"] == pytest.approx(0.1)
    assert gain["min"] == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="no runs"):
        ex.compare_monitors([])


def test_search_label_names_the_regularisation():
    base = TrainConfig(layer_sizes=(784, 300, 10), learning_rate=0.2, batch_size=32)
    assert ex.SearchResult(base).label == "hidden 300, relu, lr 0.2, batch 32"
    reg = base.replace(dropout=0.3, weight_decay=5e-4, lr_schedule="cosine")
    assert ex.SearchResult(reg).label.endswith("batch 32, dropout 0.3, weight decay 0.0005, cosine schedule")


def test_regularisation_table_reads_each_setting_at_its_chosen_epoch():
    at = {"val_loss": 0.1, "val_accuracy": 0.97, "test_accuracy": 0.96}
    other = {"monitor": "val_loss", "chosen_epoch": 2, "test_accuracy": 0.955}
    setting = {"chosen_epoch": 3, "at_chosen_epoch": at, "last": {"test_accuracy": 0.95}, "other_monitor": other}
    rows, headers, fmt = ex.regularisation_table({"monitor": "val_accuracy", "settings": {"none": setting}})
    assert rows == [("none", 3, 0.97, 0.96, 2, 0.955, 0.95)] and len(headers) == len(set(headers)) == 7
    assert headers[1:3] == ["epoch", "val. accuracy"] and headers[4] == "epoch by val. loss"
    assert set(fmt) == {headers[i] for i in (2, 3, 5, 6)}  # the epochs are whole numbers
    # chosen on the loss, the table says so and shows the loss
    other = {"monitor": "val_accuracy", "chosen_epoch": 4, "test_accuracy": 0.965}
    rows, headers, _ = ex.regularisation_table(
        {"monitor": "val_loss", "settings": {"none": {**setting, "other_monitor": other}}}
    )
    assert rows[0][2] == 0.1 and headers[2] == "val. loss" and headers[4] == "epoch by val. accuracy"
