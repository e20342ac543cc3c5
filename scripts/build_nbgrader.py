"""Write an nbgrader course folder from the course notebooks (``make nbgrader``).

    python scripts/build_nbgrader.py build COURSE_DIR [--points NAME=N ...]   (make nbgrader)

writes, for each course notebook with exercises, ``COURSE_DIR/source/<notebook>/<notebook>.ipynb``
(nbgrader's layout: one assignment per notebook), and ``COURSE_DIR/nbgrader_config.py`` if it is
not there yet. The notebooks in ``notebooks/`` stay the one source; this reads them each time.
In each assignment:

- **solution cells**: a code cell with ``### BEGIN SOLUTION`` / ``### END SOLUTION`` inside a
  function (nbgrader's own markers) is an nbgrader solution cell. nbgrader's
  ``generate_assignment`` replaces each solution with the stub that ``nbgrader_config.py`` sets,
  the same ``raise NotImplementedError(...)`` line as in ``exercises/``;
- **autograded tests**: each check line under an exercise, ``f = check("f", f)``, becomes a
  read-only test cell worth one point (``--points f=2`` to change it) that runs the same check,
  prints the same verdict, and fails (no points) unless it says "passed";
- **predictions** are not graded: a prediction is a guess made before a run, and the run after
  it shows how it went. Its cell holds ``name = None`` (as in ``exercises/``) and stays
  editable, as does every other code cell (students change parameters and run again);
- **read-only cells**: the text (markdown cells), the set-up cells (code cells before the first
  exercise that import something) and the tests.

Nothing else in ``COURSE_DIR`` is touched (``release/``, ``submitted/``, ``autograded/``,
``feedback/`` and ``gradebook.db`` are nbgrader's). The generated files are not committed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_exercises import BEGIN, END, PREDICTION_STUB, STUB  # noqa: E402  (beside this file)

from segdend_lite.atomic import atomic_write_bytes  # noqa: E402
from segdend_lite.course.checks import Exercise, catalogue  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: nbgrader's cell metadata schema this module writes.
SCHEMA_VERSION = 3
_CHECK = re.compile(
    r"""^([A-Za-z_]\w*)\s*=\s*check\(\s*["']([A-Za-z_]\w*)["']\s*,\s*([A-Za-z_]\w*)\s*\)"""
)
_DEF = re.compile(r"^(\s*)def\s+([A-Za-z_]\w*)\s*\(")
_ASSIGNED = re.compile(r"^([A-Za-z_]\w*)\s*=")
_IMPORT = re.compile(r"^(import|from)\s+\S", re.M)
_COLAB = re.compile(r"colab\.research\.google\.com")

CONFIG = f'''"""nbgrader configuration of the segdend-lite course, written by `make nbgrader`.

Edit freely: `make nbgrader` writes this file only when it is missing.
"""

c = get_config()  # noqa: F821  (nbgrader provides it)

c.CourseDirectory.course_id = "segdend-lite"
# The course's own stub (as in exercises/): the self-check then says "not attempted yet".
c.ClearSolutions.code_stub = {{"python": {STUB!r}}}
# Seconds per cell when autograding. Grade in quick mode (SEGDEND_QUICK=1 nbgrader autograde
# ...): the checks are the same, only the training cells are shorter. A cell that shows a
# widget sometimes gets its reply only after this timeout interrupts the kernel (its result
# is kept), so keep it short.
c.Execute.timeout = 300
'''


@dataclass
class Assignment:
    """One generated notebook: its path in the course folder, its JSON, and its points."""

    name: str
    notebook: dict
    points: dict[str, int]
    solution_cells: int
    locked_cells: int

    @property
    def total(self) -> int:
        return sum(self.points.values())


def _meta(grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return meta


def _lines(cell: dict) -> list[str]:
    src = cell["source"]
    return "".join(src).splitlines(keepends=True) if isinstance(src, list) else src.splitlines(True)


def _split_solutions(lines: list[str], where: str) -> tuple[list[str], list[str]]:
    """The cell's lines with each top-level (prediction) block replaced by ``name = None`` stubs,
    and the names of the functions whose bodies hold a solution block."""
    out, functions, block, indent = [], [], None, ""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped == BEGIN:
            if block is not None:
                raise ValueError(f"{where}: {BEGIN} inside a solution block")
            indent = line[: len(line) - len(line.lstrip())]
            block = []
            if indent:
                defs = [
                    m.group(2)
                    for m in map(_DEF.match, lines[:i])
                    if m and len(m.group(1)) < len(indent)
                ]
                if not defs:
                    raise ValueError(f"{where}: an indented solution block must lie in a function")
                functions.append(defs[-1])
                out.append(line)
        elif stripped == END:
            if block is None:
                raise ValueError(f"{where}: {END} without {BEGIN}")
            if indent:
                out += block + [line]
            else:
                names = [m.group(1) for m in map(_ASSIGNED.match, block) if m]
                if not names:
                    raise ValueError(
                        f"{where}: a solution block at the top level of a cell must assign a "
                        "prediction (name = value)"
                    )
                out += [f"{n} = {PREDICTION_STUB}\n" for n in dict.fromkeys(names)]
            block = None
        elif block is not None:
            block.append(line)
        else:
            out.append(line)
    if block is not None:
        raise ValueError(f"{where}: {BEGIN} without {END}")
    return out, functions


def _markdown_for_students(text: str) -> str:
    """A markdown cell without its notes to instructors about the course version (paragraphs
    that start with ``*Instructors:*``), and with nbgrader's markers, where the text still
    names them, written so that nbgrader does not take them for a solution region."""
    paragraphs = re.split(r"(\n\s*\n)", text)
    kept = "".join(p for p in paragraphs if not p.lstrip().startswith("*Instructors:*"))
    for marker in ("BEGIN SOLUTION", "END SOLUTION"):
        kept = kept.replace(marker, marker.replace(" ", "\u00a0"))
    return kept


def _test_source(name: str, points: int, comment: str) -> str:
    unit = "point" if points == 1 else "points"
    return (
        f"# Autograded test of `{name}` ({points} {unit}): the course's own check. This cell\n"
        '# fails, and gives no points, until the check says "passed".\n'
        f"_submitted = {name}\n"
        f'{name} = check("{name}", {name}){comment}\n'
        f'assert {name} is _submitted, "{name}: not passed yet (the line above says why)"\n'
    )


def _new_cell(kind: str, source: str, meta: dict, cell_id: str | None) -> dict:
    cell = {"cell_type": kind, "metadata": {"nbgrader": meta}, "source": source}
    if kind == "code":
        cell["execution_count"] = None
        cell["outputs"] = []
    if cell_id is not None:
        cell["id"] = cell_id
    return cell


def _header(path: Path, points: dict[str, int]) -> str:
    total = sum(points.values())
    return (
        f"> **nbgrader assignment**, generated from the course notebook `notebooks/{path.name}` "
        "by `make nbgrader`. Write each solution where a cell says `raise NotImplementedError`, "
        "then run the check under it. Each exercise has one *autograded test* cell "
        f"({len(points)} exercises, {total} points in all); it runs the same check as the "
        "course notebook. Predictions are not graded: the run after each one shows how it "
        "went. The text, the set-up cells and the tests are read-only. Run the whole notebook "
        "(or *Validate*) before you submit."
    )


def assignment(path: Path, points: dict[str, int] | None = None) -> Assignment | None:
    """The nbgrader source notebook for the course notebook ``path`` (None without exercises)."""
    nb = json.loads(path.read_text())
    exercises = {
        n: e for n, e in catalogue().items() if isinstance(e, Exercise) and e.notebook == path.stem
    }
    if not any(BEGIN in "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"):
        return None
    with_ids = (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5)  # cells have ids
    used_ids: set[str] = set()

    def cell_id(base: str) -> str | None:
        if not with_ids:
            return None
        cid, k = base[:60], 1
        while cid in used_ids:
            k += 1
            cid = f"{base[:56]}-{k}"
        used_ids.add(cid)
        return cid

    for c in nb["cells"]:
        if "id" in c:
            used_ids.add(c["id"])

    # where the exercises start: the set-up cells are the importing code cells before it
    first_exercise = next(
        (
            i
            for i, c in enumerate(nb["cells"])
            if c["cell_type"] == "code" and BEGIN in "".join(c["source"])
        ),
        len(nb["cells"]),
    )
    cells, solved, tested, pts = [], [], [], {}
    n_solution = n_locked = 0
    grade_ids: set[str] = set()

    def locked_id(text: str) -> str:
        base = "readonly-" + hashlib.sha1(text.encode()).hexdigest()[:10]
        gid, k = base, 1
        while gid in grade_ids:
            k += 1
            gid = f"{base}-{k}"
        grade_ids.add(gid)
        return gid

    for i, src_cell in enumerate(nb["cells"]):
        cell = json.loads(json.dumps(src_cell))
        where = f"{path.name}, cell {i + 1}"
        lines = _lines(cell)
        if cell["cell_type"] == "markdown":
            if i == 0:
                lines = [ln for ln in lines if not _COLAB.search(ln)]
            text = _markdown_for_students("".join(lines))
            cell["source"] = text
            cell.setdefault("metadata", {})["nbgrader"] = _meta(locked_id(text), locked=True)
            n_locked += 1
            cells.append(cell)
            continue
        if cell["cell_type"] != "code":
            cells.append(cell)
            continue
        cell["outputs"], cell["execution_count"] = [], None
        cell.setdefault("metadata", {}).pop("nbgrader", None)
        text = "".join(lines)
        if BEGIN in text:
            lines, functions = _split_solutions(lines, where)
            cell["source"] = "".join(lines)
            if functions:
                gid = "-".join(functions)
                grade_ids.add(gid)
                cell["metadata"]["nbgrader"] = _meta(gid, solution=True)
                solved += functions
                n_solution += 1
            cells.append(cell)
            continue
        checks = [(j, _CHECK.match(ln)) for j, ln in enumerate(lines)]
        checks = [(j, m) for j, m in checks if m and m.group(2) in exercises]
        if checks:
            rest = [ln for j, ln in enumerate(lines) if j not in {k for k, _ in checks}]
            for j, m in checks:
                target, name, arg = m.groups()
                if not (target == name == arg):
                    raise ValueError(
                        f"{where}: write the check as {name} = check({name!r}, {name}) so that "
                        "its test can tell your function from the reference"
                    )
                p = int((points or {}).get(name, 1))
                pts[name] = p
                tested.append(name)
                comment = lines[j][m.end() :].rstrip("\n")
                gid = f"test-{name}"
                grade_ids.add(gid)
                cells.append(
                    _new_cell(
                        "code",
                        _test_source(name, p, comment),
                        _meta(gid, grade=True, locked=True, points=p),
                        cell_id(gid),
                    )
                )
                n_locked += 1
            if "".join(rest).strip():
                cell["source"] = "".join(rest)
                cells.append(cell)
            continue
        cell["source"] = text
        if i < first_exercise and _IMPORT.search(text):
            cell["metadata"]["nbgrader"] = _meta(locked_id(text), locked=True)
            n_locked += 1
        cells.append(cell)

    missing_tests = [n for n in solved if n not in tested]
    missing_solutions = [n for n in tested if n not in solved]
    unregistered = [n for n in solved if n not in exercises]
    for names, what in (
        (unregistered, "have a solution but no exercise in segdend_lite/course/catalog/"),
        (missing_tests, 'have a solution but no check line (name = check("name", name))'),
        (missing_solutions, "have a check line but no solution between the markers"),
    ):
        if names:
            raise ValueError(f"{path.name}: {', '.join(names)} {what}")

    for cell in cells:
        text = "".join(cell["source"]).rstrip("\n")
        if cell["cell_type"] == "markdown":
            text = re.sub(r"\n{3,}", "\n\n", text)
        cell["source"] = text.splitlines(keepends=True)
    header = _new_cell(
        "markdown",
        _header(path, pts),
        _meta("readonly-header", locked=True),
        cell_id("nbgrader-header"),
    )
    nb["cells"] = [header] + cells
    return Assignment(path.stem, nb, pts, n_solution, n_locked + 1)


def assignments(root: Path = ROOT, points: dict[str, int] | None = None) -> list[Assignment]:
    """One assignment per course notebook with exercises, in course order."""
    found = []
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        a = assignment(path, points)
        if a is not None:
            found.append(a)
    unknown = set(points or {}) - {n for a in found for n in a.points}
    if unknown:
        raise ValueError(
            f"--points for {', '.join(sorted(unknown))}: no such exercise "
            f"(exercises: {', '.join(n for a in found for n in a.points)})"
        )
    return found


def build(
    course_dir: Path, root: Path = ROOT, points: dict[str, int] | None = None
) -> tuple[list[Assignment], bool]:
    """Write the course folder; returns the assignments and whether ``nbgrader_config.py`` was
    written (it is kept when it exists)."""
    course_dir = Path(course_dir)
    found = assignments(root, points)
    for a in found:
        text = json.dumps(a.notebook, indent=1, ensure_ascii=False) + "\n"
        atomic_write_bytes(course_dir / "source" / a.name / f"{a.name}.ipynb", text.encode())
    config = course_dir / "nbgrader_config.py"
    new_config = not config.exists()
    if new_config:
        atomic_write_bytes(config, CONFIG.encode())
    return found, new_config


def _points(items: list[str]) -> dict[str, int]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit() or int(value) < 1:
            raise SystemExit(f"--points {item!r}: write NAME=N with N a whole number >= 1")
        out[name.strip()] = int(value)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python scripts/build_nbgrader.py",
        description="Write an nbgrader course folder (source/<notebook>/) from notebooks/.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write COURSE_DIR/source/<notebook>/ and nbgrader_config.py")
    b.add_argument("course_dir", type=Path)
    b.add_argument(
        "--points",
        nargs="*",
        default=[],
        metavar="NAME=N",
        help="points of an exercise's test (default 1 each)",
    )
    args = parser.parse_args(argv)
    try:
        found, new_config = build(args.course_dir, ROOT, _points(args.points))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for a in found:
        n, s_n, s_p = len(a.points), "s" * (len(a.points) != 1), "s" * (a.total != 1)
        print(
            f"{args.course_dir}/source/{a.name}/: {n} autograded test{s_n} ({a.total} "
            f"point{s_p}), {a.solution_cells} solution cells, {a.locked_cells} read-only cells"
        )
    what = "wrote" if new_config else "kept (yours)"
    print(f"{what} {args.course_dir}/nbgrader_config.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
