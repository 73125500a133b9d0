"""The one matrix product NumPy has no function for: ``C <- beta * C +
alpha * A.T @ B`` written into ``C`` in place (BLAS ``gemm`` with ``beta``),
taken from the BLAS that NumPy itself uses.

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

The library is the one ``threadpoolctl`` reports as NumPy's BLAS (its
``filepath``, ``internal_api`` and ``version``), and the ``gemm`` in it is
the first of the names NumPy's builds use that the library exports:
``scipy_cblas_sgemm64_`` (NumPy's wheels from PyPI), ``cblas_sgemm64_``,
``scipy_cblas_sgemm`` or ``cblas_sgemm``; a ``64_`` suffix means 64-bit
integer arguments. Where none fits (Accelerate, which ``threadpoolctl`` does
not report, say, or a library that fails the check at import),
:func:`gemm_update` computes the same thing with NumPy operators: the same
result to rounding, but rounded differently, so a run's bits depend on it.
:data:`PATH` says which path runs, and a ``BlasFallbackWarning`` says once,
at import, why the step is not fused.
"""

from __future__ import annotations

import ctypes
import warnings
from pathlib import Path

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # the CBLAS enums
# (name of the single-precision gemm, whether its integers are 64-bit), tried in
# this order; None: 64-bit if the library says it was built with USE64BITINT
SYMBOLS = (
    ("scipy_cblas_sgemm64_", True),
    ("cblas_sgemm64_", True),
    ("scipy_cblas_sgemm", None),
    ("cblas_sgemm", None),
)
_OPENBLAS_CONFIG = (
    "scipy_openblas_get_config64_",
    "openblas_get_config64_",
    "scipy_openblas_get_config",
    "openblas_get_config",
)


class BlasFallbackWarning(RuntimeWarning):
    """NumPy's BLAS cannot be called directly; the SGD step runs unfused."""


def numpy_blas() -> dict | None:
    """``threadpoolctl``'s record of the BLAS NumPy uses (keys ``filepath``,
    ``internal_api``, ``prefix``, ``version``, ``architecture``, ...), or
    None when it reports none or cannot tell which of several is NumPy's.

    When several BLAS libraries are loaded (SciPy brings its own), NumPy's is
    the one whose version NumPy's build configuration names, and of those
    the one that NumPy's own folders hold.
    """
    found = _reported()
    if len(found) > 1:
        found = [i for i in found if i.get("version") == _built_with().get("version")]
    if len(found) > 1:
        numpy_dir = str(Path(np.__file__).resolve().parent)  # numpy/ and numpy.libs/ beside it
        found = [i for i in found if str(Path(i["filepath"]).resolve()).startswith(numpy_dir)]
    return found[0] if len(found) == 1 else None


def _reported() -> list[dict]:
    """The BLAS libraries ``threadpoolctl`` reports loaded, NumPy's among them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    np.ones(2) @ np.ones(2)  # make sure NumPy's BLAS is loaded
    return [i for i in threadpool_info() if i.get("user_api") == "blas" and i.get("filepath")]


def _built_with() -> dict:
    """The BLAS of NumPy's build configuration (``name``, ``version``), or {} (NumPy 1.x built with distutils)."""
    return getattr(np.__config__, "CONFIG", {}).get("Build Dependencies", {}).get("blas", {})


def _load(info: dict | None) -> tuple[dict, str]:
    """``({dtype: gemm}, "fused: <library> <symbol>")`` for the library of
    ``info`` (a record of :func:`numpy_blas`), or ``({}, "plain NumPy:
    <reason>")``."""
    if info is None:
        seen = ", ".join(f"{i.get('internal_api')} {i.get('version')}" for i in _reported()) or "none"
        return {}, (
            f"plain NumPy: threadpoolctl reports no BLAS library it can tell is NumPy's (it reports: {seen}; "
            f"NumPy was built with {_built_with().get('name', 'a BLAS it does not name')})"
        )
    lib_name = f"{info.get('internal_api')} {info.get('version')} {Path(info['filepath']).name}"  # not where it is
    try:
        lib = ctypes.CDLL(info["filepath"])
    except OSError as e:
        return {}, f"plain NumPy: {lib_name} cannot be opened ({e})"
    for name, wide in SYMBOLS:
        if not (hasattr(lib, name) and hasattr(lib, name.replace("sgemm", "dgemm", 1))):
            continue
        if wide is None:
            wide = _built_with_64bit_integers(lib)
        gemm = {
            np.dtype(dtype): _prototype(getattr(lib, name.replace("sgemm", prefix, 1)), real, wide)
            for dtype, prefix, real in ((np.float32, "sgemm", ctypes.c_float), (np.float64, "dgemm", ctypes.c_double))
        }
        if not _works(gemm):
            return {}, f"plain NumPy: {name} in {lib_name} did not compute what NumPy computes in the check at import"
        return gemm, f"fused: {lib_name} {name}"
    return {}, f"plain NumPy: {lib_name} exports none of {', '.join(n for n, _ in SYMBOLS)}"


def _built_with_64bit_integers(lib: ctypes.CDLL) -> bool:
    """Whether an OpenBLAS says it was built with 64-bit integers; other
    libraries export the unsuffixed CBLAS names with 32-bit ones (LP64)."""
    for name in _OPENBLAS_CONFIG:
        if hasattr(lib, name):
            get_config = getattr(lib, name)
            get_config.restype = ctypes.c_char_p
            return b"USE64BITINT" in get_config()
    return False


def _prototype(f, real, wide: bool):
    i, p = (ctypes.c_int64 if wide else ctypes.c_int32), ctypes.c_void_p
    f.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, i, i, i, real, p, i, p, i, real, p, i]
    f.restype = None
    return f


def _works(gemm: dict) -> bool:
    """Whether the library found computes what NumPy computes (a wrong
    signature would not fail to load; it would compute nonsense)."""
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        A, B = rng.random((5, 3)).astype(dtype), rng.random((5, 4)).astype(dtype)
        C = rng.random((3, 4)).astype(dtype)
        expected = 0.5 * C - 2.0 * (A.T @ B)
        _fused(gemm, C, A, B, -2.0, 0.5)
        if not np.allclose(C, expected, rtol=1e-5, atol=1e-6):
            return False
    return True


def _fused(gemm: dict, C: np.ndarray, A: np.ndarray, B: np.ndarray, alpha: float, beta: float) -> None:
    (k, m), n = A.shape, B.shape[1]
    size = C.itemsize
    gemm[C.dtype](
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
        Rounded to the dtype of ``C``, as BLAS takes them.

    Returns
    -------
    C : ndarray, shape (m, n)
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
    _fused(_GEMM, C, _rows(A), _rows(B), alpha, beta)
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


_GEMM, PATH = _load(numpy_blas())
"""Which path :func:`gemm_update` runs: ``"fused: <library> <symbol>"`` or
``"plain NumPy: <reason>"``. The environment record and the checkpoint
fingerprint carry it, since the two paths round differently."""
FUSED = bool(_GEMM)
"""True when :func:`gemm_update` calls NumPy's BLAS; False when it falls back to NumPy operators."""
if not FUSED:
    warnings.warn(f"the SGD step runs unfused, {PATH}", BlasFallbackWarning, stacklevel=2)
