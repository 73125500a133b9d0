"""The settings of a training run: one frozen dataclass, checked when it is
built, from which the run's optimiser and learning rate follow."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import mlp_core as mc
from dlia_a2.checks import is_real, whole_number
from dlia_a2.optimizers import (
    OPTIMIZERS,
    Optimizer,
    check_decay_per_step,
    check_learning_rate,
    check_weight_decay,
    make_optimizer,
)

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
        whole_number(f"every layer size in {list(sizes)}", s, at_least=1)
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
    dtype: str = "float32"  # "float32" (fast) or "float64"
    weight_decay: float = 0.0  # L2: minimise J + weight_decay / 2 * sum of squared weights (not biases)
    dropout: float = 0.0  # probability of dropping each hidden unit while training (inverted dropout)
    input_dropout: float = 0.0  # the same for each input pixel (no gradient needed there)
    keep_best: str = ""  # "": return the last weights; "val_loss" or "val_accuracy": the best epoch end's
    fused_sgd: bool = True  # SGD only: each weight update fused into its gradient's product (optimizers.SGD)
    max_norm: float = 0.0  # > 0: each hidden unit's incoming weights rescaled to norm <= max_norm after every step
    shift_pixels: int = 0  # > 0: each training image moved by up to this many pixels per mini-batch (augment)

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
        whole_number("batch_size", self.batch_size, at_least=1)
        whole_number("epochs", self.epochs, at_least=0)
        whole_number("eval_every (0: at epoch ends only)", self.eval_every, at_least=0)
        for name in ("momentum", "beta1", "beta2", "dropout", "input_dropout"):
            value = getattr(self, name)
            if not is_real(value):
                raise TypeError(f"{name} must be a number in [0, 1), got {value!r} ({type(value).__name__})")
            if not 0 <= value < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {value}")
        check_weight_decay(self.weight_decay)
        if not is_real(self.max_norm) or not (self.max_norm >= 0 and math.isfinite(self.max_norm)):
            raise ValueError(f"max_norm must be a finite number >= 0 (0: no constraint), got {self.max_norm!r}")
        whole_number("shift_pixels (0: no shifts)", self.shift_pixels, at_least=0)
        side = math.isqrt(self.layer_sizes[0])
        if self.shift_pixels and (side * side != self.layer_sizes[0] or self.shift_pixels >= side):
            raise ValueError(
                f"shift_pixels={self.shift_pixels} needs square images wider than the shift as input, "
                f"but the input layer has {self.layer_sizes[0]} units; use shift_pixels=0"
            )
        check_decay_per_step(self.learning_rate, self.weight_decay)
        if not isinstance(self.keep_best, str):
            raise TypeError(f"keep_best must be a string such as 'val_loss' or '', got {self.keep_best!r}")
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
        """The settings as plain data (JSON-ready), for checkpoints and metrics."""
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
        """A fresh optimiser with these settings (:mod:`dlia_a2.optimizers`)."""
        options = {
            "sgd": {"fused": self.fused_sgd},
            "momentum": {"momentum": self.momentum},
            "adam": {"beta1": self.beta1, "beta2": self.beta2},
        }
        return make_optimizer(
            self.optimizer, self.learning_rate, weight_decay=self.weight_decay, **options[self.optimizer]
        )
