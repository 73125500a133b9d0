"""More data from the data there is: random shifts of the training images
by a few pixels, written in NumPy (the fourth remedy of Exercise 3)."""

from __future__ import annotations

import numpy as np

from dlia_a2.checks import whole_number


def shift_images(X: np.ndarray, rng: np.random.Generator, max_shift: int = 2, side: int = 28) -> np.ndarray:
    """Each image moved by its own whole number of pixels, zero-filled.

    Image ``i`` is moved ``dx`` pixels right and ``dy`` pixels down, ``dx``
    and ``dy`` drawn independently and uniformly from ``[-max_shift,
    max_shift]`` (one ``rng.integers`` call of shape ``(2, N)``: ``dx`` is the
    first row); pixels that move out are lost and those that move in are 0,
    the background. The images are padded once and gathered with one fancy
    index, without a Python loop over images.

    Parameters
    ----------
    X : ndarray, shape (N, side * side)
        Images as rows, row-major (pixel ``(r, c)`` at column ``r * side + c``).
    rng : numpy.random.Generator
    max_shift : int
        The largest move in each direction, 0 or more (0: a copy of ``X``).
    side : int
        The images' height and width.

    Returns
    -------
    ndarray, shape (N, side * side), the dtype of ``X``
        New rows; ``X`` is not changed.
    """
    if not isinstance(X, np.ndarray) or X.ndim != 2:
        raise ValueError(
            f"X must be a 2-D array of images as rows, shape (N, side * side); got {type(X).__name__} "
            f"of shape {np.shape(X)}"
        )
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator, such as np.random.default_rng(0)")
    whole_number("max_shift", max_shift, at_least=0)
    whole_number("side", side, at_least=1)
    if X.shape[1] != side * side:
        raise ValueError(f"X has {X.shape[1]} columns, not side * side = {side * side}: pass the images' side")
    if max_shift >= side:
        raise ValueError(f"max_shift {max_shift} would move every pixel out of a {side}x{side} image; use less")
    if max_shift == 0:
        return X.copy()
    N, m = len(X), max_shift
    dx, dy = rng.integers(-m, m + 1, size=(2, N))
    padded = np.pad(X.reshape(N, side, side), ((0, 0), (m, m), (m, m)))
    at = np.arange(side)
    rows = (at[None, :] + m - dy[:, None])[:, :, None]  # output row r reads input row r - dy
    cols = (at[None, :] + m - dx[:, None])[:, None, :]
    return padded[np.arange(N)[:, None, None], rows, cols].reshape(N, side * side)
