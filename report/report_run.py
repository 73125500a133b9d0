"""Running one notebook with papermill: its parameters (the parameter file
read by :mod:`dlia_a2.parameter_file`, the command line's values and the
notebook's defaults) checked by :func:`dlia_a2.parameters.check` first, so
that a bad value stops the build before any work."""

from __future__ import annotations

import ast
import os
import sys
import time
from pathlib import Path

from dlia_a2 import parameter_file, parameters
from dlia_a2.progress import PROGRESS_ENV


def _parameters_cell(notebook: Path) -> dict:
    import papermill as pm

    found = pm.inspect_notebook(str(notebook))
    if not found:
        raise ValueError(f"{notebook} has no cell tagged 'parameters'")
    return found


def notebook_defaults(notebook: Path) -> dict:
    """The values of a notebook's ``parameters`` cell, ``{name: value}``."""
    out = {}
    for name, p in _parameters_cell(notebook).items():
        try:
            out[name] = ast.literal_eval(p["default"])
        except (ValueError, SyntaxError):
            raise ValueError(
                f"{notebook}: the default of {name} ({p['default']}) is not a literal; papermill can only "
                f"override literals in the parameters cell"
            ) from None
    return out


def checked_parameters(notebook: Path, params_file: Path, dataset: str, out_dir: str) -> dict:
    """What papermill injects into ``notebook``: the values of the parameter
    file and of the command line, after every parameter of the notebook
    (these, and the notebook's defaults for the rest) passed
    :func:`dlia_a2.parameters.check`.

    Parameters
    ----------
    notebook : Path
        The notebook, ``notebooks/<name>.ipynb``.
    params_file : Path
        Its parameter file (:func:`dlia_a2.parameter_file.load`).
    dataset, out_dir : str
        The values of ``--dataset`` and ``--out-dir``.

    Returns
    -------
    dict
        ``{name: value}`` for the names the file and the command line set.

    Raises
    ------
    ParameterError
        Naming the file (or the option, or the notebook's default that the
        file left in place), the parameter, its value and what is allowed.
    """
    from_file = parameter_file.load(notebook.stem, params_file)
    given = {**from_file, "dataset": dataset, "out_dir": out_dir}
    sources = {
        **{
            name: f"{params_file} (not set there, so the default of {notebook.name})"
            for name in parameters.schema(notebook.stem)["properties"]
        },
        **{name: str(params_file) for name in from_file},
        "dataset": "the command line (--dataset)",
        "out_dir": "the command line (--out-dir)",
    }
    checked = parameters.check(notebook.stem, {**notebook_defaults(notebook), **given}, sources)
    return {k: checked[k] for k in given}


def _keep_checked_outputs_only(path: Path) -> None:
    """For an nbval baseline: drop the outputs (figures, prose) of cells that
    nbval does not compare, so the committed file stays small."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "nbval-check-output" not in cell.get("metadata", {}).get("tags", []):
            cell.outputs = []
    nbformat.write(nb, path)


def run_notebook(
    notebook: Path,
    params_file: Path,
    output: Path,
    out_dir: str,
    dataset: str,
    cwd: Path | None = None,
    baseline: bool = False,
) -> None:
    """Execute ``notebook`` with papermill into ``output``, once its
    parameters have passed :func:`checked_parameters`.

    The kernel runs in ``cwd`` (default: the notebook's folder) and writes
    figures and metrics to ``out_dir`` (relative to ``cwd``). The output is
    written to a temporary file first and renamed at the end, so an
    interrupted run leaves no half-executed notebook that make would take
    as up to date.
    """
    import papermill as pm

    params = checked_parameters(notebook, params_file, dataset, out_dir)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.stem + ".part.ipynb")
    print(f"[report] running {notebook.name} with {params_file} ({dataset})", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    # the kernel inherits this process's environment: progress lines on the
    # terminal instead of bars in the notebook, for this run only
    progress_before = os.environ.get(PROGRESS_ENV)
    os.environ[PROGRESS_ENV] = progress_before or "1"
    try:
        pm.execute_notebook(
            str(notebook),
            str(tmp),
            parameters=params,
            cwd=str(cwd or notebook.parent),
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
        )
    except pm.PapermillExecutionError as e:
        raise RuntimeError(
            f"{notebook.name} failed in cell {e.exec_count}: "
            f"{e.ename}: {e.evalue} (the partly executed "
            f"notebook is {tmp})"
        ) from None
    finally:
        if progress_before is None:
            del os.environ[PROGRESS_ENV]
    if baseline:
        _keep_checked_outputs_only(tmp)
    os.replace(tmp, output)
    print(f"[report] {notebook.name} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
