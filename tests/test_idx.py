import gzip

import numpy as np
import pytest

from segdend_lite.data import load_idx_folder
from segdend_lite.data.idx import encode_idx, parse_idx, read_idx, write_idx


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    "arr",
    [
        np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28),
        np.array([3, 1, 4, 1, 5], dtype=np.uint8),
        np.linspace(-1, 1, 12).reshape(3, 4).astype(np.float32),
    ],
)
def test_round_trip(tmp_path, arr, suffix):
    path = write_idx(tmp_path / f"a-idx{arr.ndim}-ubyte{suffix}", arr)
    back = read_idx(path)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)
    if suffix:
        assert path.read_bytes()[:2] == b"\x1f\x8b"  # really gzipped


@pytest.mark.parametrize("style", ["-idx", ".idx"])
@pytest.mark.parametrize("gz", [False, True])
def test_folder_both_name_styles(tmp_path, style, gz):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 7, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 3, dtype=np.uint8),
    }
    for stem, arr in arrays.items():
        write_idx(tmp_path / (stem.replace("-idx", style) + (".gz" if gz else "")), arr)
    data = load_idx_folder(tmp_path)
    assert data.x_train.shape == (7, 784) and data.x_test.shape == (3, 784)
    np.testing.assert_array_equal(data.x_train, arrays["train-images-idx3-ubyte"].reshape(7, -1))
    np.testing.assert_array_equal(data.y_test, arrays["t10k-labels-idx1-ubyte"])


def test_folder_missing_file_is_named(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte"):
        load_idx_folder(tmp_path)


def test_wrong_magic():
    raw = bytearray(encode_idx(np.zeros(4, np.uint8)))
    raw[0] = 0x1F
    with pytest.raises(ValueError, match="bad magic"):
        parse_idx(bytes(raw), "x")
    raw = bytearray(encode_idx(np.zeros(4, np.uint8)))
    raw[2] = 0x42  # unknown dtype code
    with pytest.raises(ValueError, match="bad magic"):
        parse_idx(bytes(raw), "x")


def test_bad_dimensions():
    raw = bytearray(encode_idx(np.zeros((2, 2), np.uint8)))
    raw[3] = 0
    with pytest.raises(ValueError, match="dimensions"):
        parse_idx(bytes(raw), "x")
    with pytest.raises(ValueError, match="zero"):
        parse_idx(b"\x00\x00\x08\x01" + (0).to_bytes(4, "big"), "x")


def test_truncated_file(tmp_path):
    raw = encode_idx(np.zeros((5, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="truncated"):
        parse_idx(raw[:-10], "x")
    with pytest.raises(ValueError, match="truncated header"):
        parse_idx(raw[:9], "x")
    path = tmp_path / "cut-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(raw)[:-20])
    with pytest.raises(ValueError, match="gzip"):
        read_idx(path)
