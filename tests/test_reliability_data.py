"""The data loader and atomic writes under faults: an unwritable cache, an oversized download,
IDX data that does not fit uint8, temporary files left by a killed writer, the umask."""

from __future__ import annotations

import gzip
import os
import stat
import time
import tracemalloc
import zlib

import numpy as np
import pytest

from segdend_lite import atomic
from segdend_lite import data as D
from segdend_lite.data.idx import encode_idx


@pytest.fixture(scope="module")
def file_mirror(tmp_path_factory, mnist_full):
    """The four official files, gzipped without compression (fast), as a file:// mirror."""
    www = tmp_path_factory.mktemp("mirror")
    for name, stem in D.FILES:
        arr = getattr(mnist_full, name)
        arr = arr.reshape(-1, 28, 28) if name.startswith("x") else arr
        (www / f"{stem}.gz").write_bytes(gzip.compress(encode_idx(arr), compresslevel=0))
    return www.as_uri() + "/"


def test_unwritable_cache_keeps_the_downloaded_data(tmp_path, file_mirror, capsys):
    """It downloaded and verified, then died with NotADirectoryError."""
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    data = D.load_mnist("download", cache_dir=blocker, mirrors=[file_mirror], verbose=False)
    assert data.source == "download (not cached)"
    assert D.sha256_of_array(data.x_train) == D.MNIST_SHA256["x_train"]
    err = capsys.readouterr().err
    assert f"could not write the cache {blocker / 'mnist'}" in err
    assert "using the verified data from memory" in err


def test_a_download_that_unpacks_too_large_is_refused_early(tmp_path):
    """A 64 MB-of-zeros gzip (290 KB) grew in memory until parsed; now it stops at the cap."""
    from segdend_lite.data import mirrors

    folder = tmp_path / "bomb"
    folder.mkdir()
    packer = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 24)
    packed = b"".join(packer.compress(zeros) for _ in range(4)) + packer.flush()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(packed)
    tracemalloc.start()
    try:
        arrays, problems = D.download_mnist([folder.as_uri() + "/"], progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert arrays == {} and "unpacks to more than" in problems[0]
    assert peak < 2 * mirrors.MAX_IDX_BYTES + (8 << 20)


def test_a_download_larger_than_the_limit_is_refused(tmp_path):
    from segdend_lite.data import mirrors

    path = tmp_path / "big.gz"
    path.write_bytes(bytes(5000))
    with pytest.raises(mirrors.TooLarge, match="more than the 1000"):
        mirrors.fetch(path.as_uri(), timeout=5, progress=False, limit=1000)
    assert len(mirrors.fetch(path.as_uri(), timeout=5, progress=False, limit=5000)) == 5000


def _write_folder(folder, arrays):
    folder.mkdir()
    for name, stem in D.FILES:
        (folder / stem).write_bytes(encode_idx(arrays[name]))
    return folder


def test_idx_data_that_does_not_fit_uint8_is_refused(tmp_path, mnist_small):
    """Float pixels in [0, 1] became 0 and 1, labels 900 became 132, silently."""
    arrays = {k: v.reshape(-1, 28, 28) if k[0] == "x" else v for k, v in mnist_small.arrays.items()}
    floats = _write_folder(tmp_path / "floats", {**arrays, "x_train": arrays["x_train"] / 255.0})
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte \(x_train\): holds float64"):
        D.load_idx_folder(floats)
    wide = _write_folder(
        tmp_path / "wide", {**arrays, "y_test": arrays["y_test"].astype(np.int16) * 100}
    )
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte \(y_test\): holds int16"):
        D.load_idx_folder(wide)
    exact = {**arrays, "y_train": arrays["y_train"].astype(np.int32)}
    back = D.load_idx_folder(_write_folder(tmp_path / "exact", exact))
    assert back.y_train.dtype == np.uint8
    np.testing.assert_array_equal(back.y_train, mnist_small.y_train)


def test_stale_part_files_are_removed_and_fresh_ones_kept(tmp_path, mnist_small):
    folder = tmp_path / "mnist"
    D.write_cache(folder, mnist_small.arrays)
    stale = folder / ".train-images-idx3-ubyte.0123abcd.part"
    stale.write_bytes(b"left by a killed writer")
    old = time.time() - 2 * atomic.STALE_SECONDS
    os.utime(stale, (old, old))
    fresh = folder / ".t10k-images-idx3-ubyte.4567cdef.part"
    fresh.write_bytes(b"a write in progress")
    from segdend_lite.data import cache

    cache.load_cache(folder, print)  # fails the checksums (the subset), but looks first
    assert not stale.exists() and fresh.exists()
    atomic.atomic_write_bytes(folder / "other.bin", b"1")
    os.utime(fresh, (old, old))
    atomic.atomic_write_bytes(folder / "t10k-images-idx3-ubyte", b"2")
    assert not fresh.exists()


def test_atomic_write_never_touches_the_umask(tmp_path, monkeypatch):
    mask = os.umask(0o027)
    os.umask(mask | 0o002)
    try:
        expected = 0o666 & ~(mask | 0o002)

        def forbidden(_):
            raise AssertionError("os.umask is process-wide: another thread may be creating files")

        monkeypatch.setattr(os, "umask", forbidden)
        path = atomic.atomic_write_bytes(tmp_path / "f.bin", b"data")
    finally:
        monkeypatch.undo()
        os.umask(mask)
    assert path.read_bytes() == b"data"
    assert stat.S_IMODE(path.stat().st_mode) == expected


def test_one_loader_for_every_data_source(tmp_path, mnist_small):
    small = D.load_data("small", verbose=False)
    np.testing.assert_array_equal(small.x_test, mnist_small.x_test)
    arrays = {k: v.reshape(-1, 28, 28) if k[0] == "x" else v for k, v in mnist_small.arrays.items()}
    folder = _write_folder(tmp_path / "idx", arrays)
    assert D.load_data(str(folder)).source == f"IDX folder {folder}"
    with pytest.raises(FileNotFoundError, match="neither a source .* nor a folder"):
        D.load_data("nosuch")
