"""A data set of MNIST's shape, the checksums of MNIST, and any folder of IDX files.

:class:`Dataset` holds images as rows of 784 uint8 pixels and uint8 labels. IDX files of another
dtype are converted only when every value is a whole number in 0..255 (a lossless conversion);
anything else (fractions, negative or larger values) is refused with a message naming the file.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segdend_lite.data.idx import read_idx

#: (array name, official file stem) for the four MNIST files.
FILES = (
    ("x_train", "train-images-idx3-ubyte"),
    ("y_train", "train-labels-idx1-ubyte"),
    ("x_test", "t10k-images-idx3-ubyte"),
    ("y_test", "t10k-labels-idx1-ubyte"),
)

#: SHA-256 of the C-ordered bytes of each array (= the payload of the official IDX file).
MNIST_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}


@dataclass(frozen=True, repr=False)
class Dataset:
    """Images as rows of 784 uint8 pixels (0-255, row-major 28x28) and uint8 labels 0-9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = field(default="")

    def __repr__(self) -> str:
        return (
            f"Dataset(train={self.x_train.shape}, test={self.x_test.shape}, source={self.source!r})"
        )

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name, _ in FILES}


def sha256_of_array(arr: np.ndarray) -> str:
    """SHA-256 (hex) of the C-ordered bytes of ``arr``."""
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def as_uint8(arr: np.ndarray, where: str) -> np.ndarray:
    """``arr`` as uint8: unchanged if it is uint8; converted if every value is a whole number
    in 0..255; otherwise a ValueError naming ``where`` (a file) and the values found."""
    arr = np.asarray(arr)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{where}: holds {arr.dtype} values; pixels and labels must be uint8")
    lo, hi = (arr.min(), arr.max()) if arr.size else (0, 0)
    whole = arr.dtype.kind in "iu" or bool(np.all(np.isfinite(arr)) and np.all(arr == np.rint(arr)))
    if not whole or lo < 0 or hi > 255:
        raise ValueError(
            f"{where}: holds {arr.dtype} values {lo}..{hi}, which do not fit uint8 pixels and "
            "labels (whole numbers 0..255). Convert the file first: images in [0, 1] times 255, "
            "rounded; other data is not MNIST-like and is not converted here."
        )
    return arr.astype(np.uint8)


def as_dataset(arrays: dict[str, np.ndarray], source: str, where: dict | None = None) -> Dataset:
    """A :class:`Dataset` from the four arrays (images (N, 28, 28) or (N, 784), labels (N,)),
    converted to uint8 by :func:`as_uint8`; ``where``: the file of each array, for messages."""
    flat = {}
    for name, arr in arrays.items():
        label = f"{(where or {}).get(name, source)} ({name})"
        arr = np.ascontiguousarray(as_uint8(arr, label))
        if name.startswith("y") and arr.ndim != 1:
            raise ValueError(f"{label}: labels must be one number per image; got shape {arr.shape}")
        flat[name] = arr.reshape(arr.shape[0], -1) if name.startswith("x") else arr
    for split in ("train", "test"):
        nx, ny = len(flat[f"x_{split}"]), len(flat[f"y_{split}"])
        if nx != ny:
            raise ValueError(f"{source}: {nx} {split} images but {ny} {split} labels")
    return Dataset(**flat, source=source)


def source_name(source: str) -> str:
    """A :class:`Dataset`'s ``source`` without the local folders in it, for files that others
    read (provenance of stored runs): ``"cache (verified by SHA-256)"``, ``"download from the
    public mirrors (verified by SHA-256)"``, ``"IDX folder NAME"`` (the folder's own name), or
    the source itself where it names no local folder (the offline route, the bundled subset)."""
    if source.startswith("cache "):
        return "cache (verified by SHA-256)"
    if source.startswith("download"):
        return "download from the public mirrors (verified by SHA-256)"
    if source.startswith("IDX folder "):
        return f"IDX folder {Path(source[len('IDX folder ') :]).name}"
    return source


def find_idx_file(folder: Path, stem: str) -> Path | None:
    """Find ``stem`` in ``folder`` under either name style (-idx or .idx), gzipped or not."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, dotted):
        for suffix in ("", ".gz"):
            if (folder / (name + suffix)).is_file():
                return folder / (name + suffix)
    return None


def load_idx_folder(path: str | os.PathLike) -> Dataset:
    """Load any folder with the four MNIST-style IDX files (e.g. Fashion-MNIST).

    The files are ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, gzipped (``.gz``) or not, with
    ``-`` or ``.`` before ``idx``. No checksum is imposed: the folder may hold another data set.
    Files of another dtype than uint8 are converted only if every value is a whole number in
    0..255 (:func:`as_uint8`).
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder; give the folder holding the IDX files")
    arrays, where, missing = {}, {}, []
    for name, stem in FILES:
        found = find_idx_file(folder, stem)
        if found is None:
            missing.append(stem)
        else:
            arrays[name], where[name] = read_idx(found), str(found)
    if missing:
        raise FileNotFoundError(
            f"{folder} lacks {', '.join(missing)} (looked for each name with '-idx' or '.idx', "
            "with and without .gz)"
        )
    return as_dataset(arrays, f"IDX folder {folder}", where)
