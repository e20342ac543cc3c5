"""Notebook 05, the learning rule and why it works: the exercises and their known mistakes."""

from __future__ import annotations

import numpy as np

from segdend_lite.course.checks import Exercise, register
from segdend_lite import analysis
from segdend_lite.model import learning
from segdend_lite.model.neuron import sigma, sigma_prime

NB = "05_the_learning_rule_and_why_it_works"


def _per_row_mean(a, b):
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    return float(np.nanmean(learning.angle(a, b, axis=-1)))


register(
    Exercise(
        name="layer_angle",
        notebook=NB,
        title="the angle between two updates of a whole layer",
        reference=learning.angle,
        cases=lambda rng: [
            (rng.normal(0, 1, (6, 9)), rng.normal(0, 1, (6, 9))),
            (np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 1.0], [0.0, 1.0]])),
            (np.array([[1.0, 2.0]]), np.array([[-2.0, -4.0]])),  # opposite: 180 degrees
            (np.array([[3.0, 0.0], [0.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 2.0]])),
            (rng.normal(0, 1e-4, (4, 3)), rng.normal(0, 1e-4, (4, 3))),
        ],
        mistakes=[
            (
                lambda a, b: np.radians(learning.angle(a, b)),
                "The angle is in radians; the course measures angles in degrees (np.degrees).",
            ),
            (
                _per_row_mean,
                "You averaged the angles of the rows (one per neuron); the whole-layer angle "
                "treats each update as one long vector: flatten both first.",
            ),
            (
                lambda a, b: 180.0 - learning.angle(a, b),
                "That is the angle between a and -b: check the sign of the dot product.",
            ),
            (
                lambda a, b: np.degrees(np.arccos(np.clip(np.sum(a * b), -1, 1))),
                "Divide the dot product by both lengths, |a| |b|, before taking arccos.",
            ),
        ],
        hints=(
            "Treat each update as one long vector (a.ravel(), b.ravel()): the cosine of the "
            "angle is their dot product divided by the product of their lengths.",
            "Three numpy steps: the dot product of the flattened arrays, the two lengths "
            "(np.linalg.norm), then the inverse cosine (np.arccos gives radians; np.degrees "
            "converts). Rounding can push the cosine a hair past 1: np.clip it to [-1, 1].",
        ),
    )
)


def _beta_cases(rng):
    return [
        (rng.normal(0, 2, 10), rng.normal(0, 0.3, (10, 20)), 0.857, 0.2),
        (rng.normal(0, 1, 3), rng.normal(0, 1, (3, 5)), 0.5, 0.2),
        (np.array([0.0, 4.0]), np.array([[1.0, -1.0, 2.0], [0.5, 0.0, 1.0]]), 0.857, 0.2),
    ]


def _gamma_cases(rng):
    return [
        (rng.normal(0, 2, 10), rng.normal(0, 1, (20, 10)), 0.2),
        (rng.normal(0, 1, 3), rng.normal(0, 3, (5, 3)), 0.2),
        (np.array([0.0, 4.0]), np.array([[10.0, -10.0], [2.0, 30.0], [0.0, 1.0]]), 0.5),
    ]


register(
    Exercise(
        name="jacobian_beta",
        notebook=NB,
        title="the Jacobian of the hidden-to-output map beta, derived (Theorem 1)",
        reference=analysis.jacobian_beta,
        cases=_beta_cases,
        mistakes=[
            (
                lambda C, W, k, p: analysis.jacobian_beta(C, W, 1.0, p),
                "The factor k_D is missing: beta's argument is k_D W^L x, so the chain rule "
                "brings k_D in.",
            ),
            (
                lambda C, W, k, p: analysis.jacobian_beta(C, W, k, 1.0),
                "The factor phi_max is missing: the output rate is phi_max sigma(...).",
            ),
            (
                lambda C, W, k, p: (p * sigma(C))[:, None] * (k * W),
                "Use the slope sigma'(C_f) = sigma(C_f)(1 - sigma(C_f)), not sigma(C_f).",
            ),
            (
                lambda C, W, k, p: p * 0.25 * k * W,
                "The slope depends on the image: sigma'(C_f), one value per output unit "
                "(0.25 is its value at C_f = 0 only).",
            ),
            (
                lambda C, W, k, p: p * k * W * sigma_prime(C).mean(),
                "Each output unit has its own slope: multiply row i of k_D W^L by "
                "phi_max sigma'(C_f[i]).",
            ),
        ],
        hints=(
            "beta(x) = phi_max sigma(k_D W^L x + ...). Output i depends on x only through its "
            "own voltage C_i = k_D sum_j W_ij x_j: d beta_i / d x_j = phi_max sigma'(C_i) k_D "
            "W_ij.",
            "Row i of W^L scaled by phi_max sigma'(C_f[i]) k_D: "
            "(phi_max * sigma_prime(C_f))[:, None] * (k_D * W_L), shape (n_out, n_h).",
        ),
    )
)

register(
    Exercise(
        name="jacobian_gamma",
        notebook=NB,
        title="the Jacobian of the feedback map gamma, derived (Theorem 1)",
        reference=analysis.jacobian_gamma,
        cases=_gamma_cases,
        mistakes=[
            (
                lambda C, Y, p: sigma_prime(Y @ C)[:, None] * Y,
                "gamma is evaluated at the output *rates* r^f = phi_max sigma(C_f), not at the "
                "voltages C_f: the apical dendrites receive rates (spikes).",
            ),
            (
                lambda C, Y, p: sigma(Y @ (p * sigma(C)))[:, None] * Y,
                "Use the slope sigma'(Y r^f), not sigma(Y r^f).",
            ),
            (
                lambda C, Y, p: 0.25 * Y,
                "The slope depends on the image: sigma'(Y r^f), one value per hidden unit "
                "(0.25 is its value at 0 only).",
            ),
            (
                lambda C, Y, p: p * analysis.jacobian_gamma(C, Y, p),
                "No phi_max here: gamma(y) = sigma(Y y) takes the rates y as they are.",
            ),
        ],
        hints=(
            "gamma(y) = sigma(Y y): plateau i depends on y through u_i = sum_k Y_ik y_k, so "
            "d gamma_i / d y_k = sigma'(u_i) Y_ik, evaluated at y = r^f.",
            "First the forward output rates r^f from C_f; then the slopes sigma' at the "
            "apical input Y r^f, one per hidden neuron; scale row i of Y by slope i "
            "(broadcast a column: [:, None]). Shape (n_h, n_out).",
        ),
    )
)
