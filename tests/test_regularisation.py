"""Regularisation in the training machinery: L2 weight decay, dropout and
early stopping on a validation set."""

import numpy as np
import pytest

import mlp_core as mc
from dlia_a2 import checkpoint, training
from dlia_a2.config import TrainConfig
from dlia_a2.optimizers import make_optimizer
from gradcheck import numerical_gradient, rel_error


def blobs(n=300, d=20, c=4, seed=0, noise=1.0, dtype=np.float32):
    """Gaussian clusters; ``seed`` draws other samples of the same clusters."""
    centres = np.random.default_rng(0).standard_normal((c, d)) * 1.5
    r = np.random.default_rng(seed + 1)
    y = r.integers(0, c, n)
    return (centres[y] + noise * r.standard_normal((n, d))).astype(dtype), y


# --- weight decay ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_weight_decay_gradient_matches_numerical(rng, name):
    """What every optimiser steps along is the gradient of
    J + (weight_decay / 2) * sum ||W||^2, biases not penalised."""
    X = rng.standard_normal((6, 12))
    y = rng.integers(0, 5, 6)
    params = mc.initialize_parameters([12, 7, 5], rng, init="he", dtype=np.float64)
    for k in params:
        params[k] += rng.standard_normal(params[k].shape)  # non-zero biases too
    wd = 0.3

    def penalised_loss():
        J = mc.compute_loss(mc.model_forward(X, params, "relu")[0], y)
        return J + wd / 2 * sum(np.sum(params[k] ** 2) for k in params if k.startswith("W"))

    scores, caches = mc.model_forward(X, params, "relu")
    grads = mc.model_backward(mc.softmax_cross_entropy(scores, y)[1], caches)
    total = make_optimizer(name, 0.1, weight_decay=wd).penalised(params, grads)
    for k, p in params.items():
        assert rel_error(total["d" + k], numerical_gradient(penalised_loss, p)) < 1e-6, k
    assert total["db1"] is grads["db1"]


def test_sgd_with_weight_decay_shrinks_weights_not_biases():
    params = {"W1": np.array([[1.0]]), "b1": np.array([1.0])}
    grads = {"dW1": np.array([[2.0]]), "db1": np.array([2.0])}
    make_optimizer("sgd", 0.1, weight_decay=0.5).step(params, grads)
    assert params["W1"][0, 0] == pytest.approx((1 - 0.1 * 0.5) * 1.0 - 0.1 * 2.0)  # 0.75
    assert params["b1"][0] == pytest.approx(1.0 - 0.1 * 2.0)
    no_decay = make_optimizer("sgd", 0.1)
    assert no_decay.penalised(params, grads) is grads  # nothing added: the old bits


def test_weight_decay_gives_smaller_weights():
    X, y = blobs()
    cfg = TrainConfig(layer_sizes=(20, 16, 4), init="he", learning_rate=0.1, batch_size=32, epochs=5)
    plain, _ = training.train(X, y, cfg, np.random.default_rng(0))
    decayed, _ = training.train(X, y, cfg.replace(weight_decay=0.05), np.random.default_rng(0))
    norm = lambda p: sum(float(np.sum(p[k] ** 2)) for k in p if k.startswith("W"))
    assert norm(decayed) < 0.8 * norm(plain)


# --- dropout --------------------------------------------------------------------


@pytest.mark.parametrize("setting", [{"dropout": 0.3}, {"input_dropout": 0.2}], ids=["hidden", "input"])
def test_dropout_run_is_repeatable_and_differs_from_plain(setting):
    X, y = blobs()
    cfg = TrainConfig(layer_sizes=(20, 16, 4), init="he", learning_rate=0.1, batch_size=32, epochs=3)
    plain, _ = training.train(X, y, cfg, np.random.default_rng(0))
    a, _ = training.train(X, y, cfg.replace(**setting), np.random.default_rng(0))
    b, _ = training.train(X, y, cfg.replace(**setting), np.random.default_rng(0))
    assert all(a[k].tobytes() == b[k].tobytes() for k in a)
    assert not np.array_equal(a["W1"], plain["W1"])


def test_dropout_network_still_learns():
    X, y = blobs(n=400)
    cfg = TrainConfig(layer_sizes=(20, 64, 4), init="he", learning_rate=0.1, batch_size=32, epochs=10, dropout=0.5)
    _, h = training.train(X, y, cfg, np.random.default_rng(0), eval_sets={"train": (X, y)})
    assert h.last("train_accuracy") > 0.95


# --- learning-rate schedule ------------------------------------------------------


def test_cosine_schedule_falls_from_the_learning_rate_towards_zero():
    cfg = TrainConfig(learning_rate=0.2, epochs=10, lr_schedule="cosine")
    rates = [cfg.learning_rate_at(e) for e in range(10)]
    assert rates[0] == 0.2 and rates[5] == pytest.approx(0.1)
    assert all(a > b > 0 for a, b in zip(rates, rates[1:]))
    assert TrainConfig(learning_rate=0.2, epochs=10).learning_rate_at(7) == 0.2
    with pytest.raises(ValueError, match="unknown lr_schedule"):
        cfg.replace(lr_schedule="step")


def test_cosine_run_follows_the_schedule_epoch_by_epoch():
    """A cosine run is a chain of constant-rate epochs at the scheduled rates."""
    X, y = blobs(dtype=np.float64)
    cfg = TrainConfig(layer_sizes=(20, 16, 4), init="he", learning_rate=0.2, batch_size=32, epochs=3, dtype="float64")
    ours, _ = training.train(X, y, cfg.replace(lr_schedule="cosine"), np.random.default_rng(0))
    rng = np.random.default_rng(0)
    params = mc.initialize_parameters(cfg.layer_sizes, rng, "he", np.float64)
    for e in range(cfg.epochs):
        rate = cfg.replace(lr_schedule="cosine").learning_rate_at(e)
        for Xb, yb in mc.random_mini_batches(X, y, cfg.batch_size, rng):
            scores, caches = mc.model_forward(Xb, params, "relu")
            mc.update_parameters(params, mc.model_backward(mc.softmax_cross_entropy(scores, yb)[1], caches), rate)
    for k in params:
        np.testing.assert_allclose(ours[k], params[k], rtol=1e-12, atol=1e-14)


# --- early stopping -------------------------------------------------------------


def overfitting_setup():
    """Few noisy samples and a wide network: the validation loss turns up early."""
    X, y = blobs(n=60, noise=2.0)
    Xv, yv = blobs(n=300, seed=1, noise=2.0)
    cfg = TrainConfig(layer_sizes=(20, 128, 4), init="he", learning_rate=0.2, batch_size=10, epochs=30)
    return X, y, Xv, yv, cfg


def test_keep_best_returns_the_weights_of_the_best_validation_epoch():
    X, y, Xv, yv, cfg = overfitting_setup()
    sets = {"val": (Xv, yv)}
    last, h = training.train(X, y, cfg, np.random.default_rng(0), eval_sets=sets)
    kept, h2 = training.train(X, y, cfg.replace(keep_best="val_loss"), np.random.default_rng(0), eval_sets=sets)
    assert h2.to_dict() == h.to_dict()  # the same run; only what it returns differs
    i = h.best("val_loss")
    best_epoch = int(h["epoch"][i])
    assert 1 < best_epoch < cfg.epochs, "the set-up must overfit for this test to mean something"
    assert h["val_loss"][i] == min(h["val_loss"])
    # SGD has no state: the first best_epoch epochs of the run are a run of best_epoch epochs
    short, _ = training.train(X, y, cfg.replace(epochs=best_epoch), np.random.default_rng(0))
    assert all(kept[k].tobytes() == short[k].tobytes() for k in kept)
    assert not np.array_equal(kept["W1"], last["W1"])
    assert training.evaluate(Xv, yv, kept, "relu")[0] == pytest.approx(h["val_loss"][i], rel=1e-6)
    assert h["epoch"][i] == best_epoch


def test_keep_best_accuracy_picks_the_earliest_highest():
    X, y, Xv, yv, cfg = overfitting_setup()
    kept, h = training.train(
        X, y, cfg.replace(keep_best="val_accuracy"), np.random.default_rng(0), eval_sets={"val": (Xv, yv)}
    )
    i = h.best("val_accuracy")
    acc = h["val_accuracy"][h.epoch_ends()]
    assert h["val_accuracy"][i] == acc.max() and int(h["epoch"][i]) == int(np.argmax(acc)) + 1
    assert training.evaluate(Xv, yv, kept, "relu")[1] == acc.max()


def test_keep_best_settings_are_checked():
    X, y, Xv, yv, cfg = overfitting_setup()
    with pytest.raises(ValueError, match="must not choose weights on the test set"):
        cfg.replace(keep_best="test_loss")
    with pytest.raises(ValueError, match="keep_best must name a loss or accuracy"):
        cfg.replace(keep_best="val")
    with pytest.raises(ValueError, match=r"unknown training setting\(s\) \['patience'\]"):
        cfg.replace(patience=2)
    with pytest.raises(ValueError, match="needs the evaluation set 'val' in eval_sets"):
        training.train(X, y, cfg.replace(keep_best="val_loss"), np.random.default_rng(0), eval_sets={"tr": (X, y)})
    for bad in ({"weight_decay": -1e-4}, {"dropout": 1.0}, {"dropout": -0.1}):
        with pytest.raises(ValueError):
            cfg.replace(**bad)


# --- resume ---------------------------------------------------------------------


def test_resume_with_dropout_decay_and_keep_best_gives_the_same_bits(tmp_path):
    """Interrupted anywhere and resumed from its checkpoint, a run with every
    regulariser on gives the bits of one never interrupted: the masks are
    redrawn, and the best weights so far travel in the checkpoint."""
    X, y, Xv, yv, cfg = overfitting_setup()
    # momentum 0.9 takes ten times the step: a tenth of the rate keeps it stable
    cfg = cfg.replace(
        dropout=0.3, input_dropout=0.1, weight_decay=1e-3, keep_best="val_loss",
        optimizer="momentum", learning_rate=cfg.learning_rate / 10, lr_schedule="cosine",
    )  # fmt: skip
    sets = {"val": (Xv, yv)}
    whole, h_whole = training.train(X, y, cfg, np.random.default_rng(0), eval_sets=sets)

    class Stop(Exception):
        pass

    saved = []

    def on_checkpoint(state):
        saved.append(checkpoint.save(tmp_path / f"c{len(saved)}", state, cfg))
        if len(saved) == 3:
            raise Stop

    with pytest.raises(Stop):
        training.train(X, y, cfg, np.random.default_rng(0), eval_sets=sets, on_checkpoint=on_checkpoint)
    state, _ = checkpoint.load(saved[-1])
    assert state.epoch == 3
    assert any(k.startswith("best/") for k in state.optimizer_state)
    resumed, h = training.train(X, y, cfg, np.random.default_rng(99), eval_sets=sets, resume=state)
    assert h.to_dict() == h_whole.to_dict()
    assert all(resumed[k].tobytes() == whole[k].tobytes() for k in whole)
