"""Verify a hand-in: check the bundle, rebuild its report, judge the rebuild.
``make verify HANDIN=BUNDLE.zip`` calls::

    python report/verify.py BUNDLE.zip [--venv .venv] [--workdir FOLDER]

It checks, in order: the manifest's hashes; that the notebooks and parameter
files the bundle was built with are those of its commit; then it rebuilds the
report from the bundle's own source (this checkout's virtual environment,
with the bundle's source first on ``PYTHONPATH``, which the notebooks'
kernels inherit) under the BLAS kernel, thread count and workers the bundle
recorded, and compares every value of the rebuilt ``metrics.json`` files with
the bundle's (``report/compare.py``): "identical", "consistent" (within
:func:`compare.tolerance`) or "differs". Exit status: 0 identical or
consistent, 1 differs, 2 a broken bundle or a rebuild that could not run.

It uses ``dlia_a2.environment`` of this checkout to read CPU flags; nothing
in the package uses it. What a bundle holds is ``report/handin.py``'s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from compare import judge
from dlia_a2.environment import kernel_runs_here, openblas_kernel
from handin import MANIFEST, NOTEBOOKS, ROOT, SOURCE, HandinError, bundle_files

# --- the bundle itself ----------------------------------------------------------


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


# --- the rebuild -----------------------------------------------------------------


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


# --- the whole check -------------------------------------------------------------


def verify(bundle: Path, venv: Path = ROOT / ".venv", workdir: Path | None = None, out: TextIO = sys.stdout) -> int:
    """Check a bundle and rebuild it (see the module docstring), printing each step.

    Parameters
    ----------
    bundle : Path
        The zip made by ``make handin``.
    venv : Path
        The virtual environment to rebuild with (this checkout's).
    workdir : Path, optional
        Where to unpack and rebuild; default a temporary folder, removed after.
    out : file
        Where the steps and the verdict are printed.

    Returns
    -------
    int
        The exit status: 0 identical or consistent, 1 differs, 2 a broken
        bundle or a rebuild that could not run.
    """
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


# --- command line ----------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``make verify``: check and rebuild the bundle named in ``argv``; returns the exit status."""
    p = argparse.ArgumentParser(prog="python report/verify.py", description=__doc__.split("\n")[0])
    p.add_argument("bundle", type=Path, help="the hand-in, a zip made by 'make handin'")
    p.add_argument("--venv", type=Path, default=ROOT / ".venv", help="the virtual environment to rebuild with")
    p.add_argument("--workdir", type=Path, default=None, help="unpack and rebuild here (default: a temporary folder)")
    args = p.parse_args(argv)
    if not args.bundle.is_file():
        print(f"[verify] BROKEN: no file {args.bundle} (make verify HANDIN=path/to/bundle.zip)")
        return 2
    return verify(args.bundle, args.venv, args.workdir)


if __name__ == "__main__":
    sys.exit(main())
