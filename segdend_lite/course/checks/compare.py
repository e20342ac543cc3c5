"""Comparing a student's result with the reference's: :func:`same`, where two results differ
(:func:`preview`), and the mistakes any exercise can show (:data:`GENERIC_MISTAKES`: a changed
argument, None, a list for an array, a wrong dtype, the wrong number of values)."""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np


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


def shape_of(x: Any):
    if isinstance(x, (tuple, list)):
        return tuple(shape_of(v) for v in x)
    try:
        return np.shape(x)
    except Exception:  # noqa: BLE001
        return None


def copy_args(args: tuple) -> tuple:
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def preview(got: Any, expected: Any) -> str:
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


def type_problem(
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
            problem = type_problem(g, e, f"Value {k + 1} of your result", lengths)
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
    return type_problem(got, expected)


#: Mistakes any exercise can show, tried in order before the exercise's own: each is
#: ``f(student, args, args_after_the_call, got, expected) -> message or None``.
GENERIC_MISTAKES = (_argument_changed, _wrong_type)
