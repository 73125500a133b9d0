"""The shape of the code: the core imports NumPy only, and the package's
imports run one way, from the notebooks and the build down to the core."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# lowest first, as dlia_a2/__init__.py lists them; a module may import only
# mlp_core and the modules before it
ORDER = [
    "checks",
    "files",
    "blas",
    "environment",
    "prose",
    "verdicts",
    "catalog",
    "idx",
    "sources",
    "cache",
    "course",
    "data",
    "optimizers",
    "config",
    "history",
    "divergence",
    "augment",
    "training",
    "checkpoint",
    "progress",
    "analysis",
    "jobs",
    "search",
    "summaries",
    "studies",
    "schema",
    "parameter_rules",
    "parameters",
    "parameter_file",
    "plots",
    "notebook",
]


# the build's scripts in report/, lowest first: each may import the package and
# the scripts before it; the hand-in's scripts come last, and nothing in the
# build imports them
REPORT_ORDER = [
    "report_run",
    "report_merge",
    "report_appendix",
    "report_glance",
    "report_render",
    "report_readme",
    "report_build",
    "handin",
    "printed",
    "compare",
    "rebuild",
    "verify",
]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:  # the orders below could not see it
            raise AssertionError(f"{path.name}: a relative import, from {'.' * node.level}{node.module or ''}")
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "dlia_a2":
                names.update(f"dlia_a2.{a.name}" for a in node.names)
    return names


def test_core_imports_numpy_only():
    top = {n.split(".")[0] for n in imported_modules(ROOT / "mlp_core.py")}
    assert top <= {"numpy", "__future__"}, top


def test_package_imports_only_downwards():
    modules = sorted(p.stem for p in (ROOT / "dlia_a2").glob("*.py") if p.stem != "__init__")
    assert modules == sorted(ORDER), "add new modules to ORDER (and to dlia_a2/__init__.py)"
    for i, name in enumerate(ORDER):
        ours = {n for n in imported_modules(ROOT / "dlia_a2" / f"{name}.py") if n.startswith("dlia_a2.")}
        allowed = {f"dlia_a2.{m}" for m in ORDER[:i]}
        assert ours <= allowed, f"dlia_a2.{name} imports {sorted(ours - allowed)}, which sit above it"
        reports = {p.stem for p in (ROOT / "report").glob("*.py")}
        assert not imported_modules(ROOT / "dlia_a2" / f"{name}.py") & reports, f"dlia_a2.{name} imports the build"


def test_report_scripts_import_only_downwards():
    scripts = sorted(p.stem for p in (ROOT / "report").glob("*.py"))
    assert scripts == sorted(REPORT_ORDER), "add new report scripts to REPORT_ORDER"
    for i, name in enumerate(REPORT_ORDER):
        ours = imported_modules(ROOT / "report" / f"{name}.py") & set(REPORT_ORDER)
        assert ours <= set(REPORT_ORDER[:i]), f"report/{name}.py imports {sorted(ours - set(REPORT_ORDER[:i]))}"


def test_package_map_lists_every_module_in_order():
    doc = (ROOT / "dlia_a2" / "__init__.py").read_text()
    positions = [doc.index(f"``{m}``") for m in ORDER]
    assert positions == sorted(positions)


def test_top_level_is_the_design_card():
    tracked = {p.name for p in ROOT.iterdir() if not p.name.startswith(".")}
    expected = {"notebooks", "mlp_core.py", "requirements.txt", "Makefile", "report", "tests"}
    expected |= {"dlia_a2", "bench", "README.md", "pyproject.toml", "constraints.txt"}
    assert expected <= tracked
    assert not {p for p in tracked - expected if p.endswith(".py")}, "a stray top-level module"
