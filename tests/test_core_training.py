"""The plain training loop of the core, and its pieces."""

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


def test_train_model_overfits_tiny_subset(rng):
    X = rng.random((60, 32), dtype=np.float32)
    y = rng.integers(0, 10, 60)  # random labels: only memorising works
    params, losses = mc.train_model(X, y, [32, 128, 10], 0.5, 10, 300, rng, "relu", "he")
    assert np.array_equal(mc.predict(X, params, "relu"), y)
    assert losses[-1] < 0.05 * losses[0]


def test_train_model_same_seed_same_bits():
    X, y = blobs(np.random.default_rng(0))
    p1, l1 = mc.train_model(X, y, [20, 16, 4], 0.1, 32, 2, np.random.default_rng(7), "relu")
    p2, l2 = mc.train_model(X, y, [20, 16, 4], 0.1, 32, 2, np.random.default_rng(7), "relu")
    assert all(p1[k].tobytes() == p2[k].tobytes() for k in p1) and l1 == l2
    assert len(l1) == 2 * math.ceil(300 / 32)


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
    lecun = mc.initialize_parameters([784, 100, 10], rng, init="lecun")
    assert lecun["W2"].std() == pytest.approx(math.sqrt(1 / 100), rel=0.1)


def test_random_mini_batches_cover_every_sample_once(rng):
    X = np.arange(23, dtype=np.float32).reshape(23, 1)
    y = np.arange(23)
    batches = mc.random_mini_batches(X, y, 5, rng)
    assert [len(b[1]) for b in batches] == [5, 5, 5, 5, 3]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(23))
    assert seen.tolist() != list(range(23))  # shuffled
    assert all(np.array_equal(bx[:, 0], by) for bx, by in batches)  # pairs kept


def test_update_parameters_is_plain_gradient_descent():
    p = {"W1": np.ones((2, 3)), "b1": np.zeros(2)}
    g = {"dW1": np.full((2, 3), 2.0), "db1": np.ones(2)}
    out = mc.update_parameters(p, g, 0.25)
    assert out is p
    assert np.all(p["W1"] == 0.5) and np.all(p["b1"] == -0.25)


def test_predict_proba_rows_are_distributions_and_agree_with_predict(rng):
    X = rng.standard_normal((7, 5))
    params = mc.initialize_parameters([5, 4, 3], rng, init="he", dtype=np.float64)
    P = mc.predict_proba(X, params, "relu")
    assert np.allclose(P.sum(axis=1), 1) and (P > 0).all()
    assert np.array_equal(P.argmax(axis=1), mc.predict(X, params, "relu"))
