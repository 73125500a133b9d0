"""Hand in a built report: one zip of the report, its metrics and its source.
``make handin`` calls::

    python report/handin.py BUILD_DIR [--output ZIP]   # default BUILD_DIR/handin-<dataset>-<config>.zip

A bundle holds the report (PDF and HTML), the executed notebooks, every
``metrics.json`` and ``timing.json``, ``environment.json``, ``source.tar``
(``git archive`` of the commit the report was built from) and
``MANIFEST.json`` (that commit, the build date and the SHA-256 of every
other file). Its layout is the build folder's, so an unpacked bundle is a
build folder plus the source.

The bundle is refused, with the reason, when the working tree or the build
holds uncommitted changes to what the build reads, or a part of the build is
older than a source it depends on. This module also holds what the bundle's
format is (its files, :data:`MANIFEST`, :data:`SOURCE`) and
:class:`HandinError`; ``report/verify.py`` checks a bundle, has
``report/rebuild.py`` rebuild it and ``report/compare.py`` judge the rebuild.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

from dlia_a2.environment import git_changes

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
# ... except the hand-in's own scripts: the build never runs them
NOT_BUILD_INPUTS = (
    "report/handin.py",
    "report/printed.py",
    "report/compare.py",
    "report/rebuild.py",
    "report/verify.py",
)


class HandinError(Exception):
    """No hand-in can be made (or verified): the message says why and what to do."""


def bundle_files(build: Path) -> list[str]:
    """The files of a build that go into its bundle.

    Parameters
    ----------
    build : Path
        A build folder (only its layout matters: nothing is read).

    Returns
    -------
    list of str
        Paths relative to the build folder: the report, the combined
        ``metrics.json``, ``environment.json`` and each executed notebook with
        its ``metrics.json`` and ``timing.json``.
    """
    names = ["report.pdf", "report.html", "metrics.json", "environment.json"]
    for nb in NOTEBOOKS:
        names += [f"{nb}.ipynb", f"{nb}/metrics.json", f"{nb}/timing.json"]
    return names


# --- make ----------------------------------------------------------------------


def is_build_input(path: str) -> bool:
    """Whether ``path`` (relative to the repository) is something the build reads.

    Parameters
    ----------
    path : str
        A path as git prints it, ``"dlia_a2/data.py"``.

    Returns
    -------
    bool
        True under :data:`BUILD_INPUTS`, except :data:`NOT_BUILD_INPUTS`.
    """
    return path not in NOT_BUILD_INPUTS and any(path == p or path.startswith(p + "/") for p in BUILD_INPUTS)


def _git(root: Path, *args: str, check: bool = True) -> str:
    r = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise HandinError(f"git {' '.join(args)} failed in {root}: {r.stderr.strip()}")
    return r.stdout.strip()


def built_commit(env: dict, root: Path = ROOT) -> str:
    """The commit a build recorded in its ``environment.json``, checked.

    Parameters
    ----------
    env : dict
        The build's ``environment.json``: ``git_commit`` and ``git_changes``.
    root : Path
        The git checkout the build was made in.

    Returns
    -------
    str
        The full commit hash.

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
    """The build inputs of the working tree at ``root`` that differ from HEAD.

    Parameters
    ----------
    root : Path
        A git checkout.

    Returns
    -------
    list of str
        Their paths, sorted; untracked files included, ignored ones not.
    """
    return sorted(p for p in git_changes(root) if is_build_input(p))


def stale_outputs(build: Path, config: str, root: Path = ROOT) -> list[str]:
    """The parts of a build older than a source they depend on.

    The sources are the Makefile's: an executed notebook depends on its
    notebook, its parameter file and the code; the HTML on the executed
    notebooks, the template, the build scripts (not the hand-in's) and the
    code; the PDF on the HTML.

    Parameters
    ----------
    build : Path
        The build folder.
    config : str
        Its configuration, whose parameter files count (``"small"``).
    root : Path
        The checkout it was built from.

    Returns
    -------
    list of str
        One line per part missing or older than a source (naming up to three
        of them); empty when the build is up to date.
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


def build_seconds(notebooks: dict[str, dict]) -> dict[str, float]:
    """Wall time of each executed notebook, as papermill recorded it.

    Parameters
    ----------
    notebooks : dict
        Executed notebooks (parsed JSON) by name.

    Returns
    -------
    dict
        Seconds by name, to 0.1 s; 0.0 where papermill recorded none.
    """
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


# --- command line ----------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``make handin``: bundle the build folder named in ``argv``; returns the exit status."""
    p = argparse.ArgumentParser(prog="python report/handin.py", description=__doc__.split("\n")[0])
    p.add_argument("build", type=Path, help="the build folder, report/build/<dataset>-<config>")
    p.add_argument("--output", type=Path, default=None, help="the zip to write (default: in the build folder)")
    args = p.parse_args(argv)
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
