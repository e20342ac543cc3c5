"""Generate the student and solution notebooks in ``exercises/`` from the course notebooks.

Solutions are written once, in the course notebooks (``notebooks/NN_*.ipynb``), between the
lines ``### BEGIN SOLUTION`` and ``### END SOLUTION``. This tool writes

- ``exercises/NN_*.ipynb``: each solution replaced by ``raise NotImplementedError(...)`` at the
  same indentation (signatures and docstrings stay), outputs cleared, and a call of
  ``record_progress()`` after the import of the checks (progress is recorded from these
  student notebooks only); ``00_welcome`` too, so that ``exercises/`` holds the whole course;
- ``exercises/solutions/NN_*.ipynb``: the same notebooks with the markers removed;
- ``segdend_lite/course/solutions.json``: each solution by exercise name (the function it
  completes, or the prediction variable it sets), for ``hint(name, 3)``. It ships inside the
  package because students on Binder or Colab may have the package without ``notebooks/``; it is
  generated, never edited, and the test suite fails if it is stale, so the notebooks stay the
  one source.

A solution block inside a function becomes ``raise NotImplementedError(...)`` in the student
version; a block at the top level of a cell (a prediction, ``name = "option"``) becomes
``name = None``, so that an untouched student notebook still runs to the end.

    python scripts/build_exercises.py build     # (re)generate (make exercises)
    python scripts/build_exercises.py check     # exit 1 if the committed files are stale

A small json-based tool is enough here (nbgrader's generate_assignment would bring a database
and a fixed course layout for the same two transformations).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = 'raise NotImplementedError("Your turn: replace this line with your solution.")'
PREDICTION_STUB = "None  # your prediction: replace None with one of the options above"
#: The notebook's path in an "Open in Colab" link (its first markdown cell), to point it at the
#: generated copy.
COLAB_PATH = re.compile(
    r"(colab\.research\.google\.com/github/[^\s()]+?/blob/[^\s()/]+/)notebooks/"
)
ROOT = Path(__file__).resolve().parents[1]
_ASSIGNED = re.compile(r"^([A-Za-z_]\w*)\s*=")
_DEF = re.compile(r"^(\s*)def\s+([A-Za-z_]\w*)\s*\(")


def _stub(indent: str, block: list[str]) -> list[str]:
    """The student's version of one solution block (see the module docstring)."""
    if indent:
        return [f"{indent}{STUB}\n"]
    names = [m.group(1) for m in map(_ASSIGNED.match, block) if m]
    if not names:
        raise ValueError(
            "a solution block at the top level of a cell must assign a prediction "
            "(name = value); put other solutions inside a function"
        )
    return [f"{n} = {PREDICTION_STUB}\n" for n in dict.fromkeys(names)]


def _blocks(source: str):
    """Split a cell into (text outside, None) and (solution lines, indent) pieces, in order."""
    pieces, block, indent = [], None, ""
    for line in source.splitlines(keepends=True):
        stripped = line.strip()
        if stripped == BEGIN:
            if block is not None:
                raise ValueError(f"{BEGIN} inside a solution block")
            block, indent = [], line[: len(line) - len(line.lstrip())]
        elif stripped == END:
            if block is None:
                raise ValueError(f"{END} without {BEGIN}")
            pieces.append((block, indent))
            block = None
        elif block is not None:
            block.append(line)
        else:
            pieces.append(([line], None))
    if block is not None:
        raise ValueError(f"{BEGIN} without {END}")
    return pieces


def _transform(source: str, student: bool) -> str:
    out = []
    for lines, indent in _blocks(source):
        out += _stub(indent, lines) if (student and indent is not None) else lines
    return "".join(out)


def _solutions(source: str) -> dict[str, str]:
    """The solutions of one cell by name: the enclosing function (its ``def`` line to the end
    of the block, markers removed), or the prediction variable a top-level block assigns."""
    found, before = {}, []
    for lines, indent in _blocks(source):
        if indent is None:
            before += lines
            continue
        if indent:
            starts = [
                i
                for i, ln in enumerate(before)
                if (m := _DEF.match(ln)) and len(m.group(1)) < len(indent)
            ]
            if not starts:
                raise ValueError("an indented solution block must lie inside a function")
            name = _DEF.match(before[starts[-1]]).group(2)
            found[name] = "".join(before[starts[-1] :] + lines)
        else:
            for m in map(_ASSIGNED.match, lines):
                if m:
                    found[m.group(1)] = "".join(lines)
        before += lines
    return found


def solutions(root: Path = ROOT) -> dict[str, str]:
    """Every solution in the course notebooks, by exercise name (what ``solutions.json`` holds)."""
    out = {}
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                for name, text in _solutions("".join(cell["source"])).items():
                    if name in out:
                        raise ValueError(f"two solutions named {name!r} ({path.name})")
                    out[name] = text
    return out


def _render(nb: dict, student: bool, title_note: str, folder: str) -> dict:
    nb = json.loads(json.dumps(nb))
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code":
            src = _transform(src, student)
            cell["outputs"] = []
            cell["execution_count"] = None
        else:
            src = COLAB_PATH.sub(lambda m: m.group(1) + folder + "/", src)
        cell["source"] = src.splitlines(keepends=True)
    first = nb["cells"][0]
    first["source"] = [title_note + "\n\n"] + first["source"]
    return nb


def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


#: Added to the first cell of a student notebook that imports the checks: progress is recorded
#: from the student notebooks only, never from the course notebooks with their solutions.
RECORD_IMPORT = "from segdend_lite.course.checks import record_progress\n"
RECORD_CALL = "record_progress()  # your copy: the checks are remembered; progress() lists them\n"
_CHECKS_IMPORT = "from segdend_lite.course.checks import"


def with_recording(source: str) -> str:
    """A cell's source with the student version's ``record_progress()``: its import next to the
    import of the checks, the call at the end of the cell."""
    lines = source.splitlines(keepends=True)
    k = next(i for i, ln in enumerate(lines) if ln.startswith(_CHECKS_IMPORT))
    lines.insert(k + 1, RECORD_IMPORT)
    if not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return "".join(lines) + "\n" + RECORD_CALL


def _record_progress(nb: dict) -> dict:
    """The student notebook ``nb`` with ``record_progress()`` in its first cell that imports
    the checks (see :func:`with_recording`)."""
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and any(
            ln.startswith(_CHECKS_IMPORT) for ln in src.splitlines()
        ):
            cell["source"] = with_recording(src).splitlines(keepends=True)
            break
    return nb


def generated(root: Path = ROOT) -> dict[Path, str]:
    """The files the tool would write: {path: text}. Every course notebook gets a student
    version (00_welcome too, so that the student folder is the whole course); those with
    solutions also get a solutions copy."""
    files = {}
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        text = path.read_text()
        nb = json.loads(text)
        has_solutions = BEGIN in text
        what = (
            "fill in each `raise NotImplementedError`, then run the check below it"
            if has_solutions
            else "the exercises start in notebook 01"
        )
        files[root / "exercises" / path.name] = _dump(
            _record_progress(
                _render(
                    nb,
                    True,
                    f"> **Student version** of `notebooks/{path.name}`, generated by "
                    f"`make exercises`: {what}. The solutions are in `exercises/solutions/` "
                    "(and in `notebooks/`, the course notebooks). Do not edit this header.",
                    "exercises",
                )
            )
        )
        if not has_solutions:
            continue
        files[root / "exercises" / "solutions" / path.name] = _dump(
            _render(
                nb,
                False,
                f"> **Solutions** of `notebooks/{path.name}`, generated by `make exercises`.",
                "exercises/solutions",
            )
        )
    files[root / "segdend_lite" / "course" / "solutions.json"] = (
        json.dumps(solutions(root), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    )
    return files


def build(root: Path = ROOT) -> list[Path]:
    from segdend_lite.atomic import atomic_write_bytes

    written = []
    for path, text in generated(root).items():
        if not path.exists() or path.read_text() != text:
            atomic_write_bytes(path, text.encode())
            written.append(path)
    return written


def stale(root: Path = ROOT) -> list[Path]:
    """Generated files that are missing or differ from what ``build`` would write."""
    return [p for p, t in generated(root).items() if not p.exists() or p.read_text() != t]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["build"]:
        for p in build():
            print(f"wrote {p.relative_to(ROOT)}")
        return 0
    if args == ["check"]:
        bad = stale()
        for p in bad:
            print(f"stale: {p.relative_to(ROOT)} (run `make exercises`)")
        return 1 if bad else 0
    print("usage: python scripts/build_exercises.py build|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
