"""The benchmark script runs and writes what the README table is made of
(without PyTorch here; `make bench` installs it for the comparison)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.data
@pytest.mark.slow
def test_bench_runs_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    r = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench.py"), "--no-torch", "--reps", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    info = json.loads(out.read_text())
    assert [row["sizes"] for row in info["results"]] == ["784-10", "784-100-10", "784-800-10"]
    for row in info["results"]:
        assert row["core_s"] > 0 and 0 < row["matmul_share"] < 1.5
    assert 0 < info["peak_rss_mib_784_800_10"] < 4096
    assert "| 784-800-10 |" in r.stdout
