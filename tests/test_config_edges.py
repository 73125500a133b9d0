"""Training settings at the edges of their ranges, drawn by hypothesis: each
is either refused when the ``TrainConfig`` is built, with a message that
names the setting, or it trains (a run stopped as diverged counts as run:
that is the loop's own verdict, reached after work began on purpose)."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlia_a2 import training
from dlia_a2.config import TrainConfig
from dlia_a2.divergence import TrainingDiverged

WRONG_KINDS = [None, "0.1", [1], True, math.nan, math.inf, -math.inf]
# the values around each setting's edges, and a few of the wrong kind
EDGES = {
    "learning_rate": [0.0, -0.0, 1e-300, 5e-324, 1e-8, 0.5, 10.0, 1e300, -1e-9, 1, 2**60],
    "batch_size": [0, 1, 2, 7, 8, 9, 10**9, -1, 2.0, 1.5],
    "epochs": [0, 1, 2, -1, 2.0],
    "eval_every": [0, 1, 3, -1, 1.0],
    "momentum": [0.0, 0.5, 0.999999, 1.0, -1e-12, 1],
    "beta1": [0.0, 0.999999, 1.0, -0.1],
    "beta2": [0.0, 0.999999, 1.0, -0.1],
    "dropout": [0.0, 1e-9, 0.5, 0.999999, 1.0, -0.1],
    "input_dropout": [0.0, 0.5, 0.999999, 1.0, -0.1],
    "weight_decay": [0.0, 5e-324, 2**-60, 1e-12, 1e-4, 0.5, 1.0, 5.0, 1e300, -1e-9],
    "layer_sizes": [(4, 3), (4, 1, 3), (4, 0, 3), (4, 2), (4, 1), (4,), (), (4, 2.0, 3), (4, True, 3), 7],
    "activation": ["relu", "sigmoid", "tanh", "RELU", ""],
    "init": ["normal", "he", "lecun", "xavier"],
    "optimizer": ["sgd", "momentum", "adam", "rmsprop"],
    "lr_schedule": ["constant", "cosine", "step"],
    "dtype": ["float32", "float64", "float16"],
    "keep_best": ["", "val_loss", "val_accuracy", "test_accuracy", "loss", "val_f1"],
    "fused_sgd": [True, False, 1, 0, "yes"],
}


def edge_settings():
    names = st.sampled_from(sorted(EDGES))
    value = lambda name: st.sampled_from(EDGES[name] + WRONG_KINDS)
    one = names.flatmap(lambda n: value(n).map(lambda v: {n: v}))
    return st.lists(one, min_size=1, max_size=3).map(lambda ds: {k: v for d in ds for k, v in d.items()})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=edge_settings())
def test_settings_at_the_edges_are_refused_by_name_or_train(changes):
    base = {"layer_sizes": (4, 3), "epochs": 1, "batch_size": 8, "learning_rate": 0.1}
    try:
        config = TrainConfig(**{**base, **changes})
    except (TypeError, ValueError) as e:
        named = [n for n in changes if n in str(e) or (n == "layer_sizes" and "layer" in str(e))]
        assert named, f"{changes} refused without naming the setting: {e}"
        return
    rng = np.random.default_rng(0)
    sizes = config.layer_sizes
    X = rng.random((24, sizes[0])).astype(config.dtype)
    y = np.arange(24) % sizes[-1]
    val = {"val": (X[:8], y[:8])}
    try:
        params, history = training.train(X, y, config, rng, eval_sets=val)
    except TrainingDiverged:
        return
    except (TypeError, ValueError) as e:  # refused against the data, before the first step
        assert [n for n in changes if n in str(e)], f"{changes} refused without naming the setting: {e}"
        return
    assert set(params) == {f"{p}{l}" for l in range(1, len(sizes)) for p in "Wb"}
    assert len(history.epoch_ends()) == config.epochs


@pytest.mark.parametrize("name", ["momentum", "dropout", "beta1"])
def test_a_fraction_of_the_wrong_kind_is_refused_by_name(name):
    with pytest.raises((TypeError, ValueError), match=name):
        TrainConfig(**{name: "0.5"})
