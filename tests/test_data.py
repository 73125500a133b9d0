"""The data module: real MNIST (marker ``data``) and built damage cases."""

import errno
import gzip
import io
import logging
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from dlia_a2 import cache, catalog, data, idx, sources
from dlia_a2.files import sha256_bytes, sha256_file

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# --- the real data ------------------------------------------------------------


@pytest.mark.data
def test_mnist_shapes_dtypes_and_label_counts(mnist):
    assert mnist.x_train.shape == (60000, 784) and mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (10000, 784) and mnist.x_test.dtype == np.uint8
    assert mnist.y_train.dtype == np.int64 and mnist.y_test.dtype == np.int64
    assert np.bincount(mnist.y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist.y_test).tolist() == TEST_COUNTS
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.x_train.max() == 255 and mnist.x_train.min() == 0
    assert mnist.class_names == tuple("0123456789")


@pytest.mark.data
def test_mnist_cache_files_match_published_checksums(mnist):
    folder = cache.fetch("mnist")
    for key in catalog.FILE_KEYS:
        name, sha, size = catalog.SPECS["mnist"].files[key]
        assert (folder / name).stat().st_size == size
        assert sha256_file(folder / name) == sha


@pytest.mark.data
def test_train_val_split_is_disjoint_and_seeded(mnist):
    X = np.arange(60000)  # stand-in ids, to see which rows go where
    xa, ya, xv, yv = data.train_val_split(X, mnist.y_train, n_val=10000, seed=3)
    assert len(xa) == 50000 and len(xv) == 10000
    assert not set(xa.tolist()) & set(xv.tolist())
    assert sorted(xa.tolist() + xv.tolist()) == list(range(60000))
    assert np.array_equal(ya, mnist.y_train[xa]) and np.array_equal(yv, mnist.y_train[xv])
    again = data.train_val_split(X, mnist.y_train, 10000, seed=3)
    other = data.train_val_split(X, mnist.y_train, 10000, seed=4)
    assert np.array_equal(again[2], xv) and not np.array_equal(other[2], xv)
    # every class is represented in the validation set
    assert np.bincount(yv, minlength=10).min() > 800


def test_wheel_pickle_rebuilds_the_original_idx_bytes(monkeypatch):
    """A small pickle in the wheel's format, rebuilt into IDX bytes."""
    r = np.random.default_rng(0)
    pix = [r.integers(0, 256, (n, 784)).astype(np.uint8) for n in (3, 2, 4)]
    labs = [r.integers(0, 10, n) for n in (3, 2, 4)]
    parts = tuple((p.astype(np.float32) / 256, l) for p, l in zip(pix, labs))
    blob = gzip.compress(pickle.dumps(parts, protocol=4))
    with pytest.raises(catalog.DataError, match="fails its check"):
        sources.mnist_from_pickle(blob, "test")  # the real checksums refuse it
    want = {
        "train-images": idx.to_idx(np.concatenate(pix[:2]).reshape(5, 28, 28)),
        "train-labels": idx.to_idx(np.concatenate(labs[:2])),
        "t10k-images": idx.to_idx(pix[2].reshape(4, 28, 28)),
        "t10k-labels": idx.to_idx(labs[2]),
    }
    files = {k: (catalog.SPECS["mnist"].files[k][0], sha256_bytes(v), len(v)) for k, v in want.items()}
    monkeypatch.setitem(catalog.SPECS, "mnist", catalog.DatasetSpec(files, {}, (), ()))
    assert sources.mnist_from_pickle(blob, "test") == want
    off = tuple((x + np.float32(1e-3), y) for x, y in parts)  # not k/256
    with pytest.raises(catalog.DataError, match="not exact multiples of 1/256"):
        sources.mnist_from_pickle(gzip.compress(pickle.dumps(off, protocol=4)), "test")


def test_fashion_mnist_from_debian_package(tmp_path):
    if not sources.DEBIAN_FASHION_DIR.is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed (make data installs it where it can)")
    ds = data.load("fashion-mnist", cache_dir=tmp_path)
    assert ds.x_train.shape == (60000, 784) and ds.x_test.shape == (10000, 784)
    assert np.bincount(ds.y_train).tolist() == [6000] * 10
    assert ds.class_names[9] == "Ankle boot"
    assert "debian" in ds.source


# --- preprocessing ------------------------------------------------------------


def test_to_float_is_float32_in_the_unit_range():
    x = np.array([[0, 128, 255]], dtype=np.uint8)
    f = data.to_float(x)
    assert f.dtype == np.float32 and f.min() == 0 and f.max() == 1
    assert f[0, 1] == np.float32(128) / np.float32(255)
    with pytest.raises(TypeError, match="uint8"):
        data.to_float(f)


@pytest.mark.parametrize("n_val", [-1, 100, 500])
def test_split_refuses_impossible_sizes(n_val):
    x, y = np.zeros((100, 2)), np.zeros(100, dtype=int)
    with pytest.raises(ValueError, match="validation set must hold between 0 and 99"):
        data.train_val_split(x, y, n_val=n_val)


@pytest.mark.parametrize("n_val", [2.0, True, "2", None])
def test_split_refuses_a_count_that_is_not_an_int(n_val):
    x, y = np.zeros((100, 2)), np.zeros(100, dtype=int)
    with pytest.raises(TypeError, match=r"^train_val_split\(n_val=.*\): n_val must be a whole number \(an int\)"):
        data.train_val_split(x, y, n_val=n_val)


def test_split_refuses_images_and_labels_of_different_lengths():
    with pytest.raises(ValueError, match="train_val_split: 100 images but 99 labels; pass one label per image"):
        data.train_val_split(np.zeros((100, 2)), np.zeros(99, dtype=int), n_val=10)


# --- damage and bad input -----------------------------------------------------


def fake_idx_files(folder: Path) -> dict:
    """Write four small valid IDX files and return a spec that trusts them."""
    r = np.random.default_rng(0)
    arrays = {
        "train-images": r.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train-labels": r.integers(0, 10, 6).astype(np.uint8),
        "t10k-images": r.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        "t10k-labels": r.integers(0, 10, 2).astype(np.uint8),
    }
    files = {}
    folder.mkdir(parents=True, exist_ok=True)
    for key, a in arrays.items():
        name = catalog.SPECS["mnist"].files[key][0]
        data = idx.to_idx(a)
        (folder / name).write_bytes(data)
        files[key] = (name, sha256_bytes(data), len(data))
    return files


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    files = fake_idx_files(tmp_path / "mnist")
    spec = catalog.DatasetSpec(
        files=files, gz_md5=catalog.SPECS["mnist"].gz_md5, mirrors=(), class_names=catalog.SPECS["mnist"].class_names
    )
    monkeypatch.setitem(catalog.SPECS, "mnist", spec)
    return tmp_path


def test_verified_cache_is_used_without_any_source(fake_mnist):
    ds = data.load("mnist", cache_dir=fake_mnist)
    assert ds.x_train.shape == (6, 784) and ds.x_test.shape == (2, 784)


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
def test_damaged_cache_file_is_set_aside_never_used(fake_mnist, caplog, damage):
    path = fake_mnist / "mnist" / "train-images-idx3-ubyte"
    content = bytearray(path.read_bytes())
    if damage == "flip":
        content[500] ^= 0xFF
    elif damage == "truncate":
        content = content[: len(content) // 2]
    else:
        content = b""
    path.write_bytes(bytes(content))
    path_re = str(path).replace(".", r"\.")
    with (
        caplog.at_level(logging.WARNING, "dlia_a2.cache"),
        pytest.raises(
            catalog.DataError,
            match=f"could not obtain mnist: the cached {path_re} failed its SHA-256 check and was moved to "
            f"{path_re}\\.damaged, and no source could replace it: .*To fix",
        ),
    ):
        data.load("mnist", cache_dir=fake_mnist)  # no source can replace it
    assert "train-images-idx3-ubyte failed its SHA-256 check" in caplog.text
    assert not path.exists()
    assert (fake_mnist / "mnist" / "train-images-idx3-ubyte.damaged").exists()


@pytest.mark.parametrize(
    "data,match",
    [
        (b"\x00\x00\x08\x03" + np.array([2, 28, 28], ">u4").tobytes() + bytes(100), "truncated or damaged"),
        (b"\x1f\x8b\x08\x00" + bytes(20), "not an IDX file"),
        (b"\x00\x00\x0d\x01" + np.array([2], ">u4").tobytes() + bytes(8), "type code"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated inside its header"),
        (b"", "not an IDX file"),
    ],
)
def test_parse_idx_refuses_bad_files(data, match):
    with pytest.raises(catalog.DataError, match=match):
        idx.parse_idx(data, "x.idx")


def test_wheel_with_wrong_checksum_is_not_opened(tmp_path):
    fake = tmp_path / catalog.WHEEL["file"]
    fake.write_bytes(b"PK\x03\x04 not the wheel")
    with pytest.raises(catalog.DataError, match="SHA-256 .* expected 0e3e0a08.*refusing to open"):
        sources.from_wheel("mnist", catalog.SPECS["mnist"], 1.0, wheel_path=fake)


def test_unpickler_admits_arrays_only():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refusing to unpickle"):
        sources._ArraysOnly(io.BytesIO(pickle.dumps(Evil()))).load()
    arr = np.arange(4, dtype=np.float32)
    assert np.array_equal(sources._ArraysOnly(io.BytesIO(pickle.dumps(arr, protocol=4))).load(), arr)


def test_unreachable_mirrors_fail_fast_with_a_fix(tmp_path, monkeypatch):
    spec = catalog.DatasetSpec(
        files=catalog.SPECS["mnist"].files,
        gz_md5=catalog.SPECS["mnist"].gz_md5,
        mirrors=("http://127.0.0.1:9/",),
        class_names=catalog.SPECS["mnist"].class_names,
    )
    monkeypatch.setitem(catalog.SPECS, "mnist", spec)
    with pytest.raises(catalog.DataError, match="no mirror answered.*To fix: connect"):
        cache.fetch("mnist", tmp_path, timeout=2, sources=("mirrors",))


def test_unwritable_cache_dir_is_reported(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(catalog.DataError, match=f"not writable.*set {cache.CACHE_ENV}"):
        cache.fetch("mnist", blocker / "cache")


def read_only(monkeypatch):
    """Make every new file in the cache fail as on a read-only file system
    (chmod would not stop root, who runs the tests in CI)."""

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(cache.tempfile, "NamedTemporaryFile", refuse)
    monkeypatch.setattr(cache.tempfile, "mkstemp", refuse)


def test_complete_read_only_cache_is_used(fake_mnist, monkeypatch):
    """A shared, read-only cache holding all four verified files was once
    refused as not writable before anything was looked at."""
    read_only(monkeypatch)
    assert cache.fetch("mnist", fake_mnist, sources=()) == fake_mnist / "mnist"
    assert data.load("mnist", cache_dir=fake_mnist).x_train.shape == (6, 784)


def test_incomplete_read_only_cache_is_reported(fake_mnist, monkeypatch):
    (fake_mnist / "mnist" / "t10k-labels-idx1-ubyte").unlink()
    read_only(monkeypatch)
    with pytest.raises(catalog.DataError, match=f"not writable.*set {cache.CACHE_ENV}"):
        cache.fetch("mnist", fake_mnist)


def test_unknown_dataset_name_is_refused():
    with pytest.raises(ValueError, match="unknown data set 'cifar10'.*'mnist', 'fashion-mnist'"):
        data.load("cifar10")


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "here"))
    assert cache.default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv(cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_cache_dir() == tmp_path / "xdg" / "dlia-a2"


def test_course_png_folder_is_read(tmp_path):
    from PIL import Image

    r = np.random.default_rng(0)
    want = {}
    for part, n in (("Train", 2), ("Test", 1)):
        for digit in range(10):
            d = tmp_path / part / str(digit)
            d.mkdir(parents=True)
            for i in range(n):
                img = r.integers(0, 256, (28, 28), dtype=np.uint8)
                Image.fromarray(img, mode="L").save(d / f"{i}.png")
                want.setdefault(part, []).append(img.reshape(784))
    ds = data.load("mnist", course_dir=tmp_path)
    assert ds.x_train.shape == (20, 784) and ds.x_test.shape == (10, 784)
    assert np.array_equal(ds.x_train, np.stack(want["Train"]))
    assert ds.y_train.tolist() == [d for d in range(10) for _ in range(2)]
    assert "no published checksum" in ds.source
    shutil.rmtree(tmp_path / "Test" / "3")
    with pytest.raises(catalog.DataError, match="Test/3 not found"):
        data.load("mnist", course_dir=tmp_path)


def test_load_split_holds_out_a_seeded_validation_set_and_subset(fake_mnist, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(fake_mnist))
    X, y, Xv, yv, Xt, yt, names = data.load_split("mnist", n_train=3, n_val=2, seed=4)
    assert (X.shape, Xv.shape, Xt.shape) == ((3, 784), (2, 784), (2, 784))
    assert X.dtype == Xv.dtype == Xt.dtype == np.float32
    assert 0 <= X.min() and X.max() <= 1
    raw = data.load("mnist")
    rows = lambda A: {tuple(np.rint(a * 255).astype(np.uint8)) for a in A}
    train_rows = rows(data.to_float(raw.x_train))
    assert rows(X) <= train_rows and rows(Xv) <= train_rows and not rows(X) & rows(Xv)
    assert np.array_equal(Xt, data.to_float(raw.x_test)) and np.array_equal(yt, raw.y_test)
    again = data.load_split("mnist", n_train=3, n_val=2, seed=4)
    assert np.array_equal(again[0], X) and np.array_equal(again[2], Xv)
    other = data.load_split("mnist", n_train=3, n_val=2, seed=5)
    assert not (np.array_equal(other[0], X) and np.array_equal(other[2], Xv))
    assert names == catalog.SPECS["mnist"].class_names
    with pytest.raises(ValueError, match="n_train must lie between 1 and 4"):
        data.load_split("mnist", n_train=5, n_val=2)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (
            {"n_train": 3.0},
            TypeError,
            r"^load_split\(n_train=3\.0\): n_train must be a whole number \(an int\) and lie between 1 and 6 ",
        ),
        ({"n_train": True}, TypeError, r"^load_split\(n_train=True\): n_train must be a whole number .*; got a bool"),
        (
            {"n_train": np.True_},
            TypeError,
            r"^load_split\(n_train=np.True_\): n_train must be a whole number .*; got a bool",
        ),
        ({"n_train": "3"}, TypeError, r"^load_split\(n_train='3'\): .*; got a str"),
        ({"n_train": -1}, ValueError, r"^load_split\(n_train=-1\): n_train must lie between 1 and 6 \(0 for all\)"),
        ({"n_train": 7}, ValueError, r"^load_split\(n_train=7\): n_train must lie between 1 and 6 \(0 for all\)"),
        ({"n_train": 5, "n_val": 2}, ValueError, r"^load_split\(n_train=5\): .*between 1 and 4 .*less n_val=2"),
        (
            {"n_val": 2.0},
            TypeError,
            r"^load_split\(n_val=2\.0\): n_val must be a whole number \(an int\) and lie between 0 and 5",
        ),
        ({"n_val": False}, TypeError, r"^load_split\(n_val=False\): .*; got a bool"),
        (
            {"n_val": -1},
            ValueError,
            r"^load_split\(n_val=-1\): n_val must lie between 0 and 5, fewer than the 6 training images",
        ),
        ({"n_val": 6}, ValueError, r"^load_split\(n_val=6\): n_val must lie between 0 and 5"),
        (
            {"seed": 1.5},
            TypeError,
            r"^load_split\(seed=1\.5\): seed must be a whole number \(an int\) and be 0 or more; got a float",
        ),
        ({"seed": "0"}, TypeError, r"^load_split\(seed='0'\): .*; got a str"),
        ({"seed": -1}, ValueError, r"^load_split\(seed=-1\): seed must be 0 or more"),
        ({"dataset": "cifar10"}, ValueError, r"^unknown data set 'cifar10'"),
    ],
)
def test_load_split_refuses_bad_arguments_before_reading_any_data(fake_mnist, monkeypatch, kwargs, error, match):
    def no_reading(*args, **kwargs):
        raise AssertionError("load_split read the data before checking its arguments")

    monkeypatch.setattr(data, "load", no_reading)
    with pytest.raises(error, match=match):
        data.load_split(**{"dataset": "mnist", **kwargs})


def test_load_split_names_the_argument_of_the_issue():
    """Issue 21: ``n_train=2000.0`` said "slice indices must be integers"."""
    with pytest.raises(
        TypeError,
        match=r"^load_split\(n_train=2000\.0\): n_train must be a whole number \(an int\) "
        r"and lie between 1 and 60000 \(0 for all\)",
    ):
        data.load_split("mnist", n_train=2000.0)


def test_load_split_accepts_the_edges_of_its_ranges(fake_mnist, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(fake_mnist))
    X, _, Xv, _, _, _, _ = data.load_split("mnist", n_train=np.int64(1), n_val=5, seed=np.uint32(2**32 - 1))
    assert (len(X), len(Xv)) == (1, 5)
    X, _, Xv, _, _, _, _ = data.load_split("mnist", n_train=6, n_val=0, seed=0)
    assert (len(X), len(Xv)) == (6, 0)


def test_part_file_left_in_the_cache_is_removed(fake_mnist, caplog):
    part = fake_mnist / "mnist" / "train-images-idx3-ubyte.k2j4x8.part"
    part.write_bytes(b"the first half of a download")
    with caplog.at_level(logging.WARNING, "dlia_a2.cache"):
        data.load("mnist", cache_dir=fake_mnist)
    assert not part.exists()
    assert f"removed {part}, left by an interrupted write" in caplog.text


# --- course folders -------------------------------------------------------------


def course_folder(root: Path, n: int = 1, suffix: str = ".png") -> None:
    from PIL import Image

    r = np.random.default_rng(0)
    for part in ("Train", "Test"):
        for digit in range(10):
            d = root / part / str(digit)
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(r.integers(0, 256, (28, 28), dtype=np.uint8), mode="L").save(
                    d / f"{i}{suffix}", format="PNG"
                )


@pytest.mark.parametrize(
    "content,why",
    [
        (b"", "not a PNG file"),  # an empty .png
        (b"GIF89a, not a PNG at all", "not a PNG file"),
        (40, "broken PNG file"),  # Pillow's SyntaxError
        (60, "image file is truncated"),  # Pillow's OSError
    ],
    ids=["empty", "not png", "cut in the header", "cut in the pixels"],
)
def test_unreadable_course_png_is_named(tmp_path, content, why):
    course_folder(tmp_path)
    bad = tmp_path / "Train" / "4" / "0.png"
    if isinstance(content, int):
        content = bad.read_bytes()[:content]
    bad.write_bytes(content)
    with pytest.raises(
        catalog.DataError, match=f"{bad} cannot be read as a PNG image \\({why}.*\\); replace or remove it"
    ):
        data.load("mnist", course_dir=tmp_path)


def test_course_png_suffix_in_any_case_is_read(tmp_path):
    course_folder(tmp_path, suffix=".PNG")
    (tmp_path / "Test" / "2" / "0.PNG").rename(tmp_path / "Test" / "2" / "0.Png")
    ds = data.load("mnist", course_dir=tmp_path)
    assert ds.x_train.shape == (10, 784) and ds.x_test.shape == (10, 784)


def test_unexpected_course_folders_and_files_are_named_in_a_warning(tmp_path):
    course_folder(tmp_path)
    for odd in ("x", "10"):
        (tmp_path / "Train" / odd).mkdir()
    (tmp_path / "Test" / "7" / "notes.txt").write_text("")
    (tmp_path / "Test" / "7" / ".DS_Store").write_bytes(b"")  # hidden files are nobody's data
    with pytest.warns(UserWarning) as seen:
        ds = data.load("mnist", course_dir=tmp_path)
    messages = [str(w.message) for w in seen]
    assert messages == [
        f"{tmp_path / 'Train'}: ignoring 10, x; a course folder holds one folder per class, named 0 to 9",
        f"{tmp_path / 'Test' / '7'}: ignoring notes.txt, not PNG images",
    ]
    assert ds.x_train.shape == (10, 784)
