"""The training machinery around the core: checked settings, the history
of a run, evaluation, and a training loop that can be resumed and
checkpointed.

:func:`train` runs the steps of the plain :func:`mlp_core.train_model`
(``model_forward``, ``softmax_cross_entropy``, then the backward pass and
the update, on the same shuffles), and adds what a long run needs around
them: other optimisers, regularisation (L2 weight decay, dropout, early
stopping on a validation set), a cosine learning-rate schedule, evaluation
on whole data sets, divergence detection, checkpoints and resume, and a
progress bar. Two things make its steps faster than the plain loop's
without a second copy of the network: each mini-batch is gathered into
one reused buffer instead of shuffling a copy of the whole data set, and
SGD fuses each weight update into the product that makes its gradient
(:class:`dlia_a2.optimizers.SGD`). With ``fused_sgd=False``, no
regularisation and no resume, :func:`train` gives the weights of
``train_model`` bit for bit; fused, each step is the same step rounded
differently, so long runs drift apart as rounding differences do
(``tests/test_training.py``)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields

import numpy as np

import mlp_core as mc
from dlia_a2.optimizers import (
    OPTIMIZERS,
    Optimizer,
    check_decay_per_step,
    check_learning_rate,
    check_weight_decay,
    make_optimizer,
)

# --- settings -------------------------------------------------------------------

LR_SCHEDULES = ("constant", "cosine")


def check_layer_sizes(layer_sizes) -> tuple[int, ...]:
    """``layer_sizes`` as a tuple of ints, or a clear error."""
    try:
        sizes = tuple(layer_sizes)
    except TypeError:
        raise TypeError(f"layer_sizes must be a sequence of ints such as [784, 100, 10], got {layer_sizes!r}") from None
    if len(sizes) < 2:
        raise ValueError(
            f"layer_sizes needs at least an input and an output size, such as [784, 10]; got {list(sizes)}"
        )
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"layer_sizes must hold whole numbers, got {s!r} in {list(sizes)}")
        if s < 1:
            raise ValueError(f"every layer size must be at least 1, got {s} in {list(sizes)}")
    if sizes[-1] < 2:
        raise ValueError(f"the output layer needs at least 2 classes, got {sizes[-1]} in {list(sizes)}")
    return tuple(int(s) for s in sizes)


def _check_choice(name: str, value, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(repr(a) for a in allowed)}")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run, apart from data and seed."""

    layer_sizes: tuple[int, ...] = (784, 10)  # [D, H1, ..., C]
    activation: str = "relu"  # hidden-layer non-linearity: "relu" or "sigmoid"
    init: str = "normal"  # "normal" = N(0, 0.01^2), "he" or "lecun"
    learning_rate: float = 0.05  # step size of the optimiser (at the first epoch, with a schedule)
    lr_schedule: str = "constant"  # "constant", or "cosine": lowered epoch by epoch along a half cosine towards 0
    batch_size: int = 64  # samples per mini-batch
    epochs: int = 10  # passes over the training set
    optimizer: str = "sgd"  # "sgd", "momentum" or "adam"
    momentum: float = 0.9  # momentum coefficient (optimizer="momentum")
    beta1: float = 0.9  # Adam's first-moment decay
    beta2: float = 0.999  # Adam's second-moment decay
    eval_every: int = 0  # evaluate every k iterations (0: at epoch ends only)
    eval_chunk_size: int = 10_000  # rows per chunk when evaluating a data set
    dtype: str = "float32"  # "float32" (fast) or "float64"
    weight_decay: float = 0.0  # L2: minimise J + weight_decay / 2 * sum of squared weights (not biases)
    dropout: float = 0.0  # probability of dropping each hidden unit while training (inverted dropout)
    input_dropout: float = 0.0  # the same for each input pixel (no gradient needed there)
    keep_best: str = ""  # "": return the last weights; "val_loss" or "val_accuracy": the best epoch end's
    patience: int = 0  # with keep_best: stop after this many epochs without a better score (0: never)
    fused_sgd: bool = True  # SGD only: each weight update fused into its gradient's product (optimizers.SGD)

    def __post_init__(self):
        object.__setattr__(self, "layer_sizes", check_layer_sizes(self.layer_sizes))
        _check_choice("activation", self.activation, mc.ACTIVATIONS)
        _check_choice("init", self.init, mc.INITIALIZATIONS)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _check_choice("dtype", self.dtype, ("float32", "float64"))
        if not isinstance(self.fused_sgd, bool):
            raise TypeError(f"fused_sgd must be True or False, got {self.fused_sgd!r}")
        check_learning_rate(self.learning_rate)
        for name in ("batch_size", "epochs", "eval_every", "eval_chunk_size", "patience"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name} must be a whole number, got {v!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.epochs < 0:
            raise ValueError(f"epochs must be zero or more, got {self.epochs}")
        if self.eval_every < 0:
            raise ValueError(
                f"eval_every must be zero (epoch ends only) or a positive number of iterations, got {self.eval_every}"
            )
        if self.eval_chunk_size < 1:
            raise ValueError(f"eval_chunk_size must be at least 1, got {self.eval_chunk_size}")
        for name in ("momentum", "beta1", "beta2", "dropout", "input_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {getattr(self, name)}")
        check_weight_decay(self.weight_decay)
        check_decay_per_step(self.learning_rate, self.weight_decay)
        if self.keep_best and not re.fullmatch(r"\w+_(loss|accuracy)", self.keep_best):
            raise ValueError(
                f"keep_best must name a loss or accuracy of an evaluation set, such as 'val_loss', "
                f"or be '' (keep the last weights); got {self.keep_best!r}"
            )
        if self.keep_best.startswith("test_"):
            raise ValueError(
                "keep_best must not choose weights on the test set: the test score would no longer be an "
                "unbiased estimate; hold out a validation set and use keep_best='val_loss'"
            )
        if self.patience < 0 or (self.patience and not self.keep_best):
            raise ValueError(
                f"patience must be 0 (never stop early) or a positive number of epochs with keep_best set; "
                f"got patience={self.patience}, keep_best={self.keep_best!r}"
            )

    @classmethod
    def from_dict(cls, d: Mapping) -> TrainConfig:
        """Build from a mapping, refusing keys that are not settings."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown training setting(s) {unknown}; known settings are {sorted(known)}")
        return cls(**dict(d))

    def replace(self, **changes) -> TrainConfig:
        """A copy with some settings changed (and checked again)."""
        return TrainConfig.from_dict({**self.to_dict(), **changes})

    def to_dict(self) -> dict:
        d = asdict(self)
        d["layer_sizes"] = list(self.layer_sizes)
        return d

    def learning_rate_at(self, epoch: int) -> float:
        """The learning rate of epoch ``epoch`` (counted from 0): constant, or
        ``learning_rate * (1 + cos(pi * epoch / epochs)) / 2`` with the cosine
        schedule (Loshchilov and Hutter 2017, without restarts), which starts
        at ``learning_rate`` and ends near 0 for the last epochs' fine steps."""
        if self.lr_schedule == "constant":
            return self.learning_rate
        return self.learning_rate * (1 + math.cos(math.pi * epoch / self.epochs)) / 2

    def make_optimizer(self) -> Optimizer:
        options = {
            "sgd": {"fused": self.fused_sgd},
            "momentum": {"momentum": self.momentum},
            "adam": {"beta1": self.beta1, "beta2": self.beta2},
        }
        return make_optimizer(
            self.optimizer, self.learning_rate, weight_decay=self.weight_decay, **options[self.optimizer]
        )


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


# --- what a run records ---------------------------------------------------------


@dataclass
class History:
    """What a training run measured, one entry per evaluation point.

    ``columns["iteration"][k]`` is the number of parameter updates done at
    point ``k``; ``epoch`` the (fractional) number of passes over the
    training set; ``batch_loss`` / ``batch_accuracy`` are measured on the
    mini-batch of that iteration, before its update (the curves the
    assignment plots); ``<set>_loss`` / ``<set>_accuracy`` on the whole of
    each data set given to :func:`train` (``train``, ``val``, ``test``),
    after the update.
    """

    set_names: tuple[str, ...] = ()
    iterations_per_epoch: int = 0
    columns: dict[str, list] = field(default_factory=dict)

    def __post_init__(self):
        if not self.columns:
            names = ["iteration", "epoch", "batch_loss", "batch_accuracy"]
            for s in self.set_names:
                names += [f"{s}_loss", f"{s}_accuracy"]
            self.columns = {n: [] for n in names}

    def append(self, **values) -> None:
        if set(values) != set(self.columns):
            raise ValueError(f"history row needs {sorted(self.columns)}, got {sorted(values)}")
        for k, v in values.items():
            self.columns[k].append(v)

    def __len__(self) -> int:
        return len(self.columns["iteration"])

    def __getitem__(self, name: str) -> np.ndarray:
        return np.asarray(self.columns[name])

    def last(self, name: str):
        """The latest value of column ``name``."""
        if name not in self.columns:
            raise KeyError(f"the history has no column {name!r}; it has {sorted(self.columns)}")
        if not self.columns[name]:
            raise ValueError(
                f"the history is empty, so it has no last {name!r}: the run made no evaluation (epochs=0?)"
            )
        return self.columns[name][-1]

    def epoch_ends(self) -> np.ndarray:
        """Indices of the points that close an epoch."""
        return np.flatnonzero(self["iteration"] % self.iterations_per_epoch == 0)

    def best(self, name: str) -> int:
        """Index of the epoch-end point with the lowest ``name`` (a ``*_loss``)
        or the highest (a ``*_accuracy``), the earliest of equals: the point
        whose weights ``keep_best=name`` returns. Its epoch is
        ``history["epoch"][i]``; its values, ``history.row(i)``."""
        ends = self.epoch_ends()
        if not len(ends):
            raise ValueError(f"the history has no epoch end, so no best {name!r}")
        v = self[name][ends]
        if name.endswith("_loss"):
            return int(ends[np.argmin(np.where(np.isnan(v), np.inf, v))])
        return int(ends[np.argmax(np.where(np.isnan(v), -np.inf, v))])

    def row(self, i: int) -> dict:
        """Every column's value at point ``i``."""
        return {k: v[i] for k, v in self.columns.items()}

    def to_dict(self) -> dict:
        return {
            "set_names": list(self.set_names),
            "iterations_per_epoch": self.iterations_per_epoch,
            "columns": {k: list(v) for k, v in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> History:
        return cls(tuple(d["set_names"]), int(d["iterations_per_epoch"]), {k: list(v) for k, v in d["columns"].items()})


@dataclass
class TrainState:
    """Everything needed to continue a run exactly where it stopped.

    Taken between two iterations. ``rng_state`` is the generator's state at
    the start of epoch ``epoch`` (before that epoch's shuffle), so resuming
    redraws the same shuffle and skips the ``batch`` mini-batches already
    done: a resumed run gives the same bits as an uninterrupted one.
    """

    params: dict  # the weights, W1, b1, ...
    optimizer_state: dict  # the optimiser's arrays (velocity, moments, step); with keep_best also
    # the best weights so far, under keys "best/W1", ... (a checkpoint saves them with the others)
    rng_state: dict  # bit_generator.state at the start of `epoch`
    epoch: int  # epochs completed
    batch: int  # mini-batches of the current epoch completed
    iteration: int  # parameter updates so far
    history: History  # evaluation points so far


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite, or ran away while finite
    (see ``_DivergenceWatch``).

    ``history`` holds the evaluation points recorded before that iteration;
    ``params`` are the weights that produced the loss that stopped the run
    (they may hold NaN or infinite values already).
    """

    def __init__(self, message: str, history: History, params: dict):
        super().__init__(message)
        self.history = history
        self.params = params

    def __reduce__(self):
        # raised in a worker process, it travels back pickled: without this,
        # unpickling calls TrainingDiverged(message) and the pool breaks
        return type(self), (str(self), self.history, self.params)


# --- evaluation and batches -----------------------------------------------------


def evaluate(X: np.ndarray, y: np.ndarray, params: dict, activation: str = "relu", chunk_size: int = 10_000):
    """Mean cross-entropy and accuracy over a whole data set, computed in
    chunks of ``chunk_size`` rows so that memory stays bounded for any ``N``.

    Returns
    -------
    loss : float
    accuracy : float
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    total_loss, correct = 0.0, 0
    for start in range(0, len(X), chunk_size):
        Xc, yc = X[start : start + chunk_size], y[start : start + chunk_size]
        scores, _ = mc.model_forward(Xc, params, activation)
        total_loss += mc.compute_loss(scores, yc) * len(Xc)
        correct += int(np.count_nonzero(scores.argmax(axis=1) == yc))
    return total_loss / len(X), correct / len(X)


def shuffled_batches(X: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator, buffer, skip: int = 0):
    """The mini-batches of :func:`mlp_core.random_mini_batches`, from the
    same permutation (one ``rng.permutation(N)``, drawn now) cut in the same
    order, but without a shuffled copy of the data set: each batch's rows
    are gathered into ``buffer`` (shape ``(batch_size, D)``, reused) just
    before the batch is used, while they are wanted in the cache anyway.

    Returns an iterator of ``(X_batch, y_batch)``, without the first
    ``skip`` batches (a run resumed mid-epoch). ``X_batch`` is a view of
    ``buffer``, overwritten by the next batch.
    """
    perm = rng.permutation(len(X))
    return _gathered(X, y, perm, range(skip * batch_size, len(X), batch_size), batch_size, buffer)


def _gathered(X, y, perm, starts, batch_size, buffer):
    for start in starts:
        rows = perm[start : start + batch_size]
        # mode "clip" (the rows are valid) lets np.take write into out directly
        yield np.take(X, rows, axis=0, out=buffer[: len(rows)], mode="clip"), y[rows]


# --- divergence ------------------------------------------------------------------
#
# A loss that becomes NaN or infinite is the plain case. Log-sum-exp keeps the
# loss finite however large the scores grow, though, so a learning rate far too
# high can run for ever on a finite loss: at learning rate 50 a one-layer network
# ends at 67% and the reference network dies at chance. Two signs catch that,
# both measured against the run's starting level, the larger of its first
# mini-batch loss and ln(C), the loss of a uniform guess:
#
# - the loss runs away: its running mean over about the last ten mini-batches
#   (a mean, so that one unlucky batch cannot trigger it) exceeds 3 times the
#   starting level;
# - the network was thrown off and did not recover: once a mini-batch loss has
#   exceeded twice the starting level, an epoch ends with the accuracy of the
#   mini-batches since then no better than always answering the most common
#   class, plus a tenth of the way from there to 100%.
#
# The thresholds come from every mini-batch of the first one or two epochs of
# MNIST runs (tests/test_divergence.py keeps some). Healthy runs had no
# mini-batch loss above their first one, to the first decimal:
# SGD at learning rate 0.1 (784-10) and 0.05 (784-100-10, N(0, 0.01^2) init),
# 0.2 (784-300-300-10, he); momentum; Adam; the report's small search grid, relu
# and sigmoid, 0.05 to 0.2. Runaways: at learning rate 50 the running mean
# reached 51 (784-10), 11,943 (784-100-10) and 30 to 19,311 (small search)
# times the starting level; at 10 (784-10), 10 times. At learning rate 2 a
# 784-10 network reached 2.1 times and still learns (89% after two epochs):
# 3 leaves it alone. The second sign is what catches 784-100-10 at learning
# rate 5: its running mean stayed below 1.9 times, but one mini-batch reached
# 5.5 times and the dead network then answers 10.5% right, the most common class
# being 11.2% of MNIST. The accuracy alone would be no sign: sigmoid networks
# and the N(0, 0.01^2) initialisation sit at ln(C) and at chance for epochs on
# small data sets, and learn later.

RUNAWAY_FACTOR = 3.0  # running mean of the loss / starting level that stops a run
RUNAWAY_MEMORY = 0.9  # weight of the old running mean per mini-batch (about 10 batches)
THROWN_OFF_FACTOR = 2.0  # one mini-batch loss / starting level after which accuracy is watched


class _DivergenceWatch:
    """Watches the mini-batch losses of one run; :meth:`check` returns what
    went wrong, or an empty string while all is well."""

    def __init__(self, y: np.ndarray, n_classes: int, per_epoch: int):
        self.majority = float(np.bincount(y, minlength=n_classes).max()) / len(y)
        self.chance_loss = math.log(n_classes)
        self.per_epoch = per_epoch
        self.start = self.mean = self.peak = 0.0
        self.correct = self.seen = self.batches = 0  # since the peak passed its threshold

    def check(self, loss: float, scores: np.ndarray, yb: np.ndarray, epoch_done: bool) -> str:
        if not math.isfinite(loss):
            return f"{loss}"
        if not self.start:
            self.start = max(loss, self.chance_loss)
            self.mean = loss
        self.mean = RUNAWAY_MEMORY * self.mean + (1 - RUNAWAY_MEMORY) * loss
        if self.mean > RUNAWAY_FACTOR * self.start:
            return (
                f"{self.mean:.4g} on average over the last mini-batches, more than {RUNAWAY_FACTOR:g} times "
                f"its starting level of {self.start:.3g},"
            )
        self.peak = max(self.peak, loss)
        if self.peak > THROWN_OFF_FACTOR * self.start:
            self.correct += int(np.count_nonzero(scores.argmax(axis=1) == yb))
            self.seen += len(yb)
            self.batches += 1
        if epoch_done and self.batches >= max(1, self.per_epoch // 2):
            accuracy, chance = self.correct / self.seen, self.majority
            if accuracy <= chance + 0.1 * (1 - chance):
                return (
                    f"{self.peak:.4g} on one mini-batch, more than {THROWN_OFF_FACTOR:g} times its starting level "
                    f"of {self.start:.3g}, and the network has not recovered: it answers {accuracy:.1%} of the "
                    f"mini-batches since then right, about what always answering the most common class gives "
                    f"({chance:.1%}),"
                )
            self.correct = self.seen = self.batches = 0
        return ""


def _diverged_message(what: str, iteration: int, epoch: int, config: TrainConfig) -> str:
    advice = [f"a smaller learning rate (for example {config.learning_rate / 10:g})"]
    if config.init != "normal" and len(config.layer_sizes) > 2:
        advice.append("the smaller 'normal' initialisation")
    if config.optimizer == "sgd":
        advice.append("optimizer 'adam' (with a learning rate near 0.001)")
    return (
        f"the training loss became {what} at iteration {iteration} (epoch {epoch}) with "
        f"learning_rate={config.learning_rate:g} and optimizer {config.optimizer!r}; try " + " or ".join(advice)
    )


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
    checkpoint_every: int = 0,
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
        Starting weights (copied, not modified).
    callback : callable, optional
        Called with the history after every evaluation point.
    progress : bool
        Show a tqdm progress bar over iterations.
    resume : TrainState, optional
        Continue from this state (from ``on_checkpoint``) instead of
        starting afresh; ``rng`` is set to the saved state and ``params`` is
        ignored.
    on_checkpoint : callable, optional
        Called with a :class:`TrainState` every ``checkpoint_every``
        iterations and at the end of every epoch; saving it is the caller's
        business (see :mod:`dlia_a2.checkpoint`). The state shares the
        arrays of the run: write them out before returning.

    Returns
    -------
    params : dict
        The weights after the last update; with ``config.keep_best``, those
        of the best epoch end instead (the point ``history.best(keep_best)``).
        With ``config.patience`` the run stops once that many epochs have
        passed without a better score, so ``history`` may end before
        ``config.epochs``.
    history : History

    Raises
    ------
    TrainingDiverged
        When the training loss becomes NaN or infinite, or runs away while
        finite (far above its starting level, or thrown off and stuck at
        chance; see ``_DivergenceWatch``).
    """
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
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 0:
        raise ValueError(
            f"checkpoint_every must be a whole number of iterations (0: epoch ends only), got {checkpoint_every!r}"
        )

    X = np.ascontiguousarray(X_train, dtype=dtype)
    y = np.ascontiguousarray(y_train, dtype=np.intp)
    if resume is not None:
        params = resume.params
    if params is None:
        params = mc.initialize_parameters(config.layer_sizes, rng, config.init, dtype)
    else:
        shapes = {k: v.shape for k, v in mc.initialize_parameters(config.layer_sizes, np.random.default_rng(0)).items()}
        if {k: np.shape(v) for k, v in params.items()} != shapes:
            raise ValueError(f"params do not match layer_sizes {list(config.layer_sizes)}")
        params = {k: np.array(v, dtype=dtype) for k, v in params.items()}
    optimizer = config.make_optimizer()
    act = config.activation
    N, B = len(X), config.batch_size
    per_epoch = -(-N // B)
    history = History(tuple(prepared), per_epoch)
    start_epoch, skip, iteration = 0, 0, 0
    best = None  # with keep_best: a copy of the weights of the best epoch end so far
    if resume is not None:
        if resume.history.iterations_per_epoch != per_epoch or tuple(resume.history.set_names) != tuple(prepared):
            raise ValueError("the checkpoint was taken with other training data or other evaluation sets; start afresh")
        history = History.from_dict(resume.history.to_dict())
        carried = {k: np.array(v) for k, v in resume.optimizer_state.items()}
        best = {k[5:]: carried.pop(k) for k in list(carried) if k.startswith("best/")} or None
        optimizer.state = carried
        rng.bit_generator.state = resume.rng_state
        start_epoch, skip, iteration = resume.epoch, resume.batch, resume.iteration

    def carried_state() -> dict:
        """What a checkpoint must keep besides the weights: the optimiser's
        arrays and, with keep_best, the best weights so far."""
        if best is None:
            return optimizer.state
        return {**optimizer.state, **{"best/" + k: v for k, v in best.items()}}

    def patience_spent() -> bool:
        if not (config.patience and len(history) and len(history.epoch_ends())):
            return False
        epochs = history["epoch"]
        return epochs[history.epoch_ends()[-1]] - epochs[history.best(config.keep_best)] >= config.patience

    def keep_if_best() -> None:
        nonlocal best
        if history.best(config.keep_best) == len(history) - 1:
            best = {k: v.copy() for k, v in params.items()}

    def record(batch_loss: float, batch_accuracy: float) -> None:
        row = {
            "iteration": iteration,
            "epoch": iteration / per_epoch,
            "batch_loss": batch_loss,
            "batch_accuracy": batch_accuracy,
        }
        for name, (Xe, ye) in prepared.items():
            row[f"{name}_loss"], row[f"{name}_accuracy"] = evaluate(Xe, ye, params, act, config.eval_chunk_size)
        history.append(**row)
        if config.keep_best and iteration % per_epoch == 0:
            keep_if_best()
        if callback is not None:
            callback(history)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.epochs * per_epoch, initial=iteration, unit="it", leave=False)
    batch_buffer = np.empty((B, X.shape[1]), dtype)
    watch = _DivergenceWatch(y, C, per_epoch)
    # Overflow shows up as a non-finite loss, reported below with a clearer
    # message than NumPy's warnings would give.
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            for epoch in range(start_epoch, config.epochs):
                if patience_spent():  # also when resuming a run that had stopped
                    break
                optimizer.learning_rate = config.learning_rate_at(epoch)
                epoch_rng_state = rng.bit_generator.state
                batches = shuffled_batches(X, y, B, rng, batch_buffer, skip)
                # dropout masks come from a generator per mini-batch, seeded by this
                # epoch's draw and the batch number: a run resumed mid-epoch redraws them
                dropping = config.dropout or config.input_dropout
                drop_seed = int(rng.integers(2**63)) if dropping else None
                for b, (Xb, yb) in enumerate(batches, start=skip + 1):  # the first skip were done before a resume
                    drop_rng = np.random.default_rng((drop_seed, b)) if dropping else None
                    if config.input_dropout:
                        Xb = mc.dropout_forward(Xb, config.input_dropout, drop_rng)[0]
                    scores, caches = mc.model_forward(Xb, params, act, config.dropout, drop_rng)
                    loss, dscores = mc.softmax_cross_entropy(scores, yb)
                    problem = watch.check(loss, scores, yb, b == per_epoch)
                    if problem:
                        raise TrainingDiverged(
                            _diverged_message(problem, iteration + 1, epoch + 1, config), history, params
                        )
                    optimizer.backward_step(params, dscores, caches)
                    iteration += 1
                    if bar is not None:
                        bar.update()
                    epoch_done = b == per_epoch
                    if epoch_done or (config.eval_every and iteration % config.eval_every == 0):
                        record(loss, float(np.count_nonzero(scores.argmax(axis=1) == yb)) / len(yb))
                    if on_checkpoint is not None and (
                        epoch_done or (checkpoint_every and iteration % checkpoint_every == 0)
                    ):
                        on_checkpoint(
                            TrainState(
                                params,
                                carried_state(),
                                rng.bit_generator.state if epoch_done else epoch_rng_state,
                                epoch + 1 if epoch_done else epoch,
                                0 if epoch_done else b,
                                iteration,
                                history,
                            )
                        )
                skip = 0
        finally:
            if bar is not None:
                bar.close()
    return (best if config.keep_best and best is not None else params), history
