"""Notebook 03, the pyramidal neuron: the exercises and their known mistakes."""

from __future__ import annotations

import numpy as np

from segdend_lite.course.checks import Exercise, Prediction, register
from segdend_lite.model import neuron

NB = "03_the_pyramidal_neuron"


def _compare_counts(got, other, args):
    """Spike trains are random: same shape, non-negative whole counts, and mean counts per bin
    within 6 standard errors of each other."""
    _, T_ms, _ = args
    got, other = np.asarray(got), np.asarray(other)
    if got.shape != (T_ms,) or np.any(got < 0) or np.any(got != np.round(got)):
        return False
    lam = max(got.mean(), other.mean())
    return bool(abs(got.mean() - other.mean()) < 6 * np.sqrt(lam / T_ms) + 1e-12)


register(
    Exercise(
        name="euler_soma_step",
        notebook=NB,
        title="one Euler step of the hidden soma",
        reference=neuron.euler_soma_step,
        cases=lambda rng: [
            (0.0, 2.0, 1.0, 0.1, 0.6, 0.0, 1.0),
            (rng.normal(0, 1, 5), rng.normal(0, 2, 5), rng.normal(0, 2, 5), 0.1, 0.6, 0.05, 1.0),
            (1.0, 0.0, 3.0, 0.1, 0.6, 0.6, 0.5),
        ],
        mistakes=[
            (
                lambda V, Vb, Va, gL, gB, gA, dt: neuron.euler_soma_step(V, Vb, V, gL, gB, 0.0, dt),
                "The apical term g_A (V_a - V) is missing (it matters when g_A > 0).",
            ),
            (
                lambda V, Vb, Va, gL, gB, gA, dt: neuron.euler_soma_step(
                    V, Vb, Va, gL, gB, gA, 1.0
                ),
                "Multiply the change by dt.",
            ),
            (
                lambda V, Vb, Va, gL, gB, gA, dt: (
                    neuron.euler_soma_step(V, Vb, Va, gL, gB, gA, dt) + 2 * dt * gL * np.asarray(V)
                ),
                "The leak pulls V towards 0: its term is -g_L V.",
            ),
            (
                lambda V, Vb, Va, gL, gB, gA, dt: (
                    neuron.euler_soma_step(V, Vb, Va, gL, gB, gA, dt) - V
                ),
                "You returned the change dV; return the new voltage V + dt * dV/dt.",
            ),
        ],
        hints=(
            "dV/dt = -g_L V + g_B (V_b - V) + g_A (V_a - V); one Euler step adds dt times this.",
            "Compute dVdt = (leak + basal + apical terms), then return V + dt * dVdt.",
        ),
    )
)

register(
    Exercise(
        name="steady_state_k_B",
        notebook=NB,
        title="the soma's steady-state gain k_B, derived",
        reference=neuron.k_B,
        cases=lambda rng: [(0.1, 0.6, 0.0), (0.1, 0.6, 0.05), (0.1, 0.6, 0.6), (0.3, 0.2, 0.1)],
        mistakes=[
            (
                lambda g_L, g_B, g_A: neuron.k_B(g_L, g_B, 0.0),
                "g_A belongs in the denominator too (all conductances the soma leaks through).",
            ),
            (
                lambda g_L, g_B, g_A: g_B / g_L,
                "Set dV/dt = 0 with V_a = 0 and solve for V: every conductance the soma is "
                "coupled through appears in the denominator.",
            ),
            (
                lambda g_L, g_B, g_A: 1 / neuron.k_B(g_L, g_B, g_A),
                "Upside down: V = k_B V_b with k_B below 1.",
            ),
        ],
        hints=(
            "At steady state dV/dt = 0. With no apical input, 0 = -g_L V + g_B (V_b - V) - g_A V.",
            "Collect the terms in V: (g_L + g_B + g_A) V = g_B V_b.",
        ),
    )
)

register(
    Exercise(
        name="poisson_spike_train",
        notebook=NB,
        title="a Poisson spike train in 1-ms bins",
        reference=lambda rate_hz, T_ms, rng: neuron.poisson_counts(rate_hz / 1000.0, T_ms, rng),
        cases=lambda rng: [
            (20.0, 50_000, np.random.default_rng(1)),
            (200.0, 20_000, np.random.default_rng(2)),
            (0.0, 100, np.random.default_rng(3)),
        ],
        mistakes=[
            (
                lambda r, T, rng: neuron.poisson_counts(r, T, rng),
                "The rate is in Hz (spikes per second); per 1-ms bin the mean count is rate/1000.",
            ),
        ],
        hints=(
            "In each 1-ms bin the number of spikes is Poisson with mean rate x 1 ms.",
            "rng.poisson(mean per bin, size=T_ms), with the mean in spikes per ms.",
        ),
        compare=_compare_counts,
    )
)

register(
    Exercise(
        name="psp_kernel",
        notebook=NB,
        title="the PSP kernel kappa(t)",
        reference=neuron.psp_kernel,
        cases=lambda rng: [
            (np.arange(0, 30.0), 3.0, 10.0),
            (np.array([-2.0, -0.5, 0.0, 1.0]), 3.0, 10.0),
            (np.linspace(0, 50, 11), 2.0, 20.0),
        ],
        mistakes=[
            (
                lambda t, ts, tl: neuron.psp_kernel(t, ts, tl) * (tl - ts),
                "Divide by (tau_L - tau_s) so that the kernel integrates to 1.",
            ),
            (
                lambda t, ts, tl: neuron.psp_kernel(np.abs(t), ts, tl),
                "kappa is 0 before the spike (t < 0): use np.where(t >= 0, ..., 0).",
            ),
            (
                lambda t, ts, tl: -neuron.psp_kernel(t, ts, tl),
                "A sign: the slow exponential (tau_L) comes first, so kappa >= 0.",
            ),
        ],
        hints=(
            "A difference of two exponentials, slow minus fast, normalised, and zero for t < 0.",
            "np.where(t >= 0, (slow - fast) / (tau_L - tau_s), 0.0) with t as a float array.",
        ),
    )
)

register(
    Prediction(
        name="small_dt_rings",
        notebook=NB,
        title="does the g_A = 0.6 soma still overshoot with dt = 0.1 ms?",
        options=("yes", "no"),
        outcome=lambda overshoots: "yes" if overshoots else "no",
        explanation=(
            "No: the continuous equation is first order and linear, so V approaches its steady "
            "state exponentially, without overshoot, with time constant 1/(g_L + g_B + g_A) = "
            "0.77 ms. The ringing at dt = 1 ms is an artefact of the Euler step: its factor "
            "1 - dt (g_L + g_B + g_A) = -0.3 is negative, so each step jumps past the steady "
            "state. With dt = 0.1 ms the factor is 0.87 and the trace is smooth."
        ),
        hints=(
            "How many solutions can a first-order linear equation dV/dt = -g (V - V_inf) have, "
            "and what do they look like?",
            "One Euler step multiplies V - V_inf by 1 - g dt. When is that negative?",
        ),
    )
)
