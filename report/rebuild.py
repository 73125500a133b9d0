"""Rebuild a hand-in's report from its own source, as it was built.

The rebuild runs the bundle's own Makefile (``make html``) on the bundle's
source with this checkout's virtual environment, the bundle's source first
on ``PYTHONPATH`` (which the notebooks' kernels inherit), and the BLAS
kernel, thread counts and workers the bundle recorded. ``report/verify.py``
calls it after checking the bundle; nothing here reads the bundle's results.
It uses ``dlia_a2.environment`` of this checkout to read CPU flags; nothing
in the package uses it.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from dlia_a2.environment import kernel_runs_here, openblas_kernel
from handin import ROOT, HandinError


def rebuild_environment(environment: dict, source: Path, base: dict | None = None) -> tuple[dict, list[str]]:
    """The environment a rebuild runs in, and notes on what it pins.

    The bundle's source goes first on ``PYTHONPATH`` (the notebooks' kernels
    inherit it, so ``dlia_a2`` and ``mlp_core`` are the bundle's, not the
    editable install's); the recorded OpenBLAS kernel is forced with
    ``OPENBLAS_CORETYPE`` where this CPU can run it, and the recorded thread
    counts with ``OPENBLAS_NUM_THREADS`` and ``OMP_NUM_THREADS``; a Dask
    scheduler in the environment is dropped (the bundle's ``workers`` decide).
    Variables of the calling ``make`` are dropped too.

    Parameters
    ----------
    environment : dict
        The bundle's ``environment.json``, where the BLAS kernel and threads are read.
    source : Path
        The bundle's source, from ``verify.unpack_source``.
    base : dict, optional
        The environment to start from; default this process's.

    Returns
    -------
    env : dict
        The variables the rebuild runs with.
    notes : list of str
        What was pinned, or why the recorded kernel could not be.
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
    """Where ``python``, run in ``env`` from ``cwd``, imports ``dlia_a2`` and ``mlp_core`` from.

    Returns
    -------
    dict
        ``{"dlia_a2": path of its __init__.py, "mlp_core": path of mlp_core.py}``;
        a :class:`HandinError` when either cannot be imported.
    """
    code = "import dlia_a2, mlp_core; print(dlia_a2.__file__); print(mlp_core.__file__)"
    r = subprocess.run([str(python), "-c", code], env=env, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise HandinError(f"the rebuild's Python cannot import the bundle's code: {r.stderr.strip()[-500:]}")
    a, b = r.stdout.split()[-2:]
    return {"dlia_a2": a, "mlp_core": b}


def check_imports(env: dict, venv: Path, source: Path) -> None:
    """Refuse to rebuild unless ``venv``'s Python, in ``env``, imports the bundle's code.

    Raises
    ------
    HandinError
        When ``venv`` has no Python, or it imports ``dlia_a2`` or ``mlp_core``
        from elsewhere (this checkout's editable install, say).
    """
    python = venv / "bin" / "python"
    if not python.exists():
        raise HandinError(f"no Python in {venv}: run 'make venv' first (the rebuild uses this checkout's environment)")
    for name, path in imported_from(env, python, source / "notebooks").items():
        if not Path(path).resolve().is_relative_to(source.resolve()):
            raise HandinError(f"the rebuild would import {name} from {path}, not from the bundle's source")


def rebuild(folder: Path, source: Path, manifest: dict, env: dict, venv: Path) -> Path:
    """Rebuild the bundle's report (its HTML and metrics) with the bundle's own Makefile.

    Parameters
    ----------
    folder, source : Path
        The unpacked bundle, and its source (where ``make html`` runs).
    manifest : dict
        The bundle's manifest: its data set and configuration.
    env : dict
        The environment of :func:`rebuild_environment`.
    venv : Path
        The virtual environment the bundle's Makefile uses (this checkout's).

    Returns
    -------
    Path
        ``folder/rebuilt``, a build folder; a :class:`HandinError` when ``make`` fails.
    """
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
