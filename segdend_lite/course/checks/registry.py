"""What an exercise is (:class:`Exercise`, :class:`Prediction`), what a check of one says
(:class:`Verdict`), and the catalogue they are registered in.

The catalogue is filled by the per-notebook files ``segdend_lite/course/catalog/nbNN.py``
(each calls :func:`register`), imported on the first call of :func:`catalogue`.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

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

    Generic mistakes (:data:`.compare.GENERIC_MISTAKES`) are tried for every exercise before its
    own: a changed argument, None, a list for an array, a wrong dtype, the wrong number of
    values.
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


def lookup(name: str) -> Exercise | Prediction:
    """The exercise (or prediction) ``name``; a ValueError naming the others if there is
    none."""
    items = catalogue()
    if name not in items:
        raise ValueError(f"no exercise {name!r}; exercises: {', '.join(sorted(items))}")
    return items[name]
