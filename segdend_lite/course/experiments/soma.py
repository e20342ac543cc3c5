"""The mechanism behind Fig. 9: the somatic voltage through a forward and a target phase for
several apical conductances g_A (:func:`soma_traces`), and its figure."""

from __future__ import annotations

import numpy as np

from segdend_lite.model import neuron
from segdend_lite.model.network import Network


def soma_traces(
    net: Network,
    x: np.ndarray,
    label: int,
    g_A_values=(0.0, 0.05, 0.6),
    phase_ms: float = 50.0,
    dt: float = 0.1,
    neurons=(0, 1, 2),
    spikes: bool = False,
    seed: int = 0,
) -> dict:
    """Somatic voltage of some first-hidden-layer neurons through a forward then a target
    phase, for several apical conductances ``g_A`` (the mechanism behind Fig. 9).

    The dendritic potentials come from a rate-mode network ``net`` and one image ``x`` (784,)
    with its ``label``: basal ``V_b = W^0 r^in + b^0`` (the same in both phases), apical
    ``V_a = Y^0 s`` with ``s`` the output's forward-phase rates, then its target-phase rates
    (held at the values of the segregated network, to isolate the soma); with ``spikes=True``
    ``s(t)`` is instead the output's Poisson spike trains at those rates (drawn from ``seed``,
    the same for every g_A) filtered by the PSP kernel (``neuron.psp_kernel``), as the paper's
    apical dendrites receive them. The soma follows ``neuron.euler_soma_step`` from ``V = 0``
    with step ``dt`` ms (0.1 ms: with 1-ms steps the g_A = 0.6 soma rings, an artefact of the
    Euler method).

    Returns ``t`` (ms, shape (T,)), ``V`` {g_A: (T, len(neurons))}, ``V_a`` (T, len(neurons))
    the apical potential, ``V_b``, ``V_a_f``, ``V_a_t`` (len(neurons),) the basal and the mean
    apical potentials of the two phases, and ``phase_ms``.
    """
    p = net.phases(np.asarray(x)[None], [label])
    idx = np.asarray(neurons)
    cfg = net.config
    W0 = np.asarray(net.W[0], dtype=np.float64)[idx]
    V_b = neuron.basal_potential(W0, p.r[0][0].astype(np.float64), np.asarray(net.b[0])[idx])
    Y = np.asarray(net.Y[0], dtype=np.float64)[idx]
    r_f, r_t = p.r_f[0].astype(np.float64), p.r_t[0].astype(np.float64)
    n = int(round(phase_ms / dt))
    t = dt * np.arange(1, 2 * n + 1)
    rates = np.vstack([np.repeat(r_f[None], n, axis=0), np.repeat(r_t[None], n, axis=0)])
    if spikes:  # Poisson counts per step, filtered by the PSP kernel (1/ms)
        counts = np.random.default_rng(seed).poisson(rates * dt)
        kernel = neuron.psp_kernel(t - dt, cfg.tau_s, cfg.tau_L)
        s = neuron.psp_filter(counts, kernel)
    else:
        s = rates
    V_a = neuron.apical_potential(Y, s)  # (T, len(neurons))
    V = {}
    for g_A in g_A_values:
        V_b_t = np.broadcast_to(V_b, V_a.shape)
        V[g_A] = neuron.integrate_soma(V_b_t, V_a, cfg.g_L, cfg.g_B, g_A, dt, np.zeros(len(idx)))
    return {
        "t": t,
        "V": V,
        "V_a": V_a,
        "V_b": V_b,
        "V_a_f": neuron.apical_potential(Y, r_f),
        "V_a_t": neuron.apical_potential(Y, r_t),
        "neurons": idx,
        "phase_ms": phase_ms,
    }


def soma_traces_figure(d: dict, neuron_index: int = 0, title: str = ""):
    """The apical potential (top) and the somatic voltage for each g_A (bottom) of one neuron
    of :func:`soma_traces`, with the phase switch marked; returns the figure."""
    import matplotlib.pyplot as plt

    fig, (top, ax) = plt.subplots(
        2, 1, figsize=(6.5, 4.2), sharex=True, gridspec_kw={"height_ratios": [1, 2]}
    )
    top.plot(d["t"], d["V_a"][:, neuron_index], color="0.4", lw=1)
    top.set_ylabel("apical V_a")
    for g_A, trace in d["V"].items():
        ax.plot(d["t"], trace[:, neuron_index], label=f"g_A = {g_A:g}")
    for a in (top, ax):
        a.axvline(d["phase_ms"], ls="--", color="grey", lw=1)
    top.set_title(title or "forward phase | target phase", fontsize=9)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"soma V, neuron {d['neurons'][neuron_index]}")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
