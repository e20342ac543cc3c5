"""Atomic file writes: a temporary file in the same folder, flushed, then renamed into place.

A reader never sees a half-written file, an interrupted write leaves the old file (if any)
untouched and removes its temporary file, and two processes writing the same path at once each
produce a complete file (the last rename wins). A temporary file left behind by a process that
was killed (``.NAME.<random>.part``) is removed by the next write of ``NAME`` once it is older
than :data:`STALE_SECONDS`.
"""

from __future__ import annotations

import glob
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

#: Age (seconds) after which a temporary ``.part`` file is taken to be left by a killed writer.
STALE_SECONDS = 3600.0


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a temporary file beside ``path``, then rename it to ``path``.

    The file gets the usual permissions (``0o666`` less the process's umask, applied by the
    operating system when the file is created; the umask itself is never read or changed).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(path)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def _create_temporary(path: Path) -> tuple[int, str]:
    """A new file ``.NAME.<random>.part`` beside ``path``, opened for writing, mode 0o666 less
    the umask (as ``open()`` would make it)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(6)}.part")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")


def remove_stale_parts(path: str | os.PathLike, older_than: float = STALE_SECONDS) -> list[Path]:
    """Remove the temporary files of earlier writes of ``path`` (``.NAME.*.part``) that are
    older than ``older_than`` seconds (their writer was killed); return what was removed.
    Younger ones may belong to a write in progress and are kept."""
    path = Path(path)
    removed = []
    now = time.time()
    try:
        candidates = list(path.parent.glob(f".{glob.escape(path.name)}.*.part"))
    except OSError:
        return removed
    for part in candidates:
        try:
            if now - part.stat().st_mtime > older_than:
                part.unlink()
                removed.append(part)
        except OSError:
            pass  # gone meanwhile, or not ours to remove
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(data))
