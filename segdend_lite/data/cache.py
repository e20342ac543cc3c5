"""The MNIST cache: a folder of the four official IDX files, verified on every load.

The folder is ``cache_dir``, else ``$SEGDEND_DATA_DIR``, else ``~/.cache/segdend_lite``, with
the files in its ``mnist/`` subfolder. A file that fails its SHA-256 check is removed (and
fetched again). A cache that cannot be written (a read-only home, ``$SEGDEND_DATA_DIR`` naming a
file) does not lose data that was just downloaded: :func:`keep` says where it could not write
and the data is used from memory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from segdend_lite.atomic import remove_stale_parts
from segdend_lite.data.dataset import FILES, MNIST_SHA256, find_idx_file, sha256_of_array
from segdend_lite.data.idx import read_idx, write_idx


def default_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache folder: the argument, else ``$SEGDEND_DATA_DIR``, else ~/.cache/segdend_lite."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("SEGDEND_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "segdend_lite"


def mnist_cache(cache_dir: str | os.PathLike | None) -> Path:
    """The folder of the cached MNIST files."""
    return default_cache_dir(cache_dir) / "mnist"


def load_cache(folder: Path, say) -> dict[str, np.ndarray] | None:
    """Verified arrays from the cache, or None. A file that fails its checksum is removed;
    temporary files left by a killed writer are removed once stale."""
    arrays = {}
    for name, stem in FILES:
        remove_stale_parts(folder / stem)
        found = find_idx_file(folder, stem)
        if found is None:
            return None
        try:
            arr = read_idx(found)
        except ValueError as exc:
            say(f"cache file {found} is unreadable ({exc}); removing it and fetching a fresh copy")
            _remove(found, say)
            return None
        except OSError as exc:
            say(f"cache file {found} cannot be read ({exc}); fetching a fresh copy")
            return None
        if sha256_of_array(arr) != MNIST_SHA256[name]:
            say(
                f"cache file {found} fails its SHA-256 check; removing it and fetching a fresh copy"
            )
            _remove(found, say)
            return None
        arrays[name] = arr
    return arrays


def _remove(path: Path, say) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        say(f"could not remove {path} ({exc}); it is not used")


def write_cache(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the four arrays as uncompressed official IDX files, atomically."""
    for name, stem in FILES:
        arr = arrays[name]
        if name.startswith("x"):
            arr = arr.reshape(-1, 28, 28)
        write_idx(folder / stem, arr)


def keep(folder: Path, arrays: dict[str, np.ndarray]) -> str | None:
    """Write the arrays to the cache; None if that worked, else why not, also printed (to
    stderr, whatever the verbosity): the data stays usable from memory."""
    try:
        write_cache(folder, arrays)
    except OSError as exc:
        reason = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
        print(
            f"MNIST: could not write the cache {folder} ({reason}); using the verified data "
            "from memory (it will be fetched again next time: set SEGDEND_DATA_DIR to a "
            "writable folder to keep it)",
            file=sys.stderr,
        )
        return reason
    return None
