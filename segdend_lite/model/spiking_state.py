"""What both spiking engines share: the state carried from step to step, the random draws, the
averaging windows and what a phase returns.

- :class:`PSP`: the PSP-filtered spike trains of one population (paper "Neuronal dynamics",
  kernel ``kappa``), advanced one 1-ms step at a time.
- :class:`SpikingState`: somatic voltages and PSP states of a network; they carry over from
  phase to phase and from image to image (training), and are reset for each test image.
- :class:`Draws`: the random numbers of an image's phases, drawn before the phases run.
- :class:`PhaseResult`: the window averages of one phase, what the learning rule uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from segdend_lite.model.neuron import candidate_events, psp_taps, thinned_counts

DT = 1.0  # ms, the time step


class PSP:
    """Filtered spike trains ``s_j(t) = sum_k kappa(k) S_j(t - k + 1)`` of one population (n,).

    ``kernel="full"``: every lag, computed with two exponential traces
    ``a_X(t) = d_X (S(t) + a_X(t-1))``, ``d_X = exp(-1 ms/tau_X)``,
    ``s = (a_L - a_s)/(tau_L - tau_s)``.
    ``kernel="truncated"``: the first ``taps`` lags only (the authors' code: 10, summing to 0.51).
    The state (traces or the last spikes) carries over from phase to phase.
    """

    def __init__(self, n: int, tau_s: float, tau_L: float, kernel: str, taps: int, dtype):
        self.n, self.dtype, self.full = n, np.dtype(dtype), kernel == "full"
        #: What fixes the filter (the fast engine builds its operators from it).
        self.kernel_key = (self.full, tau_s, tau_L, taps)
        self.d_L, self.d_s = np.exp(-DT / tau_L), np.exp(-DT / tau_s)
        self.c = 1.0 / (tau_L - tau_s)
        self.taps = psp_taps(taps, tau_s, tau_L)
        self.reset()

    def reset(self) -> None:
        z = np.zeros(self.n, self.dtype)
        self.s = z.copy()  # the most recent value s(t-1)
        if self.full:
            self.a_L, self.a_s = z.copy(), z.copy()
        else:
            self.hist = np.zeros((len(self.taps) - 1, self.n), self.dtype)  # S(t-1), S(t-2), ...

    def state(self) -> dict[str, np.ndarray]:
        return {
            "s": self.s,
            **({"a_L": self.a_L, "a_s": self.a_s} if self.full else {"hist": self.hist}),
        }

    def step(self, S: np.ndarray) -> np.ndarray:
        """Add this step's spikes ``S`` (n,) and return ``s(t)`` (n,)."""
        if self.full:
            self.a_L = self.d_L * (S + self.a_L)
            self.a_s = self.d_s * (S + self.a_s)
            self.s = self.c * (self.a_L - self.a_s)
        else:
            self.s = self.taps[0] * S + self.taps[1:] @ self.hist
            self.hist = np.concatenate([S[None], self.hist[:-1]])
        return self.s

    @property
    def rows(self) -> np.ndarray:
        """The state as rows (m, n): the traces ``a_L``, ``a_s``, or the last spikes."""
        return np.stack([self.a_L, self.a_s]) if self.full else self.hist

    @rows.setter
    def rows(self, X: np.ndarray) -> None:
        if self.full:
            self.a_L, self.a_s = X[0].copy(), X[1].copy()
        else:
            self.hist = X.copy()


@dataclass
class SpikingState:
    """What carries over from step to step: somatic voltages and PSP states per population."""

    V: list[np.ndarray]  # hidden layers then output, (n_l,)
    psp: list[PSP]  # input, hidden layers, output

    @classmethod
    def zeros(cls, net) -> SpikingState:
        cfg, dt = net.config, net.dtype
        sizes = (net.n_input,) + net.layer_sizes
        psp = [PSP(n, cfg.tau_s, cfg.tau_L, cfg.kernel, cfg.kernel_taps, dt) for n in sizes]
        return cls([np.zeros(n, dt) for n in net.layer_sizes], psp)

    def arrays(self) -> dict[str, np.ndarray]:
        """The state as named arrays (checkpoints): ``V{l}``, ``psp{k}_{s,a_L,a_s,hist}``."""
        out = {f"V{i}": v for i, v in enumerate(self.V)}
        for i, p in enumerate(self.psp):
            out.update({f"psp{i}_{k}": v for k, v in p.state().items()})
        return out

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        for i in range(len(self.V)):
            self.V[i] = arrays[f"V{i}"].copy()
        for i, p in enumerate(self.psp):
            for k in p.state():
                setattr(p, k, arrays[f"psp{i}_{k}"].copy())


@dataclass
class Events:
    """Candidate spikes of one population over ``T`` steps (see
    :func:`~segdend_lite.model.neuron.candidate_events`): ``step``, ``unit``, ``u`` (K,) in
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

        Why drawn ahead instead of step by step: the step engine and the fast engine must
        consume exactly the same random numbers, so that the tests can require them to give
        the same spikes, voltages and weights; the fast engine needs all of a stretch's draws
        at once. So spikes are thinned candidates: candidates at the maximum rate ``phi_max``
        are drawn for every step, each kept with probability rate / ``phi_max``
        (:func:`~segdend_lite.model.neuron.thinned_counts`), which gives exact Poisson counts
        per 1-ms step whichever way the rates are computed.

        Drawn in this order: plateau offsets for each phase (if random plateau times), then
        candidates for the ``n_cols`` lit input pixels, each hidden layer and the output, over
        all ``sum(lengths)`` steps. ``lengths``: the phase lengths, or one number for one phase.
        """
        cfg = net.config
        lengths = (int(lengths),) if np.ndim(lengths) == 0 else tuple(int(T) for T in lengths)
        delta = None
        if cfg.random_plateau_times and net.n_hidden:
            delta = [
                [
                    np.minimum(np.abs(rng.normal(0.0, cfg.plateau_sd, n)).astype(int), 5)
                    for n in net.layer_sizes[:-1]
                ]
                for _ in lengths
            ]
        T = sum(lengths)
        events = [
            Events(*candidate_events(rng, cfg.phi_max * DT, T, n, net.dtype), T, n)
            for n in (n_cols,) + net.layer_sizes
        ]
        return cls(events, lengths, delta)

    def spikes(self, k: int, t: int, p: np.ndarray) -> np.ndarray:
        """Spike counts of population ``k`` (input 0, hidden layers, output) at step ``t``,
        with ``p`` = rate / ``phi_max`` per unit (see :meth:`Events.spikes`)."""
        return self.events[k].spikes(t, p)

    def phase(self, p: int) -> Draws:
        """The draws of phase ``p`` alone, its steps counted from its start."""
        start, T = sum(self.lengths[:p]), self.lengths[p]
        return Draws(
            [e.part(start, T) for e in self.events],
            (T,),
            None if self.delta is None else [self.delta[p]],
        )


@dataclass
class PhaseResult:
    """Window averages of one phase (the quantities the learning rule uses), and spike counts."""

    V_h: list[np.ndarray]  # mean somatic voltage per hidden layer (n_h,)
    V_a: list[np.ndarray]  # mean apical voltage per hidden layer (n_h,) (plateau windows)
    s_pre: list[np.ndarray]  # mean PSP of the input and of each hidden layer
    V_out: np.ndarray  # mean output somatic voltage (n_out,)
    r_out: np.ndarray  # mean output rate phi_max sigma(V(t)) (n_out,)
    spikes: list[float] = field(default_factory=list)  # spike counts per layer (hidden, output)
    trace: dict | None = None  # recorded traces (step engine, if asked)


def window(cfg, T: int, test: bool = False) -> tuple[int, int]:
    """First step and length of the averaging window of a phase of ``T`` steps.

    ``"paper"``: from ``settle`` ms after the phase starts to its end; ``"code"``: the last 20
    steps. At test time both average from ``settle`` to the end (the code: the last 220 of 250).
    """
    if test or cfg.window == "paper":
        start = min(cfg.settle, T - 1)
    else:
        start = max(T - cfg.code_window, 0)
    return start, T - start


def plateau_means(V_a: np.ndarray, start: int, delta: np.ndarray | None) -> np.ndarray:
    """Mean apical voltage per neuron over the window from ``start``, shifted ``delta`` steps
    earlier per neuron if plateau times are random. ``V_a`` (T, n); returns (n,)."""
    if delta is None:
        return V_a[start:].mean(axis=0)
    T, n = V_a.shape
    c = np.concatenate([np.zeros((1, n), V_a.dtype), np.cumsum(V_a, axis=0)])
    lo = np.clip(start - delta, 0, T)
    hi = T - delta
    cols = np.arange(n)
    return (c[hi, cols] - c[lo, cols]) / np.maximum(hi - lo, 1)


def apical_source(net, h: int) -> int:
    """The layer (output = ``n_hidden``) whose activity reaches hidden layer h's apical
    dendrites; its population index in the state (input = 0) is one more."""
    return net.n_hidden if net.config.feedback == "broadcast" else h + 1


def phase_lengths(net) -> tuple[int, int]:
    """Forward and target phase lengths (ms): ``phase_length`` plus ``int(Wald(2, 1))`` each
    if random phase lengths are on (the paper), else ``phase_length``."""
    cfg = net.config
    if not cfg.random_phase_lengths:
        return cfg.phase_length, cfg.phase_length
    extra = net.rng.wald(2.0, 1.0, size=2).astype(int)
    return cfg.phase_length + int(extra[0]), cfg.phase_length + int(extra[1])
