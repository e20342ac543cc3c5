"""Spiking mode of the network: Poisson spikes in 1-ms steps, PSP kernel, Euler somata, two phases.

Two engines:

- ``"step"`` (:mod:`segdend_lite.model.step`): a loop over 1-ms steps, one line per equation,
  as in the paper's Methods, drawing ``Poisson(rate dt)`` spikes at each step; it can record
  traces;
- ``"fast"`` (:mod:`segdend_lite.model.fast`): the same computation reorganised as matrix
  products over stretches of time, with test images in batches, from spikes drawn before the
  phases run (:class:`Draws`). Given the same draws (``same_draws=True``), the step engine
  gives the same spikes, voltages and weights.

Per training image (:func:`learn_one`): a forward phase (no teaching) and a target phase
(teaching conductances ``g_E = t``, ``g_I = 1 - t`` on the output), each ``phase_length`` ms
plus a random Wald extra; then one update from the phases' window averages, every equation
from :mod:`segdend_lite.model.learning` (docs/model.md, "Targets, losses and weight updates").
"""

from __future__ import annotations

import numpy as np

from segdend_lite.model import coupled, fast, learning
from segdend_lite.model.blocks import BatchState
from segdend_lite.model.draws import Draws
from segdend_lite.model.spiking_state import (
    PhaseResult,
    SpikingState,
    phase_lengths,
    plateau_offsets,
    window,
)
from segdend_lite.model.step import poisson_spikes, simulate_phase

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
#: cost page faults on every allocation and run slower on this machine's measurements; with
#: g_A > 0, 4 to 8 measured alike).
TEST_BATCH = 4


def fast_engine(net):
    """The fast engine's ``run`` for this network: :func:`segdend_lite.model.fast.run`, or with
    ``g_A > 0`` and a hidden layer, where the somata feel the feedback,
    :func:`segdend_lite.model.coupled.run` (same arguments, same results)."""
    return coupled.run if net.config.g_A != 0.0 and net.n_hidden else fast.run


def run_phase(
    net, x, cols, T, label, draws=None, test=False, engine=None, record=None
) -> PhaseResult:
    """One phase of ``T`` steps for image ``x`` (pixels / 255; ``cols`` its lit pixels) from
    the network's current state, with either engine (``record`` needs the step engine).
    ``label`` None: forward phase; a digit: target phase. ``draws``: the phase's
    :class:`Draws` (both engines use them), or None: the step engine draws Poisson spikes from
    ``net.rng`` as it goes, the fast engine draws its :class:`Draws` from ``net.rng`` first."""
    engine = "step" if record else (engine or net.config.engine)
    if engine == "step":
        if draws is None:
            spikes, delta = poisson_spikes(net.rng), plateau_offsets(net, net.rng)
        else:
            spikes = draws.spikes(cols, net.config.phi_max)
            delta = None if draws.delta is None else draws.delta[0]
        return simulate_phase(net, net.spiking, x, T, label, spikes, test, record, delta)
    if draws is None:
        draws = Draws.draw(net, net.rng, T, len(cols))
    b = BatchState.of(net.spiking)
    (r,) = fast_engine(net)(net, b, [(x, cols)], [(T, label)], [draws], test=test)
    b.store(net.spiking)
    return r


def one_phase(net, x: np.ndarray, label: int | None = None, record=None) -> PhaseResult:
    """One phase of ``config.phase_length`` ms for image ``x`` (784,), pixels / 255 or uint8,
    from the network's current state (which it advances, as in training); no weight change.

    ``label=None``: a forward phase; a digit: a target phase (teaching conductances on the
    output). ``record``: ``{layer: neuron indices}`` (or ``"all"`` for every hidden neuron) to
    keep per-step traces in ``result.trace[layer]`` (``"V_b"``, ``"V_a"``, ``"V"``, ``"S"``, each
    (T, k)); recording uses the step engine. The window averages the learning rule uses are the
    fields of :class:`PhaseResult`; the window starts at ``window(net.config, T)[0]``. Spikes
    are drawn from ``net.rng``.
    """
    if net.config.mode != "spiking":
        raise ValueError("one_phase runs the spiking model; this network is in rate mode")
    x = np.asarray(x)
    if x.shape != (net.n_input,):
        raise ValueError(f"one image of shape ({net.n_input},) please; got {x.shape}")
    x = net.check_images(x[None])[0]
    if record == "all":
        record = {h: list(range(n)) for h, n in enumerate(net.layer_sizes[:-1])}
    T = net.config.phase_length
    return run_phase(net, x, np.flatnonzero(x), T, label, record=record)


def learn_one(
    net, x: np.ndarray, label: int, engine: str | None = None, same_draws: bool = False
) -> tuple[float, int]:
    """Forward phase, target phase and one weight update for one image ``x`` (784,), pixels/255.

    ``same_draws``: the step engine takes the fast engine's pre-drawn spikes (:class:`Draws`)
    instead of drawing Poisson spikes step by step, so both engines give the same result.
    Returns the output loss (``learning.output_loss / (phi_max^2 n_out)``) and whether the
    forward phase misclassified (0 or 1), as in rate mode."""
    cfg = net.config
    phi = cfg.phi_max
    cols = np.flatnonzero(x)
    T_f, T_t = phase_lengths(net)
    engine = engine or cfg.engine
    if engine == "fast":
        draws = Draws.draw(net, net.rng, (T_f, T_t), len(cols))
        b = BatchState.of(net.spiking)
        f, t = fast_engine(net)(net, b, [(x, cols)], [(T_f, None), (T_t, label)], [draws])
        b.store(net.spiking)
    else:
        if same_draws:
            draws = Draws.draw(net, net.rng, (T_f, T_t), len(cols))
            phases = [draws.phase(p) for p in (0, 1)]
            spikes = [d.spikes(cols, phi) for d in phases]
            delta = [None if d.delta is None else d.delta[0] for d in phases]
        else:
            spikes = [poisson_spikes(net.rng)] * 2
            delta = [plateau_offsets(net, net.rng) for _ in (0, 1)]
        st = net.spiking
        f = simulate_phase(net, st, x, T_f, None, spikes[0], delta=delta[0])
        t = simulate_phase(net, st, x, T_t, label, spikes[1], delta=delta[1])
    e_L = learning.output_error(t.r_out, f.V_out, cfg.k_D, phi)
    alpha_f = [learning.plateau(v) for v in f.V_a]
    alpha_t = [learning.plateau(v) for v in t.V_a]
    e = net.layer_errors(e_L, f.V_h, alpha_f, alpha_t)
    net.record_spiking_stats(f.spikes, t.spikes, T_f + T_t, e, f.V_h)
    net.apply_update(e, f.s_pre)
    loss = float(learning.output_loss(t.r_out, f.V_out, phi)) / (phi * phi * net.n_out)
    return loss, int(np.argmax(f.V_out) != label)


def output_voltage(
    net, X: np.ndarray, seed: int, engine: str | None = None, same_draws: bool = False
) -> np.ndarray:
    """Mean output somatic voltage of each test image (N, n_out): state reset to zero, one
    forward phase of ``test_length`` ms, averaged from ``settle`` ms to the end. ``X``: pixels
    / 255 (N, 784). The draws of image i come from ``seed`` after those of images 0..i-1; the
    fast engine's draws (:class:`Draws`), also for the step engine if ``same_draws``."""
    rng = np.random.default_rng(seed)
    T = net.config.test_length
    out = np.empty((len(X), net.n_out), net.dtype)
    if (engine or net.config.engine) == "step":
        for i, x in enumerate(X):
            st = SpikingState.zeros(net)
            if same_draws:
                spikes = Draws.draw(net, rng, T, np.count_nonzero(x)).spikes(
                    np.flatnonzero(x), net.config.phi_max
                )
            else:
                spikes = poisson_spikes(rng)
            out[i] = simulate_phase(net, st, x, T, None, spikes, test=True).V_out
        return out
    for i0 in range(0, len(X), TEST_BATCH):
        images = [(x, np.flatnonzero(x)) for x in X[i0 : i0 + TEST_BATCH]]
        draws = [Draws.draw(net, rng, T, len(cols)) for _, cols in images]  # in image order
        b = BatchState.zeros(net, len(images))
        out[i0 : i0 + len(images)] = fast_engine(net)(
            net, b, images, [(T, None)], draws, learn=False, test=True
        )
    return out
