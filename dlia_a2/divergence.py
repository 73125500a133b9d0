"""Divergence: when a training run is stopped, and the error that says so.

A loss that becomes NaN or infinite is the plain case. Log-sum-exp keeps the
loss finite however large the scores grow, though, so a learning rate far too
high can run for ever on a finite loss: at learning rate 50 a one-layer network
ends at 67% and the reference network dies at chance. Two signs catch that,
both measured against the run's starting level, the larger of its first
mini-batch loss and ln(C), the loss of a uniform guess:

- the loss runs away: its running mean over about the last ten mini-batches
  (a mean, so that one unlucky batch cannot trigger it) exceeds 3 times the
  starting level;
- the network was thrown off and did not recover: once a mini-batch loss has
  exceeded twice the starting level, an epoch ends with the accuracy of the
  mini-batches since then no better than always answering the most common
  class, plus a tenth of the way from there to 100%.

The thresholds come from every mini-batch of the first one or two epochs of
MNIST runs (tests/test_divergence.py keeps some). Healthy runs had no
mini-batch loss above their first one, to the first decimal:
SGD at learning rate 0.1 (784-10) and 0.05 (784-100-10, N(0, 0.01^2) init),
0.2 (784-300-300-10, he); momentum; Adam; the report's small search grid, relu
and sigmoid, 0.05 to 0.2. Runaways: at learning rate 50 the running mean
reached 51 (784-10), 11,943 (784-100-10) and 30 to 19,311 (small search)
times the starting level; at 10 (784-10), 10 times. At learning rate 2 a
784-10 network reached 2.1 times and still learns (89% after two epochs):
3 leaves it alone. The second sign is what catches 784-100-10 at learning
rate 5: its running mean stayed below 1.9 times, but one mini-batch reached
5.5 times and the dead network then answers 10.5% right, the most common class
being 11.2% of MNIST. The accuracy alone would be no sign: sigmoid networks
and the N(0, 0.01^2) initialisation sit at ln(C) and at chance for epochs on
small data sets, and learn later.

The watch keeps its state in :meth:`DivergenceWatch.state`, which a
checkpoint saves, so that a resumed run stops where the uninterrupted one
would.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from dlia_a2.config import TrainConfig
from dlia_a2.history import History

RUNAWAY_FACTOR = 3.0  # running mean of the loss / starting level that stops a run
RUNAWAY_MEMORY = 0.9  # weight of the old running mean per mini-batch (about 10 batches)
THROWN_OFF_FACTOR = 2.0  # one mini-batch loss / starting level after which accuracy is watched


class DivergenceWatch:
    """Watches the mini-batch losses of one run; :meth:`check` returns what
    went wrong, or an empty string while all is well.

    Parameters
    ----------
    y : ndarray, shape (N,)
        The training labels (their most common class sets the chance level).
    n_classes : int
    per_epoch : int
        Mini-batches per epoch.
    state : dict, optional
        What :meth:`state` returned at a checkpoint, to carry on from there.
    """

    STATE = ("start", "mean", "peak", "correct", "seen", "batches")  # what a checkpoint keeps

    def __init__(self, y: np.ndarray, n_classes: int, per_epoch: int, state: Mapping | None = None):
        self.majority = float(np.bincount(y, minlength=n_classes).max()) / len(y)
        self.chance_loss = math.log(n_classes)
        self.per_epoch = per_epoch
        self.start = self.mean = self.peak = 0.0  # levels of the loss
        self.correct = self.seen = self.batches = 0  # since the peak passed its threshold
        if state is not None:
            if set(state) != set(self.STATE):
                raise ValueError(f"a divergence watch's state needs {sorted(self.STATE)}, got {sorted(state)}")
            for name in self.STATE:
                setattr(self, name, type(getattr(self, name))(state[name]))

    def state(self) -> dict:
        """The watch's running values, plain numbers (JSON-ready)."""
        return {name: getattr(self, name) for name in self.STATE}

    def check(self, loss: float, scores: np.ndarray, yb: np.ndarray, epoch_done: bool) -> str:
        """Take in one mini-batch's loss, scores and labels (before its
        update); returns the reason to stop, or ``""``."""
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


def diverged_message(what: str, iteration: int, epoch: int, config: TrainConfig) -> str:
    """The message of :class:`TrainingDiverged`: what the loss became, when,
    and the changes of ``config`` that may help."""
    advice = [f"a smaller learning rate (for example {config.learning_rate / 10:g})"]
    if config.init != "normal" and len(config.layer_sizes) > 2:
        advice.append("the smaller 'normal' initialisation")
    if config.optimizer == "sgd":
        advice.append("optimizer 'adam' (with a learning rate near 0.001)")
    return (
        f"the training loss became {what} at iteration {iteration} (epoch {epoch}) with "
        f"learning_rate={config.learning_rate:g} and optimizer {config.optimizer!r}; try " + " or ".join(advice)
    )


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite, or ran away while finite
    (see :class:`DivergenceWatch`).

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
