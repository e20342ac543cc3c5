"""One setting per output folder, and one ``reproduce`` at a time in it.

``OUT/reproduce.json`` records the folder's setting (:mod:`.settings`: data, image counts,
``--set`` values) and the modes run in it. Training into a folder checks the setting against
the record (or, in a folder from before the record, against every task's ``task.json``) and
refuses a difference, naming it, so a report never compares results made in different ways.
The mode may differ: it is part of each task's path.

``OUT/.reproduce.lock`` is held (an operating-system lock, released when the process ends in
any way) while ``reproduce`` trains into the folder; a second ``reproduce`` on the same folder
is refused, naming the first (process, host, start, command).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections import Counter
from pathlib import Path

from segdend_lite.atomic import atomic_write_bytes
from segdend_lite.reproduce.provenance import now
from segdend_lite.reproduce.settings import differences, setting_of

RECORD = "reproduce.json"
LOCK = ".reproduce.lock"


class FolderConflict(ValueError):
    """The output folder holds results of another setting."""


class FolderBusy(RuntimeError):
    """Another ``reproduce`` is training into the output folder."""


def check_out(out: str | os.PathLike) -> Path:
    """``out`` as a Path, or a ValueError if it names something that is not a folder."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file: give a folder (it is made if missing)")
    return out


def read_record(out: str | os.PathLike) -> dict | None:
    """The folder's record (None if it has none); a ValueError naming the file if unreadable."""
    path = Path(out) / RECORD
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
        if not isinstance(record, dict) or not isinstance(record.get("setting"), dict):
            raise ValueError("not a record of reproduce")
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"{path} cannot be read ({exc}): it records the folder's data, image counts and "
            "--set values. Restore it, or delete it (the next run records its own setting "
            "after checking it against the tasks' task.json files)"
        ) from None
    return record


def task_settings(out: str | os.PathLike) -> dict[str, dict]:
    """The setting of every task folder under ``out`` whose task.json can be read and tells
    it, by task path (``fig6b/rate/h1/seed0``)."""
    root = Path(out)
    found = {}
    for path in sorted(root.glob("*/*/*/seed*/task.json")):
        try:
            setting = setting_of(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # an unreadable task.json fails its own task, with its own message
        if setting is not None:
            found[path.parent.relative_to(root).as_posix()] = setting
    return found


def check_setting(out: str | os.PathLike, setting: dict) -> None:
    """Raise FolderConflict if ``out`` holds results of another setting than ``setting``."""
    out = Path(out)
    record = read_record(out)
    if record is not None:
        diff = differences(record["setting"], setting, "folder", "this run")
        where = f"{out / RECORD}"
    else:
        diff, where = [], ""
        for task, have in task_settings(out).items():
            diff = differences(have, setting, f"task {task}", "this run")
            if diff:
                where = f"{out / task / 'task.json'}"
                break
    if diff:
        raise FolderConflict(
            f"{out} holds results made with another setting ({'; '.join(diff)}; see {where}). "
            "One folder holds one setting, so its report compares like with like: use "
            "another --out, or give the folder's values"
        )


def record_setting(out: str | os.PathLike, setting: dict, mode: str, command: str) -> Path:
    """Write (or update) the folder's record after :func:`check_setting` passed."""
    out = Path(out)
    record = read_record(out)
    if record is None:  # a new folder, or one from before the record: its tasks' modes
        modes = sorted({Path(t).parts[1] for t in task_settings(out)})
        record = {"setting": setting, "modes": modes, "created": now()}
    record["modes"] = sorted(set(record.get("modes", [])) | {mode})
    record["last_command"] = command
    record["updated"] = now()
    return atomic_write_bytes(out / RECORD, (json.dumps(record, indent=1) + "\n").encode())


def reference_setting(out: str | os.PathLike, settings: list[dict]) -> tuple[dict | None, str]:
    """The setting the report compares (and where it comes from): the folder's record, else
    the one most of ``settings`` (the tasks') share; (None, "") if there is none."""
    try:
        record = read_record(out)
    except ValueError:
        record = None
    if record is not None:
        return record["setting"], f"recorded in {RECORD}"
    if not settings:
        return None, ""
    counts = Counter(json.dumps(s, sort_keys=True) for s in settings)
    best, n = counts.most_common(1)[0]
    return json.loads(best), f"the setting of {n} of the {len(settings)} tasks"


@contextlib.contextmanager
def folder_lock(out: str | os.PathLike, command: str = ""):
    """Hold ``OUT/.reproduce.lock`` while the block runs; FolderBusy if another process holds
    it; a ValueError if the folder cannot be made or written."""
    out = check_out(out)
    path = out / LOCK
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise ValueError(
            f"cannot write in {out} ({exc.strerror or exc}): give a folder you can write to "
            "with --out"
        ) from None
    try:
        if not _try_lock(fd):
            holder = _read_holder(fd)
            raise FolderBusy(
                f"{out} is in use by another reproduce ({holder}); wait until it ends, or use "
                f"another --out. If no such process runs, delete {path}"
            )
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": now()}
        info["command"] = command
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(info).encode())
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            _unlock(fd)
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError, ImportError):
        try:
            import fcntl
        except ImportError:
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
            return
        fcntl.flock(fd, fcntl.LOCK_UN)


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 65536).decode() or "{}")
        return (
            f"process {info.get('pid')} on {info.get('host')} since {info.get('since')}: "
            f"{info.get('command') or 'no command recorded'}"
        )
    except (OSError, ValueError):
        return "a process that has not yet said which"


__all__ = [
    "LOCK",
    "RECORD",
    "FolderBusy",
    "FolderConflict",
    "check_out",
    "check_setting",
    "folder_lock",
    "read_record",
    "record_setting",
    "reference_setting",
    "task_settings",
]
