"""Looking at trained networks and their runs: the diagnostics behind the
report's explanations. Every function returns plain data (numbers, lists,
dicts of arrays) for the notebooks to plot and to quote.
"""

from __future__ import annotations

import numpy as np

import mlp_core as mc
from dlia_a2 import training
from dlia_a2.config import TrainConfig
from dlia_a2.history import History

# --- Exercise 2: why the test loss can sit below the training loss --------------


def nearest_centroid_accuracy(X_train: np.ndarray, y_train: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Accuracy on ``(X, y)`` of the classifier that assigns each image to the
    class whose mean training image is nearest (Euclidean): a model with no
    training dynamics at all, so it tells which data set is easier."""
    classes = np.unique(y_train)
    centroids = np.stack([X_train[y_train == k].mean(axis=0) for k in classes])
    distance = (X**2).sum(axis=1)[:, None] - 2 * X @ centroids.T + (centroids**2).sum(axis=1)
    return float(np.mean(classes[distance.argmin(axis=1)] == y))


def loss_order(history: History, a: str = "test", b: str = "train") -> dict:
    """How the whole-set losses of ``a`` and ``b`` are ordered over a run.

    Returns
    -------
    dict
        ``share_below``: the share of evaluation points where ``a``'s loss is
        below ``b``'s; ``cross_epoch``: the epoch of the first evaluation
        point at which the order differs from the one before (None if it
        never changes); ``pattern``: ``"never"`` (never below),
        ``"throughout"`` (always below), ``"early"`` (below, then not below
        for good from ``cross_epoch`` on), ``"late"`` (not below, then below
        for good from ``cross_epoch`` on) or ``"crossing"`` (the two cross
        more than once, first at ``cross_epoch``).
    """
    la, lb = history[f"{a}_loss"], history[f"{b}_loss"]
    below = la < lb
    changes = np.flatnonzero(below[1:] != below[:-1]) + 1
    if not below.any():
        pattern = "never"
    elif below.all():
        pattern = "throughout"
    elif len(changes) == 1:
        pattern = "early" if below[0] else "late"
    else:
        pattern = "crossing"
    return {
        "share_below": float(np.mean(below)),
        "cross_epoch": float(history["epoch"][changes[0]]) if len(changes) else None,
        "pattern": pattern,
    }


def first_epochs(
    X: np.ndarray,
    y: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    config: TrainConfig,
    seed: int,
    epochs: int,
) -> dict:
    """The first ``epochs`` epochs of a run, seen at every iteration.

    Repeats the run of ``config`` and ``seed`` (the same initial weights and
    batches, so the same trajectory; plain SGD carries no state from one
    epoch to the next, so training epoch by epoch is one run) and records
    the mini-batch loss and accuracy of every iteration and, at every epoch
    end, the training loss three ways beside the test loss.

    Returns
    -------
    dict
        ``batch_loss``, ``batch_accuracy``: arrays, one value per iteration;
        ``epochs``: one dict per epoch with ``epoch``, ``mean_batch_loss``,
        ``last_batch_loss``, ``train_loss``, ``test_loss``,
        ``train_accuracy``, ``test_accuracy``.
    """
    if config.optimizer != "sgd":
        raise ValueError("first_epochs repeats a run epoch by epoch, which is one run only for plain SGD")
    rng = np.random.default_rng(seed)
    params = mc.initialize_parameters(config.layer_sizes, rng, config.init, np.dtype(config.dtype))
    one_epoch = config.replace(epochs=1, eval_every=1)
    batch_loss, batch_accuracy, rows = [], [], []
    for e in range(1, epochs + 1):
        params, h = training.train(X, y, one_epoch, rng, params=params)
        batch_loss += h.columns["batch_loss"]
        batch_accuracy += h.columns["batch_accuracy"]
        train_loss, train_accuracy = training.evaluate(X, y, params, config.activation)
        test_loss, test_accuracy = training.evaluate(X_test, y_test, params, config.activation)
        rows.append(
            {
                "epoch": e,
                "mean_batch_loss": float(np.mean(h["batch_loss"])),
                "last_batch_loss": float(h["batch_loss"][-1]),
                "train_loss": train_loss,
                "test_loss": test_loss,
                "train_accuracy": train_accuracy,
                "test_accuracy": test_accuracy,
            }
        )
    return {"batch_loss": np.array(batch_loss), "batch_accuracy": np.array(batch_accuracy), "epochs": rows}


def same_trajectory(first: dict, history: History) -> bool:
    """Whether the mini-batch losses of :func:`first_epochs` are those the
    main run recorded at the same iterations (it must repeat that run)."""
    it = history["iteration"]
    seen = it <= len(first["batch_loss"])
    return bool(np.array_equal(first["batch_loss"][it[seen] - 1], history["batch_loss"][seen]))


# --- every exercise: is a headline one lucky or unlucky step? ------------------


def end_range(history: History, epoch: int | None = None, epochs: int = 5, column: str = "test_accuracy") -> dict:
    """The range of ``column`` over the last ``epochs`` epochs of a run up to
    the end of ``epoch`` (default: the last), at every evaluation point
    recorded in them: a guard on a headline read at one step, which a last
    mini-batch update can move.

    Returns
    -------
    dict
        ``value``: ``column`` at the end of ``epoch``; ``min`` and ``max``
        over the window; ``spread_points``: ``max - min`` in percentage
        points; ``from_epoch`` and ``to_epoch``: the first and last epoch of
        the window (fewer than ``epochs`` when the run is shorter);
        ``points``: the evaluation points in it.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be 1 or more, got {epochs}")
    ends = history.epoch_ends()
    epoch = len(ends) if epoch is None else epoch
    if not 1 <= epoch <= len(ends):
        raise ValueError(f"the run has {len(ends)} epoch ends; epoch {epoch} is not one of them")
    first = max(1, epoch - epochs + 1)
    at = history["epoch"]
    window = (at > first - 1) & (at <= epoch)
    values = history[column][window]
    return {
        "value": float(history[column][ends[epoch - 1]]),
        "min": float(values.min()),
        "max": float(values.max()),
        "spread_points": float(100 * (values.max() - values.min())),
        "from_epoch": first,
        "to_epoch": epoch,
        "points": int(window.sum()),
    }


# --- Exercise 2: the ladder in the mini-batch accuracy --------------------------


def ladder(batch_accuracy: np.ndarray, batch_size: int, n_train: int) -> dict:
    """The values a mini-batch accuracy takes.

    A batch of ``B`` images is right on ``k`` of them, so its accuracy is
    ``k / B``; the last batch of an epoch holds ``n_train mod B`` images
    when ``B`` does not divide ``n_train``.

    Returns
    -------
    dict
        ``values`` and ``counts`` (distinct accuracies and how often each
        occurs), ``all_on_rungs`` (each a multiple of ``1/B`` or of
        ``1/n_last``), ``n_last`` (the size of the last batch),
        ``full_batches`` and ``remainder`` (``n_train`` divided by ``B``)
        and ``rung`` (``1/B``).
    """
    n_last = n_train % batch_size or batch_size
    values, counts = np.unique(batch_accuracy, return_counts=True)
    on = np.isclose(values * batch_size, np.round(values * batch_size))
    on |= np.isclose(values * n_last, np.round(values * n_last))
    return {
        "values": values,
        "counts": counts,
        "distinct": len(values),
        "all_on_rungs": bool(on.all()),
        "n_last": n_last,
        "full_batches": n_train // batch_size,
        "remainder": n_train % batch_size,
        "rung": 1 / batch_size,
    }


# --- Exercise 2: the weights as images ------------------------------------------


def filter_class_correlation(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> dict:
    """How much each filter (row of ``W``) looks like each class's mean image
    with the mean over all classes subtracted (what sets the class apart).

    Returns
    -------
    dict
        ``corr`` (C, C): Pearson correlation of filter ``m`` (row) with the
        centred mean image of class ``k`` (column); ``diagonal``; ``matches``:
        the number of filters most correlated with their own class;
        ``lowest`` / ``highest``: the classes with the lowest and highest
        diagonal correlation.
    """
    C = len(W)
    means = np.stack([X[y == k].mean(axis=0) for k in range(C)]).astype(np.float64)
    centred = means - means.mean(axis=0)
    corr = np.corrcoef(np.vstack([np.asarray(W, np.float64), centred]))[:C, C:]
    diagonal = np.diag(corr).copy()
    return {
        "corr": corr,
        "diagonal": diagonal,
        "matches": int(np.sum(corr.argmax(axis=1) == np.arange(C))),
        "lowest": int(diagonal.argmin()),
        "highest": int(diagonal.argmax()),
    }


def rare_pixel_weights(W: np.ndarray, X: np.ndarray, threshold: float = 0.01) -> dict:
    """Mean weight magnitude on the pixels that carry ink in fewer than
    ``threshold`` of the images, against the others: a weight's gradient is
    proportional to its pixel's value (Exercise 1), so almost-always-blank
    pixels should learn less (:func:`dlia_a2.verdicts.blank_pixels` says
    whether they did, and how much)."""
    rare = (X > 0).mean(axis=0) < threshold
    if rare.all() or not rare.any():
        which = "every" if rare.all() else "no"
        raise ValueError(
            f"{which} pixel carries ink in fewer than {threshold:.0%} of the {len(X)} images, so there is no second "
            "group to compare with; pass a threshold that splits the pixels"
        )
    return {
        "rare_pixels": int(rare.sum()),
        "mean_abs_weight_rare": float(np.abs(W[:, rare]).mean()),
        "mean_abs_weight_ink": float(np.abs(W[:, ~rare]).mean()),
    }


# --- Exercise 3: where a network errs -------------------------------------------


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``cm[i, j]`` of images of class ``i`` predicted as ``j``."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def most_confused_pairs(cm: np.ndarray) -> list[dict]:
    """Every (true, predicted) pair of different classes confused most often,
    all of them when several tie at the top count (none without errors).

    Parameters
    ----------
    cm : ndarray, shape (C, C)
        Counts ``cm[i, j]`` of images of class ``i`` predicted as ``j``.

    Returns
    -------
    list of dict
        ``true``, ``predicted`` and ``count`` of each pair, in row order.
    """
    off = np.array(cm, dtype=np.int64)
    if off.ndim != 2 or off.shape[0] != off.shape[1]:
        raise ValueError(f"a confusion matrix is square, got shape {off.shape}")
    np.fill_diagonal(off, 0)
    top = int(off.max()) if off.size else 0
    if top == 0:
        return []
    return [{"true": int(i), "predicted": int(j), "count": top} for i, j in zip(*np.nonzero(off == top))]


def accuracy_standard_error(accuracy: float, n: int) -> float:
    """The standard error of an accuracy measured on ``n`` images,
    ``sqrt(p (1 - p) / n)`` (binomial): the scale on which two accuracies on
    the same set differ by chance."""
    if not 0 <= accuracy <= 1:
        raise ValueError(f"accuracy must be a fraction between 0 and 1, got {accuracy}")
    if n < 1:
        raise ValueError(f"n must be 1 or more images, got {n}")
    return float(np.sqrt(accuracy * (1 - accuracy) / n))


def most_confident_mistakes(P: np.ndarray, y: np.ndarray, k: int = 16) -> np.ndarray:
    """Indices of the ``k`` misclassified images whose wrong prediction had
    the highest probability, most confident first."""
    pred = P.argmax(axis=1)
    wrong = np.flatnonzero(pred != y)
    order = np.argsort(-P[wrong, pred[wrong]], kind="stable")
    return wrong[order[:k]]


def errors(P: np.ndarray, y: np.ndarray, k: int = 16) -> dict:
    """Where a classifier with class probabilities ``P`` errs on ``y``.

    Returns
    -------
    dict
        ``confusion`` (C, C); ``n_errors``; ``most_confused``:
        :func:`most_confused_pairs` of the confusion matrix;
        ``mistakes``: the ``k`` most confident mistakes, as indices,
        predictions and probabilities; ``least_confidence``: the lowest of
        those probabilities.
    """
    pred = P.argmax(axis=1)
    cm = confusion_matrix(y, pred, P.shape[1])
    idx = most_confident_mistakes(P, y, k)
    return {
        "confusion": cm,
        "n_errors": int(np.count_nonzero(pred != y)),
        "most_confused": most_confused_pairs(cm),
        "mistakes": {"index": idx, "predicted": pred[idx], "probability": P[idx, pred[idx]]},
        "least_confidence": float(P[idx, pred[idx]].min()) if len(idx) else float("nan"),
    }
