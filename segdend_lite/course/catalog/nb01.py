"""Notebook 01, credit assignment and backprop: the exercises and their known mistakes."""

from __future__ import annotations

import numpy as np

from segdend_lite.course.checks import Exercise, Prediction, register, same
from segdend_lite import mlp
from segdend_lite.model import neuron

NB = "01_credit_assignment_and_backprop"


def _cubic(w):
    """A test function with a known gradient, 3 w^2 + 2."""
    return float(np.sum(w**3) + 2.0 * np.sum(w))


def _forward_difference(f, w, eps=1e-5):
    """The one-sided difference (f(w + eps) - f(w)) / eps: a plausible mistake."""
    g = np.zeros_like(w, dtype=float)
    base = f(w)
    for i in np.ndindex(w.shape):
        old = w[i]
        w[i] = old + eps
        g[i] = (f(w) - base) / eps
        w[i] = old
    return g


def _delta_cases(rng):
    h = rng.uniform(0.05, 0.95, (4, 6))
    return [(rng.normal(0, 0.1, (4, 10)), rng.normal(0, 0.3, (10, 6)), h)]


register(
    Exercise(
        name="sigmoid_prime",
        notebook=NB,
        title="the derivative of the logistic function",
        reference=neuron.sigma_prime,
        cases=lambda rng: [(np.array([0.0]),), (rng.normal(0, 3, 7),), (np.array([-40.0, 40.0]),)],
        mistakes=[
            (
                neuron.sigma,
                "You returned sigma(a) itself; the derivative is sigma(a)(1 - sigma(a)).",
            ),
            (
                lambda a: neuron.sigma(a) * (1 + neuron.sigma(a)),
                "A sign: it is sigma(a) * (1 - sigma(a)).",
            ),
            (
                lambda a: np.asarray(a) * (1 - np.asarray(a)),
                "You wrote a (1 - a); the derivative is sigma(a) (1 - sigma(a)).",
            ),
        ],
        hints=(
            "Differentiate 1 / (1 + e^{-a}) with the chain rule, then write the result with "
            "sigma(a) itself.",
            "sigma'(a) = e^{-a} / (1 + e^{-a})^2 = sigma(a) * (1 - sigma(a)).",
        ),
    )
)

register(
    Exercise(
        name="hidden_delta",
        notebook=NB,
        title="the hidden-layer error delta1, derived with the chain rule",
        reference=mlp.hidden_delta,
        cases=_delta_cases,
        mistakes=[
            (
                lambda d, W, h: d @ W,
                "You forgot the slope of the hidden sigmoid, sigma'(a1) = h * (1 - h).",
            ),
            (
                lambda d, W, h: (d @ W) * h,
                "The hidden sigmoid's slope is h * (1 - h), not h.",
            ),
            (
                lambda d, W, h: (d @ W) * neuron.sigma_prime(h),
                "h is already sigma(a1): its slope is h * (1 - h), not sigma'(h).",
            ),
            (
                lambda d, W, h: -mlp.hidden_delta(d, W, h),
                "A sign flipped: delta1 has the sign of W2^T delta2 (the slope is positive).",
            ),
        ],
        hints=(
            "a2 depends on h through W2, so dL/dh = W2^T delta2; then h = sigma(a1) adds a "
            "factor sigma'(a1). Mind the shapes: rows are images.",
            "delta2 (N, 10) @ W2 (10, n_h) is (N, n_h); multiply element-wise by h * (1 - h).",
        ),
    )
)

register(
    Exercise(
        name="numerical_gradient",
        notebook=NB,
        title="a numerical gradient by central differences",
        reference=mlp.numerical_gradient,
        cases=lambda rng: [(_cubic, rng.normal(0, 1, (3, 2))), (_cubic, np.array([0.5]))],
        mistakes=[
            (
                _forward_difference,
                "That is a forward difference (f(w+eps) - f(w))/eps; use the central "
                "difference (f(w+eps) - f(w-eps)) / (2 eps), which is far more accurate.",
            ),
            (
                lambda f, w, eps=1e-5: 2 * mlp.numerical_gradient(f, w, eps),
                "Divide by 2 eps: the two points are 2 eps apart.",
            ),
        ],
        hints=(
            "Nudge one weight up and down by eps, evaluate f each time, and put the weight back.",
            "g[i] = (f(w with w[i]+eps) - f(w with w[i]-eps)) / (2*eps); "
            "loop over i with np.ndindex(w.shape).",
        ),
        compare=lambda got, exp, args: same(got, exp, rtol=1e-6),
    )
)

register(
    Prediction(
        name="worst_learning_rate",
        notebook=NB,
        title="which learning rate ends one epoch with the highest test error?",
        options=("0.3", "3", "30"),
        outcome=lambda errors: max(errors, key=errors.get),
        explanation=(
            "Learning rate 30 is the worst: its first steps are so large that the sigmoid "
            "units saturate (a near 0 or 1), where sigma' is about 0, so the errors delta "
            "vanish and learning stalls at chance (90 % error). 0.3 learns, only slowly."
        ),
        hints=(
            "Large steps move the weights far; what happens to sigma'(a) when |a| is large?",
            "sigma'(a) = sigma(a)(1 - sigma(a)) is about e^{-|a|} for large |a|.",
        ),
    )
)
