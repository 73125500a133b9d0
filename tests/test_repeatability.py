"""Same commit, same parameters, same machine: same results."""

import filecmp
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "report" / "build" / "mnist-small"


@pytest.mark.data
@pytest.mark.slow
def test_two_report_builds_give_identical_metrics(tmp_path):
    """The build make keeps up to date, against a second build from scratch
    in another folder (no checkpoint of the first is there to resume)."""
    subprocess.run(["make", "--no-print-directory", "html", "CONFIG=small", "DATASET=mnist"], cwd=ROOT, check=True)
    subprocess.run(
        ["make", "--no-print-directory", "html", "CONFIG=small", "DATASET=mnist", f"OUT={tmp_path}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert filecmp.cmp(SMALL / "metrics.json", tmp_path / "metrics.json", shallow=False)
    for nb in ("1_partial_derivatives", "2_one_layer", "3_multilayer"):
        assert filecmp.cmp(SMALL / nb / "metrics.json", tmp_path / nb / "metrics.json", shallow=False), nb
