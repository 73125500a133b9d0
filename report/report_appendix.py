"""The report's reproducibility appendix: when, from which commit and on what
machine it was built, with which packages, BLAS and seeds, and where the
parameters are recorded."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

from dlia_a2.environment import environment, forced_kernel, native_kernel
from dlia_a2.prose import listing

ROOT = Path(__file__).resolve().parents[1]
# the packages whose versions can change the report: those that compute, draw,
# run and render it (environment.json keeps the test and JupyterLab ones too)
BUILDING = ("numpy", "matplotlib", "papermill", "ipykernel", "nbconvert")


def parameter_files(params_files: list[Path]) -> str:
    """The parameter files, as Markdown: ``folder/*.yaml`` when they are every
    YAML file of one folder, else each file named."""
    shown = [p.relative_to(ROOT) if p.is_relative_to(ROOT) else p for p in params_files]
    folders = {p.parent for p in params_files}
    if len(folders) == 1 and len(shown) > 1 and set(params_files) == set(next(iter(folders)).glob("*.yaml")):
        return f"`{shown[0].parent}/*.yaml`"
    return ", ".join(f"`{p}`" for p in shown)


def forced_note() -> str:
    """``" (kernels weaker than this CPU's own, SkylakeX)"``, said after
    ``OPENBLAS_CORETYPE=...`` when the variable forces OpenBLAS onto weaker
    kernels than it picks on this CPU
    (:func:`dlia_a2.environment.forced_kernel`), else "". The appendix says
    what ran; the advice on what to set instead is for the person building
    (``make bench`` and the README give it)."""
    if not os.environ.get("OPENBLAS_CORETYPE"):
        return ""
    native = native_kernel()
    if not forced_kernel(native=native):
        return ""
    return f" (kernels weaker than this CPU's own, {native})"


def commit_shown(commit: str) -> str:
    """The build's commit as Markdown, its hash cut to 12 digits (the full
    one is in ``environment.json``) and any note after it kept:
    ``"`93a9979351d5` (with uncommitted changes)"``."""
    digest, _, note = commit.partition(" ")
    return f"`{digest[:12]}`" + (f" {note}" if note else "")


def sgd_step(path: str) -> str:
    """The SGD step's path (:data:`dlia_a2.blas.PATH`) without what the BLAS
    clause before it already says: ``"fused: openblas 0.3.31
    libscipy_openblas64_.so scipy_cblas_sgemm64_"`` becomes ``"fused,
    scipy_cblas_sgemm64_ in libscipy_openblas64_.so"``; the plain NumPy
    path, with its reason, is given whole."""
    head, _, rest = path.partition(": ")
    words = rest.split()
    if head != "fused" or len(words) < 2:
        return path
    return f"fused, {words[-1]} in {words[-2]}"


def appendix(executed: list[Path], metrics: dict, params_files: list[Path]) -> str:
    """The reproducibility appendix, as Markdown."""
    import nbformat

    env = environment()
    wall = {}
    for path in executed:
        dur = nbformat.read(path, as_version=4).metadata.get("papermill", {}).get("duration")
        wall[path.stem] = f"{dur:.0f} s" if dur else "—"
    blas = (
        "; ".join(
            f"{b['internal_api']} {b['version']} ({b['architecture']}, {b['num_threads']} threads)" for b in env["blas"]
        )
        or "unknown"
    )
    forced = forced_note()
    blas_env = (
        ", ".join(f"{k}={v}{forced if k == 'OPENBLAS_CORETYPE' else ''}" for k, v in env["blas_env"].items()) or "none"
    )
    pk = [f"{k} {v}" for k, v in env["packages"].items() if k in BUILDING]
    cpu = re.sub(r"\((R|TM)\)", "", env["cpu"])  # "Intel(R) Xeon(R)": the marks say nothing of the machine
    seeds = set()
    for m in metrics.values():
        p = m.get("parameters", {})
        seeds.update(int(x) for x in [p.get("seed"), *p.get("seeds", [])] if x is not None)
    seeds = [str(x) for x in sorted(seeds)]
    off = [name for name, m in metrics.items() if m.get("parameters", {}).get("fused_sgd") is False]
    plain = f"; turned off (`fused_sgd: false`, the textbook step) in {', '.join(off)}" if off else ""
    files = parameter_files(params_files)
    # the operating system and the processor's architecture; the kernel's build is in environment.json
    system = f"{platform.system()} {platform.machine()}"
    took = f"; notebooks {listing([n.split('_')[0] for n in wall])} ran for {listing(wall.values())}" if wall else ""
    return "\n".join(
        [
            "The notebooks in `notebooks/` computed every number and figure, none typed by hand.",
            "",
            f"- **Built:** {env['built']} from commit {commit_shown(env['git_commit'])}{took}, with {files} (every "
            f"value in `metrics.json`) and seeds {', '.join(seeds)}",
            f"- **Machine:** Python {env['python']} with {listing(pk)} on {system}; {cpu}, {env['cores']} cores",
            f"- **BLAS:** {blas}; environment variables: {blas_env}; **SGD step:** {sgd_step(env['blas_path'])}{plain}",
        ]
    )
