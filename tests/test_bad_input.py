"""More bad input: damaged downloads, report parameters, and properties of
the shapes the core accepts (hypothesis)."""

import gzip
import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlp_core as mc
import report_run
from dlia_a2 import cache, catalog, idx, parameter_file, sources, training
from dlia_a2.config import TrainConfig
from dlia_a2.parameters import ParameterError

ROOT = Path(__file__).resolve().parents[1]


# --- damaged downloads ----------------------------------------------------------


def tiny_mnist():
    r = np.random.default_rng(1)
    return {
        "train-images": idx.to_idx(r.integers(0, 256, (4, 28, 28), dtype=np.uint8)),
        "train-labels": idx.to_idx(r.integers(0, 10, 4).astype(np.uint8)),
        "t10k-images": idx.to_idx(r.integers(0, 256, (2, 28, 28), dtype=np.uint8)),
        "t10k-labels": idx.to_idx(r.integers(0, 10, 2).astype(np.uint8)),
    }


@pytest.fixture
def mirror(monkeypatch):
    """A fake mirror serving the tiny files gzipped; `damage` alters one."""
    raw = tiny_mnist()
    gz = {k: gzip.compress(v, mtime=0) for k, v in raw.items()}
    files = {k: (catalog.SPECS["mnist"].files[k][0], hashlib.sha256(v).hexdigest(), len(v)) for k, v in raw.items()}
    md5 = {k: hashlib.md5(v).hexdigest() for k, v in gz.items()}
    served = dict(gz)

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    def urlopen(url, timeout):
        key = next(k for k in files if url.endswith(files[k][0] + ".gz"))
        return Response(served[key])

    monkeypatch.setattr(sources.urllib.request, "urlopen", urlopen)
    monkeypatch.setitem(
        catalog.SPECS, "mnist", catalog.DatasetSpec(files, md5, ("http://mirror.test/",), tuple("0123456789"))
    )
    return served, gz, md5


def test_fake_mirror_serves_verified_files(mirror, tmp_path):
    folder = cache.fetch("mnist", tmp_path, sources=("mirrors",))
    assert idx.parse_idx((folder / "t10k-labels-idx1-ubyte").read_bytes()).shape == (2,)


def _damaged(kind, data):
    if kind == "truncated gzip":
        return data[: len(data) // 2]
    if kind == "flipped byte":
        b = bytearray(data)
        b[len(b) // 2] ^= 0x01
        return bytes(b)
    if kind == "download killed half way":
        return data[:100]
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["truncated gzip", "flipped byte", "download killed half way"])
def test_damaged_download_is_refused_and_nothing_cached(mirror, tmp_path, kind):
    served, gz, _ = mirror
    served["train-images"] = _damaged(kind, gz["train-images"])
    with pytest.raises(catalog.DataError, match="train-images-idx3-ubyte.gz has MD5 .*damaged download"):
        cache.fetch("mnist", tmp_path, sources=("mirrors",))
    assert not list((tmp_path / "mnist").glob("*ubyte"))


@pytest.mark.parametrize(
    "kind,match",
    [
        ("wrong magic", "train-images-idx3-ubyte from http://mirror.test/.* fails its check"),
        ("wrong dimensions", "fails its check"),
        ("not gzip", "not a valid gzip file"),
    ],
)
def test_wrong_content_with_matching_md5_is_refused(mirror, tmp_path, kind, match):
    served, gz, md5 = mirror
    raw = gzip.decompress(gz["train-images"])
    if kind == "wrong magic":
        bad = gzip.compress(b"\x00\x00\x08\x01" + raw[4:], mtime=0)
    elif kind == "wrong dimensions":
        bad = gzip.compress(raw[:8] + np.array([27, 29], ">u4").tobytes() + raw[16:], mtime=0)
    else:
        bad = b"this is not gzip at all"
    served["train-images"] = bad
    md5["train-images"] = hashlib.md5(bad).hexdigest()  # a mirror that lies consistently
    with pytest.raises(catalog.DataError, match=match):
        cache.fetch("mnist", tmp_path, sources=("mirrors",))


def test_wrong_magic_and_dimensions_are_named_by_the_parser():
    raw = tiny_mnist()["train-images"]
    with pytest.raises(catalog.DataError, match="IDX type code"):
        idx.parse_idx(b"\x00\x00\x09\x03" + raw[4:], "f")
    with pytest.raises(catalog.DataError, match=r"promises shape \(4, 27, 29\)"):
        idx.parse_idx(raw[:8] + np.array([27, 29], ">u4").tobytes() + raw[16:], "f")


def test_unknown_source_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown source 'ftp'"):
        cache.fetch("mnist", tmp_path / "c", sources=("ftp",))


# --- report parameters ----------------------------------------------------------


def test_unknown_notebook_parameter_is_refused(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("learning_rate: 0.1\nlearnig_rate: 0.2\n")
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['learnig_rate'\].*declares"):
        parameter_file.load("2_one_layer", params)


def test_parameter_file_must_be_a_mapping(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="must be a mapping"):
        parameter_file.load("2_one_layer", params)


def test_unknown_dataset_for_a_report_is_refused(tmp_path):
    with pytest.raises(
        ParameterError, match="dataset = 'cifar' is not allowed; dataset must be one of 'mnist', 'fashion-mnist'"
    ):
        report_run.run_notebook(
            ROOT / "notebooks" / "2_one_layer.ipynb",
            ROOT / "report" / "config" / "small" / "2_one_layer.yaml",
            tmp_path / "out.ipynb",
            str(tmp_path),
            "cifar",
        )


# --- mistakes at the API (issue 21) ---------------------------------------------


def small_run(params=None, **over):
    r = np.random.default_rng(0)
    X, y = r.random((40, 6), dtype=np.float32), r.integers(0, 3, 40)
    cfg = TrainConfig(**{"layer_sizes": (6, 5, 3), "init": "he", "batch_size": 8, "epochs": 2, **over})
    return training.train(X, y, cfg, np.random.default_rng(1), params=params)


def test_fortran_ordered_starting_weights_train_as_c_ordered_ones():
    """The fused step gave a BLAS message for column-major weights; they are
    copied in row order like any other given weights."""
    start = mc.initialize_parameters((6, 5, 3), np.random.default_rng(3), "he")
    fortran = {k: np.asfortranarray(v) for k, v in start.items()}
    assert not fortran["W1"].flags.c_contiguous
    by_rows, _ = small_run(start)
    by_columns, _ = small_run(fortran)
    assert all(by_rows[k].tobytes() == by_columns[k].tobytes() for k in start)
    assert not fortran["W1"].flags.c_contiguous  # the caller's arrays are left as they were


def test_nan_in_starting_weights_is_refused_before_training():
    start = mc.initialize_parameters((6, 5, 3), np.random.default_rng(3), "he")
    start["W2"][1, 2] = np.nan
    with pytest.raises(ValueError, match=r"starting weights \['W2'\] hold NaN or infinite values"):
        small_run(start)


@pytest.mark.parametrize("init", mc.INITIALIZATIONS)
def test_layer_of_size_zero_is_refused_by_the_core(init):
    with pytest.raises(ValueError, match=r"at least one unit; got layer sizes \[4, 0, 3\]"):
        mc.initialize_parameters([4, 0, 3], np.random.default_rng(0), init)


def test_empty_batch_is_refused_by_the_loss_and_by_evaluate():
    params = mc.initialize_parameters((6, 3), np.random.default_rng(0))
    with pytest.raises(ValueError, match="the batch is empty"):
        mc.softmax_cross_entropy(np.zeros((0, 3), np.float32), np.zeros(0, np.intp))
    with pytest.raises(ValueError, match="is empty"):
        training.evaluate(np.zeros((0, 6), np.float32), np.zeros(0, np.intp), params, "relu")


def test_one_hot_labels_in_evaluate_are_refused_with_the_fix():
    params = mc.initialize_parameters((6, 3), np.random.default_rng(0))
    X, y = np.random.default_rng(1).random((5, 6), dtype=np.float32), np.array([0, 1, 2, 1, 0])
    with pytest.raises(ValueError, match=r"y.argmax\(axis=1\)"):
        training.evaluate(X, np.eye(3)[y], params, "relu")


def test_one_image_or_the_wrong_feature_count_is_refused_with_the_shape_wanted():
    params = mc.initialize_parameters((6, 4, 3), np.random.default_rng(0))
    image = np.random.default_rng(1).random(6, dtype=np.float32)
    with pytest.raises(ValueError, match=r"shape \(N, 6\) for this network, got \(6,\); one image: X.reshape\(1, -1\)"):
        mc.predict(image, params, "relu")
    assert mc.predict(image.reshape(1, -1), params, "relu").shape == (1,)
    with pytest.raises(ValueError, match=r"shape \(N, 6\) for this network, got \(2, 5\)"):
        mc.predict_proba(np.zeros((2, 5), np.float32), params, "relu")


def test_the_activation_must_be_named_wherever_a_network_is_evaluated():
    """A sigmoid network evaluated without saying so was silently a ReLU one."""
    params = mc.initialize_parameters((6, 4, 3), np.random.default_rng(0))
    X, y = np.ones((2, 6), np.float32), np.array([0, 1])
    for call in (
        lambda: mc.predict(X, params),
        lambda: mc.predict_proba(X, params),
        lambda: mc.model_forward(X, params),
        lambda: training.evaluate(X, y, params),
    ):
        with pytest.raises(TypeError, match="activation"):
            call()


def test_dropout_refuses_integer_input_instead_of_skipping_the_scaling():
    with pytest.raises(TypeError, match="floating-point input.*int64"):
        mc.dropout_forward(np.ones((3, 4), np.int64), 0.5, np.random.default_rng(0))


# --- properties -----------------------------------------------------------------

sizes = st.lists(st.integers(1, 12), min_size=1, max_size=3).flatmap(
    lambda hidden: st.integers(2, 6).map(lambda c: [hidden[0] + 1, *hidden[1:], c])
)


@settings(max_examples=60, deadline=None)
@given(layer_sizes=sizes, n=st.integers(1, 20), activation=st.sampled_from(mc.ACTIVATIONS), seed=st.integers(0, 2**31))
def test_forward_backward_shapes_for_any_network(layer_sizes, n, activation, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, layer_sizes[0])).astype(np.float32)
    y = rng.integers(0, layer_sizes[-1], n)
    params = mc.initialize_parameters(layer_sizes, rng, init="he")
    scores, caches = mc.model_forward(X, params, activation)
    assert scores.shape == (n, layer_sizes[-1]) and scores.dtype == np.float32
    loss, dscores = mc.softmax_cross_entropy(scores, y)
    grads = mc.model_backward(dscores, caches)
    assert np.isfinite(loss) and loss >= 0
    for k, p in params.items():
        assert grads["d" + k].shape == p.shape
    P = mc.predict_proba(X, params, activation)
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-5)
    assert mc.predict(X, params, activation).shape == (n,)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 200), data=st.data())
def test_mini_batches_partition_any_data_set(n, data):
    batch_size = data.draw(st.integers(1, n))
    X = np.arange(n, dtype=np.float32)[:, None]
    y = np.arange(n)
    batches = mc.random_mini_batches(X, y, batch_size, np.random.default_rng(0))
    assert len(batches) == -(-n // batch_size)
    assert all(len(b[1]) == batch_size for b in batches[:-1])
    assert sorted(np.concatenate([b[1] for b in batches]).tolist()) == list(range(n))


@settings(max_examples=40, deadline=None)
@given(bad=st.sampled_from([np.nan, np.inf, -np.inf]), i=st.integers(0, 59), j=st.integers(0, 4))
def test_any_non_finite_pixel_is_refused(bad, i, j):
    X = np.zeros((60, 5), np.float32)
    X[i, j] = bad
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        training.check_inputs(X, np.zeros(60, dtype=int), 5, 2)
