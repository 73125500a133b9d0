"""Each optimiser's step is the formula its docstring states."""

from pathlib import Path

import numpy as np
import pytest

import mlp_core as mc
from dlia_a2 import blas
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


# --- the fused SGD step and the product it rests on ----------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fused", [True, False], ids=["numpy-blas", "numpy-operators"])
def test_gemm_update_is_beta_c_plus_alpha_a_transpose_b(dtype, fused, monkeypatch):
    if not fused:
        monkeypatch.setattr(blas, "_GEMM", {})
    elif not blas.FUSED:
        pytest.skip("NumPy's OpenBLAS was not found; the fallback is tested beside this")
    rng = np.random.default_rng(0)
    big = rng.standard_normal((9, 40)).astype(dtype)
    A = big[:7, 3:15]  # rows strided, as a view of a larger batch can be
    B = rng.standard_normal((7, 5)).astype(dtype)
    C = rng.standard_normal((12, 5)).astype(dtype)
    expected = 0.75 * C.astype(np.float64) - 0.1 * (A.T.astype(np.float64) @ B)
    out = blas.gemm_update(C, A, B, -0.1, 0.75)
    assert out is C
    np.testing.assert_allclose(C, expected, rtol=20 * np.finfo(dtype).eps, atol=20 * np.finfo(dtype).eps)


def test_gemm_update_refuses_mismatched_shapes():
    C = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"C \(m, n\), A \(k, m\) and B \(k, n\)"):
        blas.gemm_update(C, np.zeros((5, 4), np.float32), np.zeros((5, 4), np.float32), 1.0)
    with pytest.raises(ValueError, match="one dtype"):
        blas.gemm_update(C, np.zeros((5, 3)), np.zeros((5, 4), np.float32), 1.0)


@pytest.mark.parametrize(
    "A",
    [
        np.broadcast_to(np.arange(3.0), (7, 3)),  # rows with stride 0
        np.lib.stride_tricks.sliding_window_view(np.arange(9.0), 3),  # overlapping rows
        np.asfortranarray(np.arange(21.0).reshape(7, 3)),  # column-major
    ],
    ids=["zero-stride", "overlapping", "fortran"],
)
def test_gemm_update_copies_what_blas_cannot_read(A):
    """BLAS refuses such strides with a note on stderr and leaves C alone:
    the update would be skipped without a word."""
    B = np.ones((A.shape[0], 2))
    C = np.zeros((3, 2))
    blas.gemm_update(C, A, B, 1.0)
    np.testing.assert_allclose(C, np.asarray(A).T @ B)


def test_gemm_update_neither_writes_a_read_only_c_nor_reads_what_it_writes():
    C = np.ones((3, 3))
    C.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        blas.gemm_update(C, np.ones((2, 3)), np.ones((2, 3)), 1.0)
    W = np.arange(9.0).reshape(3, 3)
    expected = W + W.T @ W
    blas.gemm_update(W, W, W, 1.0)  # C is A and B: computed without BLAS
    np.testing.assert_allclose(W, expected)


@pytest.mark.skipif(
    not (Path(np.__file__).resolve().parent.parent / "numpy.libs").is_dir(),
    reason="a NumPy not from a PyPI Linux wheel (no bundled OpenBLAS): the fused step falls back",
)
def test_numpy_blas_is_found_on_this_platform():
    """The pinned NumPy wheel carries OpenBLAS; if this fails the build still
    works, only without the fused step, and the speed claims no longer hold."""
    assert blas.FUSED


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
