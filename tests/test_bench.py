"""The benchmark: its script runs and writes what the table is made of
(without PyTorch and JAX here; `make bench` installs them for the
comparison), and the logic that judges a run (the spread flag, and
bench/check.py against the speed targets) works on runs made up by hand.
None of these tests times anything: a timing is not a test."""

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIZES = ["784-10", "784-100-10", "784-800-10"]


def load_script(name):
    """bench/<name>.py as a module (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = load_script("bench")
check = load_script("check")


def timings(*seconds):
    return bench.summary(list(seconds))


def made_up_run(ratio_jax=0.9, ratio_torch=(0.4, 0.45, 0.6), share=0.6, trusted=True):
    """A results.json of format 2 in which every target is met (by default)."""
    rows = []
    for sizes, r_torch in zip(SIZES, ratio_torch):
        rows.append(
            {
                "sizes": sizes,
                "core": timings(1.0, 1.0, 1.1),
                "torch": timings(2.0, 2.1, 2.2),
                "jax": timings(1.1, 1.2, 1.2),
                "ratio_jax": ratio_jax,
                "ratio_torch": r_torch,
                "matmul_share": 0.5,
                "shuffle_share": 0.1,
                "core_gflops": share * 200.0,
                "blas_peak_share": share,
                "weight_tolerance": 1e-3,
                "max_weight_difference": {"torch": 1e-6, "jax": 1e-6},
                "weights_agree": {"torch": True, "jax": True},
            }
        )
    return {
        "format": 2,
        "trusted": trusted,
        "untrusted_reasons": [] if trusted else ["784-10 core: slowest repeat 2.0 x the fastest"],
        "blas_peak_gflops": 200.0,
        "results": rows,
    }


# --- the spread flag -----------------------------------------------------------


def test_summary_holds_min_median_max_and_spread():
    s = bench.summary([0.3, 0.1, 0.2])
    assert (s["min_s"], s["median_s"], s["max_s"]) == (0.1, 0.2, 0.3)
    assert s["spread"] == pytest.approx(3.0)
    assert s["all_s"] == [0.3, 0.1, 0.2]


def test_trust_accepts_a_quiet_run():
    rows = [{"sizes": s, "core": timings(1.0, 1.1, 1.2), "torch": None, "jax": timings(2, 2, 2.9)} for s in SIZES]
    assert bench.trust(rows, timings(0.05, 0.05, 0.06), reps=3) == (True, [])


def test_trust_flags_a_wide_spread_and_names_the_program():
    rows = [{"sizes": s, "core": timings(1.0, 1.1, 1.2), "torch": None, "jax": None} for s in SIZES]
    rows[2]["torch"] = timings(1.0, 1.2, 1.6)  # 1.6 > 1.5
    trusted, reasons = bench.trust(rows, timings(0.05, 0.05, 0.05), reps=3)
    assert not trusted
    assert len(reasons) == 1 and reasons[0].startswith("784-800-10 PyTorch") and "1.60 x" in reasons[0]


def test_trust_flags_a_busy_blas_peak_and_too_few_repeats():
    rows = [{"sizes": "784-10", "core": timings(1.0), "torch": None, "jax": None}]
    trusted, reasons = bench.trust(rows, timings(0.05, 0.1), reps=1)
    assert not trusted
    assert any("only 1 repeat" in r for r in reasons)
    assert any(r.startswith("BLAS peak") for r in reasons)


def test_trust_threshold_is_a_setting():
    rows = [{"sizes": "784-10", "core": timings(1.0, 1.3, 1.4), "torch": None, "jax": None}]
    assert bench.trust(rows, timings(1, 1, 1), reps=3)[0]
    assert not bench.trust(rows, timings(1, 1, 1), reps=3, max_spread=1.2)[0]


def test_table_of_an_untrusted_run_says_it_is_not_a_result():
    info = {
        "trusted": False,
        "untrusted_reasons": ["784-10 core: busy"],
        "blas": [],
        "load_average": {"start": [3.0, 0, 0], "end": [4.0, 0, 0]},
        "date": "2026-11-30",
        "cpu": "a CPU",
        "cores": 2,
        "numpy": "2",
        "torch": None,
        "torch_threads": None,
        "jax": None,
        "jaxlib": None,
        "jax_device": None,
        "reps": 3,
        "batch_size": 64,
        "max_spread": 1.5,
        "agree_fraction": 0.01,
        "blas_peak_gflops": 200.0,
        "blas_peak": {"size": 2048, "min_s": 0.08, "median_s": 0.09, "max_s": 0.1},
        "peak_rss_mib_784_800_10": 600.0,
        "results": made_up_run()["results"],
    }
    text = bench.table(info)
    assert "UNTRUSTED RUN: not a result" in text and "- 784-10 core: busy" in text
    assert "untrusted (0.40)" in text and "| 1.000 / 1.000 / 1.100 |" in text
    info["trusted"] = True
    assert "untrusted" not in bench.table(info).lower()
    assert "Forced BLAS kernel" not in bench.table(info)
    info.update(
        blas_forced_kernel="OPENBLAS_CORETYPE=Haswell forces OpenBLAS's Haswell kernels",
        blas_native_kernel="SkylakeX",
        blas_peak_native_gflops=400.0,
    )
    text = bench.table(info)
    assert "**Forced BLAS kernel.** OPENBLAS_CORETYPE=Haswell forces" in text
    assert "with the CPU's own SkylakeX kernel 400 GFLOP/s" in text


def test_trust_judges_the_peak_of_the_cpus_own_kernel_too():
    rows = [{"sizes": "784-10", "core": timings(1.0, 1.1, 1.2), "torch": None, "jax": None}]
    quiet = timings(0.05, 0.05, 0.05)
    assert bench.trust(rows, quiet, reps=3, native_peak=quiet)[0]
    trusted, reasons = bench.trust(rows, quiet, reps=3, native_peak=timings(0.02, 0.05))
    assert not trusted and reasons[0].startswith("BLAS peak with the CPU's own kernel")


# --- the check script ----------------------------------------------------------


def test_check_passes_a_run_that_meets_every_target():
    met, missed = check.check(made_up_run())
    assert missed == [] and len(met) == 5


def test_check_names_each_missed_target():
    info = made_up_run(ratio_torch=(0.51, 0.65, 0.76), share=0.49)
    info["results"][2]["ratio_jax"] = 1.26
    info["results"][0]["ratio_jax"] = 1.6  # JAX is a target at 784-800-10 only
    met, missed = check.check(info)
    assert len(missed) == 4
    assert any(m.startswith("core / JAX for 784-800-10 <= 1.25: 1.26") for m in missed)
    assert any(m.startswith("core / PyTorch for 784-10 <= 0.5: 0.51") for m in missed)
    assert any(m.startswith("core / PyTorch for 784-800-10 <= 0.75: 0.76") for m in missed)
    assert any(m.startswith("784-800-10 at >= 50% of the best BLAS kernel's") for m in missed)
    # 0.65 for 784-100-10 is on the target, which is met
    assert any(m.startswith("core / PyTorch for 784-100-10 <= 0.65: 0.65") for m in met)
    assert not any("JAX for 784-10 " in m for m in met + missed)


def test_check_judges_the_share_of_peak_against_the_best_kernel():
    info = made_up_run(share=0.6)  # 120 GFLOP/s of a 200 GFLOP/s peak
    info["blas_env"] = {"OPENBLAS_CORETYPE": "Haswell"}
    _, missed = check.check(info)  # forced, and the CPU's own kernel not measured
    assert [m for m in missed if "not measured (the run forced OPENBLAS_CORETYPE" in m]
    info["blas_peak_native_gflops"] = 400.0
    _, missed = check.check(info)
    assert len(missed) == 1 and "30% (120.0 of 400 GFLOP/s; best of 200 here and 400 with the CPU's own" in missed[0]
    info["blas_peak_native_gflops"] = 150.0  # the forced kernel was the faster: it counts
    met, missed = check.check(info)
    assert missed == [] and any("60% (120.0 of 200 GFLOP/s" in m for m in met)


def test_check_counts_a_peer_not_measured_or_disagreeing_as_missed():
    info = made_up_run()
    for row in info["results"]:
        row["ratio_torch"] = row["torch"] = None
    info["results"][2]["weights_agree"]["jax"] = False
    _, missed = check.check(info)
    assert sum("not measured" in m for m in missed) == 3
    assert any("784-800-10" in m and "compares different computations" in m for m in missed)


def test_check_refuses_an_untrusted_run():
    with pytest.raises(check.Refused, match="untrusted"):
        check.check(made_up_run(trusted=False))
    old = copy.deepcopy(made_up_run())
    del old["format"]
    with pytest.raises(check.Refused, match="format"):
        check.check(old)


@pytest.mark.parametrize(
    "info, code",
    [(made_up_run(), 0), (made_up_run(ratio_jax=1.3), 1), (made_up_run(trusted=False), 2)],
    ids=["met", "missed", "untrusted"],
)
def test_check_script_exit_status(tmp_path, info, code):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(info))
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "check.py"), str(path)], capture_output=True, text=True)
    assert r.returncode == code, r.stdout + r.stderr
    assert ("MISSED: core / JAX for 784-800-10" in r.stdout) == (code == 1)
    assert ("REFUSED" in r.stdout) == (code == 2)


# --- the script itself, on the real data -----------------------------------------


@pytest.mark.data
@pytest.mark.slow
def test_bench_runs_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    r = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench.py"), "--no-torch", "--no-jax", "--reps", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    info = json.loads(out.read_text())
    assert info["format"] == 2 and [row["sizes"] for row in info["results"]] == SIZES
    for row in info["results"]:
        core = row["core"]
        assert len(core["all_s"]) == 1 and 0 < core["min_s"] == core["median_s"] == core["max_s"]
        assert row["torch"] is None and row["jax"] is None
        assert row["ratio_torch"] is None and row["ratio_jax"] is None
        assert row["matmul_share"] > 0 and row["shuffle_share"] > 0 and row["blas_peak_share"] > 0
    # one repeat cannot show a spread, so the run is never trusted
    assert info["trusted"] is False and any("only 1 repeat" in r for r in info["untrusted_reasons"])
    assert len(info["blas_peak"]["all_s"]) == 3 and info["blas_peak_gflops"] > 0
    assert 0 < info["peak_rss_mib_784_800_10"] < 4096
    assert "| 784-800-10 |" in r.stdout and "UNTRUSTED RUN" in r.stdout
    # and the check refuses it
    c = subprocess.run([sys.executable, str(ROOT / "bench" / "check.py"), str(out)], capture_output=True, text=True)
    assert c.returncode == 2 and "REFUSED" in c.stdout
