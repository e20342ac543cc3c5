"""Rebuild the bundled MNIST subset in segdend_lite/data/mnist_small from verified full MNIST.

The subset is the first 500 training and the first 100 test images of each digit, kept in their
original order, written as gzipped IDX files (reproducible bytes: gzip level 9, mtime 0).

    python scripts/make_small_mnist.py            # uses load_mnist() (cache, mirrors, offline)
"""

from __future__ import annotations

import argparse

import numpy as np

from segdend_lite.data import FILES, SMALL_DIR, load_mnist, sha256_of_array
from segdend_lite.data.idx import write_idx

PER_CLASS = {"train": 500, "test": 100}


def stratified_first(y: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` examples of each label, in their original order."""
    keep = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(10)])
    return np.sort(keep)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()
    full = load_mnist(cache_dir=args.cache_dir)
    for split in ("train", "test"):
        x, y = getattr(full, f"x_{split}"), getattr(full, f"y_{split}")
        idx = stratified_first(y, PER_CLASS[split])
        for name, stem in FILES:
            if name.endswith(split):
                arr = x[idx].reshape(-1, 28, 28) if name.startswith("x") else y[idx]
                path = write_idx(SMALL_DIR / f"{stem}.gz", arr)
                print(f"{path}: shape {arr.shape}, sha256 {sha256_of_array(arr)}")


if __name__ == "__main__":
    main()
