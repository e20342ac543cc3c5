"""The exercise checks under faults: an unreadable progress file is set aside, never
overwritten; a failed save is said once; hints and predictions refuse what they cannot use."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segdend_lite.course import checks


def _exercise():
    return next(n for n, e in checks.catalogue().items() if isinstance(e, checks.Exercise))


@pytest.fixture
def progress_path(tmp_path, monkeypatch):
    """A progress file of its own, with recording on (as in the student notebooks)."""
    path = tmp_path / "progress.json"
    monkeypatch.setenv("SEGDEND_PROGRESS_FILE", str(path))
    record = getattr(checks, "record_progress", lambda on=True: None)
    record(True)
    yield path
    record(False)


@pytest.mark.parametrize(
    "content, why",
    [
        (b'{"a": {"status": "passed", "attempts": 2}', "invalid JSON"),
        (b'{"a": {"status": "passed", "attempts": 2}, "b\xff": 1}', "not UTF-8"),
        ("bad types", "entries of the wrong form"),
        (b"[1, 2]", "a JSON list"),
    ],
)
def test_an_unreadable_progress_file_is_moved_aside(progress_path, capsys, content, why):
    """It was silently reset (invalid JSON) or made every check raise (bad UTF-8 or types)."""
    name = _exercise()
    kept = {"status": "passed", "attempts": 3, "last": "2026-01-01T00:00:00"}
    if content == "bad types":
        content = json.dumps({name: {"status": "tried", "attempts": "many"}, "kept": kept})
        content = content.encode()
    progress_path.write_bytes(content)
    checks.check(name, checks.catalogue()[name].reference)
    printed = capsys.readouterr().out
    assert f"{progress_path} could not be read ({why}" in printed
    aside = list(progress_path.parent.glob("progress.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == content  # never overwritten
    now = json.loads(progress_path.read_text())
    assert now[name]["status"] == "passed" and now[name]["attempts"] == 1
    if why == "entries of the wrong form":
        assert now["kept"] == kept  # the valid entries are kept


def test_a_failed_save_is_said_once(progress_path, monkeypatch, capsys):
    from segdend_lite.course import progress_store

    def read_only(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(progress_store, "_NOT_SAVED", {})  # what this process said before
    monkeypatch.setattr(progress_store, "atomic_write_bytes", read_only)
    name = _exercise()
    for _ in range(3):
        checks.check(name, checks.catalogue()[name].reference)
    printed = capsys.readouterr().out
    assert printed.count("could not save your progress") == 1
    checks.progress()
    assert "not saved: could not save your progress" in capsys.readouterr().out


def test_hint_levels(capsys):
    name = _exercise()
    checks.hint(name, 1.0)  # crashed: "tuple indices must be integers or slices, not float"
    assert capsys.readouterr().out.strip() == checks.catalogue()[name].hints[0]
    for level in (True, 4, "1", 0.5):
        with pytest.raises(ValueError, match="give 1, 2 or 3"):
            checks.hint(name, level)


@pytest.mark.parametrize(
    "observed, why",
    [
        (None, "nothing was measured"),
        ([], "it is empty"),
        ({}, "it is empty"),
        (float("nan"), "NaN"),
        ({"0.3": 12.0, "3": float("nan"), "30": 90.0}, "NaN"),
        (np.array([1.0, np.inf]), "NaN or infinity"),
        ("a string", "cannot read it"),
    ],
)
def test_check_prediction_does_not_judge_what_was_not_measured(
    progress_path, monkeypatch, observed, why
):
    """These crashed, or decided on NaN (NaN > x is False: always the same option)."""
    monkeypatch.setenv(checks.STRICT_ENV, "1")
    for name in ("worst_learning_rate", "angle_at_start", "soma_moves"):
        p = checks.catalogue()[name]
        v = checks.check_prediction(name, p.options[0], observed)
        assert not v.attempted and not v.passed
        assert "cannot be judged" in v.message and why in v.message
    assert not progress_path.exists()  # nothing recorded
