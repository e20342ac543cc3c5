"""Running a check: :func:`verdict` (no printing), :func:`check` (prints one line, returns the
function to use) and :func:`check_prediction`; strict mode (``SEGDEND_STRICT_CHECKS=1``).
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from segdend_lite.course.checks.compare import (
    GENERIC_MISTAKES,
    copy_args,
    preview,
    same,
    shape_of,
    type_problem,
)
from segdend_lite.course.checks.progress import record
from segdend_lite.course.checks.registry import Exercise, Prediction, Verdict, lookup

#: Environment variable that turns wrong (attempted) solutions into errors.
STRICT_ENV = "SEGDEND_STRICT_CHECKS"
#: What a check says when it hands back the library's reference instead of your function.
FALLBACK = "using the library's reference until yours passes"


def strict() -> bool:
    """True when ``$SEGDEND_STRICT_CHECKS`` is 1/true/yes (the test suite sets it)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes")


def verdict(name: str, student: Callable) -> Verdict:
    """Run exercise ``name``'s test cases on ``student``; no printing, no fallback.

    Each case runs on copies of its arrays; afterwards the student's copies are compared with
    the originals, so a function that changes an argument in place is caught even when its
    result is right."""
    ex = lookup(name)
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
        expected = ex.reference(*copy_args(args))
        mine = copy_args(args)
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
            if cmp(got, mistake(*copy_args(args)), args):
                return wrong(message)
        found = ex.diagnose(got, args) if ex.diagnose else None
        found = found or type_problem(got, expected, lengths=True)
        if found:
            return wrong(found)
        if shape_of(got) != shape_of(expected):
            return wrong(f"The result has shape {shape_of(got)}; expected {shape_of(expected)}.")
        return wrong(
            f"Your values differ from the reference ({preview(got, expected)}). "
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
    record(name, v)
    if v.passed:
        print(v.message)
        return student
    if v.attempted and strict():
        raise AssertionError(v.message)
    print(f"{v.message} For now: {FALLBACK}.")
    return lookup(name).reference


def check_prediction(name: str, prediction: Any, observed: Any) -> Verdict:
    """Compare your ``prediction`` (one of the exercise's options) with what the run showed.

    ``observed``: the measurement the notebook passes in. Prints the comparison and the
    explanation. A prediction of ``None`` is "not made yet" (never raises); so is a measurement
    that cannot be judged (None, empty, NaN or infinity in it: the message says to rerun the
    cells above); in strict mode a prediction that the run contradicts raises
    ``AssertionError``.
    """
    p = lookup(name)
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
    record(name, v)
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
