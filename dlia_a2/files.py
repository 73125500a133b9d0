"""Writing files so that a reader never sees half of one.

The data cache and the training checkpoints are both written here: to a
temporary ``*.part`` file in the same folder, then renamed over the target.
A run killed mid-write leaves the old file or the new one, and at worst a
stray ``*.part`` file, which :func:`remove_stale_parts` clears on the next run.
A writer holds an exclusive ``flock`` on its ``*.part`` file until the rename,
so that the next run tells a file left by a killed writer (the lock went with
the process) from one another process is writing right now, which it leaves
alone: the workers of a report build write their checkpoints side by side.
"""

from __future__ import annotations

import glob
import hashlib
import os
import tempfile
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on Windows: there only old parts are taken for stale
    fcntl = None

# Without flock, a part file this many seconds old is taken to be left over.
STALE_AFTER_SECONDS = 3600


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            os.fchmod(f.fileno(), 0o644)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            os.replace(tmp, path)  # still locked: see remove_stale_parts
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_parts(path: Path) -> list[Path]:
    """Remove the ``*.part`` files that an interrupted :func:`atomic_write`
    of ``path`` left beside it; returns the files removed.

    A part file whose writer is still at work is locked, and left alone.
    Between ``mkstemp`` and ``flock`` a new part file is empty and unlocked
    for an instant, so an empty one younger than a minute is left alone too.
    """
    path = Path(path)
    removed = []
    for part in sorted(path.parent.glob(glob.escape(path.name) + ".*.part")):
        try:
            st = part.stat()
            if st.st_size == 0 and time.time() - st.st_mtime < 60:
                continue
            if fcntl is None:
                if time.time() - st.st_mtime < STALE_AFTER_SECONDS:
                    continue
                part.unlink()
            else:
                with open(part, "rb") as f:
                    try:
                        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue  # its writer is alive
                    part.unlink()
        except FileNotFoundError:  # renamed or removed meanwhile
            continue
        removed.append(part)
    return removed


def write_between_markers(path: Path, name: str, text: str) -> None:
    """Replace what lies between ``<!-- name -->`` and ``<!-- /name -->`` in
    ``path`` (a README, say) with ``text``, on lines of its own; the rest of
    the file is kept as it is, and the file is written atomically.

    Parameters
    ----------
    path : Path
        The file holding both markers, each once, the opening one first.
    name : str
        The markers' name, e.g. ``"results-table"``.
    text : str
        What goes between them.

    Raises
    ------
    ValueError
        When a marker is missing, given twice, or the closing one comes first.
    """
    path = Path(path)
    doc = path.read_text(encoding="utf-8")
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    counts = doc.count(start), doc.count(end)
    if counts != (1, 1) or doc.index(end) < doc.index(start):
        raise ValueError(
            f"{path} must hold {start} and then {end}, each once (found {counts[0]} and {counts[1]}); "
            f"put the two markers around the place the text goes"
        )
    i, j = doc.index(start) + len(start), doc.index(end)
    atomic_write(path, (doc[:i] + "\n" + text.strip("\n") + "\n" + doc[j:]).encode("utf-8"))
