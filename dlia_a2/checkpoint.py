"""Checkpoints of training runs: save, load, and train with resume.

A checkpoint is one ``.npz`` file (arrays only, loaded with
``allow_pickle=False``, so loading runs no code) that also carries its
metadata as JSON; a readable copy of that JSON is written beside it. Files
are written to a temporary name and renamed, so a run killed at any moment
leaves the previous checkpoint or the new one, never half of one.

:func:`train_resumable` is :func:`dlia_a2.training.train` with this wrapped
around it: it resumes from the checkpoint when one for the same run exists
(same configuration, seed, data and training code), and the result is
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
from dlia_a2 import blas, training
from dlia_a2.config import TrainConfig
from dlia_a2.environment import blas_info
from dlia_a2.files import atomic_write, remove_stale_parts
from dlia_a2.history import History, TrainState

FORMAT = "dlia-a2-checkpoint-2"  # 2: the divergence watch's state, no mid-epoch checkpoints
# the code whose arithmetic a resumed run must share with the run it continues:
# the core and the whole package (as the Makefile's CODE), so that a module added
# or split off is covered without being listed
CODE_FILES = (Path(mc.__file__), *sorted(Path(__file__).parent.glob("*.py")))


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be used; the message names it and says why."""


def fingerprint(X: np.ndarray, y: np.ndarray, config: TrainConfig, seed: int, eval_sets: dict | None = None) -> str:
    """What a checkpoint must match to be resumed.

    Everything that changes the bits of a run: the data, the settings, the
    seed, the source of the core and of the package (:data:`CODE_FILES`), the
    BLAS and its thread count (a run continued with another thread count
    would not give the bits of an uninterrupted one) and the path the SGD
    step takes through it (:data:`dlia_a2.blas.PATH`: fused or plain NumPy
    round differently).

    Parameters
    ----------
    X : ndarray, shape (N, D)
    y : ndarray, shape (N,)
    config : TrainConfig
    seed : int
    eval_sets : dict of str to (X, y), optional

    Returns
    -------
    str
        A SHA-256 hex digest.
    """
    record = {
        "config": config.to_dict(),
        "seed": seed,
        "eval_sets": sorted(eval_sets or {}),
        "blas": blas_info(),
        "blas_path": blas.PATH,
    }
    h = hashlib.sha256()
    h.update(json.dumps(record, sort_keys=True, default=str).encode())
    for a in (X, y, *(v for pair in sorted((eval_sets or {}).items()) for v in pair[1])):
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(hashlib.sha256(a.data).digest())
    for f in CODE_FILES:
        h.update(f.read_bytes())
    return h.hexdigest()


def _json_ready(state: TrainState, config: TrainConfig, fp: str) -> dict:
    rng = dict(state.rng_state)
    rng["state"] = {k: str(v) for k, v in rng["state"].items()}  # 128-bit ints
    return {
        "format": FORMAT,
        "fingerprint": fp,
        "config": config.to_dict(),
        "epoch": state.epoch,
        "iteration": state.iteration,
        "divergence": state.divergence,
        "rng_state": rng,
        "history": state.history.to_dict(),
        "params": sorted(state.params),
        "optimizer_state": sorted(state.optimizer_state),
    }


def save(path: str | Path, state: TrainState, config: TrainConfig, fp: str = "") -> Path:
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


def load(path: str | Path) -> tuple[TrainState, dict]:
    """Read a checkpoint; returns the state and its metadata."""
    path = Path(path).with_suffix(".npz")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            if meta.get("format") != FORMAT:
                raise CheckpointError(f"{path} is not a checkpoint of this project (format {meta.get('format')!r})")
            params = {k: z[f"param/{k}"] for k in meta["params"]}
            opt = {k: z[f"opt/{k}"] for k in meta["optimizer_state"]}
    except CheckpointError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"{path} cannot be read ({e}); delete it to start the run afresh") from None
    rng = dict(meta["rng_state"])
    rng["state"] = {k: int(v) for k, v in rng["state"].items()}
    past = History.from_dict(meta["history"])
    state = TrainState(params, opt, rng, meta["epoch"], meta["iteration"], past, meta["divergence"])
    return state, meta


def train_resumable(
    X,
    y,
    config: TrainConfig,
    seed: int,
    path: str | Path,
    eval_sets: dict | None = None,
    callback=None,
    progress: bool = False,
    log=None,
):
    """:func:`dlia_a2.training.train`, checkpointed to ``path`` and resumed
    from it when a checkpoint of the same run is there.

    A checkpoint of another run (other settings, seed, data or core code)
    is not used: it is replaced by this run's. Part files that a write
    interrupted before (a kill) left beside the checkpoint are removed. ``log`` (a callable taking a
    string; default: print to stderr) hears what happened.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    path = Path(path).with_suffix(".npz")
    fp = fingerprint(X, y, config, seed, eval_sets)
    for target in (path, path.with_suffix(".json")):
        for part in remove_stale_parts(target):
            log(f"[checkpoint] removed {part}, left by an interrupted write")
    resume = None
    if path.exists():
        try:
            state, meta = load(path)
        except CheckpointError as e:
            log(f"[checkpoint] ignoring {e}")
        else:
            if meta["fingerprint"] == fp:
                resume = state
                log(f"[checkpoint] resuming from {path} at iteration {state.iteration} (epoch {state.epoch})")
            else:
                log(
                    f"[checkpoint] {path} belongs to another run (settings, seed, data or code differ); starting afresh"
                )
    rng = np.random.default_rng(seed)

    def on_checkpoint(state):
        save(path, state, config, fp)

    try:
        return training.train(
            X,
            y,
            config,
            rng,
            eval_sets=eval_sets,
            callback=callback,
            progress=progress,
            resume=resume,
            on_checkpoint=on_checkpoint,
        )
    except KeyboardInterrupt:
        if path.exists():
            log(f"[checkpoint] interrupted; run again to resume from {path}")
        raise
