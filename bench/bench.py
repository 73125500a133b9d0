"""Speed of the hand-written core against PyTorch and JAX on the CPU (``make bench``).

One training epoch over the 60,000 MNIST training images at batch size 64,
float32, plain SGD at learning rate 0.05, for 784-10, 784-100-10 and
784-800-10, by three programs from the same initial weights and on the same
batches (the permutation the core draws, ``default_rng(seed).permutation(N)``):

- ``core``: the project's training machinery;
- ``torch``: the same model in eager PyTorch;
- ``jax``: the same model in JAX, the whole epoch one jitted function (a
  ``jax.lax.scan`` over the full batches, each gathering its rows of the
  permutation, then the last, short batch), compiled before timing.

They run interleaved in one process, in an order that rotates with each
repeat, so that a slow stretch of a shared machine falls on all of them,
after one untimed epoch of each (``--warmup``): the first epoch a program
runs pays for starting its threads and touching its data, which measured
1.3 to 6 times a later one for PyTorch and JAX at 784-10.
The claim is the ratio of medians; absolute times are context. Whether the
ratios can be trusted at all is judged from the spread of the repeats (see
``MAX_SPREAD``): a run whose spread is too wide is written with
``"trusted": false`` and its reasons, and its table says it is not a result.

Also measured in the same run: the matrix products of an epoch alone (same
shapes, same data) and the shuffle alone, to tell what share of the core's
epoch they take; the float32 matrix-multiply peak of the machine's BLAS,
interleaved with the epochs, of which the core's GFLOP/s are a share; and
the peak resident memory of a full-size training run, in a child process.
When the environment forces a weaker OpenBLAS kernel than the CPU offers
(``OPENBLAS_CORETYPE=Haswell`` on a CPU with AVX-512), the run says so and
measures the peak of the CPU's own kernel too, in child processes between
the epochs: the share of peak is of the best kernel the CPU offers.

Writes ``bench/results.json`` and prints Markdown tables. ``bench/check.py``
compares the ratios with the speed targets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

import mlp_core as mc
from dlia_a2 import blas, training
from dlia_a2 import data as md
from dlia_a2.config import TrainConfig
from dlia_a2.environment import environment, forced_kernel, native_kernel
from dlia_a2.files import write_between_markers
from dlia_a2.search import epoch_flops  # the count the search budget uses too

HERE = Path(__file__).resolve().parent
CONFIGS = ((784, 10), (784, 100, 10), (784, 800, 10))
BATCH = 64
LR = 0.05
FORMAT = 2  # of results.json; 1 had no JAX and no trust flag
PROGRAMS = ("core", "torch", "jax")
NAMES = {"core": "core", "torch": "PyTorch", "jax": "JAX"}

# A run is trusted only if, for every network, no timed program's slowest
# repeat took more than MAX_SPREAD times its fastest. The targets are ratios
# of medians whose nearest two values differ by 30% (core / PyTorch 0.5 and
# 0.65): a machine that stretches one program's epoch by 50% between repeats
# moves those ratios by as much as the targets are meant to resolve. A quiet
# stretch gives about 1.1 (the core's 784-100-10 epochs in the 2026-11-29
# results: 0.424 to 0.455 s), so 1.5 leaves room for ordinary noise; the
# same run's 784-10 epochs (0.195 to 0.439 s, 2.25) would have been flagged.
MAX_SPREAD = 1.5
# With fewer repeats a spread says nothing.
MIN_REPS = 3
# The peers agree with the core if their weights after the epoch differ from
# the core's by at most this fraction of the largest change the epoch made
# to any weight. Float32 rounding, compounded over 938 dependent updates and
# the ReLU kinks it flips, was measured (5 seeds, each network) to move the
# weights by up to 0.1% of that change between the core and JAX, and 0.53%
# between the core in float32 and in float64; another permutation moves them
# by 4-10%, a learning rate 10% off by 3-6%. (A learning rate 1% off, 0.6-0.8%,
# is below what float32 resolves after an epoch.)
AGREE_FRACTION = 0.01


# --- the three programs ------------------------------------------------------


def core_epoch(X, y, sizes, params, seed):
    """One epoch of the project's training machinery (``training.train``,
    which the notebooks use, with its fused SGD step); (seconds, weights)."""
    cfg = TrainConfig(layer_sizes=sizes, learning_rate=LR, batch_size=BATCH, epochs=1)
    t = time.perf_counter()
    p, _ = training.train(X, y, cfg, np.random.default_rng(seed), params=params)
    return time.perf_counter() - t, p


def torch_epoch(torch, Xt, yt, sizes, params, seed):
    """The same model and batches in eager PyTorch; (seconds, weights)."""
    layers = []
    L = len(sizes) - 1
    for l in range(1, L + 1):
        lin = torch.nn.Linear(sizes[l - 1], sizes[l])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(params[f"W{l}"]))
            lin.bias.copy_(torch.from_numpy(params[f"b{l}"]))
        layers.append(lin)
        if l < L:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    t = time.perf_counter()
    # the permutation the core draws for this seed's first epoch
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(len(Xt)))
    Xs, ys = Xt[perm], yt[perm]
    for s in range(0, len(Xs), BATCH):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(Xs[s : s + BATCH]), ys[s : s + BATCH])
        loss.backward()
        opt.step()
    elapsed = time.perf_counter() - t
    out = {}
    for l, lin in enumerate([m for m in model if isinstance(m, torch.nn.Linear)], 1):
        out[f"W{l}"] = lin.weight.detach().numpy().copy()
        out[f"b{l}"] = lin.bias.detach().numpy().copy()
    return elapsed, out


class JaxEpoch:
    """The same model in JAX: one jitted function per epoch.

    The epoch is a ``jax.lax.scan`` over the ``N // BATCH`` full batches,
    each gathering its rows ``X[perm[i * BATCH:(i + 1) * BATCH]]`` (the
    shuffle, inside the compiled program), followed by one more step on the
    short last batch, as the core does it. Gathering per batch was faster
    than gathering the whole shuffled copy first (0.09 against 0.27 s for
    784-10 when this was written), so the peer gets the faster one.
    Compiled once per network, before any timing.
    """

    def __init__(self, jax, X, y, sizes, params):
        jnp = jax.numpy
        self.jax = jax
        N, L = len(X), len(sizes) - 1
        n_full = N // BATCH

        def loss(p, Xb, yb):
            A = Xb
            for l in range(1, L + 1):
                A = A @ p[f"W{l}"].T + p[f"b{l}"]
                if l < L:
                    A = jax.nn.relu(A)
            logp = jax.nn.log_softmax(A)
            return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))

        grad = jax.grad(loss)

        def step(p, Xb, yb):
            g = grad(p, Xb, yb)
            return {k: p[k] - LR * g[k] for k in p}

        def epoch(p, X, y, perm):
            rows = perm[: n_full * BATCH].reshape(n_full, BATCH)
            p, _ = jax.lax.scan(lambda p, r: (step(p, X[r], y[r]), None), p, rows)
            if N % BATCH:
                rest = perm[n_full * BATCH :]
                p = step(p, X[rest], y[rest])
            return p

        self.X = jax.device_put(X)
        self.y = jax.device_put(y.astype(np.int32))
        perm = jax.device_put(np.arange(N, dtype=np.int32))
        t = time.perf_counter()
        self.compiled = jax.jit(epoch).lower(self.device_params(params), self.X, self.y, perm).compile()
        self.compile_s = time.perf_counter() - t

    def device_params(self, params):
        return {k: self.jax.device_put(v) for k, v in params.items()}

    def __call__(self, params, seed):
        """(seconds, weights) of one epoch from ``params`` with ``seed``'s
        permutation; the drawing of the permutation is timed, as for the
        others, and so is waiting for the result."""
        p = self.device_params(params)
        t = time.perf_counter()
        perm = np.random.default_rng(seed).permutation(len(self.X)).astype(np.int32)
        out = self.compiled(p, self.X, self.y, self.jax.device_put(perm))
        self.jax.block_until_ready(out)
        elapsed = time.perf_counter() - t
        return elapsed, {k: np.asarray(v) for k, v in out.items()}


# --- the profile of the core -------------------------------------------------


def matmul_epoch(X, sizes, params, seed):
    """Only the matrix products of one epoch: forward X W^T per layer, and
    backward dZ^T A and dZ W (the last not for the first layer)."""
    rng = np.random.default_rng(seed)
    Xs = X[rng.permutation(len(X))]
    Ws = [params[f"W{l}"] for l in range(1, len(sizes))]
    dZs = [np.ones((BATCH, n), np.float32) * 1e-3 for n in sizes[1:]]
    t = time.perf_counter()
    for s in range(0, len(Xs), BATCH):
        A = Xs[s : s + BATCH]
        acts = [A]
        for W in Ws:
            A = A @ W.T
            acts.append(A)
        for l in range(len(Ws) - 1, -1, -1):
            dZ = dZs[l][: len(A)]
            dZ.T @ acts[l]
            if l > 0:
                dZ @ Ws[l]
    return time.perf_counter() - t


def shuffle_epoch(X, y, seed):
    """Only the shuffle of one epoch: the permutation and the gathering of
    every batch's rows into the reused buffer, as the training machinery
    does it."""
    buffer = np.empty((BATCH, X.shape[1]), X.dtype)
    t = time.perf_counter()
    for _ in training.shuffled_batches(X, y, BATCH, np.random.default_rng(seed), buffer):
        pass
    return time.perf_counter() - t


PEAK_N = 2048


def blas_matmul_seconds(a, b, tries=3):
    """Best of ``tries`` float32 products of two PEAK_N x PEAK_N matrices,
    after one untimed product (so the threads are awake)."""
    a @ b
    best = float("inf")
    for _ in range(tries):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return best


def native_peak_seconds(tries=3):
    """:func:`blas_matmul_seconds` in a child process with OPENBLAS_CORETYPE
    unset, so with the kernel OpenBLAS picks on this CPU itself."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    code = (
        "import sys, numpy as np\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "from bench import PEAK_N, blas_matmul_seconds\n"
        "a = np.random.default_rng(0).random((PEAK_N, PEAK_N), dtype=np.float32)\n"
        f"print(blas_matmul_seconds(a, a.T.copy(), tries={tries}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def peak_memory_child():
    """Peak RSS of a full-size run: 784-800-10 on all 60,000 images, with
    evaluation on training, validation-sized and test sets.

    Read from the child's VmHWM, not from getrusage: Linux carries the
    peak of the process that spawned the child over into its ru_maxrss
    (at exec), so that would report this benchmark's own peak, with
    PyTorch and JAX loaded, whenever it is the larger.
    """
    code = (
        "import numpy as np\nfrom dlia_a2 import data as md, training\nfrom dlia_a2.config import TrainConfig\n"
        "ds = md.load('mnist')\n"
        "X, y = md.to_float(ds.x_train), ds.y_train\n"
        "Xt, yt = md.to_float(ds.x_test), ds.y_test\n"
        "cfg = TrainConfig(layer_sizes=(784, 800, 10), learning_rate=0.05, "
        "batch_size=64, epochs=1, eval_every=300)\n"
        "training.train(X, y, cfg, np.random.default_rng(0), eval_sets={'train': (X, y), "
        "'val': (X[:10000], y[:10000]), 'test': (Xt, yt)})\n"
        "print(next(l.split()[1] for l in open('/proc/self/status') "
        "if l.startswith('VmHWM:')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(out.strip().splitlines()[-1]) / 1024  # KiB -> MiB


# --- statistics and trust ----------------------------------------------------


def summary(times) -> dict:
    """Min, median, max and spread (max / min) of repeated timings."""
    lo, hi = min(times), max(times)
    return {"median_s": statistics.median(times), "min_s": lo, "max_s": hi, "spread": hi / lo, "all_s": list(times)}


def max_difference(a, b) -> float:
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


def trust(results, blas_peak, reps, max_spread=MAX_SPREAD, min_reps=MIN_REPS, native_peak=None):
    """Whether the timings of a run can be trusted, and if not, why.

    Judged on what the targets are made of: the epochs of every program
    and the BLAS peak. The profile's own timings (matmul, shuffle) are
    context and are not judged.

    Parameters
    ----------
    results : list of dict
        One row per network, holding a :func:`summary` under each program
        that ran (``core``, ``torch``, ``jax``; ``None`` if it did not).
    blas_peak : dict
        The :func:`summary` of the BLAS peak's products.
    reps : int
        Repeats per program.
    native_peak : dict, optional
        The :func:`summary` of the products with the CPU's own kernel, when
        the environment forced a weaker one.

    Returns
    -------
    trusted : bool
    reasons : list of str
        One line per reason it is not trusted; empty when it is.
    """
    reasons = []
    if reps < min_reps:
        reasons.append(
            f"only {reps} repeat(s): the spread of the timings cannot be judged (at least {min_reps} are needed)"
        )
    timed = [(f"{row['sizes']} {NAMES[prog]}", row[prog]) for row in results for prog in PROGRAMS if row.get(prog)]
    timed.append(("BLAS peak", blas_peak))
    if native_peak is not None:
        timed.append(("BLAS peak with the CPU's own kernel", native_peak))
    for what, s in timed:
        if s["spread"] > max_spread:
            reasons.append(
                f"{what}: slowest repeat {s['max_s']:.3f} s is "
                f"{s['spread']:.2f} x the fastest {s['min_s']:.3f} s "
                f"(more than {max_spread:g} x): the machine was busy"
            )
    return not reasons, reasons


# --- the run -----------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=5, help="repetitions (default 5)")
    p.add_argument("--warmup", type=int, default=1, help="untimed epochs of each program per network first (default 1)")
    p.add_argument("--no-torch", action="store_true", help="do not time PyTorch")
    p.add_argument("--no-jax", action="store_true", help="do not time JAX")
    p.add_argument(
        "--max-spread",
        type=float,
        default=MAX_SPREAD,
        help=f"largest max/min of a program's repeats that is trusted (default {MAX_SPREAD})",
    )
    p.add_argument("--out", type=Path, default=HERE / "results.json")
    p.add_argument(
        "--readme", action="store_true", help="also write the table into README.md (refused for an untrusted run)"
    )
    p.add_argument(
        "--table-only", action="store_true", help="print (and with --readme write) the table of --out; time nothing"
    )
    args = p.parse_args(argv)
    if args.reps < 1:
        p.error("--reps must be at least 1")
    if args.warmup < 0:
        p.error("--warmup must be 0 or more")
    if args.table_only:
        info = json.loads(args.out.read_text())
        if info.get("format") != FORMAT:
            sys.exit(f"{args.out} predates this benchmark's format {FORMAT}: run 'make bench' to measure anew")
        print(table(info))
        return write_readme(info) if args.readme else 0

    torch = jax = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            sys.exit(
                "PyTorch is not installed: run 'make bench' (it installs bench/requirements.txt), or pass --no-torch"
            )
    if not args.no_jax:
        try:
            import jax
        except ImportError:
            sys.exit("JAX is not installed: run 'make bench' (it installs bench/requirements.txt), or pass --no-jax")
    forced = forced_kernel()
    if forced:
        print(f"[bench] {forced}; the share of peak is of the CPU's own kernel", file=sys.stderr, flush=True)
    load_start = os.getloadavg()
    ds = md.load("mnist")
    X, y = md.to_float(ds.x_train), ds.y_train
    Xt = yt = None
    if torch is not None:
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    peak_a = np.random.default_rng(0).random((PEAK_N, PEAK_N), dtype=np.float32)
    peak_b = peak_a.T.copy()

    results, peak_t, native_t, compile_s = [], [], [], {}
    for sizes in CONFIGS:
        name = "-".join(map(str, sizes))
        params = mc.initialize_parameters(sizes, np.random.default_rng(1))
        jax_epoch = None
        if jax is not None:
            jax_epoch = JaxEpoch(jax, X, y, sizes, params)
            compile_s[name] = jax_epoch.compile_s
        # each takes the seed and returns (seconds, weights)
        run = {
            "core": partial(core_epoch, X, y, sizes, params),
            "torch": partial(torch_epoch, torch, Xt, yt, sizes, params) if torch else None,
            "jax": partial(jax_epoch, params) if jax_epoch else None,
        }
        progs = [q for q in PROGRAMS if run[q] is not None]
        times = {q: [] for q in progs}
        mm_t, sh_t = [], []
        diff = {q: 0.0 for q in progs if q != "core"}
        tolerance = float("inf")
        for q in progs:  # untimed: the first epoch of each pays one-time costs (threads, first touches)
            for _ in range(args.warmup):
                run[q](99)
        for rep in range(args.reps):
            seed = 100 + rep
            weights = {}
            for q in progs[rep % len(progs) :] + progs[: rep % len(progs)]:
                time.sleep(0.5)  # let the other library's idle threads stop spinning
                t, weights[q] = run[q](seed)
                times[q].append(t)
            for q in diff:
                diff[q] = max(diff[q], max_difference(weights["core"], weights[q]))
            tolerance = min(tolerance, AGREE_FRACTION * max_difference(weights["core"], params))
            time.sleep(0.5)
            mm_t.append(matmul_epoch(X, sizes, params, seed))
            sh_t.append(shuffle_epoch(X, y, seed))
            peak_t.append(blas_matmul_seconds(peak_a, peak_b))
            if forced:
                native_t.append(native_peak_seconds())
        row = {"sizes": name}
        row.update({q: summary(times[q]) if q in times else None for q in PROGRAMS})
        core_m = row["core"]["median_s"]
        for q in ("torch", "jax"):
            row[f"ratio_{q}"] = core_m / row[q]["median_s"] if row[q] else None
        row.update(
            matmul_s=statistics.median(mm_t),
            matmul_share=statistics.median(mm_t) / core_m,
            shuffle_share=statistics.median(sh_t) / core_m,
            core_gflops=epoch_flops(sizes, len(X)) / core_m / 1e9,
            weight_tolerance=tolerance,
            max_weight_difference={q: diff.get(q) for q in ("torch", "jax")},
            weights_agree={q: (diff[q] <= tolerance if q in diff else None) for q in ("torch", "jax")},
        )
        results.append(row)
        print(
            f"  {name}: " + ", ".join(f"{NAMES[q]} {row[q]['median_s']:.3f} s" for q in progs),
            file=sys.stderr,
            flush=True,
        )

    blas_peak = summary(peak_t)
    peak_gflops = 2 * PEAK_N**3 / blas_peak["median_s"] / 1e9
    native_peak = summary(native_t) if native_t else None
    native_gflops = 2 * PEAK_N**3 / native_peak["median_s"] / 1e9 if native_peak else None
    best_gflops = max(peak_gflops, native_gflops or 0.0)
    for row in results:
        row["blas_peak_share"] = row["core_gflops"] / best_gflops
    trusted, reasons = trust(results, blas_peak, args.reps, args.max_spread, native_peak=native_peak)
    mem = peak_memory_child()
    env = environment()
    info = {
        "format": FORMAT,
        "trusted": trusted,
        "untrusted_reasons": reasons,
        "max_spread": args.max_spread,
        "min_reps": MIN_REPS,
        "date": dt.date.today().isoformat(),
        "cpu": env["cpu"],
        "cores": env["cores"],
        "python": env["python"],
        "git_commit": env["git_commit"],
        "load_average": {"start": list(load_start), "end": list(os.getloadavg())},
        "numpy": np.__version__,
        "torch": getattr(torch, "__version__", None),
        "torch_threads": torch.get_num_threads() if torch else None,
        "jax": getattr(jax, "__version__", None),
        "jaxlib": _jaxlib_version() if jax else None,
        "jax_device": str(jax.devices()[0]) if jax else None,
        "jax_compile_s": compile_s,
        "blas": env["blas"],
        "fused_sgd_step": blas.FUSED,  # False: NumPy's OpenBLAS was not found, the SGD update ran unfused
        "blas_env": dict(env["blas_env"], **{k: v for k, v in os.environ.items() if k.startswith("XLA_")}),
        "blas_peak_gflops": peak_gflops,
        "blas_peak": dict(blas_peak, size=PEAK_N),
        # when the environment forced a weaker kernel: the note, the CPU's own
        # kernel and its peak (the share of peak is of the better of the two)
        "blas_forced_kernel": forced,
        "blas_native_kernel": native_kernel() if forced else None,
        "blas_peak_native_gflops": native_gflops,
        "blas_peak_native": dict(native_peak, size=PEAK_N) if native_peak else None,
        "peak_rss_mib_784_800_10": mem,
        "reps": args.reps,
        "warmup": args.warmup,
        "batch_size": BATCH,
        "learning_rate": LR,
        "n_train": len(X),
        "agree_fraction": AGREE_FRACTION,
        "results": results,
    }
    args.out.write_text(json.dumps(info, indent=1) + "\n")
    print(table(info))
    return write_readme(info) if args.readme else 0


def _jaxlib_version():
    import jaxlib

    return jaxlib.__version__


def write_readme(info) -> int:
    if not info["trusted"]:
        print("[bench] not writing an untrusted run into README.md", file=sys.stderr)
        return 1
    write_between_markers(HERE.parent / "README.md", "bench-table", table(info))
    return 0


# --- the table ---------------------------------------------------------------


def _spread_cell(s) -> str:
    if not s:
        return "not run"
    return f"{s['min_s']:.3f} / {s['median_s']:.3f} / {s['max_s']:.3f}"


def _ratio_cell(r, trusted: bool) -> str:
    if r is None:
        return "not run"
    return f"{r:.2f}" if trusted else f"untrusted ({r:.2f})"


def _diff_cell(row, q) -> str:
    d = row["max_weight_difference"][q]
    if d is None:
        return "not run"
    return f"{d:.1e}" + ("" if row["weights_agree"][q] else " DISAGREES")


def table(info) -> str:
    trusted = info["trusted"]
    blas = ", ".join(
        f"{b['internal_api']} {b['version']} {b['architecture']} {b['num_threads']} threads" for b in info["blas"]
    )
    load = info["load_average"]
    lines = []
    if not trusted:
        lines += (
            [
                "**UNTRUSTED RUN: not a result.** The machine was too busy "
                "(or the run too short) for these timings to mean anything:",
                "",
            ]
            + [f"- {r}" for r in info["untrusted_reasons"]]
            + [""]
        )
    lines += [
        f"Measured {info['date']} on {info['cpu']} ({info['cores']} cores, load "
        f"average {load['start'][0]:.2f} at the start, {load['end'][0]:.2f} at the "
        f"end), NumPy {info['numpy']} ({blas}), PyTorch {info['torch']} "
        f"({info['torch_threads']} threads), JAX {info['jax']} (jaxlib "
        f"{info['jaxlib']}, {info['jax_device']}, jitted). Seconds per epoch "
        f"(60,000 images, batch {info['batch_size']}, SGD) as min / median / max "
        f"of {info['reps']} interleaved repeats, after {info.get('warmup', 0)} untimed "
        f"epoch(s) of each; the ratios are of medians, and "
        f"are trusted only if no program's max / min exceeds "
        f"{info['max_spread']:g}. "
        + (
            "The core's SGD updates ran fused into their matrix products (`dlia_a2/blas.py`)."
            if info.get("fused_sgd_step")
            else "The core's SGD updates ran UNFUSED: NumPy's OpenBLAS was not found."
        ),
        "",
        "| network | core s/epoch | PyTorch s/epoch | JAX s/epoch | core / PyTorch | core / JAX |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in info["results"]:
        lines.append(
            f"| {r['sizes']} | {_spread_cell(r['core'])} | "
            f"{_spread_cell(r['torch'])} | {_spread_cell(r['jax'])} | "
            f"{_ratio_cell(r['ratio_torch'], trusted)} | "
            f"{_ratio_cell(r['ratio_jax'], trusted)} |"
        )
    lines += [
        "",
        "| network | core time in matmul | in the shuffle | core GFLOP/s | "
        "share of BLAS peak | max abs weight difference, PyTorch | JAX |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in info["results"]:
        lines.append(
            f"| {r['sizes']} | {r['matmul_share']:.0%} | "
            f"{r['shuffle_share']:.0%} | {r['core_gflops']:.1f} | "
            f"{r['blas_peak_share']:.0%} | {_diff_cell(r, 'torch')} | "
            f"{_diff_cell(r, 'jax')} |"
        )
    bp = info["blas_peak"]
    native = info.get("blas_peak_native_gflops")
    if info.get("blas_forced_kernel"):
        lines += ["", f"**Forced BLAS kernel.** {info['blas_forced_kernel']}."]
    lines += [
        "",
        f"Weights after the epoch agree with the core's if they differ "
        f"by at most {info['agree_fraction']:.0%} of the largest change the "
        f"epoch made to a weight. Float32 matrix-multiply peak of this "
        f"machine's BLAS ({bp['size']}x{bp['size']}, interleaved with the "
        f"epochs): {info['blas_peak_gflops']:.0f} GFLOP/s (median; products "
        f"took {bp['min_s'] * 1e3:.0f} / {bp['median_s'] * 1e3:.0f} / "
        f"{bp['max_s'] * 1e3:.0f} ms)"
        + (
            f"; with the CPU's own {info.get('blas_native_kernel') or ''} kernel {native:.0f} GFLOP/s, "
            "of which the shares of peak above are"
            if native
            else ""
        )
        + ". Peak resident memory of a full "
        f"784-800-10 run with evaluation on all sets: "
        f"{info['peak_rss_mib_784_800_10']:.0f} MiB.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
