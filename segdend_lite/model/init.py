"""Initial weights (paper "Training paradigm"; docs/model.md, "Initial weights").

Weights are uniform, with a mean and spread chosen so that a layer's dendritic potentials
``B = sum_j W_j nu V_j + b`` have mean ``V_avg = 3`` and SD ``V_sd = 3`` (range about -6..12)
when the ``N`` presynaptic voltages are iid with that mean and SD and the presynaptic rate has
slope ``nu = phi_max / 4`` (the logistic's slope at 0, times ``phi_max``).
"""

from __future__ import annotations

import math

import numpy as np

V_AVG, V_SD = 3.0, 3.0
B_AVG, B_SD = 0.8, 0.001
#: sqrt(12) rounded as in the design: U(0,1) - 0.5 has SD 1/sqrt(12).
SPREAD = 3.465


def design_moments(N: int, phi_max: float) -> tuple[float, float]:
    """Mean ``W_avg`` and SD ``W_sd`` of the weights of a layer with fan-in ``N``.

    ``W_avg = (V_avg - b_avg) / (nu N V_avg)`` and, with ``V_sm = V_sd^2 + V_avg^2``,
    ``W_sm = [V_sm + nu^2 (N - N^2) W_avg^2 V_avg^2 - 2 N nu b_avg V_avg W_avg - b_avg^2]
    / (N nu^2 V_sm)``, ``W_sd = sqrt(W_sm - W_avg^2)``. For N = 784: 0.01871 and 0.5049.
    """
    nu = phi_max * 0.25
    V_sm = V_SD**2 + V_AVG**2
    W_avg = (V_AVG - B_AVG) / (nu * N * V_AVG)
    W_sm = (
        V_sm
        + nu**2 * (N - N**2) * W_avg**2 * V_AVG**2
        - 2 * N * nu * B_AVG * V_AVG * W_avg
        - B_AVG**2
    ) / (N * nu**2 * V_sm)
    return W_avg, math.sqrt(W_sm - W_avg**2)


def uniform(
    rng: np.random.Generator, mean: float, sd: float, shape: tuple[int, ...], init: str
) -> np.ndarray:
    """``mean + 3.465 sd (U(0,1) - 0.5)`` (``init="design"``: SD = ``sd``) or
    ``mean + 3.465 sd U(-1, 1)`` (``init="authors_code"``: SD = 2 ``sd``), float64."""
    u = rng.random(shape)
    noise = u - 0.5 if init == "design" else 2.0 * u - 1.0
    return mean + SPREAD * sd * noise


def feedforward(
    rng: np.random.Generator, n_out: int, n_in: int, phi_max: float, init: str
) -> tuple[np.ndarray, np.ndarray]:
    """``W`` of shape (n_out, n_in) and ``b`` of shape (n_out,) for a layer with fan-in n_in."""
    W_avg, W_sd = design_moments(n_in, phi_max)
    W = uniform(rng, W_avg, W_sd, (n_out, n_in), init)
    b = uniform(rng, B_AVG, B_SD, (n_out,), init)
    return W, b


def feedback(
    rng: np.random.Generator, n_h: int, n_src: int, phi_max: float, init: str
) -> np.ndarray:
    """Feedback ``Y`` of shape (n_h, n_src), with the statistics of a fan-in of ``n_h``.

    As in the authors' code, ``Y`` takes the moments computed for the feed-forward matrix of
    the layer above (fan-in ``n_h``), not for its own fan-in ``n_src``.
    """
    W_avg, W_sd = design_moments(n_h, phi_max)
    return uniform(rng, W_avg, W_sd, (n_h, n_src), init)


def sparsify(rng: np.random.Generator, Y: np.ndarray, fraction: float, gain: float) -> np.ndarray:
    """Zero ``fraction`` of the entries of ``Y`` (without replacement); the rest times ``gain``."""
    n_zero = int(round(fraction * Y.size))
    out = Y * gain
    out.flat[rng.choice(Y.size, size=n_zero, replace=False)] = 0.0
    return out
