"""Centred finite differences, for checking hand-written gradients."""

import numpy as np


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """d f / d x by centred differences; ``f`` takes no argument and reads
    ``x``, which is perturbed in place and restored."""
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = f()
        x[i] = old - h
        fm = f()
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(|a| + |b|), robust when both are tiny."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), 1e-12))
