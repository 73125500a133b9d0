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

# core / JAX (jitted): the core must be faster than JAX at every size
JAX_RATIO_BELOW = {"784-10": 1.0, "784-100-10": 1.0, "784-800-10": 1.0}
# core / PyTorch (eager): at most this
TORCH_RATIO_AT_MOST = {"784-10": 0.5, "784-100-10": 0.5, "784-800-10": 0.65}
# the core's GFLOP/s as a share of the BLAS float32 matmul peak: at least this
BLAS_SHARE_AT_LEAST = {"784-800-10": 0.5}


class Refused(Exception):
    """The results cannot be judged against the targets at all."""


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

    for peer, name, targets, below in (
        ("jax", "JAX", JAX_RATIO_BELOW, True),
        ("torch", "PyTorch", TORCH_RATIO_AT_MOST, False),
    ):
        for sizes, target in targets.items():
            what = f"core / {name} for {sizes} {'<' if below else '<='} {target:g}"
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
            ok = ratio < target if below else ratio <= target
            judge(ok, f"{what}: {ratio:.2f}")
    for sizes, target in BLAS_SHARE_AT_LEAST.items():
        what = f"{sizes} at >= {target:.0%} of the BLAS float32 matmul peak"
        row = rows.get(sizes)
        if row is None or row.get("blas_peak_share") is None:
            judge(False, f"{what}: not measured")
            continue
        share = row["blas_peak_share"]
        judge(
            share >= target, f"{what}: {share:.0%} ({row['core_gflops']:.1f} of {info['blas_peak_gflops']:.0f} GFLOP/s)"
        )
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
