"""Exercises: one source, generated student notebooks, self-checks with targeted messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import load_script
from segdend_lite.course import checks
from segdend_lite.course.checks.compare import copy_args

ex = load_script("scripts/build_exercises.py")

CATALOGUE = checks.catalogue()
EXERCISES = {n: e for n, e in CATALOGUE.items() if isinstance(e, checks.Exercise)}
PREDICTIONS = {n: e for n, e in CATALOGUE.items() if isinstance(e, checks.Prediction)}
COURSE = Path(checks.__file__).parents[1]


@pytest.fixture(autouse=True)
def _progress_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGDEND_PROGRESS_FILE", str(tmp_path / "progress.json"))
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)
    yield
    checks.record_progress(False)


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
    library = ("segdend_lite.model.", "segdend_lite.mlp", "segdend_lite.analysis.")
    own = ref.__module__ == f"segdend_lite.course.catalog.nb{EXERCISES[name].notebook[:2]}"
    assert ref.__module__.startswith(library) or ref.__name__ == "<lambda>" or own, (
        f"{name}: the reference must be a library function (or a lambda adapting one's "
        "arguments), or, for a function only the course needs, written once in its notebook's "
        "catalog file; never a private copy"
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
    one, two, three = (checks.hint_text("hidden_delta", k) for k in (1, 2, 3))
    assert one != two and three.startswith("Solution")
    assert ex.solutions()["hidden_delta"] in three and "def hidden_delta(" in three
    with pytest.raises(ValueError, match="no exercise"):
        checks.hint("nope")


def test_hint_prints_once_and_returns_nothing(capsys):
    """A notebook shows a cell's last value: a hint that returned its text would show twice."""
    assert checks.hint("hidden_delta", 1) is None
    assert capsys.readouterr().out == checks.hint_text("hidden_delta", 1) + "\n"


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_level_two_hints_are_not_the_solution(name):
    """Level 2 helps; level 3 is the solution. No line of the solution's body is in level 2."""
    body = [
        ln.strip()
        for ln in ex.solutions()[name].splitlines()[1:]
        if len(ln.strip()) > 25 and not ln.strip().startswith(("#", '"', "'"))
    ]
    two = checks.hint_text(name, 2).replace(" ", "")
    assert not [ln for ln in body if ln.replace(" ", "") in two], name


def test_checks_hold_no_solutions_and_no_equations():
    machinery = sorted((COURSE / "checks").glob("*.py"))
    assert len(machinery) > 1, "the checks' machinery is the package course/checks/"
    src = "".join(path.read_text() for path in machinery)
    assert "segdend_lite.model" not in src, "checks/ is machinery only: no model imports"
    for name, text in ex.solutions().items():
        body = [ln.strip() for ln in text.splitlines()[1:] if len(ln.strip()) > 12]
        for line in body:
            assert line not in src, f"checks/ holds solution text of {name}: {line}"
    references = {(e.reference.__module__, e.reference.__name__) for e in EXERCISES.values()}
    for path in (COURSE / "catalog").glob("nb*.py"):
        module = f"segdend_lite.course.catalog.{path.stem}"
        public = re.findall(r"^def ([a-zA-Z]\w*)", path.read_text(), re.M)
        assert not [f for f in public if (module, f) not in references], (
            f"{path.name}: catalogue files register exercises; helpers stay private (a public "
            "function there is the reference of one of its exercises)"
        )


def test_progress_is_recorded_only_when_the_notebook_asks(tmp_path, capsys):
    checks.check("sigmoid_prime", EXERCISES["sigmoid_prime"].reference)
    assert not (tmp_path / "progress.json").exists(), "course notebooks do not record"
    student = "".join(t for p, t in ex.generated().items() if p.parent.name == "exercises")
    course = "".join(p.read_text() for p in (ex.ROOT / "notebooks").glob("*.ipynb"))
    assert "record_progress()" in student and "record_progress()" not in course
    solutions = "".join(t for p, t in ex.generated().items() if p.parent.name == "solutions")
    assert "record_progress()" not in solutions


def test_the_student_folder_holds_the_whole_course():
    names = {p.name for p in ex.generated() if p.parent.name == "exercises"}
    assert names == {p.name for p in (ex.ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert "00_welcome.ipynb" in names


def test_progress_is_remembered(tmp_path, capsys):
    checks.record_progress()
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


# ------------------------------------------------------------------------------ generic mistakes


def _first_array(args) -> int | None:
    return next((k for k, a in enumerate(args) if isinstance(a, np.ndarray)), None)


def _case_values(name):
    e = EXERCISES[name]
    args = e.cases(np.random.default_rng(1234))[0]
    return e, args, e.reference(*copy_args(args))


ARRAY_EXERCISES = sorted(n for n in EXERCISES if isinstance(_case_values(n)[2], np.ndarray))


@pytest.mark.parametrize("name", ARRAY_EXERCISES)
def test_a_list_for_an_array_is_rejected(name):
    ref = EXERCISES[name].reference
    v = checks.verdict(name, lambda *a: np.asarray(ref(*a)).tolist())
    assert not v.passed and "returned a list; return a numpy array" in v.message, v.message


@pytest.mark.parametrize("name", ARRAY_EXERCISES)
def test_integer_and_float16_results_are_named(name):
    ref = EXERCISES[name].reference
    if _case_values(name)[2].dtype.kind != "f":
        pytest.skip("not a floating-point result")
    v = checks.verdict(name, lambda *a: np.asarray(ref(*a)).astype(np.int64))
    assert not v.passed and "int64 (whole numbers)" in v.message, v.message
    v = checks.verdict(name, lambda *a: (np.asarray(ref(*a)) * 1.001).astype(np.float16))
    assert not v.passed and "float16" in v.message, v.message


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_none_is_named(name):
    v = checks.verdict(name, lambda *a: None)
    assert not v.passed and v.attempted and "returned None" in v.message, v.message


@pytest.mark.parametrize(
    "name", sorted(n for n in EXERCISES if _first_array(_case_values(n)[1]) is not None)
)
def test_an_argument_changed_in_place_is_caught_even_when_the_result_is_right(name):
    import inspect

    ref = EXERCISES[name].reference
    k = _first_array(_case_values(name)[1])

    def student(*args):
        out = ref(*copy_args(args))
        args[k][...] = 0.0 if args[k].dtype.kind == "f" else 1  # then spoils an argument
        return out

    student.__signature__ = inspect.signature(ref)
    v = checks.verdict(name, student)
    param = (
        list(inspect.signature(ref).parameters)[k]
        if k < len(inspect.signature(ref).parameters)
        else None
    )
    assert not v.passed and "changed its argument" in v.message, v.message
    if param:
        assert f"`{param}`" in v.message


def test_the_issues_wrong_answers_get_specific_messages():
    from segdend_lite import mlp
    from segdend_lite.model import init
    from segdend_lite.model.neuron import soma_steady_state

    def hidden_delta_into_h(delta2, W2, h):
        h *= 1 - h
        return (delta2 @ W2) * h

    v = checks.verdict("hidden_delta", hidden_delta_into_h)
    assert "changed its argument `h`; compute into a new array" in v.message

    def sparsify_in_place(rng, Y, fraction, gain):
        Y *= gain
        Y.flat[rng.choice(Y.size, size=round(fraction * Y.size), replace=False)] = 0.0
        return Y

    assert "changed its argument `Y`" in checks.verdict("sparsify", sparsify_in_place).message

    def sparsify_with_replacement(rng, Y, fraction, gain):
        out = Y * gain
        out.flat[rng.choice(Y.size, size=round(fraction * Y.size), replace=True)] = 0.0
        return out

    v = checks.verdict("sparsify", sparsify_with_replacement)
    assert "should have exactly round(0.8 * 500) = 400" in v.message
    assert "replace=False" in v.message
    v = checks.verdict("soma_voltage", lambda *a: list(soma_steady_state(*a)))
    assert "returned a list; return a numpy array" in v.message
    assert "returned None" in checks.verdict("train_epoch", lambda *a: None).message
    v = checks.verdict("hidden_delta", lambda d, W, h: mlp.hidden_delta(d, W, h) * 1.01)
    assert re.search(r"\(-?[\d.]+ vs -?[\d.]+ at \[\d+, \d+\]\)", v.message), v.message
    assert init.sparsify  # the reference the check compares with


def test_a_loop_that_reports_before_training_is_named():
    from segdend_lite.course.catalog import nb06

    v = checks.verdict("train_epoch", nb06._reports_before_training)
    assert "Train the image first, then report" in v.message
