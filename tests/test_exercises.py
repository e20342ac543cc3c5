"""Exercises: one source, generated student notebooks, self-checks with targeted messages."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

from segdend_lite.course import checks

_spec = importlib.util.spec_from_file_location(
    "build_exercises", Path(__file__).resolve().parents[1] / "scripts" / "build_exercises.py"
)
ex = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ex)

CATALOGUE = checks.catalogue()
EXERCISES = {n: e for n, e in CATALOGUE.items() if isinstance(e, checks.Exercise)}
PREDICTIONS = {n: e for n, e in CATALOGUE.items() if isinstance(e, checks.Prediction)}
COURSE = Path(checks.__file__).parent


@pytest.fixture(autouse=True)
def _progress_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGDEND_PROGRESS_FILE", str(tmp_path / "progress.json"))
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def _stub(*args):
    raise NotImplementedError("Your turn")


def test_committed_student_notebooks_and_solutions_are_generated():
    assert ex.stale() == [], "run `make exercises` and commit exercises/ and solutions.json"


def test_every_catalogue_entry_has_one_solution_and_a_check_cell():
    sols = ex.solutions()
    assert set(sols) == set(CATALOGUE), "solutions in notebooks/ and catalogue entries differ"
    for name, item in CATALOGUE.items():
        nb = (ex.ROOT / "notebooks" / f"{item.notebook}.ipynb").read_text()
        call = (
            f'{name} = check(\\"{name}\\", {name})'
            if isinstance(item, checks.Exercise)
            else f'check_prediction(\\"{name}\\", {name}, '
        )
        assert call in nb, f"{item.notebook} has no check cell `{call}`"


def test_student_notebooks_have_stubs_not_solutions():
    files = ex.generated()
    student = "".join(
        t for p, t in files.items() if p.suffix == ".ipynb" and "solutions" not in p.parts
    )
    for marker in (ex.BEGIN, ex.END):  # as a line of code (markdown may mention them)
        assert not re.search(r'"\s*' + marker + r'\\n"', student), marker
    assert student.count(ex.STUB.replace('"', '\\"')) == len(EXERCISES)
    for name in PREDICTIONS:
        assert f"{name} = {ex.PREDICTION_STUB}" in student


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_reference_passes_and_each_known_mistake_is_named(name):
    e = EXERCISES[name]
    assert checks.verdict(name, e.reference).passed
    for mistake, message in e.mistakes:
        v = checks.verdict(name, mistake)
        assert not v.passed and v.attempted and message in v.message, (name, message, v.message)
    v = checks.verdict(name, _stub)
    assert not v.attempted and "not attempted yet" in v.message


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_references_are_library_functions(name):
    ref = EXERCISES[name].reference
    assert ref.__module__.startswith("segdend_lite.model") or ref.__name__ == "<lambda>", (
        f"{name}: the reference must be a library function (or a lambda adapting one's "
        "arguments), never a private copy"
    )


def test_check_returns_the_students_function_or_the_reference(capsys):
    def mine(delta2, W2, h):  # a different but correct way to write it
        return np.einsum("nk,kj->nj", delta2, W2) * (h - h**2)

    assert checks.check("hidden_delta", mine) is mine
    assert "passed" in capsys.readouterr().out
    wrong = EXERCISES["hidden_delta"].mistakes[0][0]
    assert checks.check("hidden_delta", wrong) is EXERCISES["hidden_delta"].reference
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and checks.FALLBACK in out and "slope" in out


def test_strict_mode_raises_on_wrong_attempts_only(monkeypatch, capsys):
    monkeypatch.setenv(checks.STRICT_ENV, "1")
    wrong = EXERCISES["sigmoid_prime"].mistakes[0][0]
    with pytest.raises(AssertionError, match="sigmoid_prime: not yet"):
        checks.check("sigmoid_prime", wrong)
    assert checks.check("sigmoid_prime", _stub) is EXERCISES["sigmoid_prime"].reference
    assert "not attempted" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="you predicted '0.3'"):
        checks.check_prediction("worst_learning_rate", "0.3", {"0.3": 20, "3": 10, "30": 90})
    checks.check_prediction("worst_learning_rate", None, {"0.3": 20, "3": 10, "30": 90})


def test_predictions_compare_and_explain(capsys):
    seen = {"0.3": 20.0, "3": 10.0, "30": 90.0}
    assert checks.check_prediction("worst_learning_rate", "30", seen).passed
    v = checks.check_prediction("worst_learning_rate", "3", seen)
    assert not v.passed and "the run showed '30'" in v.message and "saturate" in v.message
    assert "not one of" in checks.check_prediction("worst_learning_rate", 30, seen).message


def test_unknown_mistakes_get_shape_or_value_hints():
    v = checks.verdict("hidden_delta", lambda d, W, h: np.zeros(3))
    assert "shape" in v.message
    v = checks.verdict("sigmoid_prime", lambda a: a * 0 + 0.3)
    assert "differ" in v.message and "hint('sigmoid_prime', 1)" in v.message
    v = checks.verdict("sigmoid_prime", lambda a: 1 / 0)
    assert "ZeroDivisionError" in v.message


def test_hints_are_tiered_and_level_three_is_the_notebook_solution(capsys):
    one, two, three = (checks.hint("hidden_delta", k) for k in (1, 2, 3))
    assert one != two and three.startswith("Solution")
    assert ex.solutions()["hidden_delta"] in three and "def hidden_delta(" in three
    with pytest.raises(ValueError, match="no exercise"):
        checks.hint("nope")


def test_checks_hold_no_solutions_and_no_equations():
    src = (COURSE / "checks.py").read_text()
    assert "segdend_lite.model" not in src, "checks.py is machinery only: no model imports"
    for name, text in ex.solutions().items():
        body = [ln.strip() for ln in text.splitlines()[1:] if len(ln.strip()) > 12]
        for line in body:
            assert line not in src, f"checks.py holds solution text of {name}: {line}"
    for path in (COURSE / "catalog").glob("nb*.py"):
        assert not re.search(r"^def (?!_)", path.read_text(), re.M), (
            f"{path.name}: catalogue files register exercises; helpers stay private"
        )


def test_progress_is_remembered(tmp_path, capsys):
    checks.check("sigmoid_prime", EXERCISES["sigmoid_prime"].reference)
    checks.check("hidden_delta", EXERCISES["hidden_delta"].mistakes[0][0])
    checks.check("numerical_gradient", _stub)
    status = checks.progress(show=True)
    assert status["sigmoid_prime"] == "passed" and status["hidden_delta"] == "tried"
    assert status["numerical_gradient"] == "untouched"
    data = json.loads((tmp_path / "progress.json").read_text())
    assert set(data) == {"sigmoid_prime", "hidden_delta"}
    assert data["hidden_delta"]["attempts"] == 1
    assert "[x] sigmoid_prime" in capsys.readouterr().out


def test_marker_transform():
    src = 'def f(x):\n    """Doc."""\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n'
    student = ex._transform(src, student=True)
    assert student == f'def f(x):\n    """Doc."""\n    {ex.STUB}\n'
    assert ex._transform(src, student=False) == 'def f(x):\n    """Doc."""\n    return x\n'
    assert ex._solutions(src) == {"f": 'def f(x):\n    """Doc."""\n    return x\n'}
    top = '### BEGIN SOLUTION\nguess = "a"\n### END SOLUTION\nprint(guess)\n'
    assert ex._transform(top, student=True) == f"guess = {ex.PREDICTION_STUB}\nprint(guess)\n"
    assert ex._solutions(top) == {"guess": 'guess = "a"\n'}
    with pytest.raises(ValueError, match="without"):
        ex._transform("### BEGIN SOLUTION\nx = 1\n", student=True)
    with pytest.raises(ValueError, match="must assign"):
        ex._transform("### BEGIN SOLUTION\nprint(1)\n### END SOLUTION\n", student=True)


def test_registering_one_name_from_two_notebooks_is_refused():
    e = EXERCISES["sigmoid_prime"]
    with pytest.raises(ValueError, match="registered by"):
        checks.register(checks.Exercise("sigmoid_prime", "99_other", e.title, e.reference, e.cases))


def test_readme_counts_the_exercises():
    readme = " ".join((ex.ROOT / "README.md").read_text().split())
    notebooks = sorted({e.notebook[:2] for e in CATALOGUE.values()})
    span = f"Notebooks {notebooks[0]}-{notebooks[-1]}"
    assert f"{span} have {len(EXERCISES)} exercises and {len(PREDICTIONS)} predictions" in readme
