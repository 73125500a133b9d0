import math

import numpy as np
import pytest

import mlp_core as mc


def test_loss_invariant_to_constant_shift(rng):
    Z = rng.standard_normal((7, 10))
    y = rng.integers(0, 10, 7)
    base = mc.compute_loss(Z, y)
    for c in (-1e3, -3.0, 5.0, 1e3):
        assert mc.compute_loss(Z + c, y) == pytest.approx(base, rel=1e-9, abs=1e-12)


def test_loss_equals_negative_log_likelihood_of_softmax(rng):
    Z = rng.standard_normal((9, 4))
    y = rng.integers(0, 4, 9)
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    nll = -np.mean(np.log(P[np.arange(9), y]))
    assert mc.compute_loss(Z, y) == pytest.approx(nll, rel=1e-12)
    assert mc.compute_loss(Z, np.eye(4)[y]) == pytest.approx(nll, rel=1e-12)
    assert mc.softmax_cross_entropy(Z, y)[0] == pytest.approx(nll, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_finite_for_huge_logits(dtype):
    Z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, -1e4]], dtype=dtype)
    y = np.array([1, 0, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no warning
        loss, dZ = mc.softmax_cross_entropy(Z, y)
        assert math.isfinite(loss) and np.isfinite(dZ).all()
        assert math.isfinite(mc.compute_loss(Z, y))
    # the right label wins by 1e4 -> loss about 0; wrong by 2e4 -> about 2e4
    assert mc.compute_loss(Z[:1], np.array([0])) == pytest.approx(0.0, abs=1e-6)
    assert mc.compute_loss(Z[:1], np.array([1])) == pytest.approx(2e4, rel=1e-6)


def test_softmax_rows_sum_to_one_and_sigmoid_is_stable():
    Z = np.array([[1000.0, 0.0, -1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        P = mc.softmax(Z)
        s, _ = mc.sigmoid_forward(np.array([-1e4, 0.0, 1e4]))
    assert P.sum() == pytest.approx(1.0) and P[0, 0] == pytest.approx(1.0)
    assert s.tolist() == [0.0, 0.5, 1.0]


def test_initial_loss_near_log_num_classes(rng):
    X = rng.random((500, 784), dtype=np.float32)
    y = rng.integers(0, 10, 500)
    params = mc.initialize_parameters([784, 100, 10], rng)  # N(0, 0.01^2)
    loss = mc.compute_loss(mc.model_forward(X, params, "relu")[0], y)
    assert abs(loss - math.log(10)) < 0.02


def test_dropout_drops_p_of_the_units_and_keeps_the_mean(rng):
    A = np.ones((400, 500), dtype=np.float32)
    out, mask = mc.dropout_forward(A, 0.3, rng)
    assert out.dtype == np.float32 and mask.dtype == np.float32
    assert abs(np.mean(mask == 0) - 0.3) < 0.01
    assert abs(out.mean() - 1.0) < 0.01  # inverted: the expected output is the input
    assert np.allclose(out[out != 0], 1 / 0.7)
    assert np.array_equal(mc.dropout_forward(A, 0.0, rng)[0], A)
    with pytest.raises(ValueError, match=r"dropout probability must lie in \[0, 1\)"):
        mc.dropout_forward(A, 1.0, rng)


def test_forward_without_dropout_draws_nothing(rng):
    """Dropout off (the default) leaves the generator untouched, so runs without
    dropout keep the bits they had before dropout existed."""
    X = rng.standard_normal((5, 6)).astype(np.float32)
    params = mc.initialize_parameters([6, 4, 3], rng)
    g = np.random.default_rng(0)
    before = g.bit_generator.state
    plain = mc.model_forward(X, params, "relu")[0]
    assert np.array_equal(mc.model_forward(X, params, "relu", dropout=0.0, rng=g)[0], plain)
    assert g.bit_generator.state == before
    with pytest.raises(ValueError, match="dropout needs an rng"):
        mc.model_forward(X, params, "relu", dropout=0.5)
