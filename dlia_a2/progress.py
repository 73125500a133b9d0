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
