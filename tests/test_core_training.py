import math

import numpy as np
import pytest

import mlp_core as mc


def blobs(rng, n=300, d=20, c=4, dtype=np.float32):
    """A small separable problem: c Gaussian clusters in d dimensions."""
    centres = rng.standard_normal((c, d)) * 3
    y = rng.integers(0, c, n)
    X = (centres[y] + rng.standard_normal((n, d))).astype(dtype)
    return X, y


def test_train_overfits_tiny_subset(rng):
    X = rng.random((100, 64), dtype=np.float32)
    y = rng.integers(0, 10, 100)           # random labels: only memorising works
    cfg = mc.TrainConfig(layer_sizes=(64, 128, 10), init="he", learning_rate=0.01,
                         batch_size=20, epochs=300, optimizer="adam")
    params, hist = mc.train_model(X, y, cfg, rng, eval_sets={"train": (X, y)})
    assert hist.last("train_accuracy") == 1.0
    assert np.array_equal(mc.predict(X, params), y)


@pytest.mark.parametrize("sizes", [(20, 4), (20, 16, 4)])
def test_same_seed_same_bits(sizes):
    X, y = blobs(np.random.default_rng(0))
    cfg = mc.TrainConfig(layer_sizes=sizes, learning_rate=0.1, batch_size=32,
                         epochs=3, eval_every=5)
    runs = [mc.train_model(X, y, cfg, np.random.default_rng(7),
                           eval_sets={"train": (X, y)}) for _ in range(2)]
    (p1, h1), (p2, h2) = runs
    for k in p1:
        assert p1[k].tobytes() == p2[k].tobytes()
    assert h1.to_dict() == h2.to_dict()


def test_different_seeds_different_weights():
    X, y = blobs(np.random.default_rng(0))
    cfg = mc.TrainConfig(layer_sizes=(20, 16, 4), epochs=1)
    p1, _ = mc.train_model(X, y, cfg, np.random.default_rng(1))
    p2, _ = mc.train_model(X, y, cfg, np.random.default_rng(2))
    assert not np.array_equal(p1["W1"], p2["W1"])


def test_initialize_parameters_shapes_and_scales(rng):
    p = mc.initialize_parameters([784, 100, 10], rng)
    assert p["W1"].shape == (100, 784) and p["b1"].shape == (100,)
    assert p["W2"].shape == (10, 100) and p["b2"].shape == (10,)
    assert all(v.dtype == np.float32 for v in p.values())
    assert not p["b1"].any() and not p["b2"].any()
    assert p["W1"].std() == pytest.approx(0.01, rel=0.02)
    he = mc.initialize_parameters([784, 100, 10], rng, init="he", dtype=np.float64)
    assert he["W1"].dtype == np.float64
    assert he["W1"].std() == pytest.approx(math.sqrt(2 / 784), rel=0.02)
    xa = mc.initialize_parameters([784, 100, 10], rng, init="xavier")
    assert xa["W2"].std() == pytest.approx(math.sqrt(1 / 100), rel=0.1)


def test_history_records_every_k_iterations_and_epoch_ends():
    X, y = blobs(np.random.default_rng(0), n=250)
    Xv, yv = blobs(np.random.default_rng(1), n=50)
    cfg = mc.TrainConfig(layer_sizes=(20, 4), batch_size=64, epochs=2, eval_every=3)
    _, h = mc.train_model(X, y, cfg, np.random.default_rng(0),
                          eval_sets={"train": (X, y), "val": (Xv, yv)})
    # 250 / 64 -> 4 iterations an epoch (the last one of 58 samples)
    assert h.iterations_per_epoch == 4
    assert h["iteration"].tolist() == [3, 4, 6, 8]
    assert h["epoch"].tolist() == [0.75, 1.0, 1.5, 2.0]
    assert h.epoch_ends().tolist() == [1, 3]
    assert set(h.columns) == {"iteration", "epoch", "batch_loss", "batch_accuracy",
                              "train_loss", "train_accuracy", "val_loss", "val_accuracy"}
    p, _ = mc.train_model(X, y, cfg, np.random.default_rng(0))
    loss, acc = mc.evaluate(X, y, p, "relu")
    assert h.last("train_loss") == pytest.approx(loss, rel=1e-6)
    assert h.last("train_accuracy") == acc
    assert mc.History.from_dict(h.to_dict()).to_dict() == h.to_dict()


def test_evaluate_in_chunks_matches_whole(rng):
    X, y = blobs(rng, n=103)
    p = mc.initialize_parameters((20, 8, 4), rng, init="he")
    whole = mc.evaluate(X, y, p, chunk_size=10_000)
    chunked = mc.evaluate(X, y, p, chunk_size=10)
    assert chunked[1] == whole[1]
    assert chunked[0] == pytest.approx(whole[0], rel=1e-6)


def test_random_mini_batches_cover_every_sample_once(rng):
    X = np.arange(23, dtype=np.float32).reshape(23, 1)
    y = np.arange(23)
    batches = mc.random_mini_batches(X, y, 5, rng)
    assert [len(b[1]) for b in batches] == [5, 5, 5, 5, 3]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(23))
    assert seen.tolist() != list(range(23))                     # shuffled
    assert all(np.array_equal(bx[:, 0], by) for bx, by in batches)   # pairs kept
    buf = (np.empty_like(X), np.empty_like(y))
    again = mc.random_mini_batches(X, y, 5, np.random.default_rng(5), out=buf)
    fresh = mc.random_mini_batches(X, y, 5, np.random.default_rng(5))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(again, fresh))
    assert again[0][0].base is buf[0] or again[0][0].base is buf[0].base


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.1), ("momentum", 0.05),
                                          ("adam", 0.005)])
def test_every_optimizer_learns(optimizer, lr):
    X, y = blobs(np.random.default_rng(0), n=400)
    cfg = mc.TrainConfig(layer_sizes=(20, 16, 4), init="he", learning_rate=lr,
                         batch_size=32, epochs=5, optimizer=optimizer)
    _, h = mc.train_model(X, y, cfg, np.random.default_rng(0),
                          eval_sets={"train": (X, y)})
    assert h["train_loss"][-1] < 0.2 * h["train_loss"][0] or h.last("train_accuracy") > 0.97


def test_update_parameters_is_plain_gradient_descent(rng):
    p = {"W1": np.ones((2, 3)), "b1": np.zeros(2)}
    g = {"dW1": np.full((2, 3), 2.0), "db1": np.ones(2)}
    out = mc.update_parameters(p, g, 0.25)
    assert out is p
    assert np.all(p["W1"] == 0.5) and np.all(p["b1"] == -0.25)


def test_adam_first_step_moves_each_weight_by_learning_rate():
    p = {"W1": np.zeros((2, 2)), "b1": np.zeros(2)}
    g = {"dW1": np.array([[3.0, -0.1], [1e-3, -50]]), "db1": np.array([1.0, -1.0])}
    opt = mc.make_optimizer("adam", 0.01)
    opt.step(p, g)
    assert np.allclose(p["W1"], -0.01 * np.sign(g["dW1"]), rtol=1e-3)


def test_diverging_run_stops_with_clear_error():
    X, y = blobs(np.random.default_rng(0))
    cfg = mc.TrainConfig(layer_sizes=(20, 16, 4), init="he", learning_rate=1e6,
                         batch_size=16, epochs=3, eval_every=1)
    with pytest.raises(mc.TrainingDiverged, match=r"iteration \d+.*learning_rate=1e\+06") as e:
        mc.train_model(X, y, cfg, np.random.default_rng(0), eval_sets={"train": (X, y)})
    assert "smaller learning rate" in str(e.value)
    assert len(e.value.history) >= 1        # what ran before is kept


def test_progress_bar_does_not_change_results():
    X, y = blobs(np.random.default_rng(0), n=100)
    cfg = mc.TrainConfig(layer_sizes=(20, 4), epochs=2, batch_size=10)
    p1, _ = mc.train_model(X, y, cfg, np.random.default_rng(3), progress=True)
    p2, _ = mc.train_model(X, y, cfg, np.random.default_rng(3))
    assert p1["W1"].tobytes() == p2["W1"].tobytes()


def test_callback_sees_each_evaluation_point():
    X, y = blobs(np.random.default_rng(0), n=100)
    seen = []
    cfg = mc.TrainConfig(layer_sizes=(20, 4), epochs=3, batch_size=50)
    mc.train_model(X, y, cfg, np.random.default_rng(0),
                   callback=lambda h: seen.append(h.last("iteration")))
    assert seen == [2, 4, 6]


def test_given_params_are_copied_not_modified():
    X, y = blobs(np.random.default_rng(0), n=100)
    cfg = mc.TrainConfig(layer_sizes=(20, 4), epochs=1, batch_size=50)
    start = mc.initialize_parameters((20, 4), np.random.default_rng(0), init="he")
    frozen = {k: v.copy() for k, v in start.items()}
    p, _ = mc.train_model(X, y, cfg, np.random.default_rng(0), params=start)
    assert all(np.array_equal(start[k], frozen[k]) for k in start)
    assert not np.array_equal(p["W1"], start["W1"])


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_training_loop_matches_textbook_updates(optimizer):
    """train_model hands SGD and momentum gradients pre-multiplied by the
    learning rate; the result must be the textbook update."""
    X, y = blobs(np.random.default_rng(0), n=200, dtype=np.float64)
    cfg = mc.TrainConfig(layer_sizes=(20, 16, 4), init="he", learning_rate=0.07,
                         batch_size=32, epochs=2, optimizer=optimizer, momentum=0.8,
                         dtype="float64")
    fast, _ = mc.train_model(X, y, cfg, np.random.default_rng(3))

    rng = np.random.default_rng(3)
    params = mc.initialize_parameters(cfg.layer_sizes, rng, "he", np.float64)
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    for _ in range(cfg.epochs):
        for Xb, yb in mc.random_mini_batches(X, y, cfg.batch_size, rng):
            scores, caches = mc.model_forward(Xb, params)
            _, grads = mc.model_backward(scores, yb, caches)
            if optimizer == "sgd":
                mc.update_parameters(params, grads, cfg.learning_rate)
            else:
                for k in params:
                    velocity[k] = 0.8 * velocity[k] - cfg.learning_rate * grads["d" + k]
                    params[k] += velocity[k]
    for k in params:
        np.testing.assert_allclose(fast[k], params[k], rtol=1e-10, atol=1e-12)


def test_grad_scale_scales_gradients_not_loss(rng):
    X = rng.standard_normal((5, 6))
    y = rng.integers(0, 3, 5)
    params = mc.initialize_parameters((6, 4, 3), rng, init="he", dtype=np.float64)
    scores, caches = mc.model_forward(X, params)
    l1, g1 = mc.model_backward(scores, y, caches)
    l2, g2 = mc.model_backward(scores, y, caches, grad_scale=0.25)
    assert l1 == l2
    for k in g1:
        np.testing.assert_allclose(g2[k], 0.25 * g1[k], rtol=1e-12)
