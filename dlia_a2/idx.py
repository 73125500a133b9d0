"""The IDX file format of MNIST and Fashion-MNIST: parsed and written."""

from __future__ import annotations

import numpy as np

from dlia_a2.catalog import DataError

_IDX_DTYPES = {0x08: np.uint8}


def parse_idx(data: bytes, what: str = "IDX data") -> np.ndarray:
    """Parse an (uncompressed) IDX file.

    The file is the magic ``0 0 <type> <ndim>``, then ``ndim`` big-endian
    uint32 sizes, then the values.

    Parameters
    ----------
    data : bytes
        The whole file.
    what : str
        How to name it in a message (its path, say).

    Returns
    -------
    ndarray
        A read-only view of ``data`` in the shape the header gives.

    Raises
    ------
    DataError
        If the magic, the type code or the length is wrong.
    """
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
    """Encode a uint8 array as IDX bytes (the inverse of :func:`parse_idx`).

    Parameters
    ----------
    array : ndarray
        Any shape; converted to uint8.

    Returns
    -------
    bytes
    """
    a = np.ascontiguousarray(array, dtype=np.uint8)
    head = bytes([0, 0, 0x08, a.ndim]) + np.asarray(a.shape, ">u4").tobytes()
    return head + a.tobytes()
