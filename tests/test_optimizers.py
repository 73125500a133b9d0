"""Each optimiser's step is the formula its docstring states."""

import copy
import math

import numpy as np
import pytest

import mlp_core as mc
from dlia_a2 import blas, training
from dlia_a2.config import TrainConfig
from dlia_a2.optimizers import make_optimizer


def one_weight(value, grad):
    return {"W1": np.array([value]), "b1": np.zeros(1)}, {"dW1": np.array([grad]), "db1": np.zeros(1)}


def test_sgd_step_applies_the_learning_rate():
    """The old trap: a weight of 1.0 with gradient 2.0 at learning rate 0.1
    must go to 0.8 (it went to -1.0 when the step expected pre-scaled
    gradients)."""
    params, grads = one_weight(1.0, 2.0)
    make_optimizer("sgd", 0.1).step(params, grads)
    assert params["W1"][0] == pytest.approx(0.8)


def test_momentum_steps_follow_the_heavy_ball_formula():
    params, grads = one_weight(1.0, 2.0)
    opt = make_optimizer("momentum", 0.1, momentum=0.5)
    opt.step(params, grads)  # v = -0.2, w = 0.8
    assert params["W1"][0] == pytest.approx(0.8)
    opt.step(params, grads)  # v = 0.5 * -0.2 - 0.2 = -0.3, w = 0.5
    assert params["W1"][0] == pytest.approx(0.5)
    assert opt.state["v_W1"][0] == pytest.approx(-0.3)


def adam_algorithm_1(w, grads, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Kingma and Ba (2015), Algorithm 1, written out for one weight."""
    m = v = 0.0
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


@pytest.mark.parametrize("grads", [[3.0, -1.0, 0.5, 2.0], [1e-9, 1e-9, -1e-9], [50.0, 0.0, 0.0, 0.0, 0.0]])
def test_adam_is_algorithm_1(grads):
    """Tiny gradients tell the two placements of eps apart: there the
    'efficient' variant (eps outside the bias correction) moves the weight by
    a visibly different amount."""
    params = {"W1": np.array([0.3]), "b1": np.zeros(1)}
    opt = make_optimizer("adam", 0.01)
    for g in grads:
        opt.step(params, {"dW1": np.array([g]), "db1": np.zeros(1)})
    assert params["W1"][0] == pytest.approx(adam_algorithm_1(0.3, grads, 0.01), rel=1e-12, abs=1e-15)
    assert int(opt.state["t"]) == len(grads)


def test_adam_first_step_moves_each_weight_by_learning_rate():
    p = {"W1": np.zeros((2, 2)), "b1": np.zeros(2)}
    g = {"dW1": np.array([[3.0, -0.1], [1e-3, -50]]), "db1": np.array([1.0, -1.0])}
    make_optimizer("adam", 0.01).step(p, g)
    assert np.allclose(p["W1"], -0.01 * np.sign(g["dW1"]), rtol=1e-3)


@pytest.mark.parametrize(
    "name,lr,options,match",
    [
        ("rmsprop", 0.1, {}, "unknown optimizer 'rmsprop'"),
        ("sgd", 0.1, {"momentum": 0.9}, "'sgd' does not take options"),
        ("sgd", 0.0, {}, "positive finite"),
        ("sgd", "0.1", {}, "must be a number"),
        ("momentum", 0.1, {"momentum": 1.0}, r"momentum must lie in \[0, 1\)"),
        ("adam", 0.1, {"beta2": 1.0}, r"beta2 must lie in \[0, 1\)"),
    ],
)
def test_make_optimizer_refuses_bad_settings(name, lr, options, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_optimizer(name, lr, **options)


# --- the fused SGD step (its matrix product: tests/test_blas.py) ------------------


def _network_step(optimizer, dtype, dropout=0.0):
    rng = np.random.default_rng(3)
    params = mc.initialize_parameters((12, 9, 7, 4), rng, "he", dtype)
    X, y = rng.standard_normal((16, 12)).astype(dtype), rng.integers(0, 4, 16)
    scores, caches = mc.model_forward(X, params, "relu", dropout, np.random.default_rng(4))
    optimizer.backward_step(params, mc.softmax_cross_entropy(scores, y)[1], caches)
    return params


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_sgd_step_is_the_plain_step_to_rounding(weight_decay, dropout, dtype):
    fused = _network_step(make_optimizer("sgd", 0.5, weight_decay=weight_decay), dtype, dropout)
    plain = _network_step(make_optimizer("sgd", 0.5, weight_decay=weight_decay, fused=False), dtype, dropout)
    start = mc.initialize_parameters((12, 9, 7, 4), np.random.default_rng(3), "he", dtype)
    eps = np.finfo(dtype).eps
    for k in plain:
        step = np.abs(plain[k] - start[k]).max()
        assert step > 1e-3  # the step is real ...
        assert np.abs(fused[k] - plain[k]).max() <= 8 * eps * np.abs(plain[k]).max()  # ... and rounded alike


def test_unfused_sgd_backward_step_is_update_parameters_bit_for_bit():
    rng = np.random.default_rng(3)
    params = mc.initialize_parameters((12, 9, 4), rng, "he")
    X, y = rng.standard_normal((16, 12)).astype(np.float32), rng.integers(0, 4, 16)
    scores, caches = mc.model_forward(X, params, "relu")
    dscores = mc.softmax_cross_entropy(scores, y)[1]
    expected = mc.update_parameters({k: v.copy() for k, v in params.items()}, mc.model_backward(dscores, caches), 0.5)
    make_optimizer("sgd", 0.5, fused=False).backward_step(params, dscores, caches)
    assert all(params[k].tobytes() == expected[k].tobytes() for k in params)


# --- weight decay in the fused step ------------------------------------------------


def _zero_gradient_steps(optimizer, steps, dtype=np.float32, learning_rates=None):
    """``steps`` fused steps of a small network whose loss gradient is zero:
    only the weight decay moves the weights. Returns the starting weights,
    the final ones and the ``beta`` of every product."""
    rng = np.random.default_rng(3)
    params = mc.initialize_parameters((50, 40, 4), rng, "he", dtype)
    start = {k: v.copy() for k, v in params.items()}
    scores, caches = mc.model_forward(rng.standard_normal((8, 50)).astype(dtype), params, "relu")
    betas = []
    gemm = blas.gemm_update
    record = lambda C, A, B, alpha, beta: betas.append(beta) or gemm(C, A, B, alpha, beta)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(blas, "gemm_update", record)
        for t in range(steps):
            if learning_rates is not None:
                optimizer.learning_rate = learning_rates[t]
            optimizer.backward_step(params, np.zeros_like(scores), caches)
    return start, params, betas[::2]  # two layers, one factor a step


SMALLEST = 2.0**-53  # just above the smallest learning_rate * weight_decay allowed (2**-54)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "lr,wd",
    [(0.2, 1e-4), (0.01, 1e-6), (0.5, 0.01), (1.0, SMALLEST)],
    ids=["0.14%-too-strong", "vanished", "large", "smallest-allowed"],
)
def test_fused_decay_over_a_run_is_the_decay_asked_for(lr, wd, dtype):
    """The factors BLAS applied multiply to ``prod(1 - lr_t * wd)``, what is
    still owed aside, to float64 rounding; and what is owed is never more
    than one rounding of the factor. Rounded afresh each step, lr 0.2 and wd
    1e-4 decayed 0.14% too much, and lr 0.01 with wd 1e-6 not at all."""
    steps = 400
    rates = lr * (1 + np.cos(np.pi * np.arange(steps) / steps)) / 2  # a changing rate, as a schedule gives
    opt = make_optimizer("sgd", lr, weight_decay=wd)
    _, _, betas = _zero_gradient_steps(opt, steps, dtype, rates)
    applied = sum(math.log1p(b - 1.0) for b in betas)
    asked = sum(math.log1p(-r * wd) for r in rates)
    owed = float(opt.state["decay_debt"])
    assert abs(applied + owed - asked) <= steps * np.finfo(np.float64).eps * abs(asked)  # float64 rounding of the sums
    assert abs(owed) <= np.finfo(dtype).eps  # at most one step of the factor, 1 - 2**-24 for float32
    if -asked > 2 * np.finfo(dtype).eps:  # enough decay over the run to show in the factors
        assert abs(applied / asked - 1) < 0.05 and any(b != 1 for b in betas)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "unfused"])
def test_weight_decay_shrinks_the_weights_as_asked(fused):
    """With no loss gradient, 2,000 steps at lr 0.2 and wd 1e-4 shrink every
    weight by (1 - 2e-5)**2000: the fused step to 1e-4 of that decay, as the
    unfused one does (it was 1.4e-3 too strong, always in the same direction)."""
    steps, lr, wd = 2000, 0.2, 1e-4
    start, params, _ = _zero_gradient_steps(make_optimizer("sgd", lr, weight_decay=wd, fused=fused), steps)
    for k in ("W1", "W2"):
        measured = np.mean(np.log(params[k].astype(np.float64) / start[k]))
        assert measured / (steps * math.log1p(-lr * wd)) == pytest.approx(1, abs=1e-4)
        assert np.array_equal(params["b" + k[1:]], start["b" + k[1:]])  # biases do not decay


def test_tiny_weight_decay_is_not_a_run_without_it():
    """lr 0.01 and wd 1e-6 once gave, bit for bit, the run without decay."""
    X = np.random.default_rng(0).standard_normal((200, 12)).astype(np.float32)
    y = np.arange(200) % 3
    runs = {
        wd: training.train(X, y, TrainConfig(layer_sizes=(12, 8, 3), learning_rate=0.01, epochs=2,
                                                      weight_decay=wd), np.random.default_rng(1))[0]
        for wd in (0.0, 1e-6)
    }  # fmt: skip
    assert any(runs[0.0][k].tobytes() != runs[1e-6][k].tobytes() for k in ("W1", "W2"))


def test_fused_decay_resumes_bit_for_bit():
    """What the decay still owes travels in the optimiser's state, so in
    checkpoints."""
    X = np.random.default_rng(0).standard_normal((200, 12)).astype(np.float32)
    y = np.arange(200) % 3
    cfg = TrainConfig(layer_sizes=(12, 8, 3), learning_rate=0.1, epochs=3, weight_decay=3e-7)
    saved = []
    full, _ = training.train(
        X, y, cfg, np.random.default_rng(1), on_checkpoint=lambda s: saved.append(copy.deepcopy(s))
    )
    assert all("decay_debt" in s.optimizer_state for s in saved)
    for state in saved:
        params, _ = training.train(X, y, cfg, np.random.default_rng(5), resume=copy.deepcopy(state))
        assert all(params[k].tobytes() == full[k].tobytes() for k in full)


@pytest.mark.parametrize(
    "lr,wd,match",
    [
        (1.0, 2.0**-55, r"learning_rate \* weight_decay = 2.77556e-17 is too small to decay anything"),
        (0.5, 2.0, r"= 1 shrinks the weights by a factor of 1 - 1 <= 0.*below 2"),
    ],
)
def test_weight_decay_no_weight_can_apply_is_refused(lr, wd, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(layer_sizes=(4, 2), learning_rate=lr, weight_decay=wd)
    with pytest.raises(ValueError, match=match):
        make_optimizer("sgd", lr, weight_decay=wd)
    TrainConfig(layer_sizes=(4, 2), learning_rate=1.0, weight_decay=SMALLEST)  # the smallest allowed


# --- momentum under a changing learning rate -------------------------------------


def test_momentum_keeps_the_learning_rate_inside_the_velocity():
    """Under a cosine schedule our form (v <- mu v - lr g; p <- p + v)
    matches a hand-written reference to rounding and differs from the form
    of PyTorch and optax (v <- mu v + g; p <- p - lr v) by far more."""
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    grad = lambda p: A @ p - b  # a quadratic bowl
    steps, lr0, mu = 60, 0.1, 0.9
    rates = lr0 * (1 + np.cos(np.pi * np.arange(steps) / steps)) / 2
    ours, other = np.array([2.0, -1.0]), np.array([2.0, -1.0])
    v_ours, v_other = np.zeros(2), np.zeros(2)
    params = {"W1": np.array([2.0, -1.0]), "b1": np.zeros(1)}
    opt = make_optimizer("momentum", lr0, momentum=mu)
    for lr in rates:
        opt.learning_rate = lr
        opt.step(params, {"dW1": grad(params["W1"]), "db1": np.zeros(1)})
        v_ours = mu * v_ours - lr * grad(ours)
        ours = ours + v_ours
        v_other = mu * v_other + grad(other)
        other = other - lr * v_other
    np.testing.assert_allclose(params["W1"], ours, rtol=1e-13, atol=1e-14)
    assert np.abs(params["W1"] - other).max() > 1e-3
