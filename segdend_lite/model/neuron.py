"""Single-neuron equations of the model (Guerguiev, Lillicrap & Richards 2017, Methods).

Units follow the paper: time in ms, rates in spikes/ms (``phi_max = 0.2`` /ms = 200 Hz),
conductances and voltages dimensionless ("S" and "V" nominally), ``C_m = 1``.
"""

from __future__ import annotations

import numpy as np


def sigma(x: np.ndarray) -> np.ndarray:
    """Logistic function ``sigma(x) = 1 / (1 + exp(-x))``, element-wise, same shape and dtype."""
    return 1.0 / (1.0 + np.exp(-x))


def rate(V: np.ndarray, phi_max: float) -> np.ndarray:
    """Firing rate ``phi_max sigma(V) = phi_max / (1 + exp(-V))`` (spikes/ms for ``phi_max`` in
    /ms), element-wise, same shape and dtype; computed in place on one new array."""
    y = np.negative(V)
    np.exp(y, out=y)
    y += 1.0
    return np.divide(phi_max, y, out=y)


def sigma_prime(x: np.ndarray) -> np.ndarray:
    """Derivative of the logistic function, ``sigma(x) (1 - sigma(x))``."""
    s = sigma(x)
    return s * (1.0 - s)


def basal_potential(W: np.ndarray, s: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Basal (or output-dendrite) potential ``V^b = W s + b`` (Methods, "Neuronal dynamics";
    docs/model.md, "The neurons"): instantaneous, no dendritic dynamics.

    ``W`` (n, m) feed-forward weights, ``s`` (m,) or (N, m) filtered presynaptic spike trains
    (rates in rate mode), ``b`` (n,). Returns (n,) or (N, n).
    """
    return s @ W.T + b


def apical_potential(Y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Apical potential ``V^a = Y s`` of a hidden layer (Methods, "Neuronal dynamics"): ``Y``
    (n_h, n_src) fixed feedback weights, ``s`` (n_src,) or (N, n_src) the filtered spikes (or
    rates) of the output layer. Returns (n_h,) or (N, n_h)."""
    return s @ Y.T


def teaching_conductances(label: int | None, n_out: int, dtype=np.float64):
    """Teaching conductances of the output layer (paper eqs. 18-20): in the target phase
    ``g_E = t`` and ``g_I = 1 - t`` for the one-hot target ``t`` of ``label``; in the forward
    phase (``label=None``) both are zero. Returns ``g_E``, ``g_I``, each (n_out,)."""
    g_E = np.zeros(n_out, dtype)
    if label is None:
        return g_E, g_E.copy()
    g_E[label] = 1.0
    return g_E, 1.0 - g_E


def teaching_current(V, g_E, g_I, E_E: float, E_I: float):
    """Teaching current ``I = g_E (E_E - V) + g_I (E_I - V)`` into the output soma (paper eq. 19).
    Any shapes that broadcast."""
    return g_E * (E_E - V) + g_I * (E_I - V)


def euler_output_step(V, V_b, I, g_L: float, g_D: float, dt: float = 1.0):
    """One forward-Euler step of the output soma (paper eq. 18 with ``C_m = 1``, ``V_R = 0``):
    ``V + dt (-g_L V + g_D (V_b - V) + I)``, with ``I`` the teaching current. Any shapes that
    broadcast."""
    return V + dt * (-g_L * V + g_D * (V_b - V) + I)


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
    """Postsynaptic-potential kernel
    ``kappa(t) = (exp(-t/tau_L) - exp(-t/tau_s)) / (tau_L - tau_s)``
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


def poisson_counts(rate, T: int, rng: np.random.Generator, dt: float = 1.0) -> np.ndarray:
    """Spike counts of a Poisson process at ``rate`` (spikes/ms, a number or an array of
    units) in ``T`` bins of ``dt`` ms: independent Poisson(``rate dt``) counts, shape
    ``(T,) + shape(rate)``."""
    return rng.poisson(np.asarray(rate) * dt, size=(T,) + np.shape(rate))


def euler_soma_step(V, V_b, V_a, g_L: float, g_B: float, g_A: float, dt: float = 1.0):
    """One forward-Euler step of the hidden soma (paper eq. 1 with ``C_m = 1``, ``V_R = 0``):
    ``V + dt (-g_L V + g_B (V_b - V) + g_A (V_a - V))``. Any shapes that broadcast."""
    return V + dt * (-g_L * V + g_B * (V_b - V) + g_A * (V_a - V))


def integrate_soma(V_b, V_a, g_L: float, g_B: float, g_A: float, dt: float = 1.0, V0=0.0):
    """The hidden soma over time: :func:`euler_soma_step` from ``V0``, one step per row of the
    dendritic potentials ``V_b``, ``V_a`` (T, ...), which broadcast against each other and
    ``V0``. Returns the voltage after each step, shape (T, ...)."""
    V_b, V_a = np.broadcast_arrays(np.asarray(V_b, float), np.asarray(V_a, float))
    out, v = [], V0
    for t in range(len(V_b)):
        v = euler_soma_step(v, V_b[t], V_a[t], g_L, g_B, g_A, dt)
        out.append(v)
    return np.array(out, dtype=float)


def psp_filter(S: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    """Filtered spike trains ``s(t) = sum_k kappa[k] S(t - k)`` (Methods, "Neuronal
    dynamics"), the convolution with the kernel: ``S`` (T,) or (T, n) spike counts per step,
    ``kappa`` (K,) the weight of a spike emitted ``k`` steps ago (:func:`psp_taps`: ``kappa(1 ms)``
    for this step's spikes, as the model applies it). Same shape as ``S``. The spiking engines
    filter step by step (``spiking_state.PSP``), tested equal to this."""
    S = np.asarray(S, float)
    flat = S.reshape(len(S), -1)
    s = np.stack([np.convolve(flat[:, j], kappa)[: len(S)] for j in range(flat.shape[1])], 1)
    return s.reshape(S.shape)


def soma_steady_state(V_b, V_a, g_L: float, g_B: float, g_A: float):
    """Steady state of a hidden soma with constant dendritic potentials (paper eq. 1 with
    ``dV/dt = 0``): ``V* = (g_B V_b + g_A V_a) / (g_L + g_B + g_A) = k_B V_b + k_A V_a``, with
    ``k_A = g_A / (g_L + g_B + g_A)`` (``k_B`` with the roles of g_B and g_A swapped).
    Voltages dimensionless; any shapes that broadcast.

    With ``g_A = 0`` the soma ignores the apical dendrite (``V* = k_B V_b``); with ``g_A > 0``
    the feedback leaks into the soma, and so into the neuron's rate and the next layer (Fig. 9).
    """
    return k_B(g_L, g_B, g_A) * V_b + k_B(g_L, g_A, g_B) * V_a
