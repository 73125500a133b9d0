"""What a result was computed with: versions, BLAS, CPU and commit.

The report's appendix, the benchmark and the checkpoints' fingerprints read
it from here, and so does ``report/handin.py``, which pins the recorded BLAS
kernel when it rebuilds a handed-in report.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
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


# --- OpenBLAS kernels -----------------------------------------------------------

# OpenBLAS's x86-64 kernels as ``threadpoolctl`` names them (its "architecture",
# OpenBLAS's core name), weakest first, each with the /proc/cpuinfo flags its
# code needs. OPENBLAS_CORETYPE=NAME forces one; forcing one the CPU cannot run
# ends in an illegal instruction, so check it with :func:`kernel_runs_here`
# first. Zen's kernels are Haswell's, tuned. Names not listed here (ARM's,
# older AMD ones) are unknown to these functions: they answer None.
_AVX512 = {"avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}
KERNELS = (
    ("Prescott", 0, {"pni"}),
    ("Core2", 1, {"pni", "ssse3"}),
    ("Penryn", 2, {"ssse3", "sse4_1"}),
    ("Dunnington", 2, {"ssse3", "sse4_1"}),
    ("Nehalem", 3, {"sse4_2"}),
    ("Sandybridge", 4, {"sse4_2", "avx"}),
    ("Haswell", 5, {"avx", "avx2", "fma"}),
    ("Zen", 5, {"avx", "avx2", "fma"}),
    ("SkylakeX", 6, _AVX512),
    ("Cooperlake", 7, _AVX512 | {"avx512_bf16"}),
    ("SapphireRapids", 8, _AVX512 | {"avx512_bf16", "amx_tile", "amx_bf16"}),
)
_KERNEL = {name.lower(): (name, rank, flags) for name, rank, flags in KERNELS}


def cpu_flags() -> set[str]:
    """The feature flags of this CPU, from /proc/cpuinfo (empty where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def kernel_runs_here(kernel: str, flags: set[str] | None = None) -> bool | None:
    """Whether this CPU (or one with ``flags``) can run OpenBLAS's ``kernel``.

    Parameters
    ----------
    kernel : str
        A core name as OpenBLAS and threadpoolctl give it (``"SkylakeX"``;
        case does not matter, as for ``OPENBLAS_CORETYPE``).
    flags : set of str, optional
        CPU flags as /proc/cpuinfo lists them; default: this CPU's.

    Returns
    -------
    bool or None
        None when the kernel is not in :data:`KERNELS` (cannot tell).
    """
    known = _KERNEL.get(str(kernel).lower())
    if known is None:
        return None
    return known[2] <= (cpu_flags() if flags is None else flags)


def openblas_kernel(blas: list[dict] | None = None) -> tuple[str | None, int | None]:
    """The OpenBLAS kernel and thread count in ``blas`` (as ``environment()["blas"]``
    records them; default: this process's), or ``(None, None)`` without OpenBLAS."""
    keys = ("internal_api", "version", "architecture", "num_threads")
    rows = blas if blas is not None else [dict(zip(keys, b)) for b in blas_info()]
    for b in rows:
        if b.get("internal_api") == "openblas":
            return b.get("architecture"), b.get("num_threads")
    return None, None


def native_kernel() -> str | None:
    """The kernel OpenBLAS picks on this CPU when ``OPENBLAS_CORETYPE`` is not
    set, asked of a child Python (a process cannot change its own kernel)."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    code = "from dlia_a2.environment import openblas_kernel; print(openblas_kernel()[0])"
    try:
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    out = r.stdout.strip().splitlines()
    return out[-1] if r.returncode == 0 and out and out[-1] != "None" else None


def forced_kernel(coretype: str | None = None, running: str | None = None, native: str | None = None) -> str | None:
    """A note when the environment forces a weaker BLAS kernel than the CPU offers, else None.

    ``OPENBLAS_CORETYPE=Haswell`` on a CPU with AVX-512 makes OpenBLAS use its
    Haswell kernels where it would pick SkylakeX: float32 products at about
    half the speed, and other bits (the bits follow the kernel).

    Parameters
    ----------
    coretype : str, optional
        The value of ``OPENBLAS_CORETYPE``; default: this environment's.
        Without it nothing is forced and the answer is None.
    running : str, optional
        The kernel in use; default: this process's, from threadpoolctl.
    native : str, optional
        The kernel OpenBLAS picks without the variable; default:
        :func:`native_kernel` (asked of a child process, only when a
        kernel is forced).

    Returns
    -------
    str or None
        One sentence naming the variable, both kernels and the fix; None when
        nothing is forced, the forced kernel is not weaker, or either kernel
        is unknown to :data:`KERNELS`.
    """
    coretype = os.environ.get("OPENBLAS_CORETYPE") if coretype is None else coretype
    if not coretype:
        return None
    running = openblas_kernel()[0] if running is None else running
    native = native_kernel() if native is None else native
    a, b = _KERNEL.get(str(running).lower()), _KERNEL.get(str(native).lower())
    if a is None or b is None or a[1] >= b[1]:
        return None
    return (
        f"OPENBLAS_CORETYPE={coretype} forces OpenBLAS's {a[0]} kernels, weaker than the {b[0]} kernels it "
        f"picks on this CPU without the variable: unset it (or set OPENBLAS_CORETYPE={b[0]}) for faster "
        f"matrix products, knowing that results then round differently"
    )


# --- git -------------------------------------------------------------------------


def _git(*args) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def git_changes(root: Path = ROOT) -> dict[str, str]:
    """The paths of the working tree at ``root`` that differ from its commit,
    untracked ones included (ignored ones not), as ``{path: status}`` with
    git's two-letter status (``" M"``, ``"??"``, ...); empty outside git."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain=v1", "-z", "--untracked-files=all"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    changes, entries = {}, iter(out.split("\0"))
    for entry in entries:
        if len(entry) > 3:
            changes[entry[3:]] = entry[:2]
            if entry[0] in "RC":  # a rename or copy: its source path follows
                changes[next(entries, "")] = entry[:2]
    changes.pop("", None)
    return changes


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
    changes = git_changes()
    dirty = any(status != "??" for status in changes.values())
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
        # every changed or untracked path: report/handin.py refuses a report
        # built while any of them was something the build reads
        "git_changes": sorted(changes),
        "built": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
