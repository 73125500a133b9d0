"""Does a benchmark run meet the core's speed targets? (``python bench/check.py bench/results.json``)

Reads the ratios that ``bench/bench.py`` wrote and compares them with the
targets below. Prints one line per target, and names every one missed.

Exit status: 0 if every target is met; 1 if any is missed (a ratio not
measured, or measured against a peer whose weights disagree with the
core's, counts as missed); 2 if the run is refused: untrusted, or not a
results file of this benchmark's format. An untrusted run's ratios are not
even compared: they are not results.

A timing is not a test: this is not part of ``make test``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FORMAT = 2  # of results.json, as bench.py writes it

# The targets as they stand (issue 22). Beating jitted JAX, which fuses the
# whole step into its matrix products, with the readable eager core was
# measured to be out of reach at the small sizes; where the products dominate
# (784-800-10) the core must come within a quarter of it.
# core / PyTorch (eager): at most this
TORCH_RATIO_AT_MOST = {"784-10": 0.5, "784-100-10": 0.65, "784-800-10": 0.75}
# core / JAX (jitted): at most this
JAX_RATIO_AT_MOST = {"784-800-10": 1.25}
# the core's GFLOP/s as a share of the float32 matmul peak of the best BLAS
# kernel this CPU offers (not of a weaker one the environment forces): at least this
BLAS_SHARE_AT_LEAST = {"784-800-10": 0.5}


class Refused(Exception):
    """The results cannot be judged against the targets at all."""


def best_peak(info: dict) -> tuple[float | None, str]:
    """The float32 matmul peak (GFLOP/s) of the best BLAS kernel the CPU
    offers, as the run measured it, and where it comes from.

    A run under a forced kernel (``OPENBLAS_CORETYPE``) measured its peak with
    that kernel and, in a child process, with the CPU's own
    (``blas_peak_native_gflops``); the best of the two counts. A forced run
    without the second measurement has no peak to judge against (None).
    """
    here = info["blas_peak_gflops"]
    native = info.get("blas_peak_native_gflops")
    if native is not None:
        return max(here, native), f"best of {here:.0f} here and {native:.0f} with the CPU's own kernel"
    if "OPENBLAS_CORETYPE" in (info.get("blas_env") or {}):
        return None, "the run forced OPENBLAS_CORETYPE and did not measure the CPU's own kernel"
    return here, "the kernel OpenBLAS picked on this CPU itself"


def check(info: dict) -> tuple[list[str], list[str]]:
    """Compare a results.json (as a dict) with the targets.

    Returns
    -------
    met : list of str
        One line per target met.
    missed : list of str
        One line per target missed, naming it.

    Raises
    ------
    Refused
        When the run is untrusted or not of this format.
    """
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise Refused(f"not a results file of format {FORMAT} (run 'make bench' to measure anew)")
    if info.get("trusted") is not True:
        reasons = info.get("untrusted_reasons") or ["no reason given"]
        raise Refused("the run is untrusted, so its ratios are not results:\n" + "\n".join(f"  - {r}" for r in reasons))
    rows = {r["sizes"]: r for r in info.get("results", [])}
    met, missed = [], []

    def judge(ok: bool, line: str) -> None:
        (met if ok else missed).append(line)

    for peer, name, targets in (("torch", "PyTorch", TORCH_RATIO_AT_MOST), ("jax", "JAX", JAX_RATIO_AT_MOST)):
        for sizes, target in targets.items():
            what = f"core / {name} for {sizes} <= {target:g}"
            row = rows.get(sizes)
            ratio = row.get(f"ratio_{peer}") if row else None
            if ratio is None:
                judge(False, f"{what}: not measured")
                continue
            if not row["weights_agree"][peer]:
                judge(
                    False,
                    f"{what}: {name}'s weights differ from the core's "
                    f"by {row['max_weight_difference'][peer]:.2g} (more "
                    f"than {row['weight_tolerance']:.2g}), so the ratio "
                    f"{ratio:.2f} compares different computations",
                )
                continue
            judge(ratio <= target, f"{what}: {ratio:.2f}")
    peak, source = best_peak(info)
    for sizes, target in BLAS_SHARE_AT_LEAST.items():
        what = f"{sizes} at >= {target:.0%} of the best BLAS kernel's float32 matmul peak"
        row = rows.get(sizes)
        if row is None or row.get("core_gflops") is None:
            judge(False, f"{what}: not measured")
            continue
        if peak is None:
            judge(False, f"{what}: not measured ({source})")
            continue
        share = row["core_gflops"] / peak
        judge(share >= target, f"{what}: {share:.0%} ({row['core_gflops']:.1f} of {peak:.0f} GFLOP/s; {source})")
    return met, missed


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(f"usage: {Path(sys.argv[0]).name} RESULTS_JSON", file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        info = json.loads(path.read_text())
        met, missed = check(info)
    except (OSError, ValueError) as e:
        print(f"[check] REFUSED {path}: cannot read it: {e}")
        return 2
    except (KeyError, TypeError) as e:
        print(f"[check] REFUSED {path}: a field is missing or malformed: {e!r}")
        return 2
    except Refused as e:
        print(f"[check] REFUSED {path}: {e}")
        return 2
    for line in met:
        print(f"[check] met:    {line}")
    for line in missed:
        print(f"[check] MISSED: {line}")
    if missed:
        print(f"[check] {len(missed)} of {len(met) + len(missed)} targets missed")
        return 1
    print(f"[check] all {len(met)} targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
