"""Compare a rebuilt report's metrics with a hand-in's, check the handed-in report against them, and judge.

Every value of the notebooks' ``metrics.json`` files is compared, flattened
to one key per leaf; a value that differs is a :class:`Difference`, allowed
to move by its :func:`tolerance` (the spread the report itself gives for
that quantity). :func:`verdict` names the outcome, "identical",
"consistent" or "differs", and :func:`judge` prints it for
``report/verify.py``. A string is judged with its numbers masked
(:func:`mask_numbers`): the numbers a verdict phrase quotes are judged where
``metrics.json`` records them as numbers. That the report itself prints
only values of its ``metrics.json`` is ``printed.check_report``'s to say,
which :func:`judge` calls. Nothing here unpacks or
rebuilds anything: it reads the report, ``metrics.json`` and
``environment.json`` files and dicts.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dlia_a2.environment import openblas_kernel
from handin import NOTEBOOKS
from printed import check_report

# --- the values and their tolerances ---------------------------------------------


def flatten(tree: object, prefix: str = "") -> dict[str, object]:
    """A JSON tree as one entry per leaf, keyed by its path.

    Parameters
    ----------
    tree : dict, list or JSON scalar
        A parsed ``metrics.json`` or any part of it.
    prefix : str
        The path of ``tree`` itself; ``""`` at the root.

    Returns
    -------
    dict
        ``{"a.b[0].c": leaf}``: dict keys joined with ".", list indices in brackets.
    """
    out = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out.update(flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = tree
    return out


# notebook 1 calls the gradient formulas right when the relative error
# against finite differences is below this (its ``formulas_hold``)
GRADIENT_CHECK_THRESHOLD = 1e-6

# the smallest standard deviation of the test accuracy over seeds that the
# tolerances rest on: 0.01 percentage points, the last digit the report prints
# of a percentage (and one test image in 10,000). Seeds that all end at the
# same accuracy (a tiny configuration, or one seed) would otherwise make every
# tolerance 0 and any last-bit change "differs".
ACCURACY_SD_FLOOR = 1e-4

# likewise for the standard deviation of the test loss over the seeds of the
# regularisation study: a change in the fourth decimal of a loss
LOSS_SD_FLOOR = 1e-4


def tolerance(key: str, metrics: dict) -> float:
    """How far a value of the report may move between machines and still be
    "consistent": the spread the report itself gives for that quantity.

    Parameters
    ----------
    key : str
        The value's flattened key in a notebook's ``metrics.json``, prefixed with
        the notebook (``"3_multilayer/seed_mean"``).
    metrics : dict
        The bundle's combined ``metrics.json`` (``{"notebooks": {...}}``), where
        the spreads are read.

    Returns
    -------
    float
        The largest absolute difference allowed; 0.0 where only equality will do.

    Notes
    -----
    - Parameters, configurations and texts (anything not a float): 0, exact;
      but a text that differs only in the numbers it quotes is no difference
      at all (:attr:`Difference.size`): those numbers are judged where they
      are recorded as numbers.
    - Accuracies (any key naming an accuracy, the seeds' mean, min and max,
      and the min, max and value of an accuracy range): the standard deviation
      of the test accuracy over seeds, ``3_multilayer/seed_std``.
    - Accuracy changes in percentage points (``*_points``): twice that, in points.
    - Counts of test images misclassified (``test_errors``, ``most_confused.count``):
      that standard deviation times the number of test images.
    - Losses: the standard deviation of the test loss over the seeds of the
      regularisation study.
    - Notebook 1's relative errors of the gradient check: its threshold
      :data:`GRADIENT_CHECK_THRESHOLD` (any two values that pass differ by less).
    - Any other float: the seeds' relative spread of the test accuracy
      (``seed_std / seed_mean``) of its size; the report gives no spread of its own.
    - Where the seeds' standard deviation is below :data:`ACCURACY_SD_FLOOR`
      (0 when every seed ends at the same accuracy, or there is one seed), that
      floor stands in for it; the losses' likewise have :data:`LOSS_SD_FLOOR`.
    """
    nb3 = metrics.get("notebooks", {}).get("3_multilayer", {})
    acc_sd = max(float(nb3.get("seed_std") or 0.0), ACCURACY_SD_FLOOR)
    notebook, _, path = key.partition("/")
    leaf = path.rsplit(".", 1)[-1].split("[")[0]
    value = flatten(metrics.get("notebooks", {}).get(notebook, {})).get(path)
    if path.startswith("parameters.") or ".config." in f".{path}" or isinstance(value, (bool, str)) or value is None:
        return 0.0
    if leaf in ("test_errors", "count"):
        return acc_sd * float(nb3.get("n_test_images") or 0)
    if isinstance(value, int):
        return 0.0
    if path.startswith("max_rel_error"):
        return GRADIENT_CHECK_THRESHOLD
    if leaf.endswith("_points"):
        return 2 * 100 * acc_sd
    accuracy_range = any(part.endswith(("_range", "accuracy")) for part in path.split(".")[:-1])
    if "accuracy" in leaf or leaf in ("seed_mean", "seed_min", "seed_max") or accuracy_range:
        return acc_sd
    if "loss" in leaf:
        seeds = nb3.get("regularisation", {}).get("seeds", {})
        losses = [float(s["test_loss"]) for s in seeds.values() if "test_loss" in s]
        return max(statistics.stdev(losses) if len(losses) > 1 else 0.0, LOSS_SD_FLOOR)
    mean = float(nb3.get("seed_mean") or 0.0)
    return abs(value) * acc_sd / mean if mean else 0.0


@dataclass
class Difference:
    """One value that differs between the bundle and the rebuild.

    Attributes
    ----------
    key : str
        The value's flattened key, prefixed with its notebook
        (``"3_multilayer/seed_mean"``), or ``"dataset"`` / ``"configuration"``.
    bundle, rebuilt : object
        The value in the bundle and in the rebuild (``"(missing)"`` where absent).
    allowed : float
        Its :func:`tolerance`: the largest absolute difference still "consistent".
    """

    key: str
    bundle: object
    rebuilt: object
    allowed: float

    @property
    def size(self) -> float:
        """|bundle - rebuilt| for numbers; 0 for two texts that differ only in
        their numbers (:func:`mask_numbers`); infinite otherwise."""
        if isinstance(self.bundle, str) and isinstance(self.rebuilt, str):
            return 0.0 if mask_numbers(self.bundle) == mask_numbers(self.rebuilt) else math.inf
        if isinstance(self.bundle, bool) or isinstance(self.rebuilt, bool):
            return math.inf
        try:
            return abs(float(self.bundle) - float(self.rebuilt))
        except (TypeError, ValueError):
            return math.inf

    @property
    def within(self) -> bool:
        """Whether the difference is no larger than its tolerance."""
        return self.size <= self.allowed

    @property
    def excess(self) -> float:
        """How many times its tolerance the difference is (infinite for a
        tolerance of 0, unless the difference is 0 too)."""
        if not self.size:
            return 0.0
        return self.size / self.allowed if self.allowed else math.inf


# a number as a verdict phrase quotes it, standing alone: "1.16", "-0.5", "98.12" (of
# "98.12%"), "6.8e-08", "784" and "32" (of "784-32-10"); not the digits of a word
# such as "float32", which name a setting. A number a text quotes is recorded as a
# number too (a choice such as the chosen architecture or class exactly, as a
# parameter or an integer), and judged there.
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?!\w)")


def mask_numbers(text: str) -> str:
    """``text`` with every number in it replaced by ``#``.

    Parameters
    ----------
    text : str
        A text value of ``metrics.json``, such as a verdict phrase
        ("falls by 1.16 points").

    Returns
    -------
    str
        The text with its numbers masked ("falls by # points"): two texts
        with equal masks differ only in the numbers they quote.
    """
    return NUMBER.sub("#", text)


# --- the comparison and its verdict ------------------------------------------------


def _equal(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def compare(bundle_metrics: dict, rebuilt_metrics: dict) -> list[Difference]:
    """Every value of the notebooks' metrics that differs between two builds.

    Parameters
    ----------
    bundle_metrics, rebuilt_metrics : dict
        The combined ``metrics.json`` of the bundle and of the rebuild
        (``{"dataset": ..., "configuration": ..., "notebooks": {...}}``).

    Returns
    -------
    list of Difference
        One per differing value, in notebook and key order, with its
        :func:`tolerance` read from ``bundle_metrics``; a value only one side
        has is ``"(missing)"`` on the other. A different data set or
        configuration is a difference with a tolerance of 0.
    """
    out = []
    for nb in sorted(set(bundle_metrics.get("notebooks", {})) | set(rebuilt_metrics.get("notebooks", {}))):
        a = flatten(bundle_metrics.get("notebooks", {}).get(nb, {}))
        b = flatten(rebuilt_metrics.get("notebooks", {}).get(nb, {}))
        for k in sorted(set(a) | set(b)):
            va, vb = a.get(k, "(missing)"), b.get(k, "(missing)")
            if not _equal(va, vb):
                out.append(Difference(f"{nb}/{k}", va, vb, tolerance(f"{nb}/{k}", bundle_metrics)))
    for k in ("dataset", "configuration"):
        if bundle_metrics.get(k) != rebuilt_metrics.get(k):
            out.append(Difference(k, bundle_metrics.get(k), rebuilt_metrics.get(k), 0.0))
    return out


def verdict(differences: list[Difference], kernel_pinned: bool = True) -> str:
    """The verdict on a rebuild.

    Parameters
    ----------
    differences : list of Difference
        What :func:`compare` found.
    kernel_pinned : bool
        Whether the rebuild ran the recorded BLAS kernel and threads (and the
        recorded Python and NumPy).

    Returns
    -------
    str
        "identical" when no value differs and the kernel was pinned;
        "consistent" when every difference is within its :func:`tolerance`
        (or none differs, under another kernel); else "differs".
    """
    if any(not d.within for d in differences):
        return "differs"
    return "identical" if not differences and kernel_pinned else "consistent"


def difference_table(differences: list[Difference], limit: int = 25) -> str:
    """The differing values as a plain-text table, largest excess over the tolerance first.

    Parameters
    ----------
    differences : list of Difference
        What :func:`compare` found.
    limit : int
        The most rows shown; a last line counts the rest.

    Returns
    -------
    str
        The table, each value beyond its tolerance marked ``BEYOND``, or
        ``"(no value differs)"``.
    """
    if not differences:
        return "(no value differs)"
    rows = sorted(differences, key=lambda d: (-d.excess, -d.size if d.size != math.inf else 0, d.key))
    width = max(len(d.key) for d in rows[:limit])
    fmt = lambda v: f"{v:.10g}" if isinstance(v, float) else str(v)[:16]
    lines = [f"  {'value':<{width}}  {'bundle':>16}  {'rebuilt':>16}  {'difference':>10}  {'allowed':>9}"]
    for d in rows[:limit]:
        size = f"{d.size:.2g}" if d.size != math.inf else "-"
        lines.append(
            f"  {d.key:<{width}}  {fmt(d.bundle):>16}  {fmt(d.rebuilt):>16}  {size:>10}  {d.allowed:>9.2g}"
            + ("" if d.within else "  BEYOND")
        )
    if len(rows) > limit:
        lines.append(f"  ... and {len(rows) - limit} more")
    return "\n".join(lines)


# --- the judgement on a rebuild ---------------------------------------------------


def judge(folder: Path, rebuilt: Path, environment: dict, say: Callable[[str], None]) -> int:
    """Compare a rebuild with the bundle, and print the table and the verdict.

    Parameters
    ----------
    folder : Path
        The unpacked bundle (a build folder: ``metrics.json`` and each notebook's).
    rebuilt : Path
        The rebuild's build folder, with its ``environment.json``.
    environment : dict
        The bundle's ``environment.json``: the BLAS kernel, threads and
        versions the rebuild's are checked against.
    say : callable
        Prints one line of the verdict.

    Returns
    -------
    int
        The exit status of ``make verify``: 0 identical or consistent,
        1 differs (a value beyond its tolerance, or a handed-in report that
        prints a percentage none of the bundle's metrics gives:
        :func:`check_report`), 2 when the rebuild's own ``metrics.json``
        files disagree.
    """
    ran = json.loads((rebuilt / "environment.json").read_text())
    recorded_kernel, recorded_threads = openblas_kernel(environment.get("blas", []))
    ran_kernel, ran_threads = openblas_kernel(ran.get("blas", []))
    pinned = (recorded_kernel, recorded_threads) == (ran_kernel, ran_threads)
    if not pinned:
        say(
            f"[verify]    the rebuild ran OpenBLAS {ran_kernel} with {ran_threads} threads, the bundle "
            f"{recorded_kernel} with {recorded_threads}: the bits may differ, so 'consistent' at best"
        )
    # what the bits depend on besides the kernel (matplotlib, papermill and the rest do not touch them)
    versions = lambda e: {"python": e.get("python"), "numpy": e.get("packages", {}).get("numpy")}
    moved = {k: v for k, v in versions(ran).items() if versions(environment).get(k) != v}
    if moved:
        pinned = False
        say(
            "[verify]    this environment's versions are not the bundle's ("
            + ", ".join(f"{k} {versions(environment).get(k)} -> {v}" for k, v in moved.items())
            + "): 'consistent' at best; 'make venv' from the bundle's requirements.txt gives the recorded ones"
        )
    bundle_metrics = json.loads((folder / "metrics.json").read_text())
    rebuilt_metrics = json.loads((rebuilt / "metrics.json").read_text())
    # every metrics.json of the rebuild: the combined one holds the notebooks' own
    for nb in NOTEBOOKS:
        own = json.loads((rebuilt / nb / "metrics.json").read_text())
        if rebuilt_metrics["notebooks"].get(nb) != own:
            say(f"[verify] BROKEN: the rebuild's metrics.json and {nb}/metrics.json disagree")
            return 2
    differences = compare(bundle_metrics, rebuilt_metrics)
    n_values = sum(len(flatten(m)) for m in bundle_metrics["notebooks"].values())
    result = verdict(differences, pinned)
    say(f"[verify] {len(differences)} of {n_values} values differ")
    if differences:
        say(difference_table(differences))
    if result == "differs":
        beyond = sorted((d for d in differences if not d.within), key=lambda d: -d.excess)
        say(
            "[verify] differs: beyond the report's own spread: "
            + "; ".join(f"{d.key} {d.bundle} -> {d.rebuilt}" for d in beyond[:3])
        )
        return 1
    # the metrics follow from the code: now the handed-in report must say what they say
    problems = check_report(folder, bundle_metrics, say)
    if problems:
        say("[verify] differs: the handed-in report does not print its metrics:")
        for p in problems:
            say(f"  - {p}")
        return 1
    if result == "consistent":
        say(
            "[verify] consistent: "
            + (
                "every difference is within the spread the report gives for its quantity"
                if differences
                else "every value is equal, though the kernel, threads or versions were not the recorded ones"
            )
        )
        return 0
    say(
        "[verify] identical: every value of the rebuilt metrics.json files equals the bundle's, "
        "and the report prints those values"
    )
    return 0
