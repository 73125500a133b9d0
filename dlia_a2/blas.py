"""The one matrix product NumPy has no function for: ``C <- beta * C +
alpha * A.T @ B`` written into ``C`` in place (BLAS ``gemm`` with ``beta``),
taken from the OpenBLAS that NumPy itself uses.

The fused SGD step (:meth:`dlia_a2.optimizers.SGD.backward_step`) updates
each weight matrix with it in one pass, ``W <- W - lr * dZ.T @ A_prev``,
instead of writing the gradient ``dW`` out, scaling it, and reading it back
to subtract it. For 784-800-10 at batch 64 that is the difference between
0.32 ms and about 0.7 ms a step for the first layer (measured 2026-11-30).

Why not ``scipy.linalg.blas.sgemm``, which is made for this: SciPy's wheels
bring an OpenBLAS of their own, with its own pool of threads, and on the
2-core machine this project is built on the idle threads of the two pools
spun against each other: an epoch of 784-800-10 took 12 s instead of 1.4 s.
With SciPy's pool held to one thread it took 1.38 s, against 1.43 s unfused:
nothing gained (both measured 2026-11-30). Calling NumPy's own library keeps
one pool, which ``threadpoolctl`` limits as before.

NumPy's wheels from PyPI carry that library as ``scipy_openblas64_`` (64-bit
integers). Where it cannot be found or fails its check at import (a NumPy
built against another BLAS, say), :func:`gemm_update` computes the same
thing with NumPy operators: the same result to rounding, only not fused.
:data:`FUSED` says which.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # the CBLAS enums


def _load():
    """``{dtype: gemm}`` from NumPy's bundled OpenBLAS, or ``{}``."""
    numpy_dir = Path(np.__file__).resolve().parent
    candidates = [
        *sorted((numpy_dir.parent / "numpy.libs").glob("*scipy_openblas64_*")),
        *sorted((numpy_dir / ".dylibs").glob("*scipy_openblas64_*")),
    ]
    for path in candidates:
        try:
            lib = ctypes.CDLL(str(path))
            found = {}
            for dtype, name, real in (
                (np.float32, "scipy_cblas_sgemm64_", ctypes.c_float),
                (np.float64, "scipy_cblas_dgemm64_", ctypes.c_double),
            ):
                f = getattr(lib, name)
                i, p = ctypes.c_int64, ctypes.c_void_p
                f.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, i, i, i, real, p, i, p, i, real, p, i]
                f.restype = None
                found[np.dtype(dtype)] = f
        except (OSError, AttributeError):
            continue
        return found
    return {}


_GEMM = _load()


def _fused(C: np.ndarray, A: np.ndarray, B: np.ndarray, alpha: float, beta: float) -> None:
    (k, m), n = A.shape, B.shape[1]
    size = C.itemsize
    _GEMM[C.dtype](
        _ROW_MAJOR, _TRANS, _NO_TRANS, m, n, k,
        alpha, A.ctypes.data, A.strides[0] // size,
        B.ctypes.data, B.strides[0] // size,
        beta, C.ctypes.data, n,
    )  # fmt: skip


def _plain(C: np.ndarray, A: np.ndarray, B: np.ndarray, alpha: float, beta: float) -> None:
    if beta != 1:
        C *= C.dtype.type(beta)
    C += C.dtype.type(alpha) * (A.T @ B)


def gemm_update(C: np.ndarray, A: np.ndarray, B: np.ndarray, alpha: float, beta: float = 1.0) -> np.ndarray:
    """``C <- beta * C + alpha * A.T @ B``, in place; returns ``C``.

    Parameters
    ----------
    C : ndarray, shape (m, n), float32 or float64, C-contiguous
        Overwritten with the result.
    A : ndarray, shape (k, m), the dtype of ``C``
    B : ndarray, shape (k, n), the dtype of ``C``
    alpha, beta : float
    """
    if A.ndim != 2 or B.ndim != 2 or C.shape != (A.shape[1], B.shape[1]) or A.shape[0] != B.shape[0]:
        raise ValueError(f"gemm_update needs C (m, n), A (k, m) and B (k, n); got {C.shape}, {A.shape}, {B.shape}")
    if not (C.dtype == A.dtype == B.dtype) or not C.flags.c_contiguous:
        raise ValueError("gemm_update needs C, A and B of one dtype, and C C-contiguous")
    if not C.flags.writeable:
        raise ValueError("gemm_update writes into C, which is read-only; pass a writeable copy")
    if C.dtype not in _GEMM or C.size == 0 or A.shape[0] == 0 or np.may_share_memory(C, A) or np.may_share_memory(C, B):
        _plain(C, A, B, alpha, beta)  # BLAS must not read what it writes
        return C
    _fused(C, _rows(A), _rows(B), alpha, beta)
    return C


def _rows(M: np.ndarray) -> np.ndarray:
    """``M`` itself if BLAS can read it as row-major with a leading dimension
    (rows may be strided, as a view of a larger batch is; elements may not,
    and rows may not overlap), else a C-ordered copy. BLAS refuses other
    strides with a message on stderr and leaves ``C`` as it was."""
    size = M.itemsize
    if M.strides[1] == size and M.strides[0] % size == 0 and M.strides[0] >= M.shape[1] * size:
        return M
    return np.array(M, order="C", copy=True)


def _works() -> bool:
    """Whether the library found computes what NumPy computes (a wrong
    signature would not fail to load; it would compute nonsense)."""
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        A, B = rng.random((5, 3)).astype(dtype), rng.random((5, 4)).astype(dtype)
        C = rng.random((3, 4)).astype(dtype)
        expected = 0.5 * C - 2.0 * (A.T @ B)
        if not np.allclose(gemm_update(C, A, B, -2.0, 0.5), expected, rtol=1e-5, atol=1e-6):
            return False
    return True


if _GEMM and not _works():
    _GEMM = {}

FUSED = bool(_GEMM)
"""True when :func:`gemm_update` calls NumPy's OpenBLAS; False when it falls back to NumPy operators."""
