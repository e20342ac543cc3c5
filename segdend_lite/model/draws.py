"""The fast engine's random numbers: every spike of an image's phases drawn before they run.

The fast engine computes a stretch of steps at once, so it cannot draw ``Poisson(rate dt)`` per
step as the step engine does (:func:`segdend_lite.model.step.poisson_spikes`). It draws
*candidate* spikes at the maximum rate ``phi_max`` for every step, before the phases run, and
keeps each with probability rate / ``phi_max`` once the rate is known (thinning, Lewis & Shedler
1979), which gives exact Poisson counts per 1-ms step. :meth:`Draws.spikes` hands the same
numbers to the step engine, so that the tests can require both engines to give the same
spikes, voltages and weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segdend_lite.model.spiking_state import DT, plateau_offsets


def candidate_events(
    rng: np.random.Generator, lam_max: float, T: int, n: int, dtype=np.float64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate spikes of ``n`` units over ``T`` steps: a Poisson process at the maximum rate
    ``lam_max`` (spikes per unit per step), for thinning (:func:`thinned_counts`).

    Per step, a Poisson(``n lam_max``) number of candidates, each at a unit drawn uniformly,
    with its own uniform number ``u`` in [0, 1). Drawn in this order: the T counts, the units,
    the ``u``. Returns ``step``, ``unit`` (int32) and ``u`` (``dtype``), each (K,), in step order.
    """
    counts = rng.poisson(lam_max * n, size=T)
    unit = rng.integers(0, n, size=int(counts.sum()), dtype=np.int32)
    u = rng.random(len(unit), dtype=dtype)
    return np.repeat(np.arange(T, dtype=np.int32), counts), unit, u


def thinned_counts(p: np.ndarray, u: np.ndarray, cells: np.ndarray, size: int) -> np.ndarray:
    """Spike counts (size,) from candidates at ``cells`` (K,), each kept if ``u < p`` (K,).

    Thinning (Lewis & Shedler 1979): keeping each candidate of a Poisson process of rate
    ``lam_max`` with probability ``p = lam / lam_max`` gives a Poisson process of rate ``lam``;
    with rates constant within a step, the count in each cell (step, unit) is exactly
    Poisson(``lam dt``), independent across cells.
    """
    return np.bincount(cells[u < p], minlength=size)


@dataclass
class Events:
    """Candidate spikes of one population over ``T`` steps (see
    :func:`candidate_events`): ``step``, ``unit``, ``u`` (K,) in
    step order, for ``n`` units."""

    step: np.ndarray
    unit: np.ndarray
    u: np.ndarray
    T: int
    n: int

    def spikes(self, t: int, p: np.ndarray) -> np.ndarray:
        """Spike counts (n,) at step ``t``: each candidate of the step is kept if ``u < p`` of its
        unit; ``p`` (n,) = rate / maximum rate (``x`` for input pixels, ``sigma(V)`` for
        neurons)."""
        k0, k1 = np.searchsorted(self.step, [t, t + 1])
        unit = self.unit[k0:k1]
        return thinned_counts(p[unit], self.u[k0:k1], unit, self.n).astype(p.dtype)

    def part(self, start: int, T: int) -> Events:
        """The candidates of steps ``start .. start + T - 1``, counted from ``start``."""
        k0, k1 = np.searchsorted(self.step, [start, start + T])
        return Events(self.step[k0:k1] - start, self.unit[k0:k1], self.u[k0:k1], T, self.n)


@dataclass
class Draws:
    """The random numbers of an image's phases, drawn before they run: candidate spikes per
    population over all their steps, and per phase the plateau offsets."""

    events: list[Events]  # input (units = the image's non-zero pixels), hidden layers, output
    lengths: tuple[int, ...]  # the phase lengths (steps)
    delta: list[list[np.ndarray]] | None = None  # per phase, per hidden layer: steps before end

    @classmethod
    def draw(cls, net, rng: np.random.Generator, lengths, n_cols: int) -> Draws:
        """All the random numbers of one image's phases, in one call, before they run.

        Drawn in this order: plateau offsets for each phase (if random plateau times), then
        candidates for the ``n_cols`` lit input pixels, each hidden layer and the output, over
        all ``sum(lengths)`` steps. ``lengths``: the phase lengths, or one number for one phase.
        """
        cfg = net.config
        lengths = (int(lengths),) if np.ndim(lengths) == 0 else tuple(int(T) for T in lengths)
        delta = None
        if cfg.random_plateau_times and net.n_hidden:
            delta = [plateau_offsets(net, rng) for _ in lengths]
        T = sum(lengths)
        events = [
            Events(*candidate_events(rng, cfg.phi_max * DT, T, n, net.dtype), T, n)
            for n in (n_cols,) + net.layer_sizes
        ]
        return cls(events, lengths, delta)

    def spikes(self, cols: np.ndarray, phi_max: float):
        """These draws as the step engine's spike source ``spikes(k, t, rate)``: counts of
        population ``k`` (input 0, hidden layers, output) at step ``t`` for its ``rate``
        (spikes/ms, per unit); the input's candidates fall on the lit pixels ``cols``."""

        def spikes(k: int, t: int, rate: np.ndarray) -> np.ndarray:
            if k:
                return self.events[k].spikes(t, rate / phi_max)
            S = np.zeros_like(rate)
            S[cols] = self.events[0].spikes(t, rate[cols] / phi_max)
            return S

        return spikes

    def phase(self, p: int) -> Draws:
        """The draws of phase ``p`` alone, its steps counted from its start."""
        start, T = sum(self.lengths[:p]), self.lengths[p]
        return Draws(
            [e.part(start, T) for e in self.events],
            (T,),
            None if self.delta is None else [self.delta[p]],
        )
