"""Spiking mode of the network: Poisson spikes in 1-ms steps, PSP kernel, Euler somata, two phases.

Two engines compute the same thing from the same random draws (:class:`Draws`):

- ``"step"`` (:mod:`segdend_lite.model.step`): a loop over 1-ms steps, one line per equation,
  as in the paper's Methods; it can record traces;
- ``"fast"`` (:mod:`segdend_lite.model.fast`): the same computation reorganised as matrix
  products over stretches of time, with test images in batches.

Per training image (:func:`learn_one`): a forward phase (no teaching) and a target phase
(teaching conductances ``g_E = t``, ``g_I = 1 - t`` on the output), each ``phase_length`` ms
plus a random Wald extra; then one update from the phases' window averages, every equation
from :mod:`segdend_lite.model.learning` (docs/model.md, "Targets, losses and weight updates").
"""

from __future__ import annotations

import numpy as np

from segdend_lite.model import fast, learning
from segdend_lite.model.spiking_state import (
    Draws,
    PhaseResult,
    SpikingState,
    phase_lengths,
    window,
)
from segdend_lite.model.step import simulate_phase

__all__ = [
    "Draws",
    "PhaseResult",
    "learn_one",
    "one_phase",
    "output_voltage",
    "run_phase",
    "window",
]

#: Test images simulated together by the fast engine (more makes arrays of several MB, which
#: cost page faults on every allocation and run slower on this machine's measurements).
TEST_BATCH = 4


def run_phase(net, x, cols, T, label, draws, test=False, engine=None, record=None) -> PhaseResult:
    """One phase of ``T`` steps for image ``x`` (pixels / 255; ``cols`` its lit pixels) from
    the network's current state, with either engine (``record`` needs the step engine).
    ``label`` None: forward phase; a digit: target phase."""
    engine = engine or net.config.engine
    if engine == "step" or record:
        return simulate_phase(net, net.spiking, x, cols, T, label, draws, test, record)
    b = fast.BatchState.of(net.spiking)
    (r,) = fast.run(net, b, [(x, cols)], [(T, label)], [draws], test=test)
    b.store(net.spiking)
    return r


def one_phase(net, x: np.ndarray, label: int | None = None, record=None) -> PhaseResult:
    """One phase of ``config.phase_length`` ms for image ``x`` (784,), pixels / 255 or uint8,
    from the network's current state (which it advances, as in training); no weight change.

    ``label=None``: a forward phase; a digit: a target phase (teaching conductances on the
    output). ``record``: ``{layer: neuron indices}`` (or ``"all"`` for every hidden neuron) to
    keep per-step traces in ``result.trace[layer]`` (``"V_b"``, ``"V_a"``, ``"V"``, ``"S"``, each
    (T, k)); recording uses the step engine. The window averages the learning rule uses are the
    fields of :class:`PhaseResult`; the window starts at ``window(net.config, T)[0]``.
    """
    if net.config.mode != "spiking":
        raise ValueError("one_phase runs the spiking model; this network is in rate mode")
    x = np.asarray(x)
    if x.shape != (net.n_input,):
        raise ValueError(f"one image of shape ({net.n_input},) please; got {x.shape}")
    x = net.check_images(x[None])[0]
    if record == "all":
        record = {h: list(range(n)) for h, n in enumerate(net.layer_sizes[:-1])}
    cols = np.flatnonzero(x)
    T = net.config.phase_length
    draws = Draws.draw(net, net.rng, T, len(cols))
    return run_phase(
        net, x, cols, T, label, draws, engine="step" if record else None, record=record
    )


def learn_one(net, x: np.ndarray, label: int, engine: str | None = None) -> tuple[float, int]:
    """Forward phase, target phase and one weight update for one image ``x`` (784,), pixels/255.

    Returns the output loss (``learning.output_loss / (phi_max^2 n_out)``) and whether the
    forward phase misclassified (0 or 1), as in rate mode."""
    cfg = net.config
    phi = cfg.phi_max
    cols = np.flatnonzero(x)
    T_f, T_t = phase_lengths(net)
    draws = Draws.draw(net, net.rng, (T_f, T_t), len(cols))
    if (engine or cfg.engine) == "fast":
        b = fast.BatchState.of(net.spiking)
        f, t = fast.run(net, b, [(x, cols)], [(T_f, None), (T_t, label)], [draws])
        b.store(net.spiking)
    else:
        f = simulate_phase(net, net.spiking, x, cols, T_f, None, draws.phase(0))
        t = simulate_phase(net, net.spiking, x, cols, T_t, label, draws.phase(1))
    e_L = learning.output_error(t.r_out, f.V_out, cfg.k_D, phi)
    alpha_f = [learning.plateau(v) for v in f.V_a]
    alpha_t = [learning.plateau(v) for v in t.V_a]
    e = net.layer_errors(e_L, f.V_h, alpha_f, alpha_t)
    net.record_spiking_stats(f.spikes, t.spikes, T_f + T_t, e, f.V_h)
    net.apply_update(e, f.s_pre)
    loss = float(learning.output_loss(t.r_out, f.V_out, phi)) / (phi * phi * net.n_out)
    return loss, int(np.argmax(f.V_out) != label)


def output_voltage(net, X: np.ndarray, seed: int, engine: str | None = None) -> np.ndarray:
    """Mean output somatic voltage of each test image (N, n_out): state reset to zero, one
    forward phase of ``test_length`` ms, averaged from ``settle`` ms to the end. ``X``: pixels
    / 255 (N, 784). The draws of image i come from ``seed`` after those of images 0..i-1,
    whichever the engine."""
    rng = np.random.default_rng(seed)
    T = net.config.test_length
    out = np.empty((len(X), net.n_out), net.dtype)
    if (engine or net.config.engine) == "step":
        for i, x in enumerate(X):
            cols = np.flatnonzero(x)
            st = SpikingState.zeros(net)
            draws = Draws.draw(net, rng, T, len(cols))
            out[i] = simulate_phase(net, st, x, cols, T, None, draws, test=True).V_out
        return out
    for i0 in range(0, len(X), TEST_BATCH):
        images = [(x, np.flatnonzero(x)) for x in X[i0 : i0 + TEST_BATCH]]
        draws = [Draws.draw(net, rng, T, len(cols)) for _, cols in images]  # in image order
        b = fast.BatchState.zeros(net, len(images))
        out[i0 : i0 + len(images)] = fast.run(
            net, b, images, [(T, None)], draws, learn=False, test=True
        )
    return out
