"""Downloading the four official MNIST ``.gz`` files from public mirrors, verified and capped.

A mirror's file is refused if it unpacks to more than :data:`MAX_IDX_BYTES` (the largest
official file, the training images, is 9.9 MB packed and 47.0 MB unpacked; unpacking stops at
the limit) or if it is itself larger than :data:`MAX_GZIP_BYTES` (said by its
``Content-Length`` or found while reading), so a broken or hostile mirror cannot fill the
memory; then the next mirror is tried.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
import zlib

import numpy as np

from segdend_lite.data.dataset import FILES, MNIST_SHA256, sha256_of_array
from segdend_lite.data.idx import parse_idx

DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
#: Largest unpacked IDX file accepted (bytes).
MAX_IDX_BYTES = 48 << 20
#: Largest download accepted per file (bytes): gzip never needs much more than its content.
MAX_GZIP_BYTES = MAX_IDX_BYTES + (1 << 20)


class TooLarge(ValueError):
    """A download or its unpacked content is larger than an MNIST file can be."""


def fetch(url: str, timeout: float, progress: bool, limit: int = MAX_GZIP_BYTES) -> bytes:
    """The bytes at ``url``; :class:`TooLarge` beyond ``limit`` bytes."""
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        if total is not None and total > limit:
            raise TooLarge(f"{total} bytes, more than the {limit} an MNIST file can be; refused")
        chunks, size = [], 0
        with tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            desc=url.rsplit("/", 1)[-1],
            disable=not progress,
            leave=False,
        ) as bar:
            while chunk := response.read(1 << 16):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"more than {limit} bytes, more than an MNIST file can be")
                chunks.append(chunk)
                bar.update(len(chunk))
    return b"".join(chunks)


def gunzip(data: bytes, limit: int = MAX_IDX_BYTES) -> bytes:
    """Unpack gzip ``data``; :class:`TooLarge` as soon as it grows past ``limit`` bytes (the
    whole is never unpacked); ``ValueError`` if it is not valid gzip."""
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"not valid gzip ({exc})") from exc
    if len(out) > limit or d.unconsumed_tail:
        raise TooLarge(f"unpacks to more than {limit} bytes, more than an MNIST file; refused")
    if not d.eof:
        raise ValueError("the gzip stream is truncated")
    return out


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
                arr = parse_idx(gunzip(fetch(url, timeout, progress)), url)
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
