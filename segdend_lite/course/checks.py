"""Self-checks for the course's exercises: ``check``, ``check_prediction``, ``hint``, ``progress``.

In a notebook, under the cell where you write a function::

    hidden_delta = check("hidden_delta", hidden_delta)

runs your function and the library's reference on several inputs and prints one line: passed;
"not attempted yet" for an untouched stub; or what is wrong, found by comparing your output with
known mistakes (a missing factor, a flipped sign, the wrong matrix). It returns your function if
it passes, otherwise the library's reference (and says so), so the later cells of the notebook
always run, and run *your* code once it is right.

Predict-then-run exercises: write a prediction before a run, then
``check_prediction("name", name, observed)`` compares it with what the run showed and explains.

``hint(name, level)`` prints tiered hints: 1, 2, then 3 = the solution, read from the course
notebook's ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers (via the generated
``solutions.json``, see ``scripts/build_exercises.py``). In the student notebooks
(``exercises/``, which call ``record_progress()``), attempts are remembered in a small JSON file
(``~/.segdend_lite/progress.json``, or ``$SEGDEND_PROGRESS_FILE``); ``progress()`` lists them.
Running the course notebooks (``notebooks/``, with their solutions) records nothing.

Strict mode (``SEGDEND_STRICT_CHECKS=1``, set by ``make test``): an attempted but wrong solution
raises ``AssertionError`` with the verdict, so a wrong solution in ``notebooks/`` fails the
suite; an untouched stub never raises, so the student notebooks still run to the end.

The exercises themselves (references, test inputs, known mistakes, hints) are declared in one
small file per notebook, ``segdend_lite/course/catalog/nbNN.py``, with :func:`register`. This
module holds only the machinery: no solutions and no copy of any equation.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import inspect
import json
import os
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from segdend_lite.course import progress_store

#: Environment variable that turns wrong (attempted) solutions into errors.
STRICT_ENV = "SEGDEND_STRICT_CHECKS"
#: What a check says when it hands back the library's reference instead of your function.
FALLBACK = "using the library's reference until yours passes"

Cases = Callable[[np.random.Generator], list[tuple]]


@dataclass(frozen=True)
class Exercise:
    """One exercise: write a function that behaves like ``reference``.

    ``name``: the function's name in the notebook (and the key of ``check``/``hint``);
    ``notebook``: the course notebook's file stem, e.g. ``"01_credit_assignment_and_backprop"``;
    ``title``: a few words; ``reference``: a library function with the student's signature (or
    a lambda that only adapts the arguments of one); ``cases(rng)``: the argument tuples to try;
    ``mistakes``: ``(wrong_function, "what is wrong, in one sentence")`` pairs, tried in order
    when the student's output differs from the reference's; ``hints``: levels 1 and 2 (level 3
    is the solution from the course notebook); ``compare(got, expected, args) -> bool``: a
    custom comparison (default: same shape and values within 1e-6 relative, element by element
    for tuples); ``diagnose(got, args) -> str | None``: a diagnosis tried after the mistakes,
    for what comparing with a wrong function cannot find (e.g. random draws).

    Generic mistakes (:data:`GENERIC_MISTAKES`) are tried for every exercise before its own: a
    changed argument, None, a list for an array, a wrong dtype, the wrong number of values.
    """

    name: str
    notebook: str
    title: str
    reference: Callable
    cases: Cases
    mistakes: list[tuple[Callable, str]] = field(default_factory=list)
    hints: tuple[str, str] = ("", "")
    compare: Callable[[Any, Any, tuple], bool] | None = None
    diagnose: Callable[[Any, tuple], str | None] | None = None


@dataclass(frozen=True)
class Prediction:
    """A predict-then-run exercise: the student chooses one of ``options`` before a run.

    ``outcome(observed) -> option``: turns what the run measured into the option it supports
    (default: ``observed`` is already an option); ``explanation``: why the run came out so, shown
    after the comparison. The student's prediction is a variable named ``name`` in the notebook.
    """

    name: str
    notebook: str
    title: str
    options: tuple[str, ...]
    explanation: str
    outcome: Callable[[Any], str] | None = None
    hints: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class Verdict:
    """The result of a check: ``passed``; ``attempted`` (False for an untouched stub); the
    one-line ``message``."""

    name: str
    passed: bool
    attempted: bool
    message: str


# ------------------------------------------------------------------------------ the catalogue

_CATALOGUE: dict[str, Exercise | Prediction] = {}
_LOADED = False


def register(item: Exercise | Prediction) -> Exercise | Prediction:
    """Add an exercise (or prediction) to the catalogue; called by ``catalog/nbNN.py``."""
    old = _CATALOGUE.get(item.name)
    if old is not None and old.notebook != item.notebook:
        raise ValueError(
            f"exercise {item.name!r} is registered by {old.notebook} and {item.notebook}: "
            "give one of them another name"
        )
    _CATALOGUE[item.name] = item
    return item


def catalogue() -> dict[str, Exercise | Prediction]:
    """All registered exercises and predictions, by name (loads ``catalog/nbNN.py`` once)."""
    global _LOADED
    if not _LOADED:
        _LOADED = True
        from segdend_lite.course import catalog

        for module in sorted(m.name for m in pkgutil.iter_modules(catalog.__path__)):
            importlib.import_module(f"{catalog.__name__}.{module}")
    return dict(_CATALOGUE)


def _get(name: str) -> Exercise | Prediction:
    items = catalogue()
    if name not in items:
        raise ValueError(f"no exercise {name!r}; exercises: {', '.join(sorted(items))}")
    return items[name]


def strict() -> bool:
    """True when ``$SEGDEND_STRICT_CHECKS`` is 1/true/yes (the test suite sets it)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes")


# ------------------------------------------------------------------------------ comparisons


def same(got: Any, expected: Any, rtol: float = 1e-6) -> bool:
    """Same shape and values within ``rtol`` (relative to the largest expected value), element
    by element for tuples and lists."""
    if isinstance(expected, (tuple, list)):
        return (
            isinstance(got, (tuple, list))
            and len(got) == len(expected)
            and all(same(g, e, rtol) for g, e in zip(got, expected))
        )
    try:
        a, b = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return False
    if a.shape != b.shape:
        return False
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    return bool(np.allclose(a, b, rtol=rtol, atol=rtol * max(scale, 1e-12), equal_nan=True))


def _shape(x: Any):
    if isinstance(x, (tuple, list)):
        return tuple(_shape(v) for v in x)
    try:
        return np.shape(x)
    except Exception:  # noqa: BLE001
        return None


def _copy(args: tuple) -> tuple:
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def _preview(got: Any, expected: Any) -> str:
    """Where two results differ most: "at [i, j]: got vs expected" (the first elements of
    tuples), or their first values when no position can be compared."""
    if isinstance(expected, (tuple, list)) and isinstance(got, (tuple, list)):
        pairs = [(g, e) for g, e in zip(got, expected) if not same(g, e)]
        got, expected = pairs[0] if pairs else (got[:1], expected[:1])
    try:
        a, b = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return f"{repr(got)[:40]} vs {repr(expected)[:40]}"
    if a.shape == b.shape and a.size:
        diff = np.abs(a - b)
        diff[np.isnan(diff)] = np.inf
        k = np.unravel_index(int(np.argmax(diff)), a.shape)
        at = f" at {[int(i) for i in k]}" if a.ndim else ""
        return f"{a[k]:.6g} vs {b[k]:.6g}{at}"
    return (
        f"{np.array2string(np.ravel(a)[:3], precision=4)} vs "
        f"{np.array2string(np.ravel(b)[:3], precision=4)}"
    )


# ------------------------------------------------------------------------------ generic mistakes


def _changed_argument(student: Callable, args: tuple, after: tuple) -> str | None:
    """The name of the first array argument the student's function changed in place."""
    try:
        names = list(inspect.signature(student).parameters)
    except (TypeError, ValueError):
        names = []
    for k, (before, now) in enumerate(zip(args, after)):
        if isinstance(before, np.ndarray) and not (
            now.shape == before.shape and np.array_equal(now, before, equal_nan=True)
        ):
            return names[k] if k < len(names) else f"number {k + 1}"
    return None


def _type_problem(
    got: Any, expected: Any, what: str = "Your function", lengths: bool = False
) -> str | None:
    """A generic mistake in the type of a result: None, a list for an array, an integer or
    float16 array for a float one; with ``lengths``, also a tuple or list with the wrong number
    of values (tried after the exercise's own mistakes, which may explain the number)."""
    if got is None and expected is not None:
        return (
            f"{what} returned None: is the `return` line missing (or does it return the result "
            "of an in-place operation such as list.append)?"
        )
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return (
                f"{what} returned a {type(got).__name__}; expected a {type(expected).__name__} "
                f"of {len(expected)} values."
            )
        if len(got) != len(expected):
            if not lengths:
                return None
            return (
                f"{what} returned {len(got)} value{'s' if len(got) != 1 else ''}; expected "
                f"{len(expected)}."
            )
        for k, (g, e) in enumerate(zip(got, expected)):
            problem = _type_problem(g, e, f"Value {k + 1} of your result", lengths)
            if problem:
                return problem
        return None
    if isinstance(expected, np.ndarray) and not isinstance(got, np.ndarray):
        if expected.ndim == 0 and isinstance(got, (np.generic, float, int)):
            return None
        return (
            f"{what} returned a {type(got).__name__}; return a numpy array (the later cells do "
            "array arithmetic with it): build it with numpy operations or wrap it in "
            "np.asarray(...)."
        )
    if isinstance(expected, np.ndarray) and expected.dtype.kind == "f":
        if got.dtype.kind in "biu":
            return (
                f"{what} returned an array of {got.dtype} (whole numbers); expected floating "
                "point: integer arrays round every value (e.g. np.zeros_like of an integer array, "
                "or // instead of /)."
            )
        if got.dtype.itemsize < expected.dtype.itemsize and got.dtype.kind == "f":
            if not same(got, expected):
                return (
                    f"{what} returned {got.dtype}, which keeps only "
                    f"{np.finfo(got.dtype).precision} significant digits; compute in "
                    f"{expected.dtype} (numpy's default)."
                )
    return None


def _argument_changed(student, args, mine, got, expected) -> str | None:
    changed = _changed_argument(student, args, mine)
    if changed is None:
        return None
    return (
        f"Your function changed its argument `{changed}`; compute into a new array (e.g. "
        f"`out = {changed} * 2` rather than `{changed} *= 2` or `{changed}[...] = ...`): the "
        f"caller still needs `{changed}` as it was."
    )


def _wrong_type(student, args, mine, got, expected) -> str | None:
    return _type_problem(got, expected)


#: Mistakes any exercise can show, tried in order before the exercise's own: each is
#: ``f(student, args, args_after_the_call, got, expected) -> message or None``.
GENERIC_MISTAKES = (_argument_changed, _wrong_type)


# ------------------------------------------------------------------------------ checks


def verdict(name: str, student: Callable) -> Verdict:
    """Run exercise ``name``'s test cases on ``student``; no printing, no fallback.

    Each case runs on copies of its arrays; afterwards the student's copies are compared with
    the originals, so a function that changes an argument in place is caught even when its
    result is right."""
    ex = _get(name)
    if not isinstance(ex, Exercise):
        raise ValueError(f"{name!r} is a prediction: use check_prediction")
    if not callable(student):
        return Verdict(
            name,
            False,
            True,
            f"{name}: not yet. Pass the function itself, not {type(student).__name__}.",
        )
    cmp = ex.compare or (lambda got, exp, args: same(got, exp))

    def wrong(message: str) -> Verdict:
        return Verdict(name, False, True, f"{name}: not yet. {message}")

    for args in ex.cases(np.random.default_rng(1234)):
        expected = ex.reference(*_copy(args))
        mine = _copy(args)
        try:
            got = student(*mine)
        except NotImplementedError:
            msg = f"{name}: not attempted yet. Replace the `raise NotImplementedError` line."
            return Verdict(name, False, False, msg)
        except Exception as exc:  # noqa: BLE001 - the student's code may raise anything
            return wrong(f"Your function raised {type(exc).__name__}: {exc}.")
        for generic in GENERIC_MISTAKES:
            problem = generic(student, args, mine, got, expected)
            if problem:
                return wrong(problem)
        if cmp(got, expected, args):
            continue
        for mistake, message in ex.mistakes:
            if cmp(got, mistake(*_copy(args)), args):
                return wrong(message)
        found = ex.diagnose(got, args) if ex.diagnose else None
        found = found or _type_problem(got, expected, lengths=True)
        if found:
            return wrong(found)
        if _shape(got) != _shape(expected):
            return wrong(f"The result has shape {_shape(got)}; expected {_shape(expected)}.")
        return wrong(
            f"Your values differ from the reference ({_preview(got, expected)}). "
            f"Try hint('{name}', 1)."
        )
    return Verdict(name, True, True, f"{name}: passed. The cells below use your function.")


def check(name: str, student: Callable) -> Callable:
    """Check your function for exercise ``name``; print one line; return the function to use.

    Returns ``student`` if it passes, otherwise the library's reference (the line says so), so
    ``f = check("f", f)`` makes the later cells use your ``f`` once it is right. In strict mode
    (``$SEGDEND_STRICT_CHECKS=1``) a wrong attempt raises ``AssertionError`` instead.
    """
    v = verdict(name, student)
    _record(name, v)
    if v.passed:
        print(v.message)
        return student
    if v.attempted and strict():
        raise AssertionError(v.message)
    print(f"{v.message} For now: {FALLBACK}.")
    return _get(name).reference


def check_prediction(name: str, prediction: Any, observed: Any) -> Verdict:
    """Compare your ``prediction`` (one of the exercise's options) with what the run showed.

    ``observed``: the measurement the notebook passes in. Prints the comparison and the
    explanation. A prediction of ``None`` is "not made yet" (never raises); so is a measurement
    that cannot be judged (None, empty, NaN or infinity in it: the message says to rerun the
    cells above); in strict mode a prediction that the run contradicts raises
    ``AssertionError``.
    """
    p = _get(name)
    if not isinstance(p, Prediction):
        raise ValueError(f"{name!r} is not a prediction: use check")
    choices = " / ".join(repr(o) for o in p.options)
    shown, unusable = _outcome(p, observed)
    if unusable:  # nothing to judge: like a prediction not made yet, never raises
        v = Verdict(name, False, False, f"{name}: {unusable}")
        print(v.message)
        return v
    if prediction is None:
        v = Verdict(
            name,
            False,
            False,
            f"{name}: no prediction yet. Set {name} to one of "
            f"{choices} before the run, then run both cells again.",
        )
    elif prediction not in p.options:
        v = Verdict(
            name, False, True, f"{name}: {prediction!r} is not one of the options {choices}."
        )
    elif prediction == shown:
        v = Verdict(
            name,
            True,
            True,
            f"{name}: you predicted {prediction!r}, and the run showed {shown!r}. {p.explanation}",
        )
    else:
        v = Verdict(
            name,
            False,
            True,
            f"{name}: you predicted {prediction!r}; the run showed {shown!r}. {p.explanation}",
        )
    _record(name, v)
    if v.attempted and not v.passed and strict():
        raise AssertionError(v.message)
    print(v.message)
    return v


def _outcome(p: Prediction, observed: Any) -> tuple[Any, str | None]:
    """(the option ``observed`` supports, None), or (None, why it cannot be judged): nothing
    measured (None, empty), NaN in it, or a measurement the exercise cannot read."""
    why = observation_problem(observed)
    if why is None:
        try:
            shown = p.outcome(observed) if p.outcome else observed
        except Exception as exc:  # noqa: BLE001 - a malformed measurement
            why = f"cannot read it ({type(exc).__name__}: {exc})"
        else:
            if shown in p.options:
                return shown, None
            why = f"it gives {shown!r}, not one of the options"
    return None, (
        f"the run's measurement ({_short(observed)}) cannot be judged: {why}. Run the cells "
        "above again (from the top if needed) so that the run measures it, then this cell."
    )


def observation_problem(observed: Any) -> str | None:
    """Why ``observed`` is no measurement (None, empty, NaN anywhere in it), or None."""
    if observed is None:
        return "nothing was measured (None)"
    if isinstance(observed, dict):
        values = list(observed.values())
    elif isinstance(observed, (list, tuple, np.ndarray)):
        values = list(np.ravel(np.asarray(observed, dtype=object)))
    else:
        values = [observed]
    if not values:
        return "it is empty"
    for v in values:
        if v is None:
            return "part of it is None"
        if isinstance(v, (dict, list, tuple, np.ndarray)):
            inner = observation_problem(v)
            if inner:
                return inner
        elif isinstance(v, (float, np.floating, complex)) and not np.isfinite(v):
            return "it holds NaN or infinity"
    return None


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


# ------------------------------------------------------------------------------ hints


def solutions() -> dict[str, str]:
    """The solutions, by exercise name, as written between the course notebooks' markers
    (``solutions.json``, generated from them by ``make exercises``)."""
    path = Path(__file__).with_name("solutions.json")
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}


def hint_text(name: str, level: int = 1) -> str:
    """The text of hint ``level`` (1 or 2; 3 = the solution) for exercise ``name``."""
    item = _get(name)
    if isinstance(level, bool) or level not in (1, 2, 3):
        raise ValueError(f"hint level {level!r}: give 1, 2 or 3 (3 = the solution)")
    level = int(level)
    if level < 3:
        return item.hints[level - 1]
    sol = solutions().get(name)
    if sol:
        return "Solution (from the course notebook):\n" + sol
    return (
        f"No solution found for {name!r}: the course notebooks are the source "
        "(notebooks/, between ### BEGIN SOLUTION and ### END SOLUTION)."
    )


def hint(name: str, level: int = 1) -> None:
    """Print hint ``level`` 1 or 2 for exercise ``name``; level 3 prints the solution. Returns
    nothing, so that a notebook shows the hint once (:func:`hint_text` returns it)."""
    print(hint_text(name, level))


# ------------------------------------------------------------------------------ progress


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


def _record(name: str, v: Verdict) -> None:
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


__all__ = [
    "Exercise",
    "Prediction",
    "Verdict",
    "register",
    "catalogue",
    "check",
    "check_prediction",
    "verdict",
    "hint",
    "hint_text",
    "solutions",
    "progress",
    "progress_file",
    "record_progress",
    "same",
    "strict",
    "GENERIC_MISTAKES",
]
