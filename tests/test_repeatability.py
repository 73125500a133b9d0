"""Same commit, same parameters, same machine: same results."""

import filecmp
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "report" / "build" / "mnist-small"


@pytest.mark.data
def test_two_report_builds_give_identical_metrics(tmp_path):
    if not (SMALL / "metrics.json").exists():
        subprocess.run(["make", "--no-print-directory", "html", "CONFIG=small"],
                       cwd=ROOT, check=True)
    subprocess.run(["make", "--no-print-directory", "html", "CONFIG=small",
                    f"OUT={tmp_path}"], cwd=ROOT, check=True, capture_output=True)
    assert filecmp.cmp(SMALL / "metrics.json", tmp_path / "metrics.json", shallow=False)
    for nb in ("1_partial_derivatives", "2_one_layer", "3_multilayer"):
        assert filecmp.cmp(SMALL / nb / "metrics.json", tmp_path / nb / "metrics.json",
                           shallow=False), nb


@pytest.mark.data
@pytest.mark.parametrize("round_", [2, 3])
def test_nbval_passes_again(round_):
    """The regression suite runs once in the main session; twice more here."""
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "--nbval-lax", "--nbval-sanitize-with", "tests/sanitize.cfg",
                        "tests/baselines"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]
