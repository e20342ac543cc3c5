"""Notebook 08, experiments: the exercises and their known mistakes."""

from __future__ import annotations

import numpy as np

from segdend_lite.course.checks import Exercise, Prediction, register
from segdend_lite.model import init
from segdend_lite.model.neuron import psp_kernel, psp_taps, soma_steady_state

NB = "08_experiments"


def _same_sparsity(got, other, args):
    """Random matrices: compare what must hold whichever entries were chosen (shape, how many
    are zero, and the factor on the survivors), not the entries themselves."""
    _, Y, _, _ = args
    got, other = np.asarray(got, dtype=float), np.asarray(other, dtype=float)
    if got.shape != Y.shape or other.shape != Y.shape:
        return False
    if np.sum(got == 0) != np.sum(other == 0):
        return False
    kept_got, kept_other = got != 0, other != 0
    if not kept_got.any():
        return not kept_other.any()
    ratio_got = got[kept_got] / Y[kept_got]
    ratio_other = other[kept_other] / Y[kept_other]
    return bool(np.allclose(ratio_got, ratio_other[0]) and np.allclose(ratio_other, ratio_other[0]))


def _count_zeros(got, args):
    """Too few zeros usually means positions drawn with replacement (some twice)."""
    _, Y, fraction, _ = args
    got = np.asarray(got, dtype=float)
    if got.shape != Y.shape:
        return None
    want, have = int(round(fraction * Y.size)), int(np.sum(got == 0))
    if have < want:
        return (
            f"Your matrix has {have} zeros; it should have exactly round({fraction} * "
            f"{Y.size}) = {want}. Drawing the positions with replacement picks some twice: "
            "use rng.choice(Y.size, size=..., replace=False)."
        )
    if have > want:
        return (
            f"Your matrix has {have} zeros; it should have exactly round({fraction} * "
            f"{Y.size}) = {want} (zero that many positions, chosen without repetition)."
        )
    return None


register(
    Exercise(
        name="sparsify",
        notebook=NB,
        title="sparse feedback: zero a fraction of Y, scale the survivors",
        reference=init.sparsify,
        cases=lambda rng: [
            (np.random.default_rng(1), rng.normal(0, 1, (50, 10)), 0.8, 5.0),
            (np.random.default_rng(2), rng.normal(0, 1, (7, 3)), 0.5, 2.0),
            (np.random.default_rng(3), rng.normal(0, 1, (20, 10)), 0.0, 1.0),
        ],
        mistakes=[
            (
                lambda rng, Y, f, g: init.sparsify(rng, Y, f, 1.0),
                "The surviving weights must be multiplied by `gain` (the paper's x5 keeps the "
                "apical input as strong as with dense feedback).",
            ),
            (
                lambda rng, Y, f, g: init.sparsify(rng, Y, 1.0 - f, g),
                "`fraction` is the share of entries set to zero, not the share kept.",
            ),
            (
                lambda rng, Y, f, g: init.sparsify(rng, Y, f, 1.0 / g),
                "Multiply the survivors by `gain`, do not divide.",
            ),
        ],
        hints=(
            "Exactly round(fraction * Y.size) entries become 0 (chosen at random, each at most "
            "once); all the others are multiplied by gain. Do not change Y itself.",
            "out = Y * gain; zero = rng.choice(Y.size, size=round(fraction * Y.size), "
            "replace=False); out.flat[zero] = 0.0",
        ),
        compare=_same_sparsity,
        diagnose=_count_zeros,
    )
)


register(
    Exercise(
        name="soma_voltage",
        notebook=NB,
        title="the hidden soma's steady state with apical coupling g_A",
        reference=soma_steady_state,
        cases=lambda rng: [
            (rng.normal(2, 2, 6), rng.normal(0, 3, 6), 0.1, 0.6, 0.6),
            (np.array([3.0]), np.array([-4.0]), 0.1, 0.6, 0.0),
            (rng.normal(0, 1, 4), rng.normal(0, 1, 4), 0.1, 0.6, 0.05),
        ],
        mistakes=[
            (
                lambda V_b, V_a, g_L, g_B, g_A: soma_steady_state(V_b, 0 * V_a, g_L, g_B, g_A),
                "The apical term is missing: with g_A > 0 the current g_A (V_a - V) also flows "
                "into the soma.",
            ),
            (
                lambda V_b, V_a, g_L, g_B, g_A: (g_B * V_b + g_A * V_a) / (g_B + g_A),
                "The leak g_L belongs in the denominator: at steady state "
                "g_L V + g_B (V - V_b) + g_A (V - V_a) = 0.",
            ),
            (
                lambda V_b, V_a, g_L, g_B, g_A: (g_B * V_b + g_A * V_a) / (g_L + g_B),
                "g_A belongs in the denominator too: the apical conductance also pulls V "
                "towards V_a, away from V_b.",
            ),
        ],
        hints=(
            "Set dV/dt = -g_L V + g_B (V_b - V) + g_A (V_a - V) to zero and solve for V.",
            "V* = (g_B V_b + g_A V_a) / (g_L + g_B + g_A)",
        ),
    )
)

register(
    Prediction(
        name="soma_moves",
        notebook=NB,
        title="with g_A = 0.6, does the soma notice the teaching signal?",
        options=("no, it stays put", "yes, it moves"),
        outcome=lambda jump: "no, it stays put" if abs(jump) < 1e-6 else "yes, it moves",
        explanation=(
            "With g_A = 0 the soma settles at k_B V_b in both phases: the teaching signal stays "
            "in the apical dendrite. With g_A = 0.6 the soma moves by k_A (V_a^t - V_a^f), "
            "k_A = 0.6/1.3 = 0.46 times the apical change; so the neuron's rate, and the next "
            "layer's input, change between the phases, and the forward phase itself carries "
            "the feedback. k_B also falls from 0.86 to 0.46: the feed-forward signal is halved."
        ),
        hints=(
            "Use your soma_voltage for the forward and the target phase's apical potentials.",
            "The change is k_A (V_a^t - V_a^f) with k_A = g_A / (g_L + g_B + g_A).",
        ),
    )
)


register(
    Exercise(
        name="kernel_sum",
        notebook=NB,
        title="the PSP kernel's weights at lags 1..n ms, summed",
        reference=lambda n_lags, tau_s, tau_L: float(psp_taps(n_lags, tau_s, tau_L).sum()),
        cases=lambda rng: [(10, 3.0, 10.0), (300, 3.0, 10.0), (1, 3.0, 10.0), (25, 2.0, 20.0)],
        mistakes=[
            (
                lambda n, ts, tL: float(psp_kernel(np.arange(n), ts, tL).sum()),
                "Off by one: the lags are 1, 2, ..., n ms (a spike of this step has lag 1), "
                "not 0, ..., n - 1.",
            ),
            (
                lambda n, ts, tL: float(((tL - ts) * psp_taps(n, ts, tL)).sum()),
                "Divide by (tau_L - tau_s): that factor makes the whole kernel integrate to 1.",
            ),
            (
                lambda n, ts, tL: -float(psp_taps(n, ts, tL).sum()),
                "The sign is flipped: kappa(t) = (exp(-t/tau_L) - exp(-t/tau_s)) / "
                "(tau_L - tau_s) is positive for t > 0 (the slow exponential comes first).",
            ),
        ],
        hints=(
            "kappa(t) = (exp(-t/tau_L) - exp(-t/tau_s)) / (tau_L - tau_s); evaluate it at "
            "t = 1, 2, ..., n_lags and add the values up.",
            "Build the lags with np.arange(1, n_lags + 1) and sum kappa over them; the result "
            "is a plain float.",
        ),
    )
)

register(
    Prediction(
        name="psp_doubled",
        notebook=NB,
        title="every PSP twice as large: where do the output voltages go?",
        options=(
            "about where they were",
            "about twice as far from zero",
            "closer to zero",
        ),
        outcome=lambda ratio: (
            "about twice as far from zero"
            if ratio > 1.4
            else ("closer to zero" if ratio < 0.7 else "about where they were")
        ),
        explanation=(
            "The output's dendritic potential is W s + b: with the same weights, doubling every "
            "PSP s doubles the weighted part and leaves only the bias b as it was, so the "
            "voltages move nearly twice as far from zero (not quite: b and the hidden layer's "
            "own doubled input change the picture a little). For the wrong digits of a trained "
            "network that means far below zero, where the sigmoid is flat: those units hardly "
            "fire and their slope sigma' is nearly 0, so their errors, and the updates they "
            "send, shrink. The network learns in another regime."
        ),
        hints=(
            "The dendrite's potential is linear in the PSPs of the layer below.",
            "Only the bias does not scale with the PSPs.",
        ),
    )
)
