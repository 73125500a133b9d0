"""Random shifts of the training images, and the max-norm constraint, as
the training loop uses them."""

import copy

import numpy as np
import pytest

import mlp_core as mc
from dlia_a2 import optimizers, training
from dlia_a2.augment import shift_images
from dlia_a2.config import TrainConfig


def rolled(image, dx, dy):
    """The reference: np.roll, then zero what wrapped round."""
    out = np.roll(image, (dy, dx), axis=(0, 1))
    if dy > 0:
        out[:dy] = 0
    elif dy < 0:
        out[dy:] = 0
    if dx > 0:
        out[:, :dx] = 0
    elif dx < 0:
        out[:, dx:] = 0
    return out


def images(n=400, side=6, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random((n, side * side)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shift_images_keeps_shape_and_dtype_and_input(dtype):
    X = images(dtype=dtype)
    before = X.copy()
    out = shift_images(X, np.random.default_rng(1), max_shift=2, side=6)
    assert out.shape == X.shape and out.dtype == X.dtype
    assert np.array_equal(X, before)


def test_every_shifted_image_is_a_shifted_copy_and_all_25_shifts_occur():
    X = images(side=6)
    out = shift_images(X, np.random.default_rng(2), max_shift=2, side=6)
    seen = set()
    for x, o in zip(X.reshape(-1, 6, 6), out.reshape(-1, 6, 6), strict=True):
        # random pixels in (0, 1): exactly one (dx, dy) explains each output
        matches = [(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3) if np.array_equal(rolled(x, dx, dy), o)]
        assert len(matches) == 1, matches
        seen.add(matches[0])
    assert len(seen) == 25


def test_shift_direction_is_right_and_down_for_positive_draws():
    """The draw (dx, dy) moves the image dx right and dy down: checked on one
    bright pixel against the documented order of the draw."""
    X = np.zeros((50, 49), np.float32)
    X[:, 3 * 7 + 3] = 1.0  # the centre of a 7x7 image
    dx, dy = np.random.default_rng(3).integers(-2, 3, size=(2, 50))
    out = shift_images(X, np.random.default_rng(3), max_shift=2, side=7)
    r, c = np.divmod(out.argmax(axis=1), 7)
    assert np.array_equal(r, 3 + dy) and np.array_equal(c, 3 + dx)


def test_max_shift_zero_is_the_identity():
    X = images()
    out = shift_images(X, np.random.default_rng(0), max_shift=0, side=6)
    assert np.array_equal(out, X) and out is not X


@pytest.mark.parametrize(
    ("X", "kwargs", "words"),
    [
        (np.zeros((3, 35), np.float32), {"side": 6}, "35 columns"),
        (np.zeros(36, np.float32), {"side": 6}, "2-D"),
        (np.zeros((3, 36), np.float32), {"side": 6, "max_shift": 6}, "every pixel out"),
        (np.zeros((3, 36), np.float32), {"side": 6, "max_shift": -1}, "max_shift"),
        (np.zeros((3, 36), np.float32), {"side": 6, "max_shift": 1.5}, "max_shift"),
    ],
)
def test_shift_images_refuses_bad_input(X, kwargs, words):
    with pytest.raises((ValueError, TypeError), match=words):
        shift_images(X, np.random.default_rng(0), **kwargs)


def test_shift_images_needs_a_generator():
    with pytest.raises(TypeError, match="Generator"):
        shift_images(images(), 0, side=6)


# --- in the training loop -----------------------------------------------------


def data(n=300, side=6, c=4, seed=0):
    r = np.random.default_rng(seed)
    y = r.integers(0, c, n)
    X = (r.random((n, side * side)) * 0.5 + (np.arange(side * side) % c == y[:, None])).astype(np.float32)
    return X, y


def same(p, q):
    return set(p) == set(q) and all(p[k].tobytes() == q[k].tobytes() for k in p)


CONFIG = TrainConfig(
    layer_sizes=(36, 16, 4),
    init="he",
    learning_rate=0.05,
    batch_size=32,
    epochs=3,
    optimizer="momentum",
    dropout=0.2,
    input_dropout=0.1,
)


def test_shifts_change_the_run():
    X, y = data()
    p0, _ = training.train(X, y, CONFIG, np.random.default_rng(0))
    p2, _ = training.train(X, y, CONFIG.replace(shift_pixels=2), np.random.default_rng(0))
    assert not same(p0, p2)


def test_resume_with_shifts_and_max_norm_gives_same_bits():
    X, y = data()
    cfg = CONFIG.replace(shift_pixels=2, max_norm=1.0)
    sets = {"train": (X, y)}
    saved = []
    keep = lambda s: saved.append(copy.deepcopy(s))
    p_full, h_full = training.train(X, y, cfg, np.random.default_rng(9), eval_sets=sets, on_checkpoint=keep)
    for state in saved[:-1]:
        p, h = training.train(X, y, cfg, np.random.default_rng(1), eval_sets=sets, resume=copy.deepcopy(state))
        assert same(p, p_full), state.epoch
        assert h.to_dict() == h_full.to_dict()


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"shift_pixels": 2, "layer_sizes": (35, 4)}, "square images"),
        ({"shift_pixels": -1}, "shift_pixels"),
        ({"max_norm": -1.0}, "max_norm"),
        ({"max_norm": float("inf")}, "max_norm"),
        ({"max_norm": "3"}, "max_norm"),
    ],
)
def test_bad_shift_or_max_norm_settings_are_refused(changes, words):
    with pytest.raises((ValueError, TypeError), match=words):
        CONFIG.replace(**changes)


# --- max-norm -----------------------------------------------------------------


def test_max_norm_bounds_long_rows_and_leaves_the_rest():
    params = mc.initialize_parameters((20, 12, 8, 4), np.random.default_rng(0), "he", np.float64)
    params["W1"][:6] *= 10  # rows 0-5 far over the bound, 6-11 under it
    before = {k: v.copy() for k, v in params.items()}
    c = 2.0
    assert np.linalg.norm(before["W1"][6:], axis=1).max() < c < np.linalg.norm(before["W1"][:6], axis=1).min()
    optimizers.max_norm_(params, c)
    norms = np.linalg.norm(params["W1"], axis=1)
    assert np.allclose(norms[:6], c, rtol=1e-12, atol=0)
    assert np.array_equal(params["W1"][6:], before["W1"][6:])
    # the rescaled rows keep their direction
    assert np.allclose(
        params["W1"][:6] / norms[:6, None], before["W1"][:6] / np.linalg.norm(before["W1"][:6], axis=1)[:, None]
    )
    assert np.linalg.norm(params["W2"], axis=1).max() <= c * (1 + 1e-12)
    # the output layer and the biases are not constrained
    for k in ("W3", "b1", "b2", "b3"):
        assert np.array_equal(params[k], before[k])


def test_max_norm_holds_after_every_step_of_a_run(monkeypatch):
    """The bound binds (the unconstrained run exceeds it) and holds after
    every update: the norms are read at each step through the loop's call."""
    X, y = data()
    c = 0.8
    cfg = CONFIG.replace(max_norm=c, learning_rate=0.2)
    unconstrained, _ = training.train(X, y, cfg.replace(max_norm=0.0), np.random.default_rng(0))
    assert np.linalg.norm(unconstrained["W1"], axis=1).max() > c
    largest = []
    project = optimizers.max_norm_

    def watched(params, bound):
        out = project(params, bound)
        largest.append(max(np.linalg.norm(params[k], axis=1).max() for k in ("W1",)))
        return out

    monkeypatch.setattr(optimizers, "max_norm_", watched)
    p, _ = training.train(X, y, cfg, np.random.default_rng(0))
    assert len(largest) == 3 * -(-len(X) // cfg.batch_size)
    assert max(largest) <= c * (1 + 1e-6)
    assert np.linalg.norm(p["W1"], axis=1).max() <= c * (1 + 1e-6)


def test_max_norm_refuses_a_bound_of_zero():
    params = mc.initialize_parameters((4, 3, 2), np.random.default_rng(0))
    with pytest.raises(ValueError, match="> 0"):
        optimizers.max_norm_(params, 0.0)
