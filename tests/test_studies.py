"""The regularisation study: chosen on validation, measured on test,
checkpointed; and its table."""

import json

import numpy as np
import pytest

from dlia_a2 import studies
from dlia_a2.config import TrainConfig


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
    study = studies.regularisation_study(base, SETTINGS, X, y, Xv, yv, Xt, yt, tmp_path / "a", seeds=(0, 1), workers=1)
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
    other = studies.regularisation_study(
        base, SETTINGS, X, y, Xv, yv, Xt, shuffled, tmp_path / "b", seeds=(0, 1), workers=1
    )
    assert other["chosen"] == study["chosen"]
    for name in study["settings"]:
        assert other["settings"][name]["chosen_epoch"] == study["settings"][name]["chosen_epoch"]
        assert other["curves"][name]["val_loss"] == study["curves"][name]["val_loss"]
        assert other["curves"][name]["test_loss"] != study["curves"][name]["test_loss"]
    assert [s["chosen_epoch"] for s in other["seeds"].values()] == [s["chosen_epoch"] for s in study["seeds"].values()]

    # checkpointed: run again, it resumes from the finished runs and agrees
    again = studies.regularisation_study(base, SETTINGS, X, y, Xv, yv, Xt, yt, tmp_path / "a", seeds=(0, 1), workers=1)
    assert again == study


def test_regularisation_study_with_loss_monitor(tmp_path):
    base, X, y, Xv, yv, Xt, yt = overfitting_blobs()
    study = studies.regularisation_study(
        base, SETTINGS, X, y, Xv, yv, Xt, yt, tmp_path, monitor="val_loss", train_curve=("none", *SETTINGS), workers=1
    )
    for name, s in study["settings"].items():
        c = study["curves"][name]
        assert s["chosen_epoch"] == int(np.argmin(c["val_loss"])) + 1
        assert len(c["epoch"]) == base.epochs  # every run goes to the end
        assert "train_loss" in c
        assert s["other_monitor"]["chosen_epoch"] == int(np.argmax(c["val_accuracy"])) + 1
    with pytest.raises(ValueError, match="names the run without regularisation"):
        studies.regularisation_study(base, {"none": {}}, X, y, Xv, yv, Xt, yt, tmp_path)
    with pytest.raises(ValueError, match="monitor must be one of"):
        studies.regularisation_study(base, SETTINGS, X, y, Xv, yv, Xt, yt, tmp_path, monitor="test_accuracy")


def test_compare_monitors_counts_later_epochs_and_the_test_accuracy_gained():
    def run(epoch, accuracy, other_epoch, other_accuracy):
        return {"chosen_epoch": epoch, "test_accuracy": accuracy,
                "other_monitor": {"chosen_epoch": other_epoch, "test_accuracy": other_accuracy}}  # fmt: skip

    c = studies.compare_monitors([run(17, 0.9809, 14, 0.9799), run(30, 0.98, 30, 0.98), run(5, 0.97, 9, 0.975)])
    assert (c["later"], c["same"], c["earlier"], c["of"]) == (1, 1, 1, 3)
    gain = c["test_accuracy_gain_points"]
    assert gain["mean"] == pytest.approx((0.1 + 0 - 0.5) / 3) and gain["max"] == pytest.approx(0.1)
    assert gain["min"] == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="no runs"):
        studies.compare_monitors([])


def test_regularisation_table_reads_each_setting_at_its_chosen_epoch():
    at = {"val_loss": 0.1, "val_accuracy": 0.97, "test_accuracy": 0.96}
    other = {"monitor": "val_loss", "chosen_epoch": 2, "test_accuracy": 0.955}
    setting = {"chosen_epoch": 3, "at_chosen_epoch": at, "last": {"test_accuracy": 0.95}, "other_monitor": other}
    rows, headers, fmt = studies.regularisation_table({"monitor": "val_accuracy", "settings": {"none": setting}})
    assert rows == [("none", 3, 0.97, 0.96, 2, 0.955, 0.95)] and len(headers) == len(set(headers)) == 7
    assert headers[1:3] == ["epoch", "val. accuracy"] and headers[4] == "epoch by val. loss"
    assert set(fmt) == {headers[i] for i in (2, 3, 5, 6)}  # the epochs are whole numbers
    # chosen on the loss, the table says so and shows the loss
    other = {"monitor": "val_accuracy", "chosen_epoch": 4, "test_accuracy": 0.965}
    rows, headers, _ = studies.regularisation_table(
        {"monitor": "val_loss", "settings": {"none": {**setting, "other_monitor": other}}}
    )
    assert rows[0][2] == 0.1 and headers[2] == "val. loss" and headers[4] == "epoch by val. accuracy"


def test_every_seed_and_apart_settings_are_paired_with_none(tmp_path):
    """The names in every_seed run on every seed whatever is chosen; apart
    settings run on every seed, are reported, and are never chosen; each is
    compared with "none" seed by seed."""
    base, X, y, Xv, yv, Xt, yt = overfitting_blobs()
    base = base.replace(epochs=4)
    study = studies.regularisation_study(
        base, {"weight decay": {"weight_decay": 0.02}}, X, y, Xv, yv, Xt, yt, tmp_path, seeds=(0, 1),
        every_seed=("none",), apart={"wide": {"layer_sizes": (20, 256, 4)}}, workers=1,
    )  # fmt: skip
    assert "wide" not in study["settings"] and study["chosen"] in ("none", "weight decay")
    assert set(study["by_seed"]) >= {"none", "wide", study["chosen"]}
    assert study["apart"]["wide"]["config"]["layer_sizes"] == [20, 256, 4]
    for name, compared in study["paired"].items():
        mine = study["by_seed"][name]["seeds"]
        none = study["by_seed"]["none"]["seeds"]
        diffs = [100 * (mine[s]["test_accuracy"] - none[s]["test_accuracy"]) for s in ("0", "1")]
        assert compared["diff_points"]["mean"] == pytest.approx(np.mean(diffs))
        assert compared["leads"] == sum(d > 0 for d in diffs)
    rows, _, _ = studies.regularisation_table(study)
    assert [r[0] for r in rows][-1] == "wide"
    with pytest.raises(ValueError, match="every_seed must name settings"):
        studies.regularisation_study(base, {}, X, y, Xv, yv, Xt, yt, tmp_path, every_seed=("dropout",))


def test_each_run_on_every_seed_is_scored_on_its_training_images_with_the_weights_it_kept(tmp_path):
    """``fit_accuracy`` scores the weights of the chosen epoch (not the
    last) on the training images as they are, so a variant trained on
    perturbed images can be set beside the network it varies (``twins``)."""
    from dlia_a2.checkpoint import load, train_resumable
    from dlia_a2.training import evaluate

    base, X, y, Xv, yv, Xt, yt = overfitting_blobs()
    noisy = {"input_dropout": 0.5}  # perturbed input, as the shifts of the report are
    study = studies.regularisation_study(
        base, {"weight decay": {"weight_decay": 0.02}}, X, y, Xv, yv, Xt, yt, tmp_path, seeds=(0, 1),
        every_seed=("none",), apart={"noisy": noisy}, twins={"noisy": "none"}, workers=1,
    )  # fmt: skip
    assert study["twins"] == {"noisy": "none"} and study["n_fit"] == len(y)
    for name, config in (("none", base), ("noisy", base.replace(**noisy))):
        for seed in (0, 1):
            reading = study["by_seed"][name]["seeds"][str(seed)]
            kept, history = train_resumable(  # read back whole from the study's checkpoint: nothing trains
                X, y, config.replace(keep_best="val_accuracy"), seed, tmp_path / f"{name}-seed{seed}.npz",
                eval_sets={"val": (Xv, yv), "test": (Xt, yt)}, log=lambda m: None,
            )  # fmt: skip
            assert len(history["epoch"]) == base.epochs
            assert reading["fit_accuracy"] == evaluate(X, y, kept, "relu")[1]
            assert reading["val_accuracy"] == history["val_accuracy"][reading["chosen_epoch"] - 1]
        fits = [study["by_seed"][name]["seeds"][s]["fit_accuracy"] for s in ("0", "1")]
        assert study["by_seed"][name]["fit_accuracy"]["mean"] == pytest.approx(np.mean(fits))
    # the kept weights, not the last: the noisy run, chosen before its end, fits its samples less well
    # than its last weights do
    kept = study["by_seed"]["noisy"]["seeds"]["0"]
    last = load(tmp_path / "noisy-seed0.npz")[0].params
    assert kept["chosen_epoch"] < base.epochs and kept["fit_accuracy"] < evaluate(X, y, last, "relu")[1]
    none = study["by_seed"]["none"]["seeds"]["0"]  # on 60 samples it overfits: they fit better than validation
    assert none["fit_accuracy"] > none["val_accuracy"]
    for twins in ({"noisy": "weight decay"}, {"other": "none"}):  # a setting not on every seed; a name not apart
        with pytest.raises(ValueError, match="twins must map names of apart"):
            studies.regularisation_study(
                base, {}, X, y, Xv, yv, Xt, yt, tmp_path, every_seed=("none",), apart={"noisy": noisy}, twins=twins,
            )  # fmt: skip


def test_paired_difference_needs_the_same_seeds():
    out = studies.paired_difference({"0": 0.99, "1": 0.98}, {"0": 0.98, "1": 0.98})
    assert out["diff_points"]["mean"] == pytest.approx(0.5) and out["leads"] == 1 and out["ties"] == 1
    assert out["seed_sd_points"] == pytest.approx(100 * np.std([0.99, 0.98], ddof=1))
    with pytest.raises(ValueError, match="same seeds"):
        studies.paired_difference({"0": 0.9}, {"1": 0.9})


def test_evaluation_step_scores_about_so_many_points_an_epoch():
    assert studies.evaluation_step(50_000, 128, 2) == 195  # 391 iterations an epoch
    assert studies.evaluation_step(100, 64, 4) == 1  # never 0, which means epoch ends only


def test_refit_trains_on_fit_and_val_for_the_epochs_validation_chose_on_its_own_schedule(tmp_path):
    """Algorithm 7.2 of Goodfellow et al.: the refit is the same setting
    trained on fit and val together for as many epochs as that seed's run on
    fit chose on validation, its cosine schedule fitted to those epochs, and
    read at its end; "none" refitted too gives a paired comparison."""
    from dlia_a2.training import train

    base, X, y, Xv, yv, Xt, yt = overfitting_blobs()
    base = base.replace(epochs=6, lr_schedule="cosine")
    settings = {"dropout 0.5": {"dropout": 0.5}}
    study = studies.regularisation_study(
        base, settings, X, y, Xv, yv, Xt, yt, tmp_path, seeds=(0, 1),
        every_seed=("none", "dropout 0.5"), refit=("none", "dropout 0.5"), workers=1,
    )  # fmt: skip
    shorter = 0
    for name in ("none", "dropout 0.5"):
        refit = study["refit"][name]
        assert refit["n_images"] == len(y) + len(yv)
        for seed in (0, 1):
            epoch = study["by_seed"][name]["seeds"][str(seed)]["chosen_epoch"]
            shorter += epoch < base.epochs
            config = base.replace(**settings.get(name, {}), epochs=epoch)
            _, h = train(np.concatenate([X, Xv]), np.concatenate([y, yv]), config, np.random.default_rng(seed),
                         {"test": (Xt, yt)})  # fmt: skip
            assert refit["seeds"][str(seed)] == {"epochs": epoch, "test_accuracy": h["test_accuracy"][-1]}
        accs = [refit["seeds"][s]["test_accuracy"] for s in ("0", "1")]
        assert refit["test_accuracy"]["mean"] == pytest.approx(np.mean(accs))
        fit = [study["by_seed"][name]["seeds"][s]["test_accuracy"] for s in ("0", "1")]
        assert refit["gain"]["diff_points"]["mean"] == pytest.approx(100 * (np.mean(accs) - np.mean(fit)))
    assert shorter, "every run chose its last epoch, so the test cannot tell a fitted schedule from the whole one"
    ours = [study["refit"]["dropout 0.5"]["seeds"][s]["test_accuracy"] for s in ("0", "1")]
    none = [study["refit"]["none"]["seeds"][s]["test_accuracy"] for s in ("0", "1")]
    assert study["refit_paired"]["dropout 0.5"]["diff_points"]["mean"] == pytest.approx(
        100 * (np.mean(ours) - np.mean(none))
    )
    json.dumps(study)
    with pytest.raises(ValueError, match="refit must name settings of every_seed"):
        studies.regularisation_study(base, settings, X, y, Xv, yv, Xt, yt, tmp_path, refit=("dropout 0.5",))
