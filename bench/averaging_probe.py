"""Issue 19's last MNIST target: do averaged weights beat the last iterate of
the report's dropout network (784-800-800-10, he init, dropout 0.1/0.3,
momentum 0.9, batch 128, lr 0.1, seed 0, 50,000 fit / 10,000 val images)?

Usage: python bench/averaging_probe.py tail|swa OUT.json [LR2]

- ``tail``: the report's run (cosine schedule over 50 epochs); the weights
  averaged over its last 5, 10 and 20 epoch ends.
- ``swa``: stochastic weight averaging (Izmailov et al. 2018): a constant
  rate of 0.1 for 30 epochs, then a constant LR2 (default 0.02) for 20
  more; the weights averaged over the second phase's epoch ends.

Run it with OPENBLAS_NUM_THREADS=1 under nice; results in
bench/robust_probe_results.txt."""

import json
import sys

import numpy as np

from dlia_a2.config import TrainConfig
from dlia_a2.data import load_split
from dlia_a2.training import evaluate, train

BASE = TrainConfig(
    layer_sizes=(784, 800, 800, 10),
    init="he",
    input_dropout=0.1,
    dropout=0.3,
    optimizer="momentum",
    momentum=0.9,
    batch_size=128,
    learning_rate=0.1,
)
PARAMETER_NAMES = [f"{p}{l}" for l in (1, 2, 3) for p in "Wb"]  # W1, b1, ..., b3: what is averaged


def main(mode: str, out: str, lr2: str = "0.02") -> None:
    X, y, Xv, yv, Xt, yt, _ = load_split("mnist", n_train=0, n_val=10000, seed=0)
    scored = {"val": (Xv, yv), "test": (Xt, yt)}
    snapshots = {}  # epoch -> the weights at its end, in float64 for the averages

    def keep(state):
        snapshots[state.epoch] = {k: np.array(v, dtype=np.float64) for k, v in state.params.items()}

    record = {"mode": mode}
    if mode == "tail":
        _, history = train(X, y, BASE.replace(lr_schedule="cosine", epochs=50), np.random.default_rng(0), scored,
                           on_checkpoint=keep)  # fmt: skip
        windows = {"last": [50], "avg46-50": range(46, 51), "avg41-50": range(41, 51), "avg31-50": range(31, 51)}
    elif mode == "swa":
        params, history = train(X, y, BASE.replace(epochs=30), np.random.default_rng(0), scored)
        record["phase1"] = {"val": history.last("val_accuracy"), "test": history.last("test_accuracy")}
        second = BASE.replace(epochs=20, learning_rate=float(lr2))
        _, history = train(X, y, second, np.random.default_rng(1), scored, params=params, on_checkpoint=keep)
        windows = {"last": [20], "avg1-20": range(1, 21), "avg6-20": range(6, 21), "avg11-20": range(11, 21)}
    else:
        raise SystemExit(f"mode must be 'tail' or 'swa', got {mode!r}")
    record["curve_val"] = history["val_accuracy"].tolist()
    record["curve_test"] = history["test_accuracy"].tolist()
    for name, epochs in windows.items():
        averaged = {k: np.mean([snapshots[e][k] for e in epochs], axis=0).astype(np.float32) for k in PARAMETER_NAMES}
        record[name] = {"val": evaluate(Xv, yv, averaged, "relu")[1], "test": evaluate(Xt, yt, averaged, "relu")[1]}
        print(name, record[name], flush=True)
    with open(out, "w") as f:
        json.dump(record, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:])
