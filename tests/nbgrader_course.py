"""nbgrader itself on the course folder that `make nbgrader` writes (`make test-nbgrader`).

Runs in the virtual environment that has nbgrader (``.venv-grading``, made by the make target),
not in ``make test``: it runs nbgrader's ``generate_assignment`` for every assignment, then
``autograde`` on notebooks 03 and 04 (quick mode) for three students:

- ``solved``: the released notebook with the course's solutions and predictions put back;
  full points;
- ``unsolved``: the released notebook as it is; zero points, and every cell still runs;
- ``wrong``: solved, except notebook 03's ``euler_soma_step`` leaves out the apical term; that
  exercise's point is lost, the others are kept, and ``generate_feedback`` shows the check's
  message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from segdend_lite.course import checks

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import build_exercises as ex  # noqa: E402
import build_nbgrader as grading  # noqa: E402

AUTOGRADED = ("03_the_pyramidal_neuron", "04_two_phases_and_plateau_potentials")
STUDENTS = ("solved", "unsolved", "wrong")
WRONG_NOTEBOOK, WRONG_EXERCISE = "03_the_pyramidal_neuron", "euler_soma_step"
WRONG_CELL = (
    "def euler_soma_step(V, V_b, V_a, g_L, g_B, g_A, dt):\n"
    '    """The somatic voltage after one Euler step of dt ms."""\n'
    "    return V + dt * (-g_L * V + g_B * (V_b - V))  # the apical term left out\n"
)
WRONG_MESSAGE = "euler_soma_step: not yet. The apical term g_A (V_a - V) is missing"


def _src(cell) -> str:
    return "".join(cell["source"])


def _nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def nbgrader(course: Path, env: dict, *args: str) -> None:
    """Run one nbgrader command in ``course``; its output goes to ``course/nbgrader.log``."""
    log = course / "nbgrader.log"
    t0 = time.monotonic()
    with open(log, "a") as out:
        out.write(f"\n$ nbgrader {' '.join(args)}\n")
        out.flush()
        code = subprocess.call(
            [sys.executable, "-m", "nbgrader", *args],
            cwd=course,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900,
        )
        out.write(f"exit {code} after {time.monotonic() - t0:.1f} s\n")
    tail = log.read_text()[-3000:]
    assert code == 0, f"nbgrader {' '.join(args)} failed (exit {code}):\n{tail}"


def _solve(released: dict, source: dict) -> dict:
    """The released notebook with the course's solutions (from the source notebook's solution
    cells, markers removed) and predictions (from the course notebooks) put back."""
    nb = json.loads(json.dumps(released))
    by_id = {_nbg(c).get("grade_id"): c for c in source["cells"] if _nbg(c).get("solution")}
    answers = ex.solutions()
    for cell in nb["cells"]:
        if _nbg(cell).get("solution"):
            lines = _src(by_id[_nbg(cell)["grade_id"]]).splitlines(keepends=True)
            cell["source"] = "".join(ln for ln in lines if ln.strip() not in (ex.BEGIN, ex.END))
        elif cell["cell_type"] == "code":
            out = []
            for line in _src(cell).splitlines(keepends=True):
                name = line.split("=")[0].strip()
                if line.rstrip("\n").endswith(ex.PREDICTION_STUB) and name in answers:
                    out.append(answers[name].rstrip("\n") + "\n")
                else:
                    out.append(line)
            cell["source"] = "".join(out)
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("nbgrader")
    course = root / "course"
    found, _ = grading.build(course)
    env = dict(os.environ)
    env.pop(checks.STRICT_ENV, None)  # students grade with the plain checks
    env.update(
        SEGDEND_QUICK="1",
        SEGDEND_PROGRESS_FILE=str(root / "progress.json"),
        JUPYTER_CONFIG_DIR=str(root / "jupyter-config"),  # no user-level nbgrader config
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
    )
    for a in found:
        nbgrader(course, env, "generate_assignment", a.name)
    for name in AUTOGRADED:
        released = json.loads((course / "release" / name / f"{name}.ipynb").read_text())
        source = json.loads((course / "source" / name / f"{name}.ipynb").read_text())
        solved = _solve(released, source)
        wrong = json.loads(json.dumps(solved))
        if name == WRONG_NOTEBOOK:
            cell = next(c for c in wrong["cells"] if _nbg(c).get("grade_id") == WRONG_EXERCISE)
            cell["source"] = WRONG_CELL
        for student, nb in zip(STUDENTS, (solved, released, wrong)):
            path = course / "submitted" / student / name / f"{name}.ipynb"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(nb, indent=1))
        # a cell that shows a widget sometimes gets its reply only when the kernel is
        # interrupted (a kernel/client race under load): a short timeout bounds that wait, and
        # the cell's result is kept (no error output)
        nbgrader(course, env, "autograde", name, "--Execute.timeout=120")
    nbgrader(course, env, "generate_feedback", WRONG_NOTEBOOK, "--student", "wrong")
    return {"dir": course, "assignments": {a.name: a for a in found}}


def test_generate_assignment_releases_every_notebook_without_solutions(course):
    for name, a in course["assignments"].items():
        released = json.loads((course["dir"] / "release" / name / f"{name}.ipynb").read_text())
        code = "\n".join(_src(c) for c in released["cells"] if c["cell_type"] == "code")
        assert ex.BEGIN not in code and ex.END not in code, name
        n_functions = sum(
            len(_nbg(c)["grade_id"].split("-"))
            for c in released["cells"]
            if _nbg(c).get("solution")
        )
        assert code.count(ex.STUB) == n_functions == len(a.points), name
        tests = [c for c in released["cells"] if _nbg(c).get("grade")]
        assert len(tests) == len(a.points) and all(_nbg(c)["locked"] for c in tests)
        assert all("checksum" in _nbg(c) for c in tests), "nbgrader records the test cells"


def _scores(course, name, student):
    with Gradebook(f"sqlite:///{course['dir'] / 'gradebook.db'}") as gb:
        sub = gb.find_submission(name, student)
        nb = gb.find_submission_notebook(name, name, student)
        grades = {g.name: (g.score, g.max_score) for g in nb.grades}
        return sub.score, sub.max_score, grades


def _autograded(course, name, student) -> dict:
    path = course["dir"] / "autograded" / student / name / f"{name}.ipynb"
    return json.loads(path.read_text())


@pytest.mark.parametrize("name", AUTOGRADED)
def test_the_course_solutions_get_full_points(course, name):
    score, max_score, grades = _scores(course, name, "solved")
    assert max_score == len(course["assignments"][name].points) > 0
    assert score == max_score, grades
    nb = _autograded(course, name, "solved")
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == [], [e["evalue"][:200] for e in errors]


@pytest.mark.parametrize("name", AUTOGRADED)
def test_an_unsolved_notebook_gets_zero_and_runs_to_the_end(course, name):
    score, max_score, grades = _scores(course, name, "unsolved")
    assert score == 0 and max_score > 0, grades
    nb = _autograded(course, name, "unsolved")
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and _src(c).strip()]
    assert all(c["execution_count"] is not None for c in code), "a cell did not run"
    for cell in code:
        for out in cell["outputs"]:
            if out["output_type"] == "error":
                assert _nbg(cell).get("grade"), f"an error outside a test cell: {out['evalue']}"
                assert out["ename"] == "AssertionError"
    text = json.dumps(nb)
    assert text.count("not attempted yet") >= max_score


def test_one_wrong_solution_loses_its_point_and_says_why(course):
    name = WRONG_NOTEBOOK
    score, max_score, grades = _scores(course, name, "wrong")
    assert score == max_score - 1, grades
    assert grades[f"test-{WRONG_EXERCISE}"] == (0, 1)
    assert all(s == m for g, (s, m) in grades.items() if g != f"test-{WRONG_EXERCISE}")
    feedback = course["dir"] / "feedback" / "wrong" / name / f"{name}.html"
    html = feedback.read_text()
    assert WRONG_MESSAGE in html
    assert f"{WRONG_EXERCISE}: not passed yet" in html
    other = _scores(course, "04_two_phases_and_plateau_potentials", "wrong")
    assert other[0] == other[1], "the wrong solution in 03 must not cost points in 04"
