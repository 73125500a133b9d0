"""The core refuses what would give silently wrong results."""

import numpy as np
import pytest

import mlp_core as mc


def test_loss_rejects_mismatched_labels():
    Z = np.zeros((4, 3))
    with pytest.raises(ValueError, match="labels must be 4 integer class indices"):
        mc.compute_loss(Z, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"must lie in \[0, 2\]"):
        mc.compute_loss(Z, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\) or \(4, 3\)"):
        mc.compute_loss(Z, np.zeros((4, 4)))
    with pytest.raises(ValueError, match="unknown activation"):
        mc.model_forward(Z, mc.initialize_parameters((3, 2), np.random.default_rng(0)), "elu")


@pytest.mark.parametrize(
    "Y,match",
    [
        (np.full((4, 3), 2 / 3), "sums from 2 to 2"),
        (np.array([[1.5, -0.5, 0.0]] * 4), "minimum entry -0.5"),
        (np.zeros((4, 3)), "sums from 0 to 0"),
    ],
)
def test_loss_rejects_label_rows_that_are_not_distributions(Y, match):
    """(p - y) / N is the gradient of the loss only when every label row sums
    to 1 with no negative entry; anything else is refused, not silently
    mis-differentiated."""
    with pytest.raises(ValueError, match=match):
        mc.softmax_cross_entropy(np.zeros((4, 3)), Y)


def test_soft_labels_that_sum_to_one_are_accepted(rng):
    Y = rng.dirichlet(np.ones(3), size=4)
    loss, dscores = mc.softmax_cross_entropy(np.zeros((4, 3)), Y)
    assert loss == pytest.approx(np.log(3))
    assert np.allclose(dscores, (1 / 3 - Y) / 4)


def test_unknown_init_is_refused():
    with pytest.raises(ValueError, match="unknown init 'xavier'"):
        mc.initialize_parameters((6, 3), np.random.default_rng(0), init="xavier")
