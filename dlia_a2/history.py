"""What a training run records (:class:`History`) and what it needs to carry
on after a stop (:class:`TrainState`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass
class History:
    """What a training run measured, one entry per evaluation point.

    ``columns["iteration"][k]`` is the number of parameter updates done at
    point ``k``; ``epoch`` the (fractional) number of passes over the
    training set; ``batch_loss`` / ``batch_accuracy`` are measured on the
    mini-batch of that iteration, before its update (the curves the
    assignment plots); ``<set>_loss`` / ``<set>_accuracy`` on the whole of
    each data set given to :func:`dlia_a2.training.train` (``train``, ``val``, ``test``),
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
        ``history["epoch"][i]``."""
        ends = self.epoch_ends()
        if not len(ends):
            raise ValueError(f"the history has no epoch end, so no best {name!r}")
        v = self[name][ends]
        if name.endswith("_loss"):
            return int(ends[np.argmin(np.where(np.isnan(v), np.inf, v))])
        return int(ends[np.argmax(np.where(np.isnan(v), -np.inf, v))])

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

    Taken at the end of an epoch. ``rng_state`` is the generator's state
    then, before the next epoch's shuffle, so a resumed run draws the same
    shuffles and masks, and ``divergence`` carries the divergence watch on:
    it gives the same bits as an uninterrupted one, and stops where it would.
    """

    params: dict  # the weights, W1, b1, ...
    optimizer_state: dict  # the optimiser's arrays (velocity, moments, step); with keep_best also
    # the best weights so far, under keys "best/W1", ... (a checkpoint saves them with the others)
    rng_state: dict  # bit_generator.state at the start of epoch `epoch`
    epoch: int  # epochs completed
    iteration: int  # parameter updates so far
    history: History  # evaluation points so far
    divergence: dict | None  # DivergenceWatch.state(): its levels of the loss so far (None: a fresh start)
