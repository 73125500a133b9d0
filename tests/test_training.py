"""The training machinery: the same steps as the core's loop, and what a
long run needs around them."""

import math
import re

import numpy as np
import pytest

import mlp_core as mc
from dlia_a2 import blas, training
from dlia_a2.config import TrainConfig
from dlia_a2.divergence import DivergenceWatch, TrainingDiverged
from dlia_a2.history import History


def blobs(rng, n=300, d=20, c=4, dtype=np.float32):
    """A small separable problem: c Gaussian clusters in d dimensions."""
    centres = rng.standard_normal((c, d)) * 3
    y = rng.integers(0, c, n)
    X = (centres[y] + rng.standard_normal((n, d))).astype(dtype)
    return X, y


SMALL_NETWORKS = [
    ((20, 4), "relu", "float32"),
    ((20, 16, 4), "relu", "float32"),
    ((20, 12, 8, 4), "sigmoid", "float64"),
]


def _core_and_machinery(sizes, activation, dtype, **settings):
    X, y = blobs(np.random.default_rng(0), n=250, dtype=np.dtype(dtype))
    plain, losses = mc.train_model(X, y, sizes, 0.1, 32, 3, np.random.default_rng(5), activation, "he")
    cfg = TrainConfig(
        layer_sizes=sizes,
        activation=activation,
        init="he",
        learning_rate=0.1,
        batch_size=32,
        epochs=3,
        dtype=dtype,
        **settings,
    )
    machinery, history = training.train(X, y, cfg, np.random.default_rng(5), eval_sets={"train": (X, y)})
    return plain, losses, machinery, history


@pytest.mark.parametrize("sizes,activation,dtype", SMALL_NETWORKS)
def test_train_gives_the_bits_of_the_core_train_model(sizes, activation, dtype):
    """With SGD unfused and no resume the machinery runs exactly the core's
    loop, bit for bit. The report runs the fused step, whose every step is
    this one rounded differently (the next test)."""
    plain, losses, machinery, history = _core_and_machinery(sizes, activation, dtype, fused_sgd=False)
    for k in plain:
        assert machinery[k].tobytes() == plain[k].tobytes(), k
    assert history["batch_loss"].tolist() == [losses[i - 1] for i in history["iteration"]]


@pytest.mark.parametrize("sizes,activation,dtype", SMALL_NETWORKS)
def test_fused_sgd_follows_the_core_train_model_to_rounding(sizes, activation, dtype, monkeypatch):
    """The fused step (the default) is the same step rounded differently:
    after 3 epochs (24 steps) its weights differ from the core loop's by
    a few units in the last place of the weights, not by a step."""
    calls = []
    gemm = blas.gemm_update
    monkeypatch.setattr(blas, "gemm_update", lambda *a: calls.append(a[0].shape) or gemm(*a))
    plain, losses, machinery, history = _core_and_machinery(sizes, activation, dtype)
    assert len(calls) == 24 * (len(sizes) - 1), "the fused step did not run"
    eps = np.finfo(dtype).eps
    for k in plain:
        scale = np.abs(plain[k]).max()
        assert np.abs(machinery[k] - plain[k]).max() <= 200 * eps * scale, k
    np.testing.assert_allclose(history["batch_loss"], [losses[i - 1] for i in history["iteration"]], rtol=1e3 * eps)


def test_shuffled_batches_are_the_core_mini_batches(rng):
    X = rng.random((23, 3), dtype=np.float32)
    y = rng.integers(0, 4, 23)
    buffer = np.empty((5, 3), np.float32)
    core = mc.random_mini_batches(X, y, 5, np.random.default_rng(5))
    ours = training.shuffled_batches(X, y, 5, np.random.default_rng(5), buffer)
    n = 0
    for (a, b), (c, d) in zip(ours, core, strict=True):
        assert np.array_equal(a, c) and np.array_equal(b, d)
        assert np.shares_memory(a, buffer)  # gathered into the buffer, no copy of X
        n += 1
    assert n == 5


def test_shuffled_batches_draw_the_permutation_at_once():
    """The permutation is drawn when the batches are asked for, not when the
    first is used: the draws after it (the dropout seed) must come second."""
    X, y = np.zeros((10, 2), np.float32), np.zeros(10, np.intp)
    a, b = np.random.default_rng(1), np.random.default_rng(1)
    training.shuffled_batches(X, y, 4, a, np.empty((4, 2), np.float32))
    b.permutation(10)
    assert a.integers(2**63) == b.integers(2**63)


def test_train_overfits_tiny_subset(rng):
    X = rng.random((100, 64), dtype=np.float32)
    y = rng.integers(0, 10, 100)  # random labels: only memorising works
    cfg = TrainConfig(
        layer_sizes=(64, 128, 10), init="he", learning_rate=0.01, batch_size=20, epochs=300, optimizer="adam"
    )
    params, hist = training.train(X, y, cfg, rng, eval_sets={"train": (X, y)})
    assert hist.last("train_accuracy") == 1.0
    assert np.array_equal(mc.predict(X, params, "relu"), y)


@pytest.mark.parametrize("sizes", [(20, 4), (20, 16, 4)])
def test_same_seed_same_bits(sizes):
    X, y = blobs(np.random.default_rng(0))
    cfg = TrainConfig(layer_sizes=sizes, learning_rate=0.1, batch_size=32, epochs=3, eval_every=5)
    runs = [training.train(X, y, cfg, np.random.default_rng(7), eval_sets={"train": (X, y)}) for _ in range(2)]
    (p1, h1), (p2, h2) = runs
    for k in p1:
        assert p1[k].tobytes() == p2[k].tobytes()
    assert h1.to_dict() == h2.to_dict()


def test_different_seeds_different_weights():
    X, y = blobs(np.random.default_rng(0))
    cfg = TrainConfig(layer_sizes=(20, 16, 4), epochs=1)
    p1, _ = training.train(X, y, cfg, np.random.default_rng(1))
    p2, _ = training.train(X, y, cfg, np.random.default_rng(2))
    assert not np.array_equal(p1["W1"], p2["W1"])


def test_history_records_every_k_iterations_and_epoch_ends():
    X, y = blobs(np.random.default_rng(0), n=250)
    Xv, yv = blobs(np.random.default_rng(1), n=50)
    cfg = TrainConfig(layer_sizes=(20, 4), batch_size=64, epochs=2, eval_every=3)
    _, h = training.train(X, y, cfg, np.random.default_rng(0), eval_sets={"train": (X, y), "val": (Xv, yv)})
    # 250 / 64 -> 4 iterations an epoch (the last one of 58 samples)
    assert h.iterations_per_epoch == 4
    assert h["iteration"].tolist() == [3, 4, 6, 8]
    assert h["epoch"].tolist() == [0.75, 1.0, 1.5, 2.0]
    assert h.epoch_ends().tolist() == [1, 3]
    assert set(h.columns) == {
        "iteration",
        "epoch",
        "batch_loss",
        "batch_accuracy",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
    }
    p, _ = training.train(X, y, cfg, np.random.default_rng(0))
    loss, acc = training.evaluate(X, y, p, "relu")
    assert h.last("train_loss") == pytest.approx(loss, rel=1e-6)
    assert h.last("train_accuracy") == acc
    assert History.from_dict(h.to_dict()).to_dict() == h.to_dict()


def test_empty_history_says_why_it_has_no_last_value():
    X, y = blobs(np.random.default_rng(0), n=50)
    _, h = training.train(X, y, TrainConfig(layer_sizes=(20, 4), epochs=0, batch_size=10), np.random.default_rng(0))
    with pytest.raises(ValueError, match="history is empty.*epochs=0"):
        h.last("batch_loss")
    with pytest.raises(KeyError, match="no column 'test_loss'"):
        h.last("test_loss")


def test_evaluate_in_chunks_matches_whole(rng):
    X, y = blobs(rng, n=103)
    p = mc.initialize_parameters((20, 8, 4), rng, init="he")
    whole = training.evaluate(X, y, p, "relu", chunk_size=10_000)
    chunked = training.evaluate(X, y, p, "relu", chunk_size=10)
    assert chunked[1] == whole[1]
    assert chunked[0] == pytest.approx(whole[0], rel=1e-6)


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.1), ("momentum", 0.05), ("adam", 0.005)])
def test_every_optimizer_learns(optimizer, lr):
    X, y = blobs(np.random.default_rng(0), n=400)
    cfg = TrainConfig(
        layer_sizes=(20, 16, 4), init="he", learning_rate=lr, batch_size=32, epochs=5, optimizer=optimizer
    )
    _, h = training.train(X, y, cfg, np.random.default_rng(0), eval_sets={"train": (X, y)})
    assert h["train_loss"][-1] < 0.2 * h["train_loss"][0] or h.last("train_accuracy") > 0.97


def test_diverging_run_stops_with_clear_error():
    X, y = blobs(np.random.default_rng(0))
    cfg = TrainConfig(layer_sizes=(20, 16, 4), init="he", learning_rate=1e6, batch_size=16, epochs=3, eval_every=1)
    with pytest.raises(TrainingDiverged, match=r"iteration \d+.*learning_rate=1e\+06") as e:
        training.train(X, y, cfg, np.random.default_rng(0), eval_sets={"train": (X, y)})
    assert "smaller learning rate" in str(e.value)
    assert len(e.value.history) >= 1  # what ran before is kept


def test_runaway_loss_stops_the_run_before_any_nan():
    """Log-sum-exp keeps the loss finite however large the scores grow:
    a run at a learning rate far too high is stopped all the same."""
    X, y = blobs(np.random.default_rng(0))
    cfg = TrainConfig(layer_sizes=(20, 16, 4), learning_rate=10, batch_size=16, epochs=3, eval_every=1)
    with pytest.raises(TrainingDiverged) as e:
        training.train(X, y, cfg, np.random.default_rng(0), eval_sets={"train": (X, y)})
    message = str(e.value)
    assert re.fullmatch(
        r"the training loss became [\d.]+ on average over the last mini-batches, more than 3 times its starting "
        r"level of 1\.39, at iteration 3 \(epoch 1\) with learning_rate=10 and optimizer 'sgd'; try a smaller "
        r"learning rate \(for example 1\) or optimizer 'adam' \(with a learning rate near 0\.001\)",
        message,
    ), message
    h = e.value.history
    assert len(h) == 2 and np.isfinite(h["batch_loss"]).all() and np.isfinite(h["train_loss"]).all()


def feed(watch, losses, predictions, labels):
    """Run a divergence watch over mini-batches of given losses, each
    predicting ``predictions`` for ``labels``; the first problem it reports."""
    scores = np.eye(4, dtype=np.float32)[predictions]
    for i, loss in enumerate(losses):
        problem = watch.check(loss, scores, labels, epoch_done=(i + 1) % watch.per_epoch == 0)
        if problem:
            return i, problem
    return None, ""


def test_network_thrown_off_and_stuck_at_chance_is_stopped():
    """One mini-batch far above the start, then a loss back near ln(C) but an
    accuracy at chance for an epoch: a dead network, stopped at the epoch's end."""
    labels = np.arange(8) % 4  # four balanced classes: the most common is 25%
    always_0 = np.zeros(8, dtype=int)
    losses = [1.4, 6.0] + [1.39] * 18
    at, problem = feed(DivergenceWatch(labels, 4, 10), losses, always_0, labels)
    assert at == 9 and problem.startswith("6 on one mini-batch, more than 2 times its starting level of 1.4")
    assert "answers 25.0% of the mini-batches since then right" in problem and "(25.0%)" in problem
    # the same spike, after which the network answers right: it recovered
    assert feed(DivergenceWatch(labels, 4, 10), losses, labels, labels) == (None, "")


def test_loss_at_ln_c_and_accuracy_at_chance_alone_are_a_slow_start():
    """N(0, 0.01^2) initialisations and sigmoid networks sit at ln(C) and at
    chance for epochs before they learn: no sign of divergence."""
    labels = np.arange(8) % 4
    losses = [math.log(4)] * 200
    assert feed(DivergenceWatch(labels, 4, 10), losses, np.zeros(8, dtype=int), labels) == (None, "")


def test_runaway_threshold_is_a_mean_not_one_batch():
    labels = np.arange(8) % 4
    start = math.log(4)
    one_spike = [start, start, 5 * start] + [start] * 20  # the mean rises to 1.4 times the start
    assert feed(DivergenceWatch(labels, 4, 100), one_spike, labels, labels) == (None, "")
    sustained = [start] + [3.5 * start] * 30  # the mean crosses 3 times the start after 16 batches
    at, problem = feed(DivergenceWatch(labels, 4, 100), sustained, labels, labels)
    assert at == 16 and "on average over the last mini-batches, more than 3 times" in problem


@pytest.mark.parametrize(
    "sizes,activation,init,optimizer,lr,n",
    [
        ((20, 16, 16, 4), "sigmoid", "normal", "sgd", 0.05, 300),  # at ln(C) and at chance throughout
        ((20, 16, 16, 4), "relu", "normal", "sgd", 0.05, 300),
        ((20, 64, 4), "relu", "he", "adam", 0.01, 300),
        ((20, 64, 4), "relu", "he", "sgd", 0.5, 300),  # a first loss of 4, high but falling
        ((20, 16, 4), "relu", "he", "sgd", 0.1, 6),  # a tiny data set
    ],
)
def test_slow_starts_and_tiny_data_sets_are_not_stopped(sizes, activation, init, optimizer, lr, n):
    X, y = blobs(np.random.default_rng(0), n=n)
    cfg = TrainConfig(
        layer_sizes=sizes,
        activation=activation,
        init=init,
        optimizer=optimizer,
        learning_rate=lr,
        batch_size=min(16, n // 2),
        epochs=5,
    )
    _, h = training.train(X, y, cfg, np.random.default_rng(0))
    assert len(h) == 5


def test_divergence_advice_names_only_changes_that_apply():
    """The 'normal' initialisation is suggested only when it is not in use,
    Adam only when it is not the optimiser already."""
    X, y = blobs(np.random.default_rng(0))
    for init, optimizer in (("he", "sgd"), ("normal", "sgd"), ("he", "adam")):
        cfg = TrainConfig(
            layer_sizes=(20, 16, 4), init=init, optimizer=optimizer, learning_rate=1e6, batch_size=16, epochs=3
        )
        with pytest.raises(TrainingDiverged) as e:
            training.train(X, y, cfg, np.random.default_rng(0))
        assert ("'normal' initialisation" in str(e.value)) is (init != "normal")
        assert ("optimizer 'adam' (with a learning rate near 0.001)" in str(e.value)) is (optimizer != "adam")
        assert "smaller learning rate (for example 100000)" in str(e.value)


def test_progress_bar_does_not_change_results():
    X, y = blobs(np.random.default_rng(0), n=100)
    cfg = TrainConfig(layer_sizes=(20, 4), epochs=2, batch_size=10)
    p1, _ = training.train(X, y, cfg, np.random.default_rng(3), progress=True)
    p2, _ = training.train(X, y, cfg, np.random.default_rng(3))
    assert p1["W1"].tobytes() == p2["W1"].tobytes()


def test_callback_sees_each_evaluation_point():
    X, y = blobs(np.random.default_rng(0), n=100)
    seen = []
    cfg = TrainConfig(layer_sizes=(20, 4), epochs=3, batch_size=50)
    training.train(X, y, cfg, np.random.default_rng(0), callback=lambda h: seen.append(h.last("iteration")))
    assert seen == [2, 4, 6]


def test_given_params_are_copied_not_modified():
    X, y = blobs(np.random.default_rng(0), n=100)
    cfg = TrainConfig(layer_sizes=(20, 4), epochs=1, batch_size=50)
    start = mc.initialize_parameters((20, 4), np.random.default_rng(0), init="he")
    frozen = {k: v.copy() for k, v in start.items()}
    p, _ = training.train(X, y, cfg, np.random.default_rng(0), params=start)
    assert all(np.array_equal(start[k], frozen[k]) for k in start)
    assert not np.array_equal(p["W1"], start["W1"])


def test_params_of_another_shape_are_refused():
    X, y = blobs(np.random.default_rng(0), n=100)
    start = mc.initialize_parameters((20, 8, 4), np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"params do not match layer_sizes \[20, 4\]"):
        training.train(X, y, TrainConfig(layer_sizes=(20, 4), epochs=1), np.random.default_rng(0), params=start)


def test_momentum_run_follows_the_textbook_loop():
    X, y = blobs(np.random.default_rng(0), n=200, dtype=np.float64)
    cfg = TrainConfig(
        layer_sizes=(20, 16, 4), init="he", learning_rate=0.07, batch_size=32, epochs=2,
        optimizer="momentum", momentum=0.8, dtype="float64",
    )  # fmt: skip
    ours, _ = training.train(X, y, cfg, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    params = mc.initialize_parameters(cfg.layer_sizes, rng, "he", np.float64)
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    for _ in range(cfg.epochs):
        for Xb, yb in mc.random_mini_batches(X, y, cfg.batch_size, rng):
            scores, caches = mc.model_forward(Xb, params, "relu")
            grads = mc.model_backward(mc.softmax_cross_entropy(scores, yb)[1], caches)
            for k in params:
                velocity[k] = 0.8 * velocity[k] - cfg.learning_rate * grads["d" + k]
                params[k] += velocity[k]
    for k in params:
        np.testing.assert_allclose(ours[k], params[k], rtol=1e-12, atol=1e-14)
