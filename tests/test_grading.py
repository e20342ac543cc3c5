"""The nbgrader course folder that `make nbgrader` writes (scripts/build_nbgrader.py).

These tests read the generated notebooks and run their test cells in this process; nbgrader
itself (generate_assignment, autograde) runs in tests/nbgrader_course.py (`make test-nbgrader`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import importlib.util
import sys

from segdend_lite.course import checks

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ex = _load("build_exercises")
grading = _load("build_nbgrader")

CATALOGUE = checks.catalogue()
EXERCISES = {n: e for n, e in CATALOGUE.items() if isinstance(e, checks.Exercise)}
PREDICTIONS = {n: e for n, e in CATALOGUE.items() if isinstance(e, checks.Prediction)}
ASSIGNMENTS = {a.name: a for a in grading.assignments()}


@pytest.fixture(autouse=True)
def _progress_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGDEND_PROGRESS_FILE", str(tmp_path / "progress.json"))
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def _src(cell) -> str:
    return "".join(cell["source"])


def _nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def test_one_assignment_per_notebook_with_exercises():
    with_exercises = {e.notebook for e in CATALOGUE.values()}
    assert set(ASSIGNMENTS) == with_exercises
    assert "00_welcome" not in ASSIGNMENTS


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_every_exercise_has_one_locked_autograded_test_with_points(name):
    a = ASSIGNMENTS[name]
    tests = [c for c in a.notebook["cells"] if _nbg(c).get("grade")]
    expected = sorted(n for n, e in EXERCISES.items() if e.notebook == name)
    assert sorted(_nbg(c)["grade_id"] for c in tests) == [f"test-{n}" for n in expected]
    for cell in tests:
        meta, ex_name = _nbg(cell), _nbg(cell)["grade_id"].removeprefix("test-")
        assert meta["locked"] and not meta["solution"] and meta["points"] == 1
        assert f'{ex_name} = check("{ex_name}", {ex_name})' in _src(cell)
        assert "assert " in _src(cell)
    assert a.total == len(expected)


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_solution_cells_keep_the_markers_and_predictions_are_stubs(name):
    cells = ASSIGNMENTS[name].notebook["cells"]
    solution = [c for c in cells if _nbg(c).get("solution")]
    assert solution, "no solution cell"
    for cell in solution:
        assert ex.BEGIN in _src(cell) and ex.END in _src(cell)
        assert not _nbg(cell)["grade"] and not _nbg(cell)["locked"]
    for cell in cells:
        if not _nbg(cell).get("solution"):  # nbgrader refuses its markers anywhere else
            for marker in ("BEGIN SOLUTION", "END SOLUTION"):
                assert marker not in _src(cell), f"{marker} outside a solution cell"
    assert not any("*Instructors:*" in _src(c) for c in cells)
    text = "\n".join(_src(c) for c in cells if c["cell_type"] == "code")
    for pname, p in PREDICTIONS.items():
        if p.notebook == name:
            assert f"{pname} = {ex.PREDICTION_STUB}" in text
            answer = ex.solutions()[pname].strip()
            assert answer not in text, f"the prediction's answer {answer!r} is in the assignment"


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_text_set_up_and_tests_are_read_only_and_ids_unique(name):
    cells = ASSIGNMENTS[name].notebook["cells"]
    ids = [_nbg(c)["grade_id"] for c in cells if _nbg(c)]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    for cell in cells:
        if cell["cell_type"] == "markdown":
            assert _nbg(cell).get("locked"), _src(cell)[:60]
            assert "colab.research.google.com" not in _src(cell)
        if _nbg(cell):
            assert _nbg(cell)["schema_version"] == grading.SCHEMA_VERSION
    code = [c for c in cells if c["cell_type"] == "code"]
    assert _nbg(code[0]).get("locked") and "import" in _src(code[0])
    assert any(not _nbg(c).get("locked") for c in code if not _nbg(c).get("solution"))
    assert "nbgrader assignment" in _src(cells[0])
    assert all(c["outputs"] == [] for c in code)


def test_cell_ids_stay_unique_in_notebooks_that_have_them():
    for a in ASSIGNMENTS.values():
        ids = [c["id"] for c in a.notebook["cells"] if "id" in c]
        assert len(ids) == len(set(ids)), a.name
        if a.notebook["nbformat_minor"] >= 5:  # nbformat 4.5: every cell has an id
            assert len(ids) == len(a.notebook["cells"]), f"{a.name}: a cell without an id"


def _run_cells(cells, namespace):
    for cell in cells:
        exec(compile(_src(cell), "<cell>", "exec"), namespace)


def _setup_cells(cells):
    return [
        c
        for c in cells
        if c["cell_type"] == "code"
        and _nbg(c).get("locked")
        and not _nbg(c).get("grade")
        and "%pip" not in _src(c)
    ]


def _released(cell) -> dict:
    """What nbgrader's generate_assignment makes of a solution cell (with our config's stub)."""
    out, skip = [], False
    for line in _src(cell).splitlines(keepends=True):
        if line.strip() == ex.BEGIN:
            out.append(line[: len(line) - len(line.lstrip())] + ex.STUB + "\n")
            skip = True
        elif line.strip() == ex.END:
            skip = False
        elif not skip:
            out.append(line)
    return {**cell, "source": "".join(out)}


def _solved(cell) -> dict:
    lines = _src(cell).splitlines(keepends=True)
    return {**cell, "source": "".join(ln for ln in lines if ln.strip() not in (ex.BEGIN, ex.END))}


def _cell(cells, grade_id):
    return next(c for c in cells if _nbg(c).get("grade_id") == grade_id)


def test_a_test_cell_fails_unsolved_and_wrong_and_passes_solved(capsys):
    cells = ASSIGNMENTS["03_the_pyramidal_neuron"].notebook["cells"]
    setup = _setup_cells(cells)
    solution, test = _cell(cells, "euler_soma_step"), _cell(cells, "test-euler_soma_step")

    ns: dict = {}
    _run_cells(setup + [_released(solution)], ns)
    with pytest.raises(AssertionError, match="euler_soma_step: not passed yet"):
        _run_cells([test], ns)
    assert "not attempted yet" in capsys.readouterr().out

    ns = {}
    _run_cells(setup + [_solved(solution)], ns)
    _run_cells([test], ns)
    assert "euler_soma_step: passed" in capsys.readouterr().out

    ns = {}
    wrong = {
        "source": "def euler_soma_step(V, V_b, V_a, g_L, g_B, g_A, dt):\n"
        "    return V + dt * (-g_L * V + g_B * (V_b - V))\n"
    }
    _run_cells(setup + [wrong], ns)
    with pytest.raises(AssertionError):
        _run_cells([test], ns)
    assert "The apical term g_A (V_a - V) is missing" in capsys.readouterr().out


def test_points_option_and_unknown_names():
    a = {x.name: x for x in grading.assignments(points={"hidden_error": 3})}
    assert a["04_two_phases_and_plateau_potentials"].points["hidden_error"] == 3
    cell = _cell(a["04_two_phases_and_plateau_potentials"].notebook["cells"], "test-hidden_error")
    assert _nbg(cell)["points"] == 3 and "(3 points)" in _src(cell)
    with pytest.raises(ValueError, match="no such exercise"):
        grading.assignments(points={"no_such_exercise": 2})
    with pytest.raises(SystemExit, match="NAME=N"):
        grading.main(["build", "/nonexistent", "--points", "hidden_error=two"])


def test_build_writes_the_course_folder_and_keeps_an_edited_config(tmp_path):
    found, new_config = grading.build(tmp_path / "course")
    assert new_config
    for a in found:
        path = tmp_path / "course" / "source" / a.name / f"{a.name}.ipynb"
        assert json.loads(path.read_text()) == a.notebook
    config = (tmp_path / "course" / "nbgrader_config.py").read_text()
    assert "c.ClearSolutions.code_stub" in config and repr(ex.STUB) in config
    (tmp_path / "course" / "nbgrader_config.py").write_text("# mine\n")
    _, new_config = grading.build(tmp_path / "course")
    assert not new_config
    assert (tmp_path / "course" / "nbgrader_config.py").read_text() == "# mine\n"


def _course_with(tmp_path, nb_name: str, cells: list[dict]) -> Path:
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
    (root / "notebooks" / f"{nb_name}.ipynb").write_text(json.dumps(nb))
    return root


def _code(text):
    return {"cell_type": "code", "metadata": {}, "source": text, "outputs": []}


def test_a_solution_without_its_check_line_is_refused(tmp_path):
    solution = _code(
        f"def euler_soma_step(V, V_b, V_a, g_L, g_B, g_A, dt):\n    {ex.BEGIN}\n"
        f"    return V\n    {ex.END}\n"
    )
    root = _course_with(tmp_path, "03_the_pyramidal_neuron", [solution])
    with pytest.raises(ValueError, match="euler_soma_step have a solution but no check line"):
        grading.assignments(root)
    root2 = tmp_path / "two"
    shutil.copytree(root, root2)
    nb_path = root2 / "notebooks" / "03_the_pyramidal_neuron.ipynb"
    nb = json.loads(nb_path.read_text())
    nb["cells"].append(_code("euler_soma_step = check('euler_soma_step', my_step)"))
    nb_path.write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="write the check as euler_soma_step = check"):
        grading.assignments(root2)
