"""Verify a hand-in: check the bundle, rebuild its report, judge the rebuild.
``make verify HANDIN=BUNDLE.zip`` calls::

    python report/verify.py BUNDLE.zip [--venv .venv] [--workdir FOLDER]

It checks, in order: the manifest's hashes; that the notebooks and parameter
files the bundle was built with are those of its commit; then it rebuilds the
report from the bundle's own source (``report/rebuild.py``: this checkout's
virtual environment, the BLAS kernel, thread count and workers the bundle
recorded) and compares every value of the rebuilt ``metrics.json`` files with
the bundle's (``report/compare.py``): "identical", "consistent" (within
:func:`compare.tolerance`) or "differs"; and, the metrics confirmed, that the
handed-in report.html and report.pdf print only values of them
(:func:`printed.check_report`), else "differs". Exit status: 0 identical or
consistent, 1 differs, 2 a broken bundle or a rebuild that could not run.
It runs the bundle's own Makefile and Python code under the caller's
account: verify a stranger's bundle in a container or as a throwaway user.
What a bundle holds is ``report/handin.py``'s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from compare import judge
from handin import MANIFEST, NOTEBOOKS, ROOT, SOURCE, HandinError, bundle_files
from rebuild import check_imports, rebuild, rebuild_environment

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
    """Unpack the bundle's ``source.tar`` and check that it is the manifest's commit.

    Parameters
    ----------
    folder : Path
        The unpacked bundle, holding ``source.tar``.
    manifest : dict
        The bundle's manifest, from :func:`unpack`.

    Returns
    -------
    Path
        ``folder/source``, the source unpacked.

    Raises
    ------
    HandinError
        When the tar cannot be unpacked, holds paths outside its folder, or is
        not the ``git archive`` of the manifest's commit (it records its commit).
    """
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
    """Whether the bundle's executed notebooks are those of its commit, run with its parameter files.

    Parameters
    ----------
    folder : Path
        The unpacked bundle.
    source : Path
        Its source, from :func:`unpack_source`.
    manifest : dict
        Its manifest, from :func:`unpack`.

    Returns
    -------
    list of str
        One line per problem (none when all is well): cells that are not the
        commit's (papermill's injected parameters aside), a parameter the
        commit's parameter file does not give, metrics files that disagree.
    """
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
