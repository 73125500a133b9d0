"""The training machinery refuses bad data and bad settings with a message
that says what was wrong."""

import numpy as np
import pytest

from dlia_a2 import training
from dlia_a2.config import TrainConfig


def good(n=20, d=6, c=3):
    r = np.random.default_rng(0)
    return r.random((n, d), dtype=np.float32), r.integers(0, c, n)


CFG = dict(layer_sizes=(6, 3), epochs=1, batch_size=5)


def train(X, y, **over):
    cfg = TrainConfig(**{**CFG, **over})
    return training.train(X, y, cfg, np.random.default_rng(0))


@pytest.mark.parametrize(
    "X_of,y_of,error,match",
    [
        (lambda X: X[:, :4], lambda y: y, ValueError, "4 features per row but the network's input layer has 6"),
        (lambda X: X.reshape(20, 2, 3), lambda y: y, ValueError, r"shape \(N, D\)"),
        (lambda X: (X * 255).astype(np.uint8), lambda y: y, TypeError, "floating-point.*to_float"),
        (lambda X: np.where(X > 0.9, np.nan, X), lambda y: y, ValueError, "NaN or infinite"),
        (lambda X: np.where(X > 0.9, np.inf, X), lambda y: y, ValueError, "NaN or infinite"),
        (lambda X: X, lambda y: y + 5, ValueError, r"must lie in \[0, 2\].*from 5"),
        (lambda X: X, lambda y: y - 1, ValueError, r"must lie in \[0, 2\]"),
        (lambda X: X, lambda y: y[:-1], ValueError, "20 rows but 19 labels"),
        (lambda X: X, lambda y: np.eye(3)[y], ValueError, "1-D array of class indices"),
        (lambda X: X, lambda y: y.astype(float), TypeError, "must be integers"),
        (lambda X: X.tolist(), lambda y: y, TypeError, "NumPy array"),
        (lambda X: X[:0], lambda y: y[:0], ValueError, "empty"),
    ],
)
def test_train_rejects_bad_data(X_of, y_of, error, match):
    X, y = good()
    with pytest.raises(error, match=match):
        train(X_of(X), y_of(y))


@pytest.mark.parametrize(
    "over,error,match",
    [
        (dict(learning_rate=0.0), ValueError, "positive finite"),
        (dict(learning_rate=-0.1), ValueError, "positive finite"),
        (dict(learning_rate=float("nan")), ValueError, "positive finite"),
        (dict(learning_rate="0.1"), TypeError, "must be a number"),
        (dict(batch_size=0), ValueError, "at least 1"),
        (dict(batch_size=2.5), TypeError, "whole number"),
        (dict(epochs=-1), ValueError, "zero or more"),
        (dict(layer_sizes=()), ValueError, "at least an input and an output"),
        (dict(layer_sizes=(6,)), ValueError, "at least an input and an output"),
        (dict(layer_sizes=(6, 0, 3)), ValueError, "at least 1"),
        (dict(layer_sizes=(6, 1)), ValueError, "at least 2 classes"),
        (dict(layer_sizes=(6, 2.5, 3)), TypeError, r"layer size.*\[6, 2.5, 3\] must be a whole number"),
        (dict(activation="tanh"), ValueError, "unknown activation 'tanh'; choose one of 'relu', 'sigmoid'"),
        (dict(optimizer="rmsprop"), ValueError, "unknown optimizer"),
        (dict(init="zeros"), ValueError, "unknown init"),
        (dict(dtype="float16"), ValueError, "unknown dtype"),
        (dict(momentum=1.0), ValueError, "momentum must lie in"),
        (dict(eval_every=-2), ValueError, "eval_every"),
    ],
)
def test_config_rejects_bad_settings(over, error, match):
    with pytest.raises(error, match=match):
        TrainConfig(**{**CFG, **over})


def test_batch_size_larger_than_data_is_refused():
    X, y = good()
    with pytest.raises(ValueError, match="batch_size 64 is larger than the 20 training samples"):
        train(X, y, batch_size=64)


def test_unknown_setting_is_refused():
    with pytest.raises(ValueError, match=r"unknown training setting\(s\) \['lr'\]"):
        TrainConfig.from_dict({"layer_sizes": [6, 3], "lr": 0.1})


def test_bad_eval_set_is_refused():
    X, y = good()
    cfg = TrainConfig(**CFG)
    with pytest.raises(ValueError, match="eval set 'test'.*5 features"):
        training.train(X, y, cfg, np.random.default_rng(0), eval_sets={"test": (X[:, :5], y)})


def test_rng_must_be_a_generator():
    X, y = good()
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        training.train(X, y, TrainConfig(**CFG), 42)


def test_a_bool_count_is_refused_as_a_bool_not_as_a_decimal():
    from dlia_a2.checks import whole_number

    with pytest.raises(TypeError, match="True and False are not counts"):
        whole_number("epochs", True)
    with pytest.raises(TypeError, match="without a decimal point"):
        whole_number("epochs", 2.0)


def test_a_numpy_integer_is_a_number_wherever_a_rate_is_checked():
    """optimizers refused np.int64(1) as "not a number" while the schema
    took it: one definition now (checks.is_real)."""
    from dlia_a2.config import TrainConfig

    assert TrainConfig(learning_rate=np.int64(1), momentum=np.float32(0.5)).learning_rate == 1
    with pytest.raises(TypeError, match="learning_rate must be a number"):
        TrainConfig(learning_rate=True)
