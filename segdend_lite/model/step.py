"""The spiking model step by step, as the paper's Methods describe it (what students read).

One phase is a loop over 1-ms steps. In each step the layers are updated bottom to top, and in
each layer the dendrites first, then the soma, then its spikes (paper "Simulation details",
docs/model.md, "Phases and timing"):

1. input spikes, Poisson at ``phi_max x`` (``x`` = pixel / 255), filtered by the PSP kernel;
2. per layer: basal potential ``V^b = W s + b`` of the PSPs ``s`` of the layer below; for a
   hidden layer the apical potential ``V^a = Y s^{src}`` of the output's (or the layer
   above's) PSPs, which were last updated in the previous step, so feedback arrives one step
   late; the soma's Euler step (with the teaching current in the output's target phase);
   spikes, Poisson at ``phi_max sigma(V)``; their PSPs;
3. at the end of the phase, the window averages: somatic voltages, presynaptic PSPs, the
   output's rates and, for the plateau potentials, the apical voltages.

Spikes come from ``spikes(k, t, rate)``, the counts of population ``k`` (input 0, hidden layers,
output) at step ``t``: by default :func:`poisson_spikes`, ``Poisson(rate dt)`` drawn there and
then. The fast engine (:mod:`segdend_lite.model.fast`) computes the same phases reorganised;
handed its pre-drawn numbers (:meth:`segdend_lite.model.draws.Draws.spikes`), this loop gives
the same spikes, voltages and weights, which is how the fast engine is tested.
"""

from __future__ import annotations

import numpy as np

from segdend_lite.model import neuron
from segdend_lite.model.spiking_state import (
    DT,
    PhaseResult,
    SpikingState,
    apical_source,
    plateau_means,
    window,
)


def poisson_spikes(rng: np.random.Generator):
    """The paper's spikes: ``S ~ Poisson(rate dt)`` per unit and step, drawn from ``rng`` when
    the loop asks. Returns ``spikes(k, t, rate)`` -> counts shaped like ``rate`` (spikes/ms)."""

    def spikes(k: int, t: int, rate: np.ndarray) -> np.ndarray:
        return rng.poisson(rate * DT).astype(rate.dtype)

    return spikes


def feedback_signal(net, st: SpikingState, h: int) -> np.ndarray:
    """What hidden layer ``h``'s apical dendrites receive: the PSPs ``s`` of its source layer
    (the paper's model) or, with ``spiking_feedback=False``, its rates ``phi_max sigma(V)``."""
    src = apical_source(net, h)
    if net.config.spiking_feedback:
        return st.psp[1 + src].s
    return neuron.rate(st.V[src], net.config.phi_max)


def simulate_phase(
    net,
    st: SpikingState,
    x: np.ndarray,
    T: int,
    label: int | None,
    spikes,
    test: bool = False,
    record: dict | None = None,
    delta: list | None = None,
) -> PhaseResult:
    """Simulate one phase of ``T`` 1-ms steps from state ``st`` (advanced in place).

    ``x`` (784,) pixels / 255; ``label`` None in the forward phase, the digit in the target
    phase (teaching conductances ``g_E = t``, ``g_I = 1 - t``); ``spikes(k, t, rate)``: spike
    counts (:func:`poisson_spikes`); ``test``: a test phase's window; ``delta``: per hidden layer,
    the plateau offsets (random plateau times) or None. ``record``: {layer: neuron indices}
    whose ``V_b``, ``V_a``, ``V``, spikes ``S`` to trace, one row per step. Returns the window
    averages (:class:`PhaseResult`).
    """
    cfg, L, dtype = net.config, net.n_hidden, net.dtype
    W, b, Y, phi = net.W, net.b, net.Y, cfg.phi_max
    g_E, g_I = neuron.teaching_conductances(label, net.n_out, dtype)
    x = np.asarray(x, dtype)
    hidden = net.layer_sizes[:-1]
    # one row per step, for the window averages
    V_t = [np.zeros((T, n), dtype) for n in net.layer_sizes]  # somatic voltages
    V_a_t = [np.zeros((T, n), dtype) for n in hidden]  # apical potentials
    s_t = [np.zeros((T, n), dtype) for n in (net.n_input,) + hidden]  # presynaptic PSPs
    r_out_t = np.zeros((T, net.n_out), dtype)  # output rates
    counts = [0.0] * (L + 1)
    trace = {k: {"V_b": [], "V_a": [], "V": [], "S": []} for k in (record or {})}
    for t in range(T):
        S = spikes(0, t, phi * x)  # input spikes at phi_max x
        s = st.psp[0].step(S)  # filtered by the PSP kernel
        s_t[0][t] = s
        for l in range(L + 1):
            V_b = neuron.basal_potential(W[l], s, b[l])
            if l < L:  # hidden soma: basal and apical dendrites
                V_a = neuron.apical_potential(Y[l], feedback_signal(net, st, l))
                st.V[l] = neuron.euler_soma_step(st.V[l], V_b, V_a, cfg.g_L, cfg.g_B, cfg.g_A, DT)
                V_a_t[l][t] = V_a
            else:  # output soma: dendrite and teaching current
                V_a = None
                I = neuron.teaching_current(st.V[l], g_E, g_I, cfg.E_E, cfg.E_I)
                st.V[l] = neuron.euler_output_step(st.V[l], V_b, I, cfg.g_L, cfg.g_D, DT)
            rate = neuron.rate(st.V[l], phi)
            S = spikes(l + 1, t, rate)  # spikes at phi_max sigma(V)
            s = st.psp[l + 1].step(S)  # their PSPs, seen by the layer above
            counts[l] += float(S.sum())
            V_t[l][t] = st.V[l]
            if l < L:
                s_t[l + 1][t] = s
            else:
                r_out_t[t] = rate
            if l in trace:
                for name, v in (("V_b", V_b), ("V_a", V_a), ("V", st.V[l]), ("S", S)):
                    if v is not None:
                        trace[l][name].append(v[record[l]].copy())
    # the end of the phase: window averages; plateau potentials use the apical ones
    start, _ = window(cfg, T, test)
    delta = delta or [None] * L
    return PhaseResult(
        V_h=[V[start:].mean(axis=0) for V in V_t[:L]],
        V_a=[plateau_means(V_a_t[h], start, delta[h]) for h in range(L)],
        s_pre=[s[start:].mean(axis=0) for s in s_t],
        V_out=V_t[L][start:].mean(axis=0),
        r_out=r_out_t[start:].mean(axis=0),
        spikes=counts,
        trace={k: {n: np.array(v) for n, v in d.items()} for k, d in trace.items()} or None,
    )
