"""A course folder in the starter code's layout, ``Train/<digit>/*.png`` and
``Test/<digit>/*.png``, read as a :class:`~dlia_a2.catalog.Dataset`.

It has no published checksum, so it is used as given and never cached.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from dlia_a2.catalog import SPECS, DataError, Dataset


def load_course_folder(
    course_dir: str | Path, name: str = "mnist", class_names: tuple = SPECS["mnist"].class_names
) -> Dataset:
    """Read the starter code's PNG layout ``{Train,Test}/<digit>/*.png``.

    Images come back in folder order (sorted by label): shuffle before any
    split (:func:`dlia_a2.data.train_val_split` does).

    Parameters
    ----------
    course_dir : path
        The folder holding ``Train`` and ``Test``.
    name : str
        The data set's name, for the returned :class:`Dataset`.
    class_names : tuple of str
        One per class folder ``0``, ``1``, ...

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        Naming a missing class folder, an empty part or an unreadable image.
    """
    root = Path(course_dir)
    folders = [str(digit) for digit in range(len(class_names))]
    parts = {}
    for part in ("Train", "Test"):
        xs, ys = [], []
        if (root / part).is_dir():
            odd = sorted(
                p.name for p in (root / part).iterdir() if p.name not in folders and not p.name.startswith(".")
            )
            if odd:
                warnings.warn(
                    f"{root / part}: ignoring {', '.join(odd)}; a course folder holds one folder per class, "
                    f"named {folders[0]} to {folders[-1]}",
                    stacklevel=2,
                )
        for digit, folder in enumerate(folders):
            d = root / part / folder
            if not d.is_dir():
                raise DataError(f"{d} not found; a course folder holds Train/0..9 and Test/0..9 with PNG images")
            for png in _course_pngs(d):
                xs.append(_read_course_png(png))
                ys.append(digit)
        if not xs:
            raise DataError(f"no PNG images under {root / part}")
        parts[part] = (np.stack(xs), np.asarray(ys, dtype=np.int64))
    return Dataset(
        name, *parts["Train"], *parts["Test"], class_names, source=f"course folder {root} (no published checksum)"
    )


def _course_pngs(folder: Path) -> list[Path]:
    """The PNG files of one class folder (``.png`` in any case), sorted;
    other files are named in a warning, hidden ones ignored."""
    pngs, other = [], []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        (pngs if p.suffix.lower() == ".png" and p.is_file() else other).append(p)
    if other:
        names = ", ".join(p.name for p in other[:5]) + (f" and {len(other) - 5} more" if len(other) > 5 else "")
        warnings.warn(f"{folder}: ignoring {names}, not PNG images", stacklevel=3)
    return pngs


def _read_course_png(png: Path) -> np.ndarray:
    """One course image as 784 uint8 pixels, or a DataError naming it."""
    from matplotlib.image import imread  # PNG decoding via Pillow

    try:
        img = imread(png, format="png")
    except Exception as e:  # Pillow says SyntaxError, OSError or ValueError, without the file's name
        raise DataError(
            f"{png} cannot be read as a PNG image ({e or type(e).__name__}); replace or remove it"
        ) from None
    if img.ndim == 3:
        img = img[..., 0]
    if img.shape != (28, 28):
        raise DataError(f"{png} is {img.shape}, expected 28x28")
    if img.dtype != np.uint8:
        img = np.rint(img * 255).astype(np.uint8)
    return img.reshape(784)
