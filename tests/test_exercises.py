"""Exercises: one source, generated student notebooks, self-checks with targeted messages."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segdend_lite.course import checks
from segdend_lite.course import exercises as ex


@pytest.fixture(autouse=True)
def _progress_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGDEND_PROGRESS_FILE", str(tmp_path / "progress.json"))


def test_committed_student_notebooks_are_generated():
    assert ex.stale() == [], "run `make exercises` and commit exercises/"


def test_at_least_twelve_exercises_across_notebooks():
    assert len(checks.EXERCISES) >= 12
    assert {e.notebook for e in checks.EXERCISES.values()} == {"01", "02", "03", "04"}


def test_every_exercise_has_a_solution_cell_and_a_check_call():
    files = ex.generated()
    student = "".join(t for p, t in files.items() if "solutions" not in p.parts)
    solution = "".join(t for p, t in files.items() if "solutions" in p.parts)
    for name in checks.EXERCISES:
        assert f"def {name}(" in student and f"check_{name}({name})" in student, name
    assert ex.BEGIN + "\\n" not in solution and ex.STUB not in solution
    assert student.count(ex.STUB.replace('"', '\\"')) == len(checks.EXERCISES)


@pytest.mark.parametrize("name", sorted(checks.EXERCISES))
def test_reference_passes_and_each_known_mistake_is_named(name):
    e = checks.EXERCISES[name]
    assert checks.check(name, e.reference, quiet=True) == f"{name}: passed."
    for mistake, message in e.mistakes:
        verdict = checks.check(name, mistake, quiet=True)
        assert verdict.startswith(f"{name}: not yet.") and message in verdict

    def stub(*args):
        raise NotImplementedError("Your turn")

    assert "not attempted yet" in checks.check(name, stub, quiet=True)


def test_unknown_mistakes_get_shape_or_value_hints():
    verdict = checks.check("hidden_update", lambda e, s, eta, P: np.zeros(3), quiet=True)
    assert "shape" in verdict
    verdict = checks.check("steady_state_k_B", lambda a, b, c: 0.5, quiet=True)
    assert "differ" in verdict and "hint('steady_state_k_B', 1)" in verdict
    verdict = checks.check("psp_kernel", lambda t, a, b: 1 / 0, quiet=True)
    assert "ZeroDivisionError" in verdict


def test_hints_are_tiered(capsys):
    one, two, three = (checks.hint("plateau_potential", k) for k in (1, 2, 3))
    assert one != two and three.startswith("Solution:") and "sigma" in three
    with pytest.raises(ValueError, match="no exercise"):
        checks.hint("nope")


def test_progress_is_remembered(tmp_path):
    checks.check("sigmoid_prime", checks.EXERCISES["sigmoid_prime"].reference, quiet=True)
    status = checks.progress(show=False)
    assert status["sigmoid_prime"] and not status["hidden_delta"]
    assert json.loads((tmp_path / "progress.json").read_text()) == {"sigmoid_prime": "passed"}


def test_marker_transform():
    src = 'def f(x):\n    """Doc."""\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n'
    student = ex._transform(src, student=True)
    assert student == f'def f(x):\n    """Doc."""\n    {ex.STUB}\n'
    assert ex._transform(src, student=False) == 'def f(x):\n    """Doc."""\n    return x\n'
    with pytest.raises(ValueError, match="without"):
        ex._transform("### BEGIN SOLUTION\nx = 1\n", student=True)
