"""One hidden neuron driven by Poisson inputs, in 1-ms steps: the simulation behind notebook
03's neuron explorer (:func:`segdend_lite.course.widgets.neuron_simulator_widget`), the library's
version of the loop the notebook writes from the student's functions. Every equation comes from
:mod:`segdend_lite.model.neuron`."""

from __future__ import annotations

import numpy as np

from segdend_lite.model.neuron import integrate_soma, psp_filter, psp_taps, sigma


def simulate_neuron(
    g_B: float = 0.6,
    g_A: float = 0.0,
    g_L: float = 0.1,
    basal_hz: float = 20.0,
    apical_hz: tuple[float, float] = (20.0, 80.0),
    T: int = 120,
    t_switch: int = 60,
    n_basal: int = 100,
    n_apical: int = 20,
    w_basal: float = 1.0,
    w_apical: float = 1.5,
    b: float = 0.0,
    settle: int = 30,
    phi_max: float = 0.2,
    kernel_taps: int | None = None,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Simulate one three-compartment hidden neuron for ``T`` ms in 1-ms steps.

    ``n_basal`` Poisson inputs at ``basal_hz`` drive the basal dendrite,
    ``V_b(t) = w_basal sum_j s_j(t) + b``; ``n_apical`` inputs drive the apical dendrite,
    ``V_a(t) = w_apical sum_k s_k(t)``, at ``apical_hz[0]`` before ``t_switch`` (the forward
    phase) and ``apical_hz[1]`` after (the target phase). ``s`` are PSP-filtered spike trains
    (full kernel, or ``kernel_taps`` lags). The soma follows :func:`euler_soma_step` and fires
    Poisson spikes at ``phi_max sigma(V)``. Plateau potentials are ``sigma`` of the mean apical
    voltage from ``settle`` ms after each phase starts to its end.

    Returns a dict of arrays: ``t`` (T,) ms, ``V_b``, ``V_a``, ``V`` (T,), ``spikes`` (T,)
    counts, and the scalars ``alpha_f``, ``alpha_t``, ``rate_hz``.
    """
    if not 0 < t_switch < T:
        raise ValueError(f"t_switch={t_switch} must lie inside the simulation (0, {T})")
    rng = np.random.default_rng(seed)
    n = max(T, 400) if kernel_taps is None else kernel_taps
    k = psp_taps(n)

    def filtered(rates_hz: np.ndarray, count: int) -> np.ndarray:
        S = rng.poisson(rates_hz[:, None] / 1000.0, size=(T, count)).sum(axis=1)
        return psp_filter(S, k)

    apical_rates = np.where(np.arange(T) < t_switch, apical_hz[0], apical_hz[1])
    V_b = w_basal * filtered(np.full(T, basal_hz), n_basal) + b
    V_a = w_apical * filtered(apical_rates.astype(float), n_apical)
    V_a = np.concatenate([[0.0], V_a[:-1]])  # feedback arrives one step late
    V = integrate_soma(V_b, V_a, g_L, g_B, g_A)
    spikes = rng.poisson(phi_max * sigma(V)).astype(float)  # one draw per step, in order
    f_win = slice(min(settle, t_switch - 1), t_switch)
    t_win = slice(min(t_switch + settle, T - 1), T)
    return {
        "t": np.arange(T, dtype=float),
        "V_b": V_b,
        "V_a": V_a,
        "V": V,
        "spikes": spikes,
        "alpha_f": float(sigma(V_a[f_win].mean())),
        "alpha_t": float(sigma(V_a[t_win].mean())),
        "rate_hz": float(1000.0 * spikes.mean()),
    }
