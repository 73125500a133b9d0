"""MNIST and Fashion-MNIST, loaded and split for training.

:func:`load` gives a data set's verified images and labels: from the cache
(``dlia_a2.cache``), which fetches them from the sources of
``dlia_a2.sources`` when needed, or from a course folder of PNG images
(``dlia_a2.course``). :func:`load_split` gives the float32 arrays a notebook
trains on, with a seeded validation set and training subset.

Run ``python -m dlia_a2.data`` to fetch and verify everything (``make data``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from dlia_a2.cache import CACHE_ENV, fetch
from dlia_a2.catalog import DATASET_NAMES, FILE_KEYS, DataError, Dataset, n_train_images, spec_for
from dlia_a2.checks import is_whole
from dlia_a2.course import load_course_folder
from dlia_a2.idx import parse_idx


def load(
    name: str = "mnist",
    cache_dir: str | Path | None = None,
    course_dir: str | Path | None = None,
    timeout: float = 10.0,
) -> Dataset:
    """Load a data set, fetching and verifying it first if needed.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
    cache_dir : path, optional
        Defaults to :func:`dlia_a2.cache.default_cache_dir`.
    course_dir : path, optional
        A folder in the course's layout (``Train/<digit>/*.png``,
        ``Test/<digit>/*.png``); read instead of the verified files.
    timeout : float
        Seconds to wait for each mirror connection.

    Returns
    -------
    Dataset
    """
    spec = spec_for(name)
    if course_dir is not None:
        return load_course_folder(course_dir, name, spec.class_names)
    folder = fetch(name, cache_dir, timeout)
    arrays = {}
    for key in FILE_KEYS:
        path = folder / spec.files[key][0]
        arrays[key] = parse_idx(path.read_bytes(), str(path))
    source_file = folder / "SOURCE"
    source = source_file.read_text().strip() if source_file.exists() else "cache"
    return Dataset(
        name=name,
        x_train=arrays["train-images"].reshape(-1, 784),
        y_train=arrays["train-labels"].astype(np.int64),
        x_test=arrays["t10k-images"].reshape(-1, 784),
        y_test=arrays["t10k-labels"].astype(np.int64),
        class_names=spec.class_names,
        source=f"{name} IDX files, SHA-256 verified (obtained from {source})",
    )


# --- preprocessing ------------------------------------------------------------


def to_float(x: np.ndarray, dtype=np.float32) -> np.ndarray:
    """Scale uint8 pixels to [0, 1] (``x / 255``, as the course's code did).

    Parameters
    ----------
    x : ndarray of uint8
    dtype : NumPy float type

    Returns
    -------
    ndarray
        ``x / 255`` in ``dtype``, same shape.
    """
    if x.dtype != np.uint8:
        raise TypeError(f"expected uint8 pixels, got dtype {x.dtype}")
    out = x.astype(dtype)
    out /= 255
    return out


def _check_whole(call: str, name: str, value, low: int, high: float, rule: str) -> None:
    """Refuse an argument ``name`` of ``call`` that is not an int (a bool, a
    float, a string) or lies outside ``[low, high]``; ``rule`` says what is
    allowed."""
    if not is_whole(value):
        raise TypeError(
            f"{call}({name}={value!r}): {name} must be a whole number (an int) and {rule}; got a {type(value).__name__}"
        )
    if not low <= value <= high:
        raise ValueError(f"{call}({name}={value!r}): {name} must {rule}")


def train_val_split(
    x: np.ndarray, y: np.ndarray, n_val: int = 10_000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out a seeded random validation set from the training data.

    Parameters
    ----------
    x : ndarray, shape (N, ...)
    y : ndarray, shape (N,)
    n_val : int
        Rows held out, from 0 to N - 1.
    seed : int

    Returns
    -------
    x_train, y_train, x_val, y_val
        Disjoint, each in its original order; together they are a
        permutation of the input.
    """
    if len(x) != len(y):
        raise ValueError(f"train_val_split: {len(x)} images but {len(y)} labels; pass one label per image")
    n = len(x)
    _check_whole(
        "train_val_split",
        "n_val",
        n_val,
        0,
        n - 1,
        f"leave a training image (the validation set must hold between 0 and {n - 1} of the {n} training images)",
    )
    perm = np.random.default_rng(seed).permutation(len(x))
    val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    return x[train], y[train], x[val], y[val]


def load_split(
    dataset: str = "mnist", n_train: int = 0, n_val: int = 0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple]:
    """Float32 data ready for training, split and subset with a seed.

    ``n_val`` images are held out of the training images as a validation
    set (seeded); ``n_train > 0`` then keeps only that many of the rest, a
    seeded random subset in their original order (for quick runs). The
    arguments are checked before any data is read.

    Parameters
    ----------
    dataset : {"mnist", "fashion-mnist"}
    n_train : int
        Training images kept, from 1 to the number left after the
        validation set is held out; 0 keeps them all.
    n_val : int
        Validation images held out of the training images, 0 (none) or more,
        fewer than the training images.
    seed : int
        0 or more; chooses the validation set and the training subset.

    Returns
    -------
    X_train, y_train, X_val, y_val, X_test, y_test, class_names
        Images as float32 rows in [0, 1], labels as int64.

    Raises
    ------
    TypeError
        If ``n_train``, ``n_val`` or ``seed`` is not an int.
    ValueError
        If one of them is out of its range, or ``dataset`` is unknown.
    """
    n_images = n_train_images(dataset)
    _check_whole("load_split", "seed", seed, 0, np.inf, "be 0 or more")
    _check_whole(
        "load_split",
        "n_val",
        n_val,
        0,
        n_images - 1,
        f"lie between 0 and {n_images - 1}, fewer than the {n_images} training images",
    )
    _check_whole(
        "load_split",
        "n_train",
        n_train,
        0,
        n_images - n_val,
        f"lie between 1 and {n_images - n_val} (0 for all), the {n_images} training images less n_val={n_val}",
    )
    ds = load(dataset)
    x, y = ds.x_train, ds.y_train
    if n_val:
        x, y, xv, yv = train_val_split(x, y, n_val, seed)
    else:
        xv, yv = x[:0], y[:0]
    if n_train:
        keep = np.sort(np.random.default_rng(int(seed) + 1).permutation(len(x))[:n_train])
        x, y = x[keep], y[keep]
    return to_float(x), y, to_float(xv), yv, to_float(ds.x_test), ds.y_test, ds.class_names


# --- command line -------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m dlia_a2.data [NAME ...]``: fetch and verify data sets into the cache.

    Returns
    -------
    int
        The exit status: 0 when every data set is cached and verified.
    """
    p = argparse.ArgumentParser(description="Fetch and verify the data sets into the cache.")
    p.add_argument("datasets", nargs="*", default=["mnist"], help=f"any of {', '.join(DATASET_NAMES)} (default: mnist)")
    p.add_argument("--cache-dir", default=None, help=f"cache folder (default: ${CACHE_ENV} or ~/.cache/dlia-a2)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each mirror (default 10)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        for name in args.datasets:
            folder = fetch(name, args.cache_dir, args.timeout)
            for key in FILE_KEYS:
                fname, sha, _ = spec_for(name).files[key]
                print(f"  ok  {folder / fname}  sha256 {sha[:16]}...")
    except (DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
