"""Progress of long runs on the terminal that runs the report build.

Under papermill a notebook's output goes into the executed notebook, not to
the person waiting at the terminal; these write to the kernel's own stderr
instead, and only when ``$DLIA_PROGRESS`` is set (the build sets it).
"""

from __future__ import annotations

import os
import sys
import time

PROGRESS_ENV = "DLIA_PROGRESS"


def terminal_note(text: str) -> None:
    """Print one line on the build's terminal."""
    if os.environ.get(PROGRESS_ENV):
        print("  " + text, file=sys.__stderr__, flush=True)


def terminal_progress(label: str, every_epochs: int = 1):
    """A :func:`dlia_a2.training.train` callback that prints one line every
    ``every_epochs`` epochs on the build's terminal; None when
    ``$DLIA_PROGRESS`` is not set."""
    if not os.environ.get(PROGRESS_ENV):
        return None
    t0 = time.perf_counter()

    def callback(history):
        it = history.last("iteration")
        if it % history.iterations_per_epoch:
            return
        epoch = it // history.iterations_per_epoch
        if epoch % every_epochs:
            return
        parts = [f"{label}: epoch {epoch}"]
        parts += [f"{s} acc {history.last(s + '_accuracy'):.4f}" for s in history.set_names]
        parts.append(f"{time.perf_counter() - t0:.0f} s")
        print("  " + ", ".join(parts), file=sys.__stderr__, flush=True)

    return callback


def in_jupyter() -> bool:
    """True in a notebook a person is running in Jupyter: there, progress
    is a tqdm bar. False in a terminal and in a report build (which sets
    ``$DLIA_PROGRESS`` and reads lines instead)."""
    if os.environ.get(PROGRESS_ENV):
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def bar(label: str, total: int):
    """A tqdm progress bar over ``total`` steps in Jupyter; None elsewhere."""
    if not in_jupyter():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, unit="run")
