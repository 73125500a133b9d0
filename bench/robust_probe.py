"""Issue 19's measurement: the dropout network (784-800-800-10, he init,
input dropout 0.2, dropout 0.5, momentum 0.9, cosine schedule, batch 128 by default)
trained by dlia_a2.training.train on 50,000 fit / 10,000 val images.

Usage: python bench/robust_probe.py DATASET EPOCHS LR MAX_NORM SHIFT SEED OUT.json
       [INPUT_DROPOUT DROPOUT [BATCH [all|fit [HIDDEN]]]]
With ``all`` it trains on all 60,000 training images (no validation set) and
reads the test set alone; ``fit`` (the default) trains on the 50,000 fit
images. HIDDEN gives the hidden layers' sizes, such as 1024-1024 (default
800-800). Every epoch also scores the first 10,000 training images as they
are (unshifted, no dropout), for how well the run fits them ("fit10k").
Run it with OPENBLAS_NUM_THREADS=1 under nice."""

import json
import sys
import time

import numpy as np

from dlia_a2.config import TrainConfig
from dlia_a2.data import load_split
from dlia_a2.training import train


def main(
    dataset,
    epochs,
    lr,
    max_norm,
    shift,
    seed,
    out,
    input_dropout=0.2,
    dropout=0.5,
    batch_size=128,
    data="fit",
    hidden="800-800",
):
    X, y, Xv, yv, Xt, yt, _ = load_split(dataset, n_train=0, n_val=10000, seed=0)
    if data not in ("fit", "all"):
        raise SystemExit(f"the data argument must be 'all' (train on all 60,000 images) or 'fit', got {data!r}")
    scored = {"val": (Xv, yv), "test": (Xt, yt), "fit10k": (X[:10000], y[:10000])}
    if data == "all":
        X, y, scored = np.concatenate([X, Xv]), np.concatenate([y, yv]), {"test": (Xt, yt), "fit10k": scored["fit10k"]}
    extra = {}
    if float(max_norm):
        extra["max_norm"] = float(max_norm)
    if int(shift):
        extra["shift_pixels"] = int(shift)
    config = TrainConfig(
        layer_sizes=(784, *(int(h) for h in hidden.split("-")), 10),
        init="he",
        input_dropout=float(input_dropout),
        dropout=float(dropout),
        optimizer="momentum",
        momentum=0.9,
        lr_schedule="cosine",
        batch_size=int(batch_size),
        learning_rate=float(lr),
        epochs=int(epochs),
        **extra,
    )
    times = []
    last = [time.perf_counter()]

    def tick(h):
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now
        val = h.last("val_accuracy") if "val" in scored else "-"
        print(len(h), round(times[-1], 1), val, h.last("test_accuracy"), flush=True)

    start = time.perf_counter()
    _, h = train(X, y, config, np.random.default_rng(int(seed)), scored, callback=tick)
    wall = time.perf_counter() - start
    ta = h["test_accuracy"].tolist()
    va = h["val_accuracy"].tolist() if "val" in scored else [float("nan")] * len(ta)
    b = int(np.argmax(va)) if "val" in scored else len(ta) - 1  # without validation: the last epoch
    rec = {
        "dataset": dataset,
        "config": config.to_dict(),
        "seed": int(seed),
        "train_images": len(y),
        "wall_s": wall,
        "s_per_epoch_incl_eval": wall / len(va),
        "epoch_seconds": times,
        "val_accuracy": va,
        "test_accuracy": ta,
        "last": {"epoch": len(va), "val": va[-1], "test": ta[-1]},
        "val_best": {"epoch": b + 1, "val": va[b], "test": ta[b]},
        "last5_test_range": [min(ta[-5:]), max(ta[-5:])],
        "fit10k_accuracy": h["fit10k_accuracy"].tolist(),
    }
    with open(out, "w") as f:
        json.dump(rec, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:])
