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


def psp_kernel(t: np.ndarray, tau_s: float = 3.0, tau_L: float = 10.0) -> np.ndarray:
    """Postsynaptic-potential kernel ``kappa(t) = (exp(-t/tau_L) - exp(-t/tau_s)) / (tau_L - tau_s)``
    for ``t >= 0`` (0 before), in 1/ms; it integrates to 1 over ``t`` in ms.

    A spike train filtered by ``kappa`` (``s(t) = sum_k kappa(t - t_k)``) has a time average that
    approximates the train's rate in spikes/ms (paper Lemma 1).
    """
    t = np.asarray(t, dtype=float)
    k = (np.exp(-t / tau_L) - np.exp(-t / tau_s)) / (tau_L - tau_s)
    return np.where(t >= 0, k, 0.0)


def psp_taps(n: int, tau_s: float = 3.0, tau_L: float = 10.0) -> np.ndarray:
    """The kernel at lags 1..n ms, shape (n,): the weight of a spike emitted 0..n-1 steps ago.

    The authors' code keeps n = 10 taps (0.027, 0.044, ..., 0.048), which sum to about 0.51, not 1.
    """
    return psp_kernel(np.arange(1, n + 1), tau_s, tau_L)


def poisson_spikes(lam: np.ndarray, U: np.ndarray) -> np.ndarray:
    """Poisson spike counts with means ``lam`` (rate x dt, any shape) from uniforms ``U`` in [0, 1).

    Inverse-CDF sampling, exact: the count is the smallest ``k`` with
    ``U < F_k = exp(-lam) sum_{j<=k} lam^j / j!``. Taking the uniforms as input means a
    simulation's random draws can be made up front, once, and shared by several engines.
    Returns float counts of ``lam``'s dtype (mostly 0, sometimes 1, rarely more).
    """
    p0 = np.exp(-lam)
    S = (U >= p0).astype(lam.dtype)
    more = U >= p0 * (1.0 + lam)  # two spikes or more: rare, continue the inverse CDF there
    if more.any():
        idx = np.flatnonzero(more)
        u = U.flat[idx].astype(np.float64)  # float64 so that F reliably climbs past u
        l = lam.flat[idx].astype(np.float64)
        term = np.exp(-l) * l
        F = np.exp(-l) + term
        k = np.ones_like(l)
        more = u >= F
        while more.any():
            k += more
            term = term * l / k
            F = F + term
            more &= (u >= F) & (term > 0)  # term > 0: stops even if F rounds below u
        S.flat[idx] = k
    return S
