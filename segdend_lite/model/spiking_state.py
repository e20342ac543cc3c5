"""What both spiking engines share: the state carried from step to step, the averaging windows
and what a phase returns.

- :class:`PSP`: the PSP-filtered spike trains of one population (paper "Neuronal dynamics",
  kernel ``kappa``), advanced one 1-ms step at a time.
- :class:`SpikingState`: somatic voltages and PSP states of a network; they carry over from
  phase to phase and from image to image (training), and are reset for each test image.
- :class:`PhaseResult`: the window averages of one phase, what the learning rule uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from segdend_lite.model.neuron import psp_taps

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


def plateau_offsets(net, rng: np.random.Generator) -> list[np.ndarray] | None:
    """Random plateau times (paper Fig. 6-S1): per hidden layer, how many steps before the end
    of the phase each neuron's plateau falls, ``min(|int(N(0, plateau_sd))|, 5)`` (n_h,) ints;
    None if plateau times are not random."""
    cfg = net.config
    if not (cfg.random_plateau_times and net.n_hidden):
        return None
    return [
        np.minimum(np.abs(rng.normal(0.0, cfg.plateau_sd, n)).astype(int), 5)
        for n in net.layer_sizes[:-1]
    ]
