"""The training loop around the core, with the data checks and the
evaluation it needs.

:func:`train` runs the steps of the plain :func:`mlp_core.train_model`
(``model_forward``, ``softmax_cross_entropy``, then the backward pass and
the update, on the same shuffles), and adds what a long run needs around
them: other optimisers, regularisation (L2 weight decay, dropout, keeping
the best epoch on a validation set), a cosine learning-rate schedule,
evaluation on whole data sets, divergence detection
(:mod:`dlia_a2.divergence`), a checkpoint at every epoch end and resume,
and a progress bar. Two things make its steps faster than the plain loop's
without a second copy of the network: each mini-batch is gathered into one
reused buffer instead of shuffling a copy of the whole data set, and SGD
fuses each weight update into the product that makes its gradient
(:class:`dlia_a2.optimizers.SGD`). With ``fused_sgd=False``, no
regularisation and no resume, :func:`train` gives the weights of
``train_model`` bit for bit; fused, each step is the same step rounded
differently, so long runs drift apart as rounding differences do
(``tests/test_training.py``)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping

import numpy as np

import mlp_core as mc
from dlia_a2 import optimizers
from dlia_a2.augment import shift_images
from dlia_a2.checks import whole_number
from dlia_a2.config import TrainConfig
from dlia_a2.divergence import DivergenceWatch, TrainingDiverged, diverged_message
from dlia_a2.history import History, TrainState

# --- data -----------------------------------------------------------------------


def check_inputs(X, y, n_features: int | None = None, n_classes: int | None = None, name: str = "X") -> None:
    """Raise a clear error unless ``X`` and ``y`` form a valid data set.

    Parameters
    ----------
    X : ndarray, shape (N, D)
        Floating-point inputs, all finite.
    y : ndarray, shape (N,)
        Integer class labels in ``[0, n_classes)``.
    n_features, n_classes : int, optional
        The expected ``D`` and number of classes, when known.
    name : str
        What to call the data set in messages ("X_train", "validation", ...).
    """
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(
            f"{name} must have shape (N, D), one row per sample; got shape {X.shape}. "
            f"Flatten images with X.reshape(len(X), -1)."
        )
    if not np.issubdtype(X.dtype, np.floating):
        raise TypeError(
            f"{name} must hold floating-point values, got dtype {X.dtype}; "
            f"scale uint8 images to [0, 1] first (dlia_a2.data.to_float)."
        )
    if len(X) == 0:
        raise ValueError(f"{name} is empty (shape {X.shape})")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features per row but the network's input layer has {n_features}")
    # min and max propagate NaN and reveal infinities, without the full-size
    # temporary that np.isfinite(X).all() would allocate
    if not (np.isfinite(X.min()) and np.isfinite(X.max())):
        bad = int(np.size(X) - np.count_nonzero(np.isfinite(X)))
        raise ValueError(f"{name} contains {bad} NaN or infinite values; clean or re-load the data")
    if not isinstance(y, np.ndarray):
        raise TypeError(f"labels for {name} must be a NumPy array, got {type(y).__name__}")
    if y.ndim != 1:
        raise ValueError(
            f"labels for {name} must be a 1-D array of class indices, got shape {y.shape}; "
            f"for one-hot labels use y.argmax(axis=1)"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"labels for {name} must be integers, got dtype {y.dtype}")
    if len(y) != len(X):
        raise ValueError(f"{name} has {len(X)} rows but {len(y)} labels")
    if n_classes is not None:
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= n_classes:
            raise ValueError(
                f"labels for {name} must lie in [0, {n_classes - 1}] for a network with {n_classes} outputs; "
                f"found values from {lo} to {hi}"
            )


# --- evaluation and batches -----------------------------------------------------


def evaluate(X: np.ndarray, y: np.ndarray, params: dict, activation: str, chunk_size: int = 10_000):
    """Mean cross-entropy and accuracy over a whole data set, computed in
    chunks of ``chunk_size`` rows so that memory stays bounded for any ``N``.

    Parameters
    ----------
    X : ndarray, shape (N, D), float, N >= 1
    y : ndarray, shape (N,), int
        Class indices (for one-hot rows, ``y.argmax(axis=1)``).
    params : dict
    activation : {"relu", "sigmoid"}
        The hidden layers' activation, the one the network was trained with.
    chunk_size : int

    Returns
    -------
    loss : float
    accuracy : float
    """
    whole_number("chunk_size", chunk_size, at_least=1)
    check_inputs(X, y, params["W1"].shape[1], len(params[f"b{len(params) // 2}"]))
    total_loss, correct = 0.0, 0
    for start in range(0, len(X), chunk_size):
        Xc, yc = X[start : start + chunk_size], y[start : start + chunk_size]
        scores, _ = mc.model_forward(Xc, params, activation)
        total_loss += mc.compute_loss(scores, yc) * len(Xc)
        correct += int(np.count_nonzero(scores.argmax(axis=1) == yc))
    return total_loss / len(X), correct / len(X)


def shuffled_batches(X: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator, buffer):
    """The mini-batches of :func:`mlp_core.random_mini_batches`, from the
    same permutation (one ``rng.permutation(N)``, drawn now) cut in the same
    order, but without a shuffled copy of the data set: each batch's rows
    are gathered into ``buffer`` (shape ``(batch_size, D)``, reused) just
    before the batch is used, while they are wanted in the cache anyway.

    Returns an iterator of ``(X_batch, y_batch)``; ``X_batch`` is a view of
    ``buffer``, overwritten by the next batch.
    """
    return _gathered(X, y, rng.permutation(len(X)), batch_size, buffer)


def _gathered(X, y, perm, batch_size, buffer):
    for start in range(0, len(X), batch_size):
        rows = perm[start : start + batch_size]
        # mode "clip" (the rows are valid) lets np.take write into out directly
        yield np.take(X, rows, axis=0, out=buffer[: len(rows)], mode="clip"), y[rows]


# --- the loop -------------------------------------------------------------------


def train(
    X_train: np.ndarray,
    y_train: np.ndarray,
    config: TrainConfig,
    rng: np.random.Generator,
    eval_sets: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    params: dict | None = None,
    callback: Callable[[History], None] | None = None,
    progress: bool = False,
    resume: TrainState | None = None,
    on_checkpoint: Callable[[TrainState], None] | None = None,
):
    """Train a network with mini-batch gradient descent.

    Parameters
    ----------
    X_train : ndarray, shape (N, D)
        Floating-point inputs (cast to ``config.dtype`` once, up front).
    y_train : ndarray, shape (N,)
        Integer labels in ``[0, C)``.
    config : TrainConfig
    rng : numpy.random.Generator
        Draws the initial weights (unless ``params`` is given), the shuffle
        of every epoch and, with dropout, one seed an epoch for the masks;
        the same seed gives the same bits.
    eval_sets : dict, optional
        Data sets to evaluate in full at every evaluation point, by name,
        e.g. ``{"train": (X_train, y_train), "test": (X_test, y_test)}``.
        ``config.keep_best`` must name one of them (``"val_loss"``: the set
        ``"val"``).
    params : dict, optional
        Starting weights, finite (copied, not modified).
    callback : callable, optional
        Called with the history after every evaluation point.
    progress : bool
        Show a tqdm progress bar over iterations.
    resume : TrainState, optional
        Continue from this state (from ``on_checkpoint``) instead of
        starting afresh; ``rng`` is set to the saved state and ``params`` is
        ignored.
    on_checkpoint : callable, optional
        Called with a :class:`TrainState` at the end of every epoch; saving
        it is the caller's business (see :mod:`dlia_a2.checkpoint`). The
        state shares the arrays of the run: write them out before returning.

    Returns
    -------
    params : dict
        The weights after the last update; with ``config.keep_best``, those
        of the best epoch end instead (the point ``history.best(keep_best)``).
    history : History

    Raises
    ------
    TrainingDiverged
        When the training loss becomes NaN or infinite, or runs away while
        finite (far above its starting level, or thrown off and stuck at
        chance; see :class:`dlia_a2.divergence.DivergenceWatch`).
    """
    X, y, prepared = _checked_data(X_train, y_train, config, rng, eval_sets)
    per_epoch = -(-len(X) // config.batch_size)
    optimizer = config.make_optimizer()
    if resume is None:  # a fresh start is a resume from nothing done
        params = _starting_params(params, config, rng, X.dtype)
        history = History(tuple(prepared), per_epoch)
        resume = TrainState(params, optimizer.state, rng.bit_generator.state, 0, 0, history, None)
    elif resume.history.iterations_per_epoch != per_epoch or tuple(resume.history.set_names) != tuple(prepared):
        raise ValueError("the checkpoint was taken with other training data or other evaluation sets; start afresh")
    params = {k: np.array(v, dtype=X.dtype, order="C") for k, v in resume.params.items()}
    history, iteration = History.from_dict(resume.history.to_dict()), resume.iteration
    optimizer.state = {k: np.array(v) for k, v in resume.optimizer_state.items()}
    best = {k[5:]: optimizer.state.pop(k) for k in list(optimizer.state) if k.startswith("best/")} or None
    rng.bit_generator.state = resume.rng_state
    watch = DivergenceWatch(y, config.layer_sizes[-1], per_epoch, resume.divergence)
    act, B = config.activation, config.batch_size
    dropping = config.dropout or config.input_dropout
    batch_buffer = np.empty((B, X.shape[1]), X.dtype)
    side = math.isqrt(X.shape[1])

    def record(batch_loss: float, batch_accuracy: float) -> None:
        nonlocal best
        row = {"iteration": iteration, "epoch": iteration / per_epoch}
        row.update(batch_loss=batch_loss, batch_accuracy=batch_accuracy)
        for name, (Xe, ye) in prepared.items():
            row[f"{name}_loss"], row[f"{name}_accuracy"] = evaluate(Xe, ye, params, act)
        history.append(**row)
        if config.keep_best and iteration % per_epoch == 0 and history.best(config.keep_best) == len(history) - 1:
            best = {k: v.copy() for k, v in params.items()}
        if callback is not None:
            callback(history)

    # Overflow shows up as a non-finite loss, reported below with a clearer
    # message than NumPy's warnings would give.
    with np.errstate(over="ignore", invalid="ignore"), _bar(progress, config.epochs * per_epoch, iteration) as bar:
        for epoch in range(resume.epoch, config.epochs):
            optimizer.learning_rate = config.learning_rate_at(epoch)
            batches = shuffled_batches(X, y, B, rng, batch_buffer)
            # dropout masks come from a generator per mini-batch, seeded by this
            # epoch's draw and the batch number
            drop_seed = int(rng.integers(2**63)) if dropping else None
            for b, (Xb, yb) in enumerate(batches, start=1):
                if config.shift_pixels:  # drawn from the run's rng, so a resumed run draws the same shifts
                    Xb = shift_images(Xb, rng, config.shift_pixels, side)
                drop_rng = np.random.default_rng((drop_seed, b)) if dropping else None
                if config.input_dropout:
                    Xb = mc.dropout_forward(Xb, config.input_dropout, drop_rng)[0]
                scores, caches = mc.model_forward(Xb, params, act, config.dropout, drop_rng)
                loss, dscores = mc.softmax_cross_entropy(scores, yb)
                problem = watch.check(loss, scores, yb, b == per_epoch)
                if problem:
                    message = diverged_message(problem, iteration + 1, epoch + 1, config)
                    raise TrainingDiverged(message, history, params)
                optimizer.backward_step(params, dscores, caches)
                if config.max_norm:
                    optimizers.max_norm_(params, config.max_norm)
                iteration += 1
                if bar is not None:
                    bar.update()
                if b == per_epoch or (config.eval_every and iteration % config.eval_every == 0):
                    record(loss, float(np.count_nonzero(scores.argmax(axis=1) == yb)) / len(yb))
            if on_checkpoint is not None:
                carried = {**optimizer.state, **{"best/" + k: v for k, v in (best or {}).items()}}
                state = (params, carried, rng.bit_generator.state, epoch + 1, iteration, history, watch.state())
                on_checkpoint(TrainState(*state))
    return (best if config.keep_best and best is not None else params), history


def _checked_data(X_train, y_train, config, rng, eval_sets):
    """The training data as contiguous arrays of ``config.dtype`` and the
    evaluation sets, after checking every argument of :func:`train`."""
    if not isinstance(config, TrainConfig):
        raise TypeError("config must be a TrainConfig; build one with TrainConfig(layer_sizes=..., ...)")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator, such as np.random.default_rng(0)")
    D, C = config.layer_sizes[0], config.layer_sizes[-1]
    dtype = np.dtype(config.dtype)
    check_inputs(X_train, y_train, D, C, name="X_train")
    if config.batch_size > len(X_train):
        raise ValueError(
            f"batch_size {config.batch_size} is larger than the {len(X_train)} training samples; "
            f"choose at most {len(X_train)}"
        )
    prepared = {}
    for name, pair in (eval_sets or {}).items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"eval_sets[{name!r}] must be a pair (X, y)")
        check_inputs(*pair, D, C, name=f"eval set {name!r}")
        prepared[name] = (pair[0].astype(dtype, copy=False), pair[1])
    if config.keep_best and config.keep_best.rsplit("_", 1)[0] not in prepared:
        raise ValueError(
            f"keep_best={config.keep_best!r} needs the evaluation set {config.keep_best.rsplit('_', 1)[0]!r} "
            f"in eval_sets; given: {sorted(prepared) or 'none'}"
        )
    X = np.ascontiguousarray(X_train, dtype=dtype)
    return X, np.ascontiguousarray(y_train, dtype=np.intp), prepared


def _starting_params(params, config, rng, dtype) -> dict:
    """Fresh weights drawn from ``rng``, or ``params`` once they are checked
    to fit ``config`` and to be finite (:func:`train` copies them in C order,
    which the fused step needs)."""
    if params is None:
        return mc.initialize_parameters(config.layer_sizes, rng, config.init, dtype)
    shapes = {k: v.shape for k, v in mc.initialize_parameters(config.layer_sizes, np.random.default_rng(0)).items()}
    if {k: np.shape(v) for k, v in params.items()} != shapes:
        raise ValueError(f"params do not match layer_sizes {list(config.layer_sizes)}")
    bad = sorted(k for k, v in params.items() if not np.isfinite(v).all())
    if bad:
        raise ValueError(
            f"the starting weights {bad} hold NaN or infinite values; start from finite ones (or params=None)"
        )
    return params


def _bar(show: bool, total: int, initial: int):
    """A tqdm progress bar over iterations, or a context that gives None."""
    if not show:
        return contextlib.nullcontext()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="it", leave=False)
