"""Same commit, same parameters, same machine: same results."""

import filecmp
import json
import subprocess
from pathlib import Path

import pytest

from compare import flatten

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
    for nb in ("1_partial_derivatives", "2_one_layer", "3_multilayer"):
        a, b = SMALL / nb / "metrics.json", tmp_path / nb / "metrics.json"
        assert filecmp.cmp(a, b, shallow=False), f"{nb} differs: {differences(a, b)[:10]}"
    assert filecmp.cmp(SMALL / "metrics.json", tmp_path / "metrics.json", shallow=False)


def differences(a: Path, b: Path) -> list:
    """The keys whose values differ, for the message of a failure."""
    one, two = flatten(json.loads(a.read_text())), flatten(json.loads(b.read_text()))
    return [(k, one.get(k), two.get(k)) for k in sorted(set(one) | set(two)) if one.get(k) != two.get(k)]
