"""The nbval regression bites: a baseline with one changed number fails."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "tests" / "baselines" / "1_partial_derivatives.ipynb"


def run_nbval(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-sanitize-with",
            str(ROOT / "tests" / "sanitize.cfg"),
            "--rootdir",
            str(path.parent),
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=path.parent,
        timeout=300,
    )


def test_baselines_have_checked_outputs():
    for nb_path in (ROOT / "tests" / "baselines").glob("*.ipynb"):
        nb = json.loads(nb_path.read_text())
        checked = [c for c in nb["cells"] if "nbval-check-output" in c.get("metadata", {}).get("tags", [])]
        assert checked, f"{nb_path.name} has no cell nbval checks"
        assert all(c["outputs"] for c in checked), f"{nb_path.name}: empty baseline"


@pytest.mark.slow
def test_changed_number_in_baseline_fails(tmp_path):
    nb = json.loads(BASELINE.read_text())
    changed = False
    for cell in nb["cells"]:
        if "nbval-check-output" in cell.get("metadata", {}).get("tags", []):
            for out in cell["outputs"]:
                text = "".join(out.get("text", ""))
                if "dJ/db_0 = " in text:
                    value = text.split("dJ/db_0 = ")[1].split()[0]
                    out["text"] = text.replace(value, value[:-1] + ("1" if value[-1] != "1" else "2"))
                    changed = True
    assert changed
    tampered = tmp_path / BASELINE.name
    tampered.write_text(json.dumps(nb))
    result = run_nbval(tampered)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "dJ/db_0" in result.stdout
    untouched = tmp_path / "untouched" / BASELINE.name
    untouched.parent.mkdir()
    untouched.write_text(BASELINE.read_text())
    assert run_nbval(untouched).returncode == 0
