"""What a result was computed with: versions, BLAS, CPU and commit.

The report's appendix, the benchmark and the checkpoints' fingerprints read
it from here.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

from dlia_a2 import blas

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("numpy", "matplotlib", "nbconvert", "papermill", "ipykernel", "jupyterlab", "nbval", "pytest")


def blas_info() -> list[tuple]:
    """The BLAS libraries in use and their thread counts, as sorted tuples
    ``(internal_api, version, architecture, num_threads)``: the same sums in
    another order (more threads, another kernel) round differently."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    np.ones(2) @ np.ones(2)  # make sure NumPy's BLAS is loaded
    return sorted(
        (i.get("internal_api"), i.get("version"), i.get("architecture"), i.get("num_threads"))
        for i in threadpool_info()
    )


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def environment() -> dict:
    """Versions, BLAS (and which path the SGD step takes through it), CPU
    and git commit, as a JSON-ready dict."""
    from importlib.metadata import PackageNotFoundError, version

    packages = {}
    for p in PACKAGES:
        try:
            packages[p] = version(p)
        except PackageNotFoundError:
            packages[p] = "not installed"
    keys = ("internal_api", "version", "architecture", "num_threads")
    commit = _git("rev-parse", "HEAD") or "unknown"
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "packages": packages,
        "blas": [dict(zip(keys, b)) for b in blas_info()],
        "blas_path": blas.PATH,  # the fused SGD step's: "fused: <library> <symbol>" or "plain NumPy: <reason>"
        "blas_env": {k: os.environ[k] for k in sorted(os.environ) if k.startswith(("OPENBLAS", "OMP_", "MKL_"))},
        "git_commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "built": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
