"""The IDX file format of MNIST (and Fashion-MNIST, EMNIST...).

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, then ``ndim`` big-endian
uint32 dimensions, then the C-ordered payload. MNIST uses dtype code ``0x08`` (uint8): images are
``idx3`` (N, 28, 28) and labels ``idx1`` (N,). Files may be gzipped (``.gz``).
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from segdend_lite.atomic import atomic_write_bytes

#: IDX dtype codes -> numpy big-endian dtypes.
IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {v: k for k, v in IDX_DTYPES.items()}


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of one (already decompressed) IDX file into an array.

    Raises ``ValueError`` naming ``name`` if the magic number, the dimensions or the length of
    the payload are wrong.
    """
    if len(raw) < 4:
        raise ValueError(f"{name}: only {len(raw)} bytes, too short to be an IDX file")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in IDX_DTYPES:
        raise ValueError(
            f"{name}: bad magic number {raw[:4].hex()} (expected 0000 then a dtype code such as "
            "08, then the number of dimensions); is this really an IDX file?"
        )
    if not 1 <= ndim <= 4:
        raise ValueError(f"{name}: {ndim} dimensions in the header; IDX files here have 1 to 4")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{name}: truncated header ({len(raw)} bytes, need {header})")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    if any(d == 0 for d in shape):
        raise ValueError(f"{name}: a dimension is zero in the header {shape}")
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        raise ValueError(
            f"{name}: header says shape {shape} ({expected} payload bytes) but the file holds "
            f"{got}; the file is {'truncated' if got < expected else 'too long'}. "
            "Download it again."
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzipped if its name ends in ``.gz``."""
    path = Path(path)
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: not a valid gzip file ({exc}); download it again") from exc
    return parse_idx(data, str(path))


def encode_idx(arr: np.ndarray) -> bytes:
    """Encode an array as the bytes of an IDX file (the inverse of :func:`parse_idx`)."""
    arr = np.asarray(arr)
    base = arr.dtype.newbyteorder(">") if arr.dtype.itemsize > 1 else arr.dtype
    if base not in _CODES:
        raise ValueError(
            f"dtype {arr.dtype} has no IDX code; use one of {list(IDX_DTYPES.values())}"
        )
    header = struct.pack(">HBB", 0, _CODES[base], arr.ndim) + struct.pack(
        f">{arr.ndim}I", *arr.shape
    )
    return header + np.ascontiguousarray(arr, dtype=base).tobytes()


def write_idx(path: str | os.PathLike, arr: np.ndarray) -> Path:
    """Write ``arr`` as an IDX file, atomically; gzipped (reproducibly) if the name ends in .gz."""
    path = Path(path)
    data = encode_idx(arr)
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=9, mtime=0)
    atomic_write_bytes(path, data)
    return path
