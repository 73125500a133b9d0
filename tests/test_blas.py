"""The fused product ``C <- beta C + alpha A.T B``: which BLAS it finds,
what it says when it finds none, and that both paths compute the product."""

import ctypes
import ctypes.util
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dlia_a2 import blas

# --- finding NumPy's BLAS -------------------------------------------------------


def test_blas_path_names_what_threadpoolctl_reports():
    """Wherever the suite runs: the path is fused exactly when a gemm was
    found, and either names the library threadpoolctl reports and the
    symbol, or gives the reason it is not fused."""
    info = blas.numpy_blas()
    assert blas.FUSED == blas.PATH.startswith("fused: ") == bool(blas._GEMM)
    if blas.FUSED:
        assert info is not None
        name = Path(info["filepath"]).name
        assert blas.PATH.startswith(f"fused: {info['internal_api']} {info['version']} {name} ")
        symbol = blas.PATH.rsplit(" ", 1)[1]
        assert symbol in dict(blas.SYMBOLS)
        assert hasattr(ctypes.CDLL(info["filepath"]), symbol)
        assert str(Path(info["filepath"]).parent) not in blas.PATH  # the same record on every machine
    else:
        assert blas.PATH.startswith("plain NumPy: ") and len(blas.PATH) > len("plain NumPy: ") + 10


def test_numpy_openblas_is_fused_on_this_platform():
    """Wherever threadpoolctl reports an OpenBLAS as NumPy's (PyPI wheels,
    conda, Debian), it exports one of the names tried. If this fails the
    build still works, only unfused, and the speed claims no longer hold."""
    info = blas.numpy_blas()
    if info is None or info["internal_api"] != "openblas":
        pytest.skip(f"NumPy's BLAS is not an OpenBLAS that threadpoolctl reports ({blas.PATH})")
    assert blas.FUSED, blas.PATH


def test_numpy_blas_is_told_apart_from_another_loaded_blas(monkeypatch):
    """SciPy brings an OpenBLAS of its own; NumPy's is the one of its build
    configuration's version, then the one in NumPy's own folders."""
    numpy_dir = Path(np.__file__).resolve().parent
    ours = {"filepath": str(numpy_dir.parent / "numpy.libs" / "libopenblas.so"), "version": "0.3.31"}
    scipy = {"filepath": str(numpy_dir.parent / "scipy.libs" / "libopenblas.so"), "version": "0.3.27"}
    monkeypatch.setattr(blas, "_built_with", lambda: {"name": "scipy-openblas", "version": "0.3.31"})
    monkeypatch.setattr(blas, "_reported", lambda: [scipy, ours])
    assert blas.numpy_blas() is ours
    monkeypatch.setattr(blas, "_reported", lambda: [dict(scipy, version="0.3.31"), ours])
    assert blas.numpy_blas() is ours
    monkeypatch.setattr(blas, "_reported", lambda: [dict(scipy, version="0.3.31"), dict(ours, filepath="/elsewhere")])
    assert blas.numpy_blas() is None
    monkeypatch.setattr(blas, "_reported", lambda: [])
    assert blas.numpy_blas() is None


def test_loader_says_why_it_does_not_fuse(tmp_path):
    gemm, path = blas._load(None)
    assert gemm == {} and path.startswith("plain NumPy: threadpoolctl reports no BLAS library it can tell is NumPy's")
    missing = {"filepath": str(tmp_path / "libopenblas.so"), "internal_api": "openblas", "version": "0.3"}
    gemm, path = blas._load(missing)
    assert gemm == {} and path.startswith("plain NumPy: openblas 0.3 libopenblas.so cannot be opened")
    libm = ctypes.util.find_library("m")
    if libm is None:
        pytest.skip("no C maths library to stand in for a BLAS without gemm")
    gemm, path = blas._load({"filepath": libm, "internal_api": "openblas", "version": "0.3"})
    assert gemm == {} and path.endswith("exports none of " + ", ".join(n for n, _ in blas.SYMBOLS))


def test_loader_refuses_a_gemm_that_computes_nonsense(monkeypatch):
    """A symbol with the wrong signature loads; the check at import catches it."""
    if not blas.FUSED:
        pytest.skip(f"no fused path here ({blas.PATH})")
    monkeypatch.setattr(blas, "_works", lambda gemm: False)
    gemm, path = blas._load(blas.numpy_blas())
    assert gemm == {} and "did not compute what NumPy computes" in path


PLAIN = textwrap.dedent("""
    import warnings
    import numpy as np
    import threadpoolctl
    threadpoolctl.threadpool_info = lambda: []  # a NumPy whose BLAS threadpoolctl cannot see
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from dlia_a2 import blas
        import dlia_a2.blas
        from dlia_a2 import optimizers
    print(len(caught), caught[0].category.__name__ if caught else "")
    print(caught[0].message if caught else "")
    print(blas.PATH)
    print(blas.FUSED, blas._GEMM)
    rng = np.random.default_rng(0)
    A, B, C = rng.random((5, 3), np.float32), rng.random((5, 4), np.float32), rng.random((3, 4), np.float32)
    expected = 0.5 * C - 2.0 * (A.T @ B)
    print(np.allclose(blas.gemm_update(C, A, B, -2.0, 0.5), expected, rtol=1e-6))
""")


def test_plain_path_is_taken_and_said_once_where_no_blas_is_found():
    out = subprocess.run([sys.executable, "-c", PLAIN], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    count, message, path, state, correct = out.stdout.splitlines()
    assert count == "1 BlasFallbackWarning"
    assert message.startswith("the SGD step runs unfused, plain NumPy: threadpoolctl reports no BLAS")
    assert "(it reports: none; NumPy was built with " in message
    assert path.startswith("plain NumPy: ") and path in message
    assert state == "False {}" and correct == "True"


# --- the product itself, on both paths --------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fused", [True, False], ids=["numpy-blas", "numpy-operators"])
def test_gemm_update_is_beta_c_plus_alpha_a_transpose_b(dtype, fused, monkeypatch):
    if not fused:
        monkeypatch.setattr(blas, "_GEMM", {})
    elif not blas.FUSED:
        pytest.skip("NumPy's OpenBLAS was not found; the fallback is tested beside this")
    rng = np.random.default_rng(0)
    big = rng.standard_normal((9, 40)).astype(dtype)
    A = big[:7, 3:15]  # rows strided, as a view of a larger batch can be
    B = rng.standard_normal((7, 5)).astype(dtype)
    C = rng.standard_normal((12, 5)).astype(dtype)
    expected = 0.75 * C.astype(np.float64) - 0.1 * (A.T.astype(np.float64) @ B)
    out = blas.gemm_update(C, A, B, -0.1, 0.75)
    assert out is C
    np.testing.assert_allclose(C, expected, rtol=20 * np.finfo(dtype).eps, atol=20 * np.finfo(dtype).eps)


def test_gemm_update_refuses_mismatched_shapes():
    C = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"C \(m, n\), A \(k, m\) and B \(k, n\)"):
        blas.gemm_update(C, np.zeros((5, 4), np.float32), np.zeros((5, 4), np.float32), 1.0)
    with pytest.raises(ValueError, match="one dtype"):
        blas.gemm_update(C, np.zeros((5, 3)), np.zeros((5, 4), np.float32), 1.0)


@pytest.mark.parametrize(
    "A",
    [
        np.broadcast_to(np.arange(3.0), (7, 3)),  # rows with stride 0
        np.lib.stride_tricks.sliding_window_view(np.arange(9.0), 3),  # overlapping rows
        np.asfortranarray(np.arange(21.0).reshape(7, 3)),  # column-major
    ],
    ids=["zero-stride", "overlapping", "fortran"],
)
def test_gemm_update_copies_what_blas_cannot_read(A):
    """BLAS refuses such strides with a note on stderr and leaves C alone:
    the update would be skipped without a word."""
    B = np.ones((A.shape[0], 2))
    C = np.zeros((3, 2))
    blas.gemm_update(C, A, B, 1.0)
    np.testing.assert_allclose(C, np.asarray(A).T @ B)


def test_gemm_update_neither_writes_a_read_only_c_nor_reads_what_it_writes():
    C = np.ones((3, 3))
    C.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        blas.gemm_update(C, np.ones((2, 3)), np.ones((2, 3)), 1.0)
    W = np.arange(9.0).reshape(3, 3)
    expected = W + W.T @ W
    blas.gemm_update(W, W, W, 1.0)  # C is A and B: computed without BLAS
    np.testing.assert_allclose(W, expected)


def test_environment_records_which_path_ran(monkeypatch):
    """The report's appendix reads the environment record."""
    from dlia_a2.environment import environment

    assert environment()["blas_path"] == blas.PATH
    monkeypatch.setattr(blas, "PATH", "plain NumPy: forced by the test")
    assert environment()["blas_path"] == "plain NumPy: forced by the test"
