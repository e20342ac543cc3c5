"""The progress file of the exercises (``progress.json``): read safely, never overwritten when
unreadable, saved atomically, a failed save said once.

A file that cannot be read as progress (invalid JSON, bad UTF-8, entries of the wrong shape) is
moved aside to ``progress.json.corrupt-<time>`` with a printed line, and its valid entries are
kept; if it cannot be moved, it is left alone and nothing is written over it. A save that fails
(a read-only home, for example) is reported once per file; the checks go on working.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

from segdend_lite.atomic import atomic_write_bytes

STATUSES = ("passed", "tried")
#: Files not to write (unreadable and could not be moved aside) and failed saves, by path,
#: with the reason; each is printed once.
_NOT_SAVED: dict[str, str] = {}


def valid_entry(entry) -> bool:
    """An entry as :func:`save` writes it: ``{"status": "passed" | "tried", "attempts": n >= 0,
    "last": "<ISO time>"}`` (``last`` optional)."""
    return (
        isinstance(entry, dict)
        and entry.get("status") in STATUSES
        and isinstance(entry.get("attempts", 0), int)
        and not isinstance(entry.get("attempts", 0), bool)
        and entry.get("attempts", 0) >= 0
        and isinstance(entry.get("last", ""), str)
    )


def read(path: Path) -> dict:
    """The progress entries in ``path`` ({} if there is none). An unreadable file is set aside
    (see the module docstring) and its valid entries returned."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        _say_once(path, f"cannot read {path} ({exc.strerror or exc}); progress is not remembered")
        return {}
    data, problem = _parse(raw)
    if problem is None:
        return data
    aside = path.with_name(f"{path.name}.corrupt-{_dt.datetime.now():%Y%m%d-%H%M%S}")
    n = 1
    while aside.exists():
        n += 1
        aside = aside.with_name(f"{path.name}.corrupt-{_dt.datetime.now():%Y%m%d-%H%M%S}-{n}")
    try:
        os.replace(path, aside)
    except OSError as exc:
        _say_once(
            path,
            f"{path} cannot be read as progress ({problem}) nor moved aside "
            f"({exc.strerror or exc}); it is left as it is and progress is not saved",
        )
        return data
    print(
        f"progress: {path} could not be read ({problem}); moved it to {aside.name} and kept "
        f"{len(data)} valid entr{'y' if len(data) == 1 else 'ies'}"
    )
    return data


def _parse(raw: bytes) -> tuple[dict, str | None]:
    """(valid entries, None) or (valid entries, what is wrong)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return {}, f"not UTF-8 text: {exc.reason} at byte {exc.start}"
    except json.JSONDecodeError as exc:
        return {}, f"invalid JSON: {exc.msg} at line {exc.lineno}"
    if not isinstance(data, dict):
        return {}, f"a JSON {type(data).__name__}, not an object of exercises"
    good = {k: v for k, v in data.items() if valid_entry(v)}
    bad = sorted(set(data) - set(good))
    if bad:
        return good, f"entries of the wrong form: {', '.join(map(repr, bad[:3]))}"
    return good, None


def save(path: Path, data: dict) -> bool:
    """Write ``data`` to ``path`` atomically; False (said once per file) if it cannot be."""
    if str(path) in _NOT_SAVED:
        return False
    try:
        atomic_write_bytes(path, json.dumps(data, indent=1, sort_keys=True).encode())
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename and str(exc.filename) != str(path) else ""
        _say_once(
            path,
            f"could not save your progress to {path} ({exc.strerror or exc}{where}); the checks "
            "still work but are not remembered (set SEGDEND_PROGRESS_FILE to a writable file)",
        )
        return False
    return True


def not_saved(path: Path) -> str | None:
    """Why progress is not saved to ``path``, or None if it is."""
    return _NOT_SAVED.get(str(path))


def _say_once(path: Path, message: str) -> None:
    if str(path) not in _NOT_SAVED:
        _NOT_SAVED[str(path)] = message
        print(f"progress: {message}")
