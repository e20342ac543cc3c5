"""Notebook 04, two phases and plateau potentials: the exercises and their known mistakes."""

from __future__ import annotations

import numpy as np

from segdend_lite.course.checks import Exercise, Prediction, register
from segdend_lite.model import learning
from segdend_lite.model.neuron import sigma, sigma_prime

NB = "04_two_phases_and_plateau_potentials"


def _out_cases(rng):
    return [
        (rng.uniform(0, 0.2, 10), rng.normal(0, 2, 10), 0.857, 0.2),
        (np.array([0.2, 0.0]), np.array([0.0, 0.0]), 0.5, 0.2),
    ]


def _hidden_cases(rng):
    return [
        (rng.uniform(0, 1, 6), rng.uniform(0, 1, 6), rng.normal(0, 2, 6), 0.857, 0.2),
        (np.array([0.7]), np.array([0.5]), np.array([1.0]), 0.8, 0.2),
    ]


register(
    Exercise(
        name="plateau_potential",
        notebook=NB,
        title="the plateau potential alpha from an apical voltage trace",
        # the library's plateau (eq. 5) of the window mean
        reference=lambda V_a, start: learning.plateau(np.mean(V_a[start:], axis=0)),
        cases=lambda rng: [
            (rng.normal(1, 2, (50, 4)), 30),
            (rng.normal(-1, 1, (56, 3)), 30),
            (rng.normal(0, 1, (40, 1)), 0),
        ],
        mistakes=[
            (
                lambda V, s: np.mean(sigma(V[s:]), axis=0),
                "Average first, then apply sigma: alpha = sigma(mean apical voltage).",
            ),
            (
                lambda V, s: np.mean(V[s:], axis=0),
                "Apply the sigmoid to the mean apical voltage.",
            ),
            (
                lambda V, s: learning.plateau(np.mean(V, axis=0)),
                "Average only from `start` (after the settling time) to the end of the phase.",
            ),
            (
                lambda V, s: learning.plateau(np.mean(V[s:], axis=1)),
                "Average over time (axis 0, the steps), one alpha per neuron.",
            ),
        ],
        hints=(
            "alpha is one number per neuron: the logistic of the time-averaged apical voltage.",
            "V_a has shape (T, n): take V_a[start:].mean(axis=0), then sigma.",
        ),
    )
)

register(
    Exercise(
        name="output_error",
        notebook=NB,
        title="the output layer's error e^L",
        reference=learning.output_error,
        cases=_out_cases,
        mistakes=[
            (
                lambda r, V, k, p: -learning.output_error(r, V, k, p),
                "A sign: e^L = -k_D phi_max (target rate - forward rate) sigma'(V).",
            ),
            (
                lambda r, V, k, p: learning.output_error(r, V, 1.0, p),
                "The factor k_D is missing.",
            ),
            (
                lambda r, V, k, p: learning.output_error(r, V, k, p) / sigma_prime(V),
                "The slope sigma'(V) = sigma(V)(1 - sigma(V)) is missing.",
            ),
            (
                lambda r, V, k, p: -k * p * (r - sigma(V)) * sigma_prime(V),
                "The forward rate is phi_max sigma(V_f), in the same units as r_t (spikes/ms).",
            ),
        ],
        hints=(
            "The error is the difference between the target-phase rate and the forward rate, "
            "scaled by how strongly the dendritic potential moves the rate.",
            "With s = sigma(V_f): e = -k_D phi_max (r_t - phi_max s) s (1 - s), elementwise.",
        ),
    )
)

register(
    Exercise(
        name="hidden_error",
        notebook=NB,
        title="the hidden layer's local error e^0, derived from its loss",
        reference=learning.hidden_error_local,
        cases=_hidden_cases,
        mistakes=[
            (
                lambda at, af, V, k, p: -learning.hidden_error_local(at, af, V, k, p),
                "A sign: the error is the gradient of the loss, -(alpha^t - alpha^f) times the "
                "slope.",
            ),
            (
                lambda at, af, V, k, p: learning.hidden_error_local(at, af, V, 1.0, p),
                "The factor k_B is missing (V^f = k_B V^b: the chain rule brings it in).",
            ),
            (
                lambda at, af, V, k, p: learning.hidden_error_local(at, af, V, k, 1.0),
                "The factor phi_max is missing (the rate is phi_max sigma(V)).",
            ),
            (
                lambda at, af, V, k, p: (
                    learning.hidden_error_local(at, af, V, k, p) / sigma_prime(V)
                ),
                "The slope sigma'(V^f) is missing: the rate depends on V through sigma.",
            ),
        ],
        hints=(
            "L^h = ||phi* - phi_max sigma(k_B V^b)||^2 with phi* held fixed; at the forward "
            "phase, phi* - phi_max sigma(V^f) is alpha^t - alpha^f. Differentiate with respect "
            "to V^b and drop the factor 2.",
            "The chain rule gives -(alpha^t - alpha^f) * phi_max * sigma'(V^f) * k_B.",
        ),
    )
)

register(
    Exercise(
        name="weight_change",
        notebook=NB,
        title="the weight and bias change of one layer, for one image",
        reference=learning.weight_change,
        cases=lambda rng: [
            (rng.normal(0, 0.01, 5), rng.uniform(0, 0.2, 8), 0.21, 100.0),
            (np.array([0.01]), np.array([0.0, 0.1]), 0.1, 20.0),
        ],
        mistakes=[
            (
                lambda e, s, eta, P: tuple(-d for d in learning.weight_change(e, s, eta, P)),
                "A sign: the update descends the loss, dW = -eta P e s^T and db = -eta P e.",
            ),
            (
                lambda e, s, eta, P: (
                    learning.weight_change(e, s, eta, P)[0].T,
                    learning.weight_change(e, s, eta, P)[1],
                ),
                "Transposed: W has shape (n_post, n_pre), so dW = outer(e, s_pre).",
            ),
            (
                lambda e, s, eta, P: learning.weight_change(e, s, eta, 1.0),
                "The scale factor P is missing.",
            ),
        ],
        hints=(
            "Each synapse changes by the postsynaptic error times the presynaptic activity; a "
            "bias is a synapse whose presynaptic activity is always 1.",
            "Return (-eta * P * np.outer(e, s_pre), -eta * P * e).",
        ),
    )
)

register(
    Prediction(
        name="plateau_rises_then",
        notebook=NB,
        title="what happens to the active basal synapses of neurons whose plateau rose?",
        options=("potentiated", "depressed", "some each way"),
        outcome=lambda signs: (
            "potentiated"
            if np.all(np.asarray(signs) > 0)
            else "depressed"
            if np.all(np.asarray(signs) < 0)
            else "some each way"
        ),
        explanation=(
            "alpha^t > alpha^f gives a negative error e = -k_B (alpha^t - alpha^f) phi_max "
            "sigma' (every other factor is positive), and dW = -eta P e s^T with s >= 0 is "
            "then positive on every active synapse: the neuron learns to fire more for this "
            "image, because the teaching signal told its apical dendrite so."
        ),
        hints=(
            "Follow the signs: which factors of e and of dW can be negative?",
            "k_B, phi_max, sigma', eta, P and the presynaptic PSPs are all >= 0.",
        ),
    )
)
