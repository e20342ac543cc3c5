"""Notebook 02, weight transport and feedback alignment: the exercises and known mistakes."""

from __future__ import annotations

import numpy as np

from segdend_lite.course.checks import Exercise, Prediction, register, same
from segdend_lite import mlp
from segdend_lite.model import learning

NB = "02_weight_transport_and_feedback_alignment"


def _delta_cases(rng):
    h = rng.uniform(0.05, 0.95, (4, 6))
    return [(rng.normal(0, 0.1, (4, 10)), rng.normal(0, 0.3, (10, 6)), h)]


def _nearest(options: dict[str, float]):
    return lambda angle: min(options, key=lambda k: abs(options[k] - angle))


register(
    Exercise(
        name="fa_hidden_delta",
        notebook=NB,
        title="the feedback-alignment hidden error",
        reference=mlp.hidden_delta,  # the same computation, with Y in place of W2
        cases=_delta_cases,
        mistakes=[
            (lambda d, Y, h: d @ Y, "You forgot the hidden sigmoid's slope, h * (1 - h)."),
            (
                lambda d, Y, h: -mlp.hidden_delta(d, Y, h),
                "A sign flipped: delta1 = (delta2 @ Y) * h(1-h).",
            ),
            (
                lambda d, Y, h: (d @ Y) * h,
                "The hidden sigmoid's slope is h * (1 - h), not h.",
            ),
        ],
        hints=(
            "Feedback alignment is backprop with the fixed random Y where W2 would be.",
            "Same as hidden_delta of notebook 01, with Y: (delta2 @ Y) * h * (1 - h).",
        ),
    )
)

register(
    Exercise(
        name="angle_between",
        notebook=NB,
        title="the angle between two updates, in degrees",
        reference=learning.angle,
        cases=lambda rng: [
            (np.array([1.0, 0.0]), np.array([0.0, 2.0])),
            (rng.normal(0, 1, (3, 4)), rng.normal(0, 1, (3, 4))),
            (np.array([1.0, 1.0]), np.array([1.0, 1.0]) * (1 + 1e-16)),
        ],
        mistakes=[
            (
                lambda a, b: float(np.radians(learning.angle(a, b))),
                "Your angle is in radians; convert with np.degrees.",
            ),
            (
                lambda a, b: float(np.cos(np.radians(learning.angle(a, b)))),
                "You returned the cosine; take np.arccos of it, then np.degrees.",
            ),
        ],
        hints=(
            "cos(angle) = a . b / (|a| |b|), with the arrays flattened to vectors (np.ravel).",
            "Clip the cosine to [-1, 1] before np.arccos: round-off can push it just past 1 (NaN).",
        ),
        compare=lambda got, exp, args: same(got, exp, rtol=1e-6),
    )
)

register(
    Prediction(
        name="angle_at_start",
        notebook=NB,
        title="the angle between feedback alignment's and backprop's hidden updates, at the start",
        options=("about 0", "about 45", "about 90", "about 135"),
        outcome=_nearest({"about 0": 0, "about 45": 45, "about 90": 90, "about 135": 135}),
        explanation=(
            "At the start Y and W2 are independent random matrices, so the errors sent back "
            "through Y are unrelated to those backprop sends through W2: in a space of many "
            "dimensions two unrelated vectors are almost orthogonal, about 90 degrees. The angle "
            "falls below 90 only as W2 comes to align with Y."
        ),
        hints=(
            "What do Y and W2 have in common before training?",
            "Two random directions in a space of 78,400 dimensions: what is their angle?",
        ),
    )
)
