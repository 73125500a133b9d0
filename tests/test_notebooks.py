"""The notebooks as files: committed clean, and the nbval baselines are
executed copies of exactly these sources."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def code_and_markdown(path: Path) -> list[tuple[str, str, list]]:
    """(cell type, source, tags) of every cell but the one papermill injects."""
    cells = json.loads(path.read_text())["cells"]
    out = []
    for c in cells:
        tags = c.get("metadata", {}).get("tags", [])
        if "injected-parameters" not in tags:
            out.append((c["cell_type"], "".join(c["source"]), tags))
    return out


def test_there_are_three_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "1_partial_derivatives.ipynb",
        "2_one_layer.ipynb",
        "3_multilayer.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: a cell has outputs; clear them before committing"
            assert cell["execution_count"] is None, f"{path.name}: a cell has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_one_parameters_cell(path):
    tagged = [c for c in code_and_markdown(path) if "parameters" in c[2]]
    assert len(tagged) == 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_baseline_has_the_sources_of_the_notebook(path):
    """nbval compares against tests/baselines; a baseline made from an older
    notebook would test code the report no longer runs. `make baselines`
    regenerates them."""
    baseline = ROOT / "tests" / "baselines" / path.name
    assert code_and_markdown(baseline) == code_and_markdown(path), (
        f"tests/baselines/{path.name} is stale; run `make baselines`"
    )


@pytest.mark.parametrize("name", ["2_one_layer", "3_multilayer"])
def test_report_notebooks_hold_calls_not_logic(name):
    """Notebooks 2 and 3 read as the argument: imports, parameters, calls into
    the package, figures and Markdown. Logic lives in tested functions.
    (Notebook 1 keeps its teaching code: there the code is the lesson.)"""
    import ast

    for kind, source, tags in code_and_markdown(ROOT / "notebooks" / f"{name}.ipynb"):
        if kind != "code" or "parameters" in tags:  # the parameters cell is one line per parameter
            continue
        lines = [line for line in source.splitlines() if line.strip()]
        assert len(lines) <= 15, f"{name}: a code cell of {len(lines)} lines:\n{source}"
        for node in ast.walk(ast.parse(source)):
            assert not isinstance(node, (ast.FunctionDef, ast.Lambda, ast.ClassDef)), f"{name}: a definition"
            assert not (isinstance(node, ast.Name) and node.id in ("globals", "locals", "vars")), name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_placeholders_only_look_values_up(path):
    """No notebook's Markdown branches, loops, sets or computes: a student
    reading it in JupyterLab sees sentences, and each verdict is a phrase
    recorded by a code cell (a syntax error fails here too, not at build
    time)."""
    from dlia_a2 import prose

    for kind, source, _ in code_and_markdown(path):
        if kind == "markdown":
            assert "{%" not in source, f"{path.name}: a {{% %}} block in:\n{source}"
            prose.check_lookups(source, path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_says_near_the_top_how_its_placeholders_are_filled(path):
    """Before the parameters cell, for a reader in JupyterLab (the report,
    which shows the filled prose, leaves the sentence out)."""
    cells = code_and_markdown(path)
    top = cells[: next(i for i, (_, _, tags) in enumerate(cells) if "parameters" in tags)]
    said = [(s, tags) for kind, s, tags in top if kind == "markdown" and "metrics.json" in s and "JupyterLab" in s]
    assert len(said) == 1 and "remove-cell" in said[0][1], top


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_asides_stay_out_of_the_report(path):
    """A cell that shows a figure with ``section.aside`` (for JupyterLab only)
    carries the ``remove-cell`` tag, which the report build leaves out; one
    that numbers a figure with ``section.figure`` does not."""
    for kind, source, tags in code_and_markdown(path):
        if kind == "code" and "section.aside(" in source:
            assert "remove-cell" in tags and "section.figure(" not in source, source[:80]
