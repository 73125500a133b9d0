"""Speed of the hand-written core against PyTorch on the CPU (``make bench``).

One training epoch over the 60,000 MNIST training images at batch size 64,
float32, plain SGD, for 784-10, 784-100-10 and 784-800-10: the project's
core and the same model in eager PyTorch, from the same initial weights and
on the same batches, interleaved in one process and repeated. The machines
are shared and noisy, so the claim is the ratio of medians; absolute times
are context.

It also times the matrix products of an epoch alone (same shapes, same
data), to tell what share of the core's epoch they take, measures the
machine's float32 matrix-multiply peak, and the peak resident memory of a
full-size training run in a child process.

Writes ``bench/results.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import mlp_core as mc
from dlia_a2 import data as md
from dlia_a2 import training

HERE = Path(__file__).resolve().parent
CONFIGS = ((784, 10), (784, 100, 10), (784, 800, 10))
BATCH = 64
LR = 0.05


def core_epoch(X, y, sizes, params, seed):
    cfg = training.TrainConfig(layer_sizes=sizes, learning_rate=LR, batch_size=BATCH, epochs=1)
    t = time.perf_counter()
    p, _ = training.train(X, y, cfg, np.random.default_rng(seed), params=params)
    return time.perf_counter() - t, p


def torch_epoch(torch, Xt, yt, sizes, params, seed):
    """The same model and batches in eager PyTorch."""
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
    """Only the shuffle of one epoch: the permutation and the copy of the
    data into the reused buffer, as random_mini_batches does it."""
    bufs = (np.empty_like(X), np.empty_like(y))
    t = time.perf_counter()
    training.shuffled_batches(X, y, BATCH, np.random.default_rng(seed), bufs)
    return time.perf_counter() - t


def epoch_flops(sizes, n):
    per_sample = sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    backward = sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    backward += sum(2 * a * b for a, b in zip(sizes[1:-1], sizes[2:]))
    return n * (per_sample + backward)


def blas_peak(reps=5, n=2048):
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = a.T.copy()
    a @ b
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n**3 / min(times) / 1e9


def peak_memory_child():
    """Peak RSS of a full-size run: 784-800-10 on all 60,000 images, with
    evaluation on training, validation-sized and test sets.

    Read from the child's VmHWM, not from getrusage: Linux carries the
    peak of the process that spawned the child over into its ru_maxrss
    (at exec), so that would report this benchmark's own peak, with
    PyTorch and JAX loaded, whenever it is the larger.
    """
    code = (
        "import numpy as np\nfrom dlia_a2 import data as md, training\n"
        "ds = md.load('mnist')\n"
        "X, y = md.to_float(ds.x_train), ds.y_train\n"
        "Xt, yt = md.to_float(ds.x_test), ds.y_test\n"
        "cfg = training.TrainConfig(layer_sizes=(784, 800, 10), learning_rate=0.05, "
        "batch_size=64, epochs=1, eval_every=300)\n"
        "training.train(X, y, cfg, np.random.default_rng(0), eval_sets={'train': (X, y), "
        "'val': (X[:10000], y[:10000]), 'test': (Xt, yt)})\n"
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(out.strip().splitlines()[-1]) / 1024  # KiB -> MiB


def blas_info():
    try:
        import threadpoolctl

        return [
            {k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for i in threadpoolctl.threadpool_info()
        ]
    except ImportError:
        return []


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=5, help="repetitions (default 5)")
    p.add_argument("--no-torch", action="store_true", help="time the core only")
    p.add_argument("--out", type=Path, default=HERE / "results.json")
    p.add_argument("--readme", action="store_true", help="also write the table into README.md")
    p.add_argument(
        "--table-only", action="store_true", help="print (and with --readme write) the table of --out; time nothing"
    )
    args = p.parse_args(argv)
    if args.table_only:
        info = json.loads(args.out.read_text())
        print(table(info))
        if args.readme:
            update_readme(table(info))
        return 0

    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            sys.exit(
                "PyTorch is not installed: run 'make bench' (it installs bench/requirements.txt), or pass --no-torch"
            )
    ds = md.load("mnist")
    X, y = md.to_float(ds.x_train), ds.y_train
    Xt = yt = None
    if torch is not None:
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    results = []
    for sizes in CONFIGS:
        params = mc.initialize_parameters(sizes, np.random.default_rng(1))
        core_t, torch_t, mm_t, sh_t = [], [], [], []
        agree = None
        for rep in range(args.reps):
            seed = 100 + rep
            time.sleep(0.5)  # let the other library's idle threads stop spinning
            t, p_core = core_epoch(X, y, sizes, params, seed)
            core_t.append(t)
            mm_t.append(matmul_epoch(X, sizes, params, seed))
            sh_t.append(shuffle_epoch(X, y, seed))
            if torch is not None:
                time.sleep(0.5)
                t, p_torch = torch_epoch(torch, Xt, yt, sizes, params, seed)
                torch_t.append(t)
                if agree is None:
                    agree = max(float(np.max(np.abs(p_core[k] - p_torch[k]))) for k in p_core)
        core_m, mm_m = statistics.median(core_t), statistics.median(mm_t)
        row = {
            "sizes": "-".join(map(str, sizes)),
            "core_s": core_m,
            "core_all_s": core_t,
            "matmul_s": mm_m,
            "matmul_share": mm_m / core_m,
            "shuffle_share": statistics.median(sh_t) / core_m,
            "core_gflops": epoch_flops(sizes, len(X)) / core_m / 1e9,
        }
        if torch_t:
            row.update(
                torch_s=statistics.median(torch_t),
                torch_all_s=torch_t,
                ratio=core_m / statistics.median(torch_t),
                max_weight_difference=agree,
            )
        results.append(row)
        print(
            f"  {row['sizes']}: core {core_m:.3f} s"
            + (f", torch {row['torch_s']:.3f} s, ratio {row['ratio']:.2f}" if torch_t else ""),
            file=sys.stderr,
            flush=True,
        )

    peak = blas_peak()
    mem = peak_memory_child()
    info = {
        "date": dt.date.today().isoformat(),
        "cpu": next(
            (
                l.split(":", 1)[1].strip()
                for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")
            ),
            platform.processor(),
        ),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": getattr(torch, "__version__", None),
        "torch_threads": torch.get_num_threads() if torch else None,
        "blas": blas_info(),
        "blas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
        "blas_peak_gflops": peak,
        "peak_rss_mib_784_800_10": mem,
        "reps": args.reps,
        "batch_size": BATCH,
        "results": results,
    }
    args.out.write_text(json.dumps(info, indent=1) + "\n")
    print(table(info))
    if args.readme:
        update_readme(table(info))
    return 0


def update_readme(text: str, readme: Path = HERE.parent / "README.md") -> None:
    start, end = "<!-- bench-table -->", "<!-- /bench-table -->"
    doc = readme.read_text()
    i, j = doc.index(start), doc.index(end)
    readme.write_text(doc[: i + len(start)] + "\n" + text + "\n" + doc[j:])


def table(info) -> str:
    blas = ", ".join(
        f"{b['internal_api']} {b['version']} {b['architecture']} {b['num_threads']} threads" for b in info["blas"]
    )
    lines = [
        f"Measured {info['date']} on {info['cpu']} ({info['cores']} cores), "
        f"NumPy {info['numpy']} ({blas}), PyTorch {info['torch']} "
        f"({info['torch_threads']} threads); median of {info['reps']} "
        f"interleaved epochs, 60,000 images, batch {info['batch_size']}.",
        "",
        "| network | core s/epoch | PyTorch s/epoch | core / PyTorch | "
        "core time in matmul | in the shuffle | core GFLOP/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in info["results"]:
        lines.append(
            f"| {r['sizes']} | {r['core_s']:.3f} | "
            f"{r.get('torch_s', float('nan')):.3f} | "
            f"{r.get('ratio', float('nan')):.2f} | "
            f"{r['matmul_share']:.0%} | {r.get('shuffle_share', float('nan')):.0%} | "
            f"{r['core_gflops']:.1f} |"
        )
    lines += [
        "",
        f"Float32 matrix-multiply peak of this machine's BLAS "
        f"(2048x2048): {info['blas_peak_gflops']:.0f} GFLOP/s. Peak "
        f"resident memory of a full 784-800-10 run with evaluation on "
        f"all sets: {info['peak_rss_mib_784_800_10']:.0f} MiB.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
