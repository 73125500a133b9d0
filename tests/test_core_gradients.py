"""Every backward function against centred finite differences, in float64."""

import numpy as np
import pytest

import mlp_core as mc
from gradcheck import numerical_gradient, rel_error

TOL = 1e-6


def test_linear_layer_gradients_match_numerical(rng):
    """linear_backward against finite differences of linear_forward, and the
    same gradients as the backward pass takes them: dW and db in
    model_backward, dA_prev = dZ @ W in backward_layers (seen through the
    second layer's walk down to the first)."""
    A = rng.standard_normal((5, 7))
    params = {"W1": rng.standard_normal((4, 7)), "b1": rng.standard_normal(4)}
    dZ = rng.standard_normal((5, 4))
    f = lambda: float(np.sum(mc.linear_forward(A, params["W1"], params["b1"])[0] * dZ))
    dA, dW, db = mc.linear_backward(dZ, mc.linear_forward(A, params["W1"], params["b1"])[1])
    assert rel_error(dA, numerical_gradient(f, A)) < TOL
    assert rel_error(dW, numerical_gradient(f, params["W1"])) < TOL
    assert rel_error(db, numerical_gradient(f, params["b1"])) < TOL
    none, dW_again, db_again = mc.linear_backward(dZ, (A, params["W1"]), need_dA_prev=False)
    assert none is None and np.array_equal(dW_again, dW) and np.array_equal(db_again, db)
    _, caches = mc.model_forward(A, params, "relu")
    grads = mc.model_backward(dZ, caches)
    assert np.array_equal(grads["dW1"], dW) and np.array_equal(grads["db1"], db)
    params2 = {**params, "W2": rng.standard_normal((3, 4)), "b2": rng.standard_normal(3)}
    dZ2 = rng.standard_normal((5, 3))
    _, caches = mc.model_forward(A, params2, "sigmoid")
    steps = list(mc.backward_layers(dZ2, caches))
    assert [l for l, _, _ in steps] == [2, 1]
    (_, dZ_top, A1), (_, dZ_bottom, _) = steps
    s = caches[0][2]  # the sigmoid's output, A1
    assert np.allclose(dZ_bottom, (dZ_top @ params2["W2"]) * s * (1 - s))
    assert A1 is s


def test_backward_layers_lets_the_caller_update_each_layer_at_once(rng):
    """dA_prev is taken before dZ is yielded, so a caller that changes W{l}
    in place when it is yielded (the fused SGD step) does not change the
    gradients of the layers below."""
    sizes = (6, 5, 4, 3)
    params = mc.initialize_parameters(sizes, rng, "he", np.float64)
    X, y = rng.standard_normal((8, 6)), rng.integers(0, 3, 8)
    scores, caches = mc.model_forward(X, params, "relu")
    dscores = mc.softmax_cross_entropy(scores, y)[1]
    untouched = [dZ.copy() for _, dZ, _ in mc.backward_layers(dscores, caches)]
    scores, caches = mc.model_forward(X, params, "relu")
    changed = []
    for l, dZ, _ in mc.backward_layers(dscores, caches):
        changed.append(dZ.copy())
        params[f"W{l}"] *= -3.0  # a wild in-place update
    for a, b in zip(untouched, changed, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("name", ["relu", "sigmoid"])
def test_activation_backward_matches_numerical(rng, name):
    fwd = getattr(mc, f"{name}_forward")
    bwd = getattr(mc, f"{name}_backward")
    Z = rng.standard_normal((6, 5))
    Z[np.abs(Z) < 1e-3] = 0.5  # keep ReLU's kink away from the step h
    dA = rng.standard_normal((6, 5))
    f = lambda: float(np.sum(fwd(Z)[0] * dA))
    _, cache = fwd(Z)
    assert rel_error(bwd(dA, cache), numerical_gradient(f, Z)) < TOL


@pytest.mark.parametrize("labels", ["indices", "one_hot"])
def test_softmax_cross_entropy_backward_matches_numerical(rng, labels):
    Z = rng.standard_normal((8, 10)) * 3
    y = rng.integers(0, 10, 8)
    Y = y if labels == "indices" else np.eye(10)[y]
    f = lambda: mc.softmax_cross_entropy(Z, Y)[0]
    _, dZ = mc.softmax_cross_entropy(Z, Y)
    assert rel_error(dZ, numerical_gradient(f, Z)) < TOL


@pytest.mark.parametrize(
    "sizes", [[12, 10], [12, 7, 10], [12, 9, 6, 10]], ids=["one-layer", "two-layer", "three-layer"]
)
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_model_backward_matches_numerical(rng, sizes, activation):
    X = rng.standard_normal((6, sizes[0]))
    y = rng.integers(0, sizes[-1], 6)
    params = mc.initialize_parameters(sizes, rng, init="he", dtype=np.float64)
    loss_of = lambda: mc.compute_loss(mc.model_forward(X, params, activation)[0], y)
    scores, caches = mc.model_forward(X, params, activation)
    loss, dscores = mc.softmax_cross_entropy(scores, y)
    grads = mc.model_backward(dscores, caches)
    assert loss == pytest.approx(loss_of(), rel=1e-12)
    assert set(grads) == {"d" + k for k in params}
    for k, p in params.items():
        assert grads["d" + k].shape == p.shape
        assert grads["d" + k].dtype == np.float64
        assert rel_error(grads["d" + k], numerical_gradient(loss_of, p)) < TOL, k


def test_gradients_stay_float32(rng):
    X = rng.random((4, 12), dtype=np.float32)
    y = rng.integers(0, 10, 4)
    params = mc.initialize_parameters([12, 8, 10], rng)
    scores, caches = mc.model_forward(X, params, "relu")
    assert scores.dtype == np.float32
    for labels in (y, np.eye(10)[y]):  # indices, float64 one-hot
        _, dscores = mc.softmax_cross_entropy(scores, labels)
        assert dscores.dtype == np.float32
        grads = mc.model_backward(dscores, caches)
        assert all(g.dtype == np.float32 for g in grads.values())


def test_forward_and_backward_do_not_mutate_inputs(rng):
    X = rng.standard_normal((5, 6))
    y = rng.integers(0, 3, 5)
    params = mc.initialize_parameters([6, 4, 3], rng, dtype=np.float64)
    before = {k: v.copy() for k, v in params.items()}
    X0 = X.copy()
    scores, caches = mc.model_forward(X, params, "sigmoid")
    s0 = scores.copy()
    _, dscores = mc.softmax_cross_entropy(scores, y)
    d0 = dscores.copy()
    mc.model_backward(dscores, caches)
    assert np.array_equal(X, X0) and np.array_equal(scores, s0) and np.array_equal(dscores, d0)
    assert all(np.array_equal(before[k], params[k]) for k in params)


def test_backward_uses_the_activation_of_the_forward_pass(rng):
    """The caches carry the activation: a sigmoid network's gradients need no
    second mention of "sigmoid" (the trap of a backward pass that defaulted
    to ReLU)."""
    X = rng.standard_normal((5, 6))
    y = rng.integers(0, 3, 5)
    params = mc.initialize_parameters([6, 4, 3], rng, init="lecun", dtype=np.float64)
    loss_of = lambda: mc.compute_loss(mc.model_forward(X, params, "sigmoid")[0], y)
    scores, caches = mc.model_forward(X, params, "sigmoid")
    grads = mc.model_backward(mc.softmax_cross_entropy(scores, y)[1], caches)
    assert rel_error(grads["dW1"], numerical_gradient(loss_of, params["W1"])) < TOL


# --- dropout: the mask is fixed by seeding a fresh generator for every call ---


def test_dropout_backward_matches_numerical(rng):
    A = rng.standard_normal((6, 5))
    dout = rng.standard_normal((6, 5))
    f = lambda: float(np.sum(mc.dropout_forward(A, 0.4, np.random.default_rng(3))[0] * dout))
    _, cache = mc.dropout_forward(A, 0.4, np.random.default_rng(3))
    assert 0 < np.count_nonzero(cache) < cache.size  # some units dropped, some kept
    assert rel_error(mc.dropout_backward(dout, cache), numerical_gradient(f, A)) < TOL


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_model_backward_with_dropout_matches_numerical(rng, activation):
    sizes = [12, 9, 6, 10]
    X = rng.standard_normal((6, sizes[0]))
    y = rng.integers(0, sizes[-1], 6)
    params = mc.initialize_parameters(sizes, rng, init="he", dtype=np.float64)
    forward = lambda: mc.model_forward(X, params, activation, dropout=0.5, rng=np.random.default_rng(11))
    loss_of = lambda: mc.compute_loss(forward()[0], y)
    scores, caches = forward()
    grads = mc.model_backward(mc.softmax_cross_entropy(scores, y)[1], caches)
    for k, p in params.items():
        assert rel_error(grads["d" + k], numerical_gradient(loss_of, p)) < TOL, k
    # the masks really act: with one sample, a unit dropped in layer 1 gets no gradient
    scores, caches = mc.model_forward(X[:1], params, activation, dropout=0.5, rng=np.random.default_rng(4))
    one = mc.model_backward(mc.softmax_cross_entropy(scores, y[:1])[1], caches)
    dropped = np.flatnonzero(caches[0][3][0] == 0)
    assert len(dropped) and np.all(one["dW1"][dropped] == 0) and np.all(one["db1"][dropped] == 0)
