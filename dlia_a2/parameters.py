"""The parameters of each notebook: their types and ranges, declared once,
and checked before any work starts.

The report build checks a notebook's parameters with :func:`check` before
papermill starts it (``report/report_build.py run``), and the notebook calls
the same function in the cell after its ``parameters`` cell, so that a
notebook opened by hand stops at once on a value it cannot use::

    params = parameters.check("2_one_layer")

Every refusal is a :class:`ParameterError` naming the notebook, the
parameter, its value and what is allowed. The defaults stay in the
notebooks' ``parameters`` cells, where papermill reads them;
``tests/test_parameters.py`` holds the names declared here equal to the
names in those cells.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

import mlp_core as mc
from dlia_a2.catalog import DATASET_NAMES

# training images in MNIST and in Fashion-MNIST alike (tests/test_parameters.py
# holds this to the sizes in dlia_a2.catalog.SPECS)
N_TRAIN_IMAGES = 60_000
# the smallest training subset a notebook takes: about 100 images a class, so
# that a seeded subset holds every class (one missing would, for instance, give
# notebook 2's nearest-centroid classifier a NaN centroid)
MIN_TRAIN_IMAGES = 1_000
SEED_MAX = 2**32 - 1


class ParameterError(ValueError):
    """A notebook parameter, or a parameter file, that cannot be used; the
    message names the parameter, its value and what is allowed."""

    def __init__(self, message: str, notebook: str = "", name: str = "", value=None):
        super().__init__(message)
        self.notebook = notebook
        self.name = name
        self.value = value


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def refuse(notebook: str, name: str, value, allowed: str) -> ParameterError:
    """The one form of every refusal: ``notebook: name = value is not
    allowed; name must be allowed``."""
    where = f"{notebook}: " if notebook else ""
    return ParameterError(
        f"{where}{name} = {_show(value)} is not allowed; {name} must be {allowed}", notebook, name, value
    )


class _Refused(Exception):
    """Raised by a kind's ``convert``; :func:`check` turns it into a
    :class:`ParameterError` with the parameter's name."""


# --- kinds of value -------------------------------------------------------------


@dataclass(frozen=True)
class Whole:
    """An integer (not a bool) in ``[low, high]``, or one of ``also``."""

    low: int | None = None
    high: int | None = None
    also: tuple = ()  # special values allowed outside the range, such as 0 for "all"
    note: str = ""  # what a special value means, e.g. "(all)"

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            span = f"a whole number from {self.low} to {self.high}"
        elif self.low is not None:
            span = f"a whole number, {self.low} or more"
        elif self.high is not None:
            span = f"a whole number, {self.high} or less"
        else:
            span = "a whole number"
        if self.also:
            return " or ".join(str(a) for a in self.also) + f" {self.note}".rstrip() + " or " + span
        return span

    def convert(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise _Refused
        value = int(value)
        if value in self.also:
            return value
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise _Refused
        return value


@dataclass(frozen=True)
class Real:
    """A finite number (int or float, not a bool) with ``low < value`` (or
    ``low <= value``) and ``value <= high``; returned as a float."""

    low: float | None = None
    high: float | None = None
    low_included: bool = False

    def describe(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'at least' if self.low_included else 'greater than'} {self.low:g}")
        if self.high is not None:
            parts.append(f"at most {self.high:g}")
        return "a finite number" + (" " + " and ".join(parts) if parts else "")

    def convert(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise _Refused
        value = float(value)
        if not math.isfinite(value):
            raise _Refused
        if self.low is not None and (value < self.low if self.low_included else value <= self.low):
            raise _Refused
        if self.high is not None and value > self.high:
            raise _Refused
        return value


@dataclass(frozen=True)
class OneOf:
    """One of a few strings."""

    choices: tuple

    def describe(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)

    def convert(self, value):
        if not isinstance(value, str) or value not in self.choices:
            raise _Refused
        return value


@dataclass(frozen=True)
class Text:
    """A string that is not empty (a folder name, say)."""

    def describe(self) -> str:
        return "a string that is not empty"

    def convert(self, value):
        if not isinstance(value, str) or not value.strip():
            raise _Refused
        return value


@dataclass(frozen=True)
class Address:
    """Empty (nothing to connect to), or an address ``scheme://host:port``."""

    example: str = "tcp://host:8786"

    def describe(self) -> str:
        return f"'' or an address such as {self.example!r}"

    def convert(self, value):
        if not isinstance(value, str) or (
            value and not re.fullmatch(r"[a-z][a-z0-9+.-]*://(\[[0-9a-fA-F:]+\]|[^\s/:\[\]]+)(:\d+)?", value)
        ):
            raise _Refused
        return value


@dataclass(frozen=True)
class ListOf:
    """A list of ``item``s, at least ``min_len`` long; ``increasing``: each
    larger than the one before; ``distinct``: no value twice."""

    item: Whole | Real | OneOf
    min_len: int = 1
    increasing: bool = False
    distinct: bool = False

    def describe(self) -> str:
        order = ", in increasing order" if self.increasing else ", each value once" if self.distinct else ""
        return f"a list of {self.min_len} or more values, each {self.item.describe()}{order}"

    def convert(self, value):
        if not isinstance(value, (list, tuple)) or len(value) < self.min_len:
            raise _Refused
        out = [self.item.convert(v) for v in value]
        if self.increasing and any(a >= b for a, b in zip(out, out[1:])):
            raise _Refused
        if self.distinct and len(set(out)) != len(out):
            raise _Refused
        return out


SEED = Whole(0, SEED_MAX)
DATASET = OneOf(DATASET_NAMES)
OUT_DIR = Text()
N_TRAIN = Whole(MIN_TRAIN_IMAGES, N_TRAIN_IMAGES, also=(0,), note="(all training images)")
LEARNING_RATE = Real(0)
EPOCHS = Whole(1)
INIT = OneOf(mc.INITIALIZATIONS)


# --- rules between parameters ---------------------------------------------------
#
# Each rule looks at the values already checked one by one and returns
# (name, value, what is allowed) for the first parameter it refuses, or None.

Rule = Callable[[dict], "tuple[str, object, str] | None"]


def _at_most(name: str, limit: Callable[[dict], int], why: Callable[[dict], str]) -> Rule:
    def rule(p):
        value = p[name]
        many = isinstance(value, list)
        if (max(value) if many else value) > limit(p):
            return name, value, f"{'a list of values each ' if many else ''}at most {limit(p)}, {why(p)}"
        return None

    return rule


def _between_1_and_epochs(name: str) -> Rule:
    def rule(p):
        if not 1 <= p[name] <= p["epochs"]:
            return name, p[name], f"a whole number from 1 to epochs ({p['epochs']})"
        return None

    return rule


def _images_for(p: dict) -> int:
    """Training images notebook 2 uses."""
    return p["n_train"] or N_TRAIN_IMAGES


def _fit_images(p: dict) -> int:
    """Images notebook 3 trains the search on (the validation set held out)."""
    return p["n_train"] or N_TRAIN_IMAGES - p["n_val"]


def _n_val_fits(p):
    if p["n_train"] and p["n_train"] + p["n_val"] > N_TRAIN_IMAGES:
        return (
            "n_val",
            p["n_val"],
            (
                f"at most {N_TRAIN_IMAGES - p['n_train']}: n_train ({p['n_train']}) + n_val must not exceed the "
                f"{N_TRAIN_IMAGES:,} training images"
            ),
        )
    return None


def _seeds_start_with_seed(p):
    if p["seeds"][0] != p["seed"]:
        return "seeds", p["seeds"], f"a list that starts with seed ({p['seed']}): the run read at both points"
    return None


# --- the declarations -----------------------------------------------------------


@dataclass(frozen=True)
class Declaration:
    """The parameters of one notebook, in the order of its ``parameters``
    cell, and the rules between them."""

    kinds: dict  # name -> kind of value
    rules: tuple = ()  # rules between parameters, checked after every value alone


NOTEBOOKS: dict[str, Declaration] = {
    "1_partial_derivatives": Declaration(
        {
            "dataset": DATASET,
            "n_samples": Whole(1, N_TRAIN_IMAGES),
            # the pairs are drawn without repeats among the pixels lit in the
            # images drawn, and one training image lights as few as 34 (MNIST)
            # or 54 (Fashion-MNIST)
            "n_pairs": Whole(1, 30),
            "seed": SEED,
            # h > 0 (h = 0 divides by zero); above 1 a difference quotient
            # measures nothing and the cost can overflow
            "step": Real(0, 1),
            "out_dir": OUT_DIR,
        }
    ),
    "2_one_layer": Declaration(
        {
            "dataset": DATASET,
            "learning_rate": LEARNING_RATE,
            "batch_size": Whole(1),
            "epochs": EPOCHS,
            "init": INIT,
            "n_train": N_TRAIN,
            "eval_every": Whole(1),
            "seed": SEED,
            "out_dir": OUT_DIR,
        },
        rules=(
            _at_most("batch_size", _images_for, lambda p: f"the number of training images (n_train = {p['n_train']})"),
        ),
    ),
    "3_multilayer": Declaration(
        {
            "dataset": DATASET,
            "n_train": Whole(MIN_TRAIN_IMAGES, N_TRAIN_IMAGES - 100, also=(0,), note="(all but n_val)"),
            # validation accuracies on fewer images cannot tell configurations apart
            "n_val": Whole(100, N_TRAIN_IMAGES - MIN_TRAIN_IMAGES),
            "search_epochs": EPOCHS,
            # increasing: the notebook compares the first value with the last as the
            # smallest with the largest
            "search_learning_rates": ListOf(LEARNING_RATE, increasing=True),
            "search_batch_sizes": ListOf(Whole(1), increasing=True),
            "search_widths": ListOf(Whole(1), distinct=True),
            "search_depths": ListOf(Whole(1), distinct=True),
            "search_activations": ListOf(OneOf(mc.ACTIVATIONS), distinct=True),
            "search_init": INIT,
            "epochs": EPOCHS,
            "short_epochs": Whole(1),
            # distinct: each seed's run has its own checkpoint file
            "seeds": ListOf(SEED, distinct=True),
            "seed_epochs": Whole(1),
            "reference_hidden_sizes": ListOf(Whole(1)),
            "reference_learning_rate": LEARNING_RATE,
            "reference_batch_size": Whole(1),
            "reference_init": INIT,
            "optimizer_epochs": EPOCHS,
            "regularisation_epochs": EPOCHS,
            # the probability of dropping a hidden unit, and the L2 coefficient
            "regularisation_dropout": Real(0, 0.9),
            "regularisation_weight_decay": Real(0, 1),
            "budget_tflop": Real(0),
            # processes forked side by side; each holds its own copy of a network
            "workers": Whole(1, 32),
            # a Dask scheduler to run the trainings on ('' : on this machine)
            "scheduler": Address(),
            "seed": SEED,
            "out_dir": OUT_DIR,
        },
        rules=(
            _n_val_fits,
            _between_1_and_epochs("short_epochs"),
            _between_1_and_epochs("seed_epochs"),
            _seeds_start_with_seed,
            _at_most(
                "search_batch_sizes",
                _fit_images,
                lambda p: f"the {_fit_images(p)} images the search trains on (n_train, without n_val)",
            ),
            _at_most(
                "reference_batch_size",
                lambda p: _fit_images(p) + p["n_val"],
                lambda p: f"the {_fit_images(p) + p['n_val']} images of the long runs (n_train and n_val)",
            ),
        ),
    ),
}


# --- the check ------------------------------------------------------------------


def declared(notebook: str) -> Declaration:
    """The declaration of ``notebook`` (its file name without ``.ipynb``)."""
    if notebook not in NOTEBOOKS:
        raise KeyError(
            f"no parameters are declared for notebook {notebook!r}; declare them in dlia_a2/parameters.py "
            f"(declared: {', '.join(NOTEBOOKS)})"
        )
    return NOTEBOOKS[notebook]


def describe(notebook: str, name: str) -> str:
    """What ``name`` of ``notebook`` may be, in words."""
    return declared(notebook).kinds[name].describe()


def check(notebook: str, namespace: Mapping | None = None) -> dict:
    """Check every declared parameter of ``notebook`` and return them.

    Parameters
    ----------
    notebook : str
        The notebook's file name without ``.ipynb``, e.g. ``"2_one_layer"``.
    namespace : mapping, optional
        Where the values are: the parsed parameter file with the command
        line's values (the report build), or by default the user namespace
        of the running IPython kernel (a notebook's own cell). Names that
        are not parameters are ignored.

    Returns
    -------
    dict
        ``{name: value}`` for every declared parameter, in the declared
        order; numbers declared as floats come back as ``float``, lists as
        ``list``.

    Raises
    ------
    ParameterError
        For the first parameter that is missing or not allowed, alone or
        with the others.
    """
    decl = declared(notebook)
    if namespace is None:
        namespace = _kernel_namespace()
    out = {}
    for name, kind in decl.kinds.items():
        if name not in namespace:
            raise ParameterError(
                f"{notebook}: parameter {name} is not set; it must be {kind.describe()}", notebook, name
            )
        value = namespace[name]
        try:
            out[name] = kind.convert(value)
        except _Refused:
            raise refuse(notebook, name, value, kind.describe()) from None
    for rule in decl.rules:
        found = rule(out)
        if found is not None:
            raise refuse(notebook, *found)
    return out


def _kernel_namespace() -> Mapping:
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = lambda: None
    shell = get_ipython()
    if shell is None:
        raise RuntimeError("check(notebook) without a namespace reads the running notebook's variables; pass one")
    return shell.user_ns
