"""The questions of notebooks 07-08 (:data:`QUESTIONS` of the one experiment registry,
``segdend_lite.reproduce.registry``) as networks: the :class:`~segdend_lite.Config` of one value
of a question's option (:func:`experiment_config`), its layer sizes, a label for the value, and
the fresh network (:func:`make_network`)."""

from __future__ import annotations

from segdend_lite.model.config import Config
from segdend_lite.model.network import Network
from segdend_lite.reproduce.registry import QUESTIONS, Question


def as_question(question: Question | str) -> Question:
    """The :class:`Question` named ``question`` (or ``question`` itself); a ValueError
    naming the questions if there is none."""
    if isinstance(question, Question):
        return question
    if question not in QUESTIONS:
        raise ValueError(f"unknown experiment {question!r}: choose one of {list(QUESTIONS)}")
    return QUESTIONS[question]


def experiment_config(question: Question | str, value, mode: str = "rate") -> Config:
    """The :class:`Config` of one run of ``question`` with its option set to ``value``.

    A value the paper used selects its condition's options (for ``symmetric_feedback`` the
    value is the noise SD, and None means random feedback, the control); another value is
    set on the options of the last condition (e.g. ``g_A = 0.3`` on those of ``fig9/gA0.6``).
    Raises ValueError for an unknown question.
    """
    q = as_question(question)
    hit = q.condition(value)
    if hit is not None:
        options = dict(hit[1].options)
    else:
        options = dict(q.condition(q.values[-1][0])[1].options)
        options[q.option] = value
    return Config(mode=mode, **options)


def layer_sizes(question: Question | str) -> tuple[int, ...]:
    """The network of a question's runs: its conditions' hidden layers, then 10 outputs."""
    q = as_question(question)
    return tuple(q.condition(q.values[0][0])[1].hidden) + (10,)


def value_label(question: Question | str, value) -> str:
    """A short label for one value of a question's option, e.g. ``"g_A = 0.6"``; the first
    value (the paper's control) is marked "(control)"."""
    q = as_question(question)
    if q.name == "symmetric_feedback":
        text = (
            "random Y"
            if value is None
            else "Y = W^T, no noise"
            if not value
            else f"Y = W^T, noise SD {value:g}"
        )
    else:
        text = f"{q.option} = {value}"
    return text + (" (control)" if value == q.values[0][0] else "")


def make_network(question: Question | str, value, mode: str = "rate", seed: int = 0) -> Network:
    """A fresh network for one run of ``question`` (see :func:`experiment_config`)."""
    return Network(layer_sizes(question), experiment_config(question, value, mode), seed=seed)
