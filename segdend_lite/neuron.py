"""Single-neuron equations of the model (Guerguiev, Lillicrap & Richards 2017, Methods).

Units follow the paper: time in ms, rates in spikes/ms (``phi_max = 0.2`` /ms = 200 Hz),
conductances and voltages dimensionless ("S" and "V" nominally), ``C_m = 1``.
"""

from __future__ import annotations

import numpy as np


def sigma(x: np.ndarray) -> np.ndarray:
    """Logistic function ``sigma(x) = 1 / (1 + exp(-x))``, element-wise, same shape and dtype."""
    return 1.0 / (1.0 + np.exp(-x))


def sigma_prime(x: np.ndarray) -> np.ndarray:
    """Derivative of the logistic function, ``sigma(x) (1 - sigma(x))``."""
    s = sigma(x)
    return s * (1.0 - s)


def k_B(g_L: float, g_B: float, g_A: float = 0.0) -> float:
    """Hidden-soma steady-state gain ``k_B = g_B / (g_L + g_B + g_A)``.

    With constant basal potential ``V^b`` and no apical input, the soma settles at
    ``V = k_B V^b`` (paper eq. 14 at steady state). Paper values: 0.857 (g_A = 0), 0.8 (0.05),
    0.462 (0.6).
    """
    return g_B / (g_L + g_B + g_A)


def k_D(g_L: float, g_D: float) -> float:
    """Output-soma steady-state gain in the forward phase, ``k_D = g_D / (g_L + g_D)`` (0.857)."""
    return g_D / (g_L + g_D)


def output_target_voltage(
    B: np.ndarray, t: np.ndarray, g_L: float, g_D: float, E_E: float, E_I: float
) -> np.ndarray:
    """Steady state of the output soma in the target phase (paper eqs. 18-20).

    With teaching conductances ``g_E = t`` and ``g_I = 1 - t`` (``t`` one-hot, shape (n,) or
    (N, n)), ``dV/dt = -g_L V + g_D (B - V) + g_E (E_E - V) + g_I (E_I - V) = 0`` gives
    ``V* = (g_D B + g_E E_E + g_I E_I) / (g_L + g_D + g_E + g_I)``.
    """
    g_E, g_I = t, 1.0 - t
    return (g_D * B + g_E * E_E + g_I * E_I) / (g_L + g_D + g_E + g_I)
