"""The paper's experiments as data, read by ``reproduce``, its report, the course's widgets
(notebooks 07-08) and ``docs/experiments.md`` (``make docs`` writes it from here).

The data are in ``experiments.json`` beside this module. An :class:`Experiment` is one figure
of the paper: its :class:`Condition` s (network, ``Config`` options, the paper's value and our
acceptance band), the :class:`Relation` s between conditions the report checks and, for the
probed experiments, :class:`Band` s. A :class:`Question` is how the course asks about an
experiment: one ``Config`` option and the condition (``"fig8/sparse"``) each value selects.
Conditions are named ``EXPERIMENT/CONDITION`` everywhere (the command line, the course).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Condition:
    """One training configuration of an experiment.

    ``options``: ``Config`` fields set for this condition; ``owner``: another experiment whose
    task this condition shares (e.g. Fig. 8's regular network is Fig. 6B's one-hidden-layer
    network; it is trained once); ``epochs``: the paper's epoch count if it differs from the
    experiment's; ``fixed_epochs``: a measurement defined over these epochs only (not changed
    by ``--epochs``); ``probe``: ``"angle"`` or ``"jacobian"``, measured every ``probe_every``
    images; ``modes``: the modes in which the condition means something; ``paper``: the
    paper's final test error (%) and the half-width of our acceptance band; ``stored``: the
    short stored run of this condition (spiking mode, seed 0) the course shows.
    """

    name: str
    label: str
    hidden: tuple[int, ...]
    options: tuple[tuple[str, object], ...] = ()
    owner: str | None = None
    epochs: int | None = None
    fixed_epochs: int | None = None
    probe: str | None = None
    modes: tuple[str, ...] = ("rate", "spiking")
    paper: tuple[float, float] | None = None
    stored: str | None = None


@dataclass(frozen=True)
class Relation:
    """A claim of the paper about two conditions' mean final test errors ``a`` and ``b``:
    ``kind`` "below" (a < b), "above" (a > b), "within" (|a - b| <= amount), "better_by"
    (b - a >= amount) or "worse_by" (a - b >= amount); ``amount`` in percentage points."""

    claim: str
    a: str
    b: str
    kind: str
    amount: float = 0.0

    def holds(self, a: float, b: float) -> bool:
        return {
            "below": a < b,
            "above": a > b,
            "within": abs(a - b) <= self.amount,
            "better_by": b - a >= self.amount,
            "worse_by": a - b >= self.amount,
        }[self.kind]


@dataclass(frozen=True)
class Band:
    """The range ``lo``-``hi`` a probe of ``condition`` must stay in after epoch 1 (degrees),
    with the paper's own words for it."""

    condition: str
    lo: float
    hi: float
    paper: str


@dataclass(frozen=True)
class Experiment:
    """One figure of the paper (``in_paper``), or an option the course explores without a
    result in the paper (not part of ``reproduce all``)."""

    name: str
    title: str
    epochs: int
    conditions: tuple[Condition, ...]
    note: str = ""
    relations: tuple[Relation, ...] = ()
    bands: tuple[Band, ...] = ()
    in_paper: bool = True

    def condition(self, name: str) -> Condition:
        for c in self.conditions:
            if c.name == name:
                return c
        known = ", ".join(c.name for c in self.conditions)
        raise ValueError(f"{self.name} has no condition {name!r}: it has {known}")


@dataclass(frozen=True)
class Question:
    """A question of the course about one experiment: the ``Config`` option a student varies
    and, for each value (the control first), the condition it selects. ``paper``: the
    paper's answer, ``{fig8/sparse}`` standing for that condition's value (see
    :meth:`paper_text`); ``needs_spiking``: the option has no effect in rate mode."""

    name: str
    question: str
    paper: str
    option: str
    values: tuple[tuple[object, str], ...]
    needs_spiking: bool = False

    def condition(self, value) -> tuple[Experiment, Condition] | None:
        """The experiment and condition of one of :attr:`values`; None for another value."""
        for v, key in self.values:
            if v == value and isinstance(v, bool) == isinstance(value, bool):
                return lookup(key)
        return None

    def paper_text(self) -> str:
        """:attr:`paper` with the paper's values filled in, e.g. ``"3.7 %"``."""

        def value(m):
            cond = lookup(m.group(1))[1]
            return f"{cond.paper[0]:g} %" if cond.paper else "(no value)"

        return re.sub(r"\{([\w.-]+/[\w.-]+)\}", value, self.paper)


def _load() -> tuple[dict[str, Experiment], dict[str, Question]]:
    data = json.loads(resources.files(__package__).joinpath("experiments.json").read_text())
    experiments = {}
    for e in data["experiments"]:
        conds = tuple(
            Condition(
                **{
                    **c,
                    "hidden": tuple(c["hidden"]),
                    "options": tuple(c.get("options", {}).items()),
                    "modes": tuple(c.get("modes", ("rate", "spiking"))),
                    "paper": (c["paper"]["test_error"], c["paper"]["band"])
                    if "paper" in c
                    else None,
                }
            )
            for c in e["conditions"]
        )
        experiments[e["name"]] = Experiment(
            **{
                **e,
                "conditions": conds,
                "relations": tuple(Relation(**r) for r in e.get("relations", ())),
                "bands": tuple(Band(**b) for b in e.get("bands", ())),
            }
        )
    questions = {
        q["name"]: Question(
            **{**q, "values": tuple((v["value"], v["condition"]) for v in q["values"])}
        )
        for q in data["questions"]
    }
    return experiments, questions


EXPERIMENTS, QUESTIONS = _load()

#: The experiments of the paper (``reproduce all``).
ALL = tuple(name for name, e in EXPERIMENTS.items() if e.in_paper)

#: The paper's final test errors (%) and the half-widths of our acceptance bands.
PAPER_ERRORS = {
    (e.name, c.name): c.paper for e in EXPERIMENTS.values() for c in e.conditions if c.paper
}


def lookup(key: str) -> tuple[Experiment, Condition]:
    """The experiment and condition named ``"EXPERIMENT/CONDITION"`` (e.g. ``"fig8/sparse"``)."""
    name, _, cond = key.partition("/")
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}: choose from {', '.join(EXPERIMENTS)}")
    exp = EXPERIMENTS[name]
    return exp, exp.condition(cond)


def owner_of(exp: Experiment, cond: Condition) -> tuple[str, str]:
    """Where a condition's task lives, (experiment, condition), following ``owner``."""
    if not cond.owner:
        return exp.name, cond.name
    for c in EXPERIMENTS[cond.owner].conditions:
        if c.hidden == cond.hidden and c.options == cond.options and not c.probe:
            return cond.owner, c.name
    raise AssertionError(f"{cond.name}: no matching condition in {cond.owner}")


def validate() -> None:
    """Check the registry's cross-references (tested): owners, relations, bands, questions."""
    for e in EXPERIMENTS.values():
        names = {c.name for c in e.conditions}
        for c in e.conditions:
            owner_of(e, c)
        for r in e.relations:
            assert {r.a, r.b} <= names, (e.name, r)
            r.holds(0.0, 0.0)  # a known kind
        for b in e.bands:
            assert b.condition in names, (e.name, b)
    for q in QUESTIONS.values():
        for _, key in q.values:
            lookup(key)


__all__ = [
    "ALL",
    "EXPERIMENTS",
    "PAPER_ERRORS",
    "QUESTIONS",
    "Band",
    "Condition",
    "Experiment",
    "Question",
    "Relation",
    "lookup",
    "owner_of",
    "validate",
]
