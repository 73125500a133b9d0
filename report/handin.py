"""Hand in a built report, and verify a hand-in. The Makefile calls it::

    python report/handin.py make BUILD_DIR        # make handin: BUILD_DIR/handin-<dataset>-<config>.zip
    python report/handin.py verify BUNDLE.zip     # make verify HANDIN=BUNDLE.zip

A bundle holds the report (PDF and HTML), the executed notebooks, every
``metrics.json`` and ``timing.json``, ``environment.json``, ``source.tar``
(``git archive`` of the commit the report was built from) and
``MANIFEST.json`` (that commit, the build date and the SHA-256 of every
other file). Its layout is the build folder's, so an unpacked bundle is a
build folder plus the source.

``verify`` checks, in order: the manifest's hashes; that the notebooks and
parameter files the bundle was built with are those of its commit; then it
rebuilds the report from the bundle's own source (this checkout's virtual
environment, with the bundle's source first on ``PYTHONPATH``, which the
notebooks' kernels inherit) under the BLAS kernel, thread count and workers
the bundle recorded, and compares every value of the rebuilt
``metrics.json`` files with the bundle's: "identical", "consistent" (within
:func:`tolerance`) or "differs". Exit status: 0 identical or consistent,
1 differs, 2 a broken bundle or a rebuild that could not run.

It uses ``dlia_a2.environment`` of this checkout to read CPU flags; nothing
in the package uses it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from dlia_a2.environment import git_changes, kernel_runs_here, openblas_kernel

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOTEBOOKS = ("1_partial_derivatives", "2_one_layer", "3_multilayer")
MANIFEST = "MANIFEST.json"
SOURCE = "source.tar"
FORMAT = 1  # of MANIFEST.json

# What the build reads (paths relative to the repository): an uncommitted
# change to any of these, now or when the report was built, refuses a hand-in.
# Ignored files (report/build, report/node_modules) are never changes.
BUILD_INPUTS = (
    "mlp_core.py",
    "dlia_a2",
    "notebooks",
    "report",
    "requirements.txt",
    "constraints.txt",
    "pyproject.toml",
    "Makefile",
)
# ... except this script: the build never runs it
NOT_BUILD_INPUTS = ("report/handin.py",)


class HandinError(Exception):
    """No hand-in can be made (or verified): the message says why and what to do."""


# --- make ----------------------------------------------------------------------


def is_build_input(path: str) -> bool:
    """Whether ``path`` (relative to the repository) is something the build reads."""
    return path not in NOT_BUILD_INPUTS and any(path == p or path.startswith(p + "/") for p in BUILD_INPUTS)


def _git(root: Path, *args: str, check: bool = True) -> str:
    r = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise HandinError(f"git {' '.join(args)} failed in {root}: {r.stderr.strip()}")
    return r.stdout.strip()


def built_commit(env: dict, root: Path = ROOT) -> str:
    """The commit a build recorded in its ``environment.json``, checked.

    Raises
    ------
    HandinError
        When the build was made from uncommitted changes to something the build
        reads, recorded no commit, or from a commit whose build inputs differ
        from HEAD's (the report is not the current code's).
    """
    recorded = str(env.get("git_commit", "unknown"))
    commit = recorded.split(" ")[0]
    if commit in ("", "unknown"):
        raise HandinError("the build recorded no git commit: build the report in a git checkout ('make report')")
    # untracked inputs count too: a new module the build imported is not in the commit
    changed = [p for p in env.get("git_changes", []) if is_build_input(p)]
    if changed or ("uncommitted" in recorded and "git_changes" not in env):
        which = ", ".join(changed[:5]) if changed else "files it did not list"
        raise HandinError(
            f"the report was built from a working tree with uncommitted changes to {which}: "
            f"commit them, then 'make report' and 'make handin' again"
        )
    if _git(root, "cat-file", "-t", commit, check=False) != "commit":
        raise HandinError(f"the report was built from commit {commit[:10]}, which this repository does not have")
    head = _git(root, "rev-parse", "HEAD")
    if commit != head:
        moved = [p for p in _git(root, "diff", "--name-only", commit, head).splitlines() if is_build_input(p)]
        if moved:
            raise HandinError(
                f"the report was built from commit {commit[:10]}, and HEAD ({head[:10]}) changes "
                f"{', '.join(moved[:5])}, which the build reads: 'make report' again, then 'make handin'"
            )
    return commit


def uncommitted_inputs(root: Path = ROOT) -> list[str]:
    """The build inputs of the working tree at ``root`` that differ from HEAD (untracked ones included)."""
    return sorted(p for p in git_changes(root) if is_build_input(p))


def stale_outputs(build: Path, config: str, root: Path = ROOT) -> list[str]:
    """The parts of a build older than a source they depend on, one line each,
    as the Makefile's rules relate them: an executed notebook depends on its
    notebook, its parameter file and the code; the HTML on the executed
    notebooks, the template, the build scripts and the code; the PDF on the HTML.
    """
    code = [root / "mlp_core.py", *sorted((root / "dlia_a2").glob("*.py"))]
    rules = {
        f"{nb}.ipynb": [root / "notebooks" / f"{nb}.ipynb", root / "report" / "config" / config / f"{nb}.yaml", *code]
        for nb in NOTEBOOKS
    }
    rules["report.html"] = [
        *(build / f"{nb}.ipynb" for nb in NOTEBOOKS),
        *sorted(p for p in (root / "report" / "template").rglob("*") if p.is_file()),
        *sorted(p for p in (root / "report").glob("*.py") if f"report/{p.name}" not in NOT_BUILD_INPUTS),
        *code,
    ]
    rules["report.pdf"] = [build / "report.html"]
    stale = []
    for name, sources in rules.items():
        target = build / name
        if not target.exists():
            stale.append(f"{target} is missing")
            continue
        newer = [s for s in sources if s.exists() and s.stat().st_mtime > target.stat().st_mtime]
        if newer:
            shown = ", ".join(str(s.relative_to(root) if s.is_relative_to(root) else s) for s in newer[:3])
            stale.append(f"{target} is older than {shown}")
    return stale


def bundle_files(build: Path) -> list[str]:
    """The files of a build that go into its bundle, relative to the build folder."""
    names = ["report.pdf", "report.html", "metrics.json", "environment.json"]
    for nb in NOTEBOOKS:
        names += [f"{nb}.ipynb", f"{nb}/metrics.json", f"{nb}/timing.json"]
    return names


def build_seconds(notebooks: dict[str, dict]) -> dict[str, float]:
    """Wall time of each executed notebook (papermill's record), in seconds."""
    return {
        name: round(float(nb.get("metadata", {}).get("papermill", {}).get("duration") or 0.0), 1)
        for name, nb in notebooks.items()
    }


def make_handin(build: Path, root: Path = ROOT, output: Path | None = None) -> Path:
    """Write the bundle of the build in ``build`` (see the module docstring).

    Parameters
    ----------
    build : Path
        A build folder, ``report/build/<dataset>-<config>``.
    root : Path
        The git checkout the build was made in.
    output : Path, optional
        Where to write; default ``build/handin-<dataset>-<config>.zip``.

    Returns
    -------
    Path
        The bundle written.

    Raises
    ------
    HandinError
        When a file is missing, the working tree has uncommitted changes to
        something the build reads, the report was built from such changes or
        from other build inputs than HEAD's, or it is older than its sources.
    """
    missing = [n for n in bundle_files(build) if not (build / n).is_file()]
    if missing:
        raise HandinError(
            f"{build} lacks {', '.join(missing)}: run 'make report' (with Chromium installed, for the PDF) first"
        )
    metrics = json.loads((build / "metrics.json").read_text())
    env = json.loads((build / "environment.json").read_text())
    dataset, config = metrics["dataset"], metrics["configuration"]
    dirty = uncommitted_inputs(root)
    if dirty:
        raise HandinError(
            f"the working tree has uncommitted changes to {', '.join(dirty[:5])}, which the build reads: "
            f"commit them (or undo them), then 'make report' and 'make handin' again"
        )
    commit = built_commit(env, root)
    stale = stale_outputs(build, config, root)
    if stale:
        raise HandinError("the report is older than its sources: " + "; ".join(stale) + ": run 'make report' again")
    source = subprocess.run(["git", "archive", "--format=tar", commit], cwd=root, capture_output=True, check=True)
    contents = {name: (build / name).read_bytes() for name in bundle_files(build)}
    contents[SOURCE] = source.stdout
    notebooks = {nb: json.loads(contents[f"{nb}.ipynb"]) for nb in NOTEBOOKS}
    manifest = {
        "format": FORMAT,
        "commit": commit,
        "built": env.get("built"),
        "dataset": dataset,
        "configuration": config,
        "build_seconds": build_seconds(notebooks),
        "made": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(contents.items())},
    }
    output = output or build / f"handin-{dataset}-{config}.zip"
    tmp = output.with_name(output.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(MANIFEST, json.dumps(manifest, indent=1) + "\n")
        for name, data in sorted(contents.items()):
            z.writestr(name, data)
    os.replace(tmp, output)
    return output


# --- verify: the bundle itself ---------------------------------------------------


def unpack(bundle: Path, folder: Path) -> dict:
    """Unpack ``bundle`` into ``folder`` and check its manifest's hashes.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    HandinError
        Naming every file that is missing, extra, or whose SHA-256 is not the
        manifest's.
    """
    if not zipfile.is_zipfile(bundle):
        raise HandinError(f"{bundle} is not a zip file")
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        unsafe = [n for n in names if n.startswith("/") or ".." in Path(n).parts]
        if unsafe:
            raise HandinError(f"{bundle} holds paths outside its folder: {unsafe[:3]}")
        if MANIFEST not in names:
            raise HandinError(f"{bundle} has no {MANIFEST}: it is not a hand-in made by 'make handin'")
        z.extractall(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        hashes = manifest["sha256"]
        manifest["commit"], manifest["dataset"], manifest["configuration"]
    except (ValueError, KeyError, TypeError) as e:
        raise HandinError(f"{MANIFEST} is not readable: {e!r}") from None
    problems = []
    needed = set(bundle_files(Path())) | {SOURCE}
    for name in sorted(needed - set(hashes)):
        problems.append(f"{name} is not in the manifest")
    for name, digest in sorted(hashes.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{name}: its SHA-256 is not the manifest's (the file was changed or damaged)")
    for name in sorted(set(names) - set(hashes) - {MANIFEST}):
        if not name.endswith("/"):
            problems.append(f"{name} is in the bundle but not in the manifest")
    if problems:
        raise HandinError("its files do not match its manifest:\n" + "\n".join(f"  - {p}" for p in problems))
    return manifest


def _read_yaml(path: Path) -> dict:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}


def _cells(nb: dict) -> list[tuple[str, str]]:
    """A notebook's cells as (type, source), without papermill's injected parameters."""
    out = []
    for cell in nb.get("cells", []):
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        source = cell.get("source", "")
        out.append((cell.get("cell_type"), "".join(source) if isinstance(source, list) else source))
    return out


def unpack_source(folder: Path, manifest: dict) -> Path:
    """Unpack the bundle's ``source.tar`` into ``folder/source`` and check that
    it is the manifest's commit (``git archive`` records it in the tar)."""
    try:
        return _unpack_source(folder, manifest)
    except (tarfile.TarError, OSError) as e:
        raise HandinError(f"{SOURCE} cannot be unpacked: {e}") from None


def _unpack_source(folder: Path, manifest: dict) -> Path:
    with tarfile.open(folder / SOURCE) as tar:
        recorded = tar.pax_headers.get("comment", "")
        if recorded != manifest["commit"]:
            raise HandinError(
                f"{SOURCE} is the archive of commit {recorded[:10] or '(none recorded)'}, "
                f"not of the manifest's {manifest['commit'][:10]}"
            )
        source = folder / "source"
        if hasattr(tarfile, "data_filter"):
            tar.extractall(source, filter="data")
        else:  # Python before 3.10.12 / 3.11.4
            bad = [m.name for m in tar.getmembers() if m.name.startswith("/") or ".." in Path(m.name).parts]
            if bad:
                raise HandinError(f"{SOURCE} holds paths outside its folder: {bad[:3]}")
            tar.extractall(source)
    return source


def check_inputs(folder: Path, source: Path, manifest: dict) -> list[str]:
    """Whether the bundle's executed notebooks are the notebooks of its commit,
    run with the parameter files of its commit; one line per problem."""
    problems = []
    config, dataset = manifest["configuration"], manifest["dataset"]
    combined = json.loads((folder / "metrics.json").read_text())
    for nb in NOTEBOOKS:
        executed = json.loads((folder / f"{nb}.ipynb").read_text())
        original = json.loads((source / "notebooks" / f"{nb}.ipynb").read_text())
        a, b = _cells(executed), _cells(original)
        if len(a) != len(b):
            problems.append(f"{nb}.ipynb has {len(a)} cells, the notebook at the commit {len(b)}")
        else:
            for i, (x, y) in enumerate(zip(a, b), 1):
                if x != y:
                    problems.append(f"{nb}.ipynb: cell {i} is not the one at the commit")
                    break
        params_file = source / "report" / "config" / config / f"{nb}.yaml"
        given = executed.get("metadata", {}).get("papermill", {}).get("parameters", {})
        wanted = {**_read_yaml(params_file), "dataset": dataset}
        for key in sorted(set(given) | set(wanted)):
            if key != "out_dir" and given.get(key) != wanted.get(key):
                problems.append(
                    f"{nb}.ipynb ran with {key}={given.get(key)!r}, "
                    f"report/config/{config}/{nb}.yaml at the commit gives {wanted.get(key)!r}"
                )
        own = json.loads((folder / nb / "metrics.json").read_text())
        if combined.get("notebooks", {}).get(nb) != own:
            problems.append(f"metrics.json and {nb}/metrics.json disagree")
    return problems


# --- verify: the comparison ------------------------------------------------------


def flatten(tree, prefix: str = "") -> dict:
    """A JSON tree as ``{"a.b[0].c": leaf}``."""
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
    - Parameters, configurations and texts (anything not a float): 0, exact.
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
    """
    nb3 = metrics.get("notebooks", {}).get("3_multilayer", {})
    acc_sd = float(nb3.get("seed_std") or 0.0)
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
        return statistics.stdev(losses) if len(losses) > 1 else 0.0
    mean = float(nb3.get("seed_mean") or 0.0)
    return abs(value) * acc_sd / mean if mean else 0.0


@dataclass
class Difference:
    """One value that differs between the bundle and the rebuild."""

    key: str
    bundle: object
    rebuilt: object
    allowed: float

    @property
    def size(self) -> float:
        """|bundle - rebuilt| for numbers, infinite otherwise."""
        try:
            return abs(float(self.bundle) - float(self.rebuilt))
        except (TypeError, ValueError):
            return math.inf

    @property
    def within(self) -> bool:
        return self.size <= self.allowed

    @property
    def excess(self) -> float:
        """How many times its tolerance the difference is (infinite for a tolerance of 0)."""
        return self.size / self.allowed if self.allowed else math.inf


def _equal(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def compare(bundle_metrics: dict, rebuilt_metrics: dict) -> list[Difference]:
    """Every value of the notebooks' metrics that differs between the bundle's
    combined ``metrics.json`` and the rebuild's, with its :func:`tolerance`."""
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
    """The verdict on a rebuild: "identical" when no value differs and the
    recorded kernel and threads ran; "consistent" when every difference is
    within its :func:`tolerance` (or none differs, under another kernel);
    else "differs"."""
    if any(not d.within for d in differences):
        return "differs"
    return "identical" if not differences and kernel_pinned else "consistent"


def difference_table(differences: list[Difference], limit: int = 25) -> str:
    """The differing values as a table, largest excess over the tolerance first."""
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


# --- verify: the rebuild -----------------------------------------------------------


def rebuild_environment(environment: dict, source: Path, base: dict | None = None) -> tuple[dict, list[str]]:
    """The environment a rebuild runs in, and notes on what it pins.

    The bundle's source goes first on ``PYTHONPATH`` (the notebooks' kernels
    inherit it, so ``dlia_a2`` and ``mlp_core`` are the bundle's, not the
    editable install's); the recorded OpenBLAS kernel is forced with
    ``OPENBLAS_CORETYPE`` where this CPU can run it, and the recorded thread
    counts with ``OPENBLAS_NUM_THREADS`` and ``OMP_NUM_THREADS``; a Dask
    scheduler in the environment is dropped (the bundle's ``workers`` decide).
    Variables of the calling ``make`` are dropped too.
    """
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if k not in ("OPENBLAS_CORETYPE", "DLIA_DASK_SCHEDULER", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    }
    env["PYTHONPATH"] = os.pathsep.join([str(source), *filter(None, [env.get("PYTHONPATH")])])
    notes = []
    kernel, threads = openblas_kernel(environment.get("blas", []))
    if kernel is None:
        notes.append("the bundle recorded no OpenBLAS kernel: the rebuild uses this machine's BLAS as it is")
    else:
        runs = kernel_runs_here(kernel)
        if runs:
            env["OPENBLAS_CORETYPE"] = kernel
            notes.append(f"pinned the recorded kernel: OPENBLAS_CORETYPE={kernel}")
        elif runs is None:
            notes.append(f"the recorded kernel {kernel} is unknown here: it cannot be pinned")
        else:
            notes.append(f"this CPU cannot run the recorded kernel {kernel} (it lacks the instructions it needs)")
    if threads:
        env["OPENBLAS_NUM_THREADS"] = str(threads)
        notes.append(f"OPENBLAS_NUM_THREADS={threads}")
    omp = [b.get("num_threads") for b in environment.get("blas", []) if b.get("internal_api") == "openmp"]
    if omp and omp[0]:
        env["OMP_NUM_THREADS"] = str(omp[0])
    return env, notes


def imported_from(env: dict, python: Path, cwd: Path) -> dict[str, str]:
    """Where ``dlia_a2`` and ``mlp_core`` are imported from by ``python`` in ``env``."""
    code = "import dlia_a2, mlp_core; print(dlia_a2.__file__); print(mlp_core.__file__)"
    r = subprocess.run([str(python), "-c", code], env=env, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise HandinError(f"the rebuild's Python cannot import the bundle's code: {r.stderr.strip()[-500:]}")
    a, b = r.stdout.split()[-2:]
    return {"dlia_a2": a, "mlp_core": b}


def check_imports(env: dict, venv: Path, source: Path) -> None:
    """Refuse to rebuild unless ``venv``'s Python, in ``env``, imports
    ``dlia_a2`` and ``mlp_core`` from the bundle's ``source``."""
    python = venv / "bin" / "python"
    if not python.exists():
        raise HandinError(f"no Python in {venv}: run 'make venv' first (the rebuild uses this checkout's environment)")
    for name, path in imported_from(env, python, source / "notebooks").items():
        if not Path(path).resolve().is_relative_to(source.resolve()):
            raise HandinError(f"the rebuild would import {name} from {path}, not from the bundle's source")


def rebuild(folder: Path, source: Path, manifest: dict, env: dict, venv: Path) -> Path:
    """Rebuild the bundle's report (its HTML and metrics) from ``source`` with
    the bundle's own Makefile and ``venv``, in the environment ``env`` of
    :func:`rebuild_environment`, into ``folder/rebuilt``; returns that folder."""
    # the source is as old as can be, so that the bundle's Makefile takes this
    # checkout's virtual environment and MathJax as up to date
    old = time.mktime((2000, 1, 1, 0, 0, 0, 0, 1, -1))
    for path in source.rglob("*"):
        os.utime(path, (old, old), follow_symlinks=False)
    mathjax = ROOT / "report" / "node_modules"
    if mathjax.is_dir() and not (source / "report" / "node_modules").exists():
        (source / "report" / "node_modules").symlink_to(mathjax.resolve())
    out = folder / "rebuilt"
    cmd = [
        "make",
        "--no-print-directory",
        "-C",
        str(source),
        "html",
        f"DATASET={manifest['dataset']}",
        f"CONFIG={manifest['configuration']}",
        f"OUT={out}",
        f"VENV={venv}",
    ]
    r = subprocess.run(cmd, env=env)
    if r.returncode != 0:
        raise HandinError(f"the rebuild failed (exit {r.returncode}): {' '.join(cmd)}")
    return out


def verify(bundle: Path, venv: Path = ROOT / ".venv", workdir: Path | None = None, out=sys.stdout) -> int:
    """Check a bundle and rebuild it (see the module docstring); returns the exit status."""
    say = lambda line="": print(line, file=out, flush=True)
    with tempfile.TemporaryDirectory(prefix="dlia-verify-") as tmp:
        folder = Path(workdir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            manifest = unpack(bundle, folder)
            say(f"[verify] 1. manifest: the SHA-256 of all {len(manifest['sha256'])} files match")
            source = unpack_source(folder, manifest)
            problems = check_inputs(folder, source, manifest)
            if problems:
                raise HandinError(
                    "the bundle was not built from its commit's notebooks and parameter files:\n"
                    + "\n".join(f"  - {p}" for p in problems)
                )
            say(
                f"[verify] 2. the notebooks and report/config/{manifest['configuration']}/ are those of "
                f"commit {manifest['commit'][:10]}"
            )
            environment = json.loads((folder / "environment.json").read_text())
            seconds = manifest.get("build_seconds", {})
            total = sum(seconds.values())
            say(
                f"[verify] 3. rebuilding {manifest['dataset']}-{manifest['configuration']} from the bundle's source: "
                f"the bundle's notebooks took {total / 60:.1f} min to run ("
                + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
                + f") on {environment.get('cpu')}, {environment.get('cores')} cores"
            )
            env, notes = rebuild_environment(environment, source)
            for note in notes:
                say(f"[verify]    {note}")
            venv = venv.absolute()  # the rebuild runs in the bundle's folder
            check_imports(env, venv, source)
            say(f"[verify]    the code is the bundle's: dlia_a2 and mlp_core are imported from {source}")
            t0 = time.perf_counter()
            rebuilt = rebuild(folder, source, manifest, env, venv)
            say(f"[verify]    rebuilt in {(time.perf_counter() - t0) / 60:.1f} min")
        except HandinError as e:
            say(f"[verify] BROKEN: {e}")
            return 2
        return judge(folder, rebuilt, environment, say)


def judge(folder: Path, rebuilt: Path, environment: dict, say) -> int:
    """Compare the rebuild in ``rebuilt`` with the bundle unpacked in ``folder``
    (whose ``environment.json`` is ``environment``), print the table and the
    verdict with ``say``; returns the exit status."""
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
    say("[verify] identical: every value of the rebuilt metrics.json files equals the bundle's")
    return 0


# --- command line ----------------------------------------------------------------


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python report/handin.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make", help="bundle a built report for handing in")
    m.add_argument("build", type=Path, help="the build folder, report/build/<dataset>-<config>")
    m.add_argument("--output", type=Path, default=None)
    v = sub.add_parser("verify", help="check a bundle and rebuild its report")
    v.add_argument("bundle", type=Path)
    v.add_argument("--venv", type=Path, default=ROOT / ".venv", help="the virtual environment to rebuild with")
    v.add_argument("--workdir", type=Path, default=None, help="unpack and rebuild here (default: a temporary folder)")
    args = p.parse_args(argv)
    if args.command == "verify":
        if not args.bundle.is_file():
            print(f"[verify] BROKEN: no file {args.bundle} (make verify HANDIN=path/to/bundle.zip)")
            return 2
        return verify(args.bundle, args.venv, args.workdir)
    try:
        path = make_handin(args.build, ROOT, args.output)
    except HandinError as e:
        print(f"[handin] refused: {e}", file=sys.stderr)
        return 1
    size = path.stat().st_size / 2**20
    print(f"[handin] wrote {path} ({size:.1f} MiB); check it with: make verify HANDIN={path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
