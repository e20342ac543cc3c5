"""Progress: which exercises were passed or tried, remembered in the progress file when a
student notebook asks (:func:`record_progress`); :func:`progress` lists them."""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

from segdend_lite.course import progress_store
from segdend_lite.course.checks.registry import Verdict, catalogue


def progress_file() -> Path:
    """Where attempts are remembered: ``$SEGDEND_PROGRESS_FILE`` or
    ``~/.segdend_lite/progress.json``."""
    env = os.environ.get("SEGDEND_PROGRESS_FILE")
    return Path(env) if env else Path.home() / ".segdend_lite" / "progress.json"


def _load_progress() -> dict:
    return progress_store.read(progress_file())


_RECORDING = False


def record_progress(on: bool = True) -> None:
    """Remember this kernel's checks in the progress file (``on=False``: stop). The student
    notebooks in ``exercises/`` call it once; the course notebooks, which hold the solutions,
    do not, so running them never marks an exercise as done."""
    global _RECORDING
    _RECORDING = bool(on)


def record(name: str, v: Verdict) -> None:
    """Remember an attempted check's verdict ``v`` in the progress file (when recording is on)."""
    if not v.attempted or not _RECORDING:
        return
    data = _load_progress()
    old = data.get(name) if isinstance(data.get(name), dict) else {}
    data[name] = {
        "status": "passed" if v.passed or old.get("status") == "passed" else "tried",
        "attempts": int(old.get("attempts", 0)) + 1,
        "last": _dt.datetime.now().isoformat(timespec="seconds"),
    }
    progress_store.save(progress_file(), data)  # a read-only home must not break the check


def progress(show: bool = True) -> dict[str, str]:
    """Status of every exercise: ``"passed"``, ``"tried"`` (attempted, not passed yet) or
    ``"untouched"``. Prints a short table by notebook unless ``show=False``."""
    done = _load_progress()
    items = catalogue()
    status = {}
    for name in items:
        rec = done.get(name)
        status[name] = rec.get("status", "tried") if isinstance(rec, dict) else "untouched"
    if show:
        mark = {"passed": "x", "tried": "~", "untouched": " "}
        for nb in sorted({e.notebook for e in items.values()}):
            names = [n for n, e in items.items() if e.notebook == nb]
            print(f"{nb}:")
            print("   " + "  ".join(f"[{mark[status[n]]}] {n}" for n in names))
        n_pass = sum(s == "passed" for s in status.values())
        problem = progress_store.not_saved(progress_file())
        print(
            f"{n_pass} of {len(status)} passed ([x] passed, [~] tried, [ ] not yet); "
            + (f"not saved: {problem}" if problem else f"kept in {progress_file()}")
        )
    return status
