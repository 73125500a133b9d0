"""Checkpoints of training runs: save, load, and train with resume.

A checkpoint is one ``.npz`` file (arrays only, loaded with
``allow_pickle=False``, so loading runs no code) that also carries its
metadata as JSON; a readable copy of that JSON is written beside it. Files
are written to a temporary name and renamed, so a run killed at any moment
leaves the previous checkpoint or the new one, never half of one.

:func:`train_resumable` is :func:`mlp_core.train_model` with this wrapped
around it: it resumes from the checkpoint when one for the same run exists
(same configuration, seed, data and core code), and the result is
bit-identical to a run that was never interrupted.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

import mlp_core as mc
from mnist_data import atomic_write

FORMAT = "dlia-a2-checkpoint-1"
CORE_FILE = Path(mc.__file__)


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be used; the message names it and says why."""


def _blas() -> list:
    """The BLAS libraries in use and their thread counts: the same sums in
    another order (more threads, another kernel) round differently."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return sorted((i.get("internal_api"), i.get("version"), i.get("architecture"),
                   i.get("num_threads")) for i in threadpool_info())


def fingerprint(X: np.ndarray, y: np.ndarray, config: mc.TrainConfig, seed: int,
                eval_sets: dict | None = None) -> str:
    """What a checkpoint must match to be resumed: the data, the settings,
    the seed, the source of the core, and the BLAS and its thread count
    (a run continued with another thread count would not give the bits of
    an uninterrupted one)."""
    h = hashlib.sha256()
    h.update(json.dumps({"config": config.to_dict(), "seed": seed,
                         "eval_sets": sorted(eval_sets or {}), "blas": _blas()},
                        sort_keys=True, default=str).encode())
    for a in (X, y, *(v for pair in sorted((eval_sets or {}).items())
                      for v in pair[1])):
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(hashlib.sha256(a.data).digest())
    h.update(CORE_FILE.read_bytes())
    return h.hexdigest()


def _json_ready(state: mc.TrainState, config: mc.TrainConfig, fp: str) -> dict:
    rng = dict(state.rng_state)
    rng["state"] = {k: str(v) for k, v in rng["state"].items()}   # 128-bit ints
    return {"format": FORMAT, "fingerprint": fp, "config": config.to_dict(),
            "epoch": state.epoch, "batch": state.batch, "iteration": state.iteration,
            "rng_state": rng, "history": state.history.to_dict(),
            "params": sorted(state.params), "optimizer_state": sorted(state.optimizer_state)}


def save(path: str | Path, state: mc.TrainState, config: mc.TrainConfig,
         fp: str = "") -> Path:
    """Write ``state`` to ``path`` (``.npz``) and ``path`` with ``.json``."""
    path = Path(path).with_suffix(".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = _json_ready(state, config, fp)
    arrays = {f"param/{k}": v for k, v in state.params.items()}
    arrays.update({f"opt/{k}": np.asarray(v) for k, v in state.optimizer_state.items()})
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(path, buf.getvalue())
    atomic_write(path.with_suffix(".json"), (json.dumps(meta, indent=1) + "\n").encode())
    return path


def load(path: str | Path) -> tuple[mc.TrainState, dict]:
    """Read a checkpoint; returns the state and its metadata."""
    path = Path(path).with_suffix(".npz")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            if meta.get("format") != FORMAT:
                raise CheckpointError(f"{path} is not a checkpoint of this project "
                                      f"(format {meta.get('format')!r})")
            params = {k: z[f"param/{k}"] for k in meta["params"]}
            opt = {k: z[f"opt/{k}"] for k in meta["optimizer_state"]}
    except CheckpointError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"{path} cannot be read ({e}); delete it to start "
                              f"the run afresh") from None
    rng = dict(meta["rng_state"])
    rng["state"] = {k: int(v) for k, v in rng["state"].items()}
    state = mc.TrainState(params, opt, rng, meta["epoch"], meta["batch"],
                          meta["iteration"], mc.History.from_dict(meta["history"]))
    return state, meta


def train_resumable(X, y, config: mc.TrainConfig, seed: int, path: str | Path,
                    checkpoint_every: int = 0, eval_sets: dict | None = None,
                    callback=None, progress: bool = False, log=None):
    """:func:`mlp_core.train_model`, checkpointed to ``path`` and resumed
    from it when a checkpoint of the same run is there.

    A checkpoint of another run (other settings, seed, data or core code)
    is not used: it is replaced by this run's. ``log`` (a callable taking a
    string; default: print to stderr) hears what happened.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    path = Path(path).with_suffix(".npz")
    fp = fingerprint(X, y, config, seed, eval_sets)
    resume = None
    if path.exists():
        try:
            state, meta = load(path)
        except CheckpointError as e:
            log(f"[checkpoint] ignoring {e}")
        else:
            if meta["fingerprint"] == fp:
                resume = state
                log(f"[checkpoint] resuming from {path} at iteration "
                    f"{state.iteration} (epoch {state.epoch}, batch {state.batch})")
            else:
                log(f"[checkpoint] {path} belongs to another run (settings, seed, "
                    f"data or code differ); starting afresh")
    rng = np.random.default_rng(seed)

    def on_checkpoint(state):
        save(path, state, config, fp)

    try:
        return mc.train_model(X, y, config, rng, eval_sets=eval_sets,
                              callback=callback, progress=progress, resume=resume,
                              on_checkpoint=on_checkpoint,
                              checkpoint_every=checkpoint_every)
    except KeyboardInterrupt:
        if path.exists():
            log(f"[checkpoint] interrupted; run again to resume from {path}")
        raise
