"""The paper's spiking model: Poisson spikes in 1-ms steps, PSP kernel, Euler somata, two phases.

Two engines compute the same thing from the same random draws:

- ``step``: a loop over time steps, one line per equation (the paper's "Simulation details":
  layers bottom to top; in each layer dendrites, then soma, then spikes). It can record traces.
- ``fast`` (:mod:`segdend_lite.model.spiking_fast`): the same computation reorganised as matrix
  products over whole stretches of time (the PSP filter and the Euler soma are linear
  recursions), with test images in batches.

Random draws (:class:`Draws`): before an image's phases run, candidate spikes at the maximum
rate ``phi_max`` are drawn for all their steps in one fixed order (input pixels, hidden layers,
output); a candidate is kept with probability rate / ``phi_max`` (thinning,
:func:`~segdend_lite.model.neuron.thinned_counts`), which gives exact Poisson counts per 1-ms step.
Both engines consume the same draws.

Per image (training): a forward phase (no teaching), a target phase (teaching conductances
``g_E = t``, ``g_I = 1 - t`` on the output), each ``phase_length`` ms plus a random Wald extra;
then one update from window averages (model_spec 7.1-7.2):
``e^L = -k_D phi_max (rbar^{L,t} - phi_max sigma(Vbar^{L,f})) sigma'(Vbar^{L,f})``,
``e^h = -(alpha^{h,t} - alpha^{h,f}) k_B phi_max sigma'(Vbar^{h,f})`` with
``alpha = sigma(mean apical voltage)``, and ``W^l -= eta^l P^l e^l (sbar^{l-1,f})^T``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from segdend_lite.model.neuron import (
    candidate_events,
    euler_soma_step,
    psp_taps,
    rate,
    sigma,
    sigma_prime,
    thinned_counts,
)

DT = 1.0  # ms, the time step


# ------------------------------------------------------------------------------ linear filters


@lru_cache(maxsize=64)
def _powers(a: float, T: int) -> np.ndarray:
    """``a^0 .. a^T`` (float64)."""
    return a ** np.arange(T + 1, dtype=np.float64)


@lru_cache(maxsize=64)
def soma_ops(a: float, T: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """The Euler soma over ``T`` steps as matrices: ``V_t = a V_{t-1} + u_t`` for t = 0..T-1 is
    ``V = M u + p V_{-1}`` with ``M[t, j] = a^(t-j)`` (j <= t, else 0), shape (T, T), and
    ``p[t] = a^(t+1)``, shape (T,)."""
    pw = _powers(a, T)
    lag = np.subtract.outer(np.arange(T), np.arange(T))
    M = np.where(lag >= 0, pw[np.clip(lag, 0, T)], 0.0)
    return M.astype(dtype), pw[1:].astype(dtype)


def soma_block(u: np.ndarray, V0: np.ndarray, a: float) -> np.ndarray:
    """All steps of ``V_t = a V_{t-1} + u_t`` at once: ``u`` (T, n), ``V0`` = V_{-1} (n,)."""
    M, p = soma_ops(a, len(u), u.dtype.str)
    return M @ u + np.outer(p, V0)


@dataclass(frozen=True)
class PSPOps:
    """The PSP filter over ``T`` steps as a linear state-space system.

    The state is ``m`` rows ``X`` (m, n): the two exponential traces ``a_L``, ``a_s`` (full
    kernel) or the last ``taps - 1`` spike vectors, most recent first (truncated kernel). For
    spikes ``S`` (T, n) of the stretch: ``s = K S + C X`` (T, n) and the state afterwards is
    ``X' = A S + B X``. Shapes: K (T, T), C (T, m), A (m, T), B (m, m).
    """

    K: np.ndarray
    C: np.ndarray
    A: np.ndarray
    B: np.ndarray


@lru_cache(maxsize=64)
def psp_ops(full: bool, tau_s: float, tau_L: float, taps: int, T: int, dtype: str) -> PSPOps:
    """:class:`PSPOps` for ``T`` steps (see :class:`PSP` for the two kernels)."""
    lag = np.subtract.outer(np.arange(T), np.arange(T))  # t - j
    if full:
        d = np.exp(-DT / np.array([tau_L, tau_s]))
        c = np.array([1.0, -1.0]) / (tau_L - tau_s)
        pw = d[:, None] ** np.arange(T + 1)  # (2, T+1)
        k = c @ pw[:, 1:]  # kappa(lag + 1), lag = 0..T-1
        C = (c[:, None] * pw[:, 1:]).T
        A = pw[:, T:0:-1]  # d^(T-j)
        B = np.diag(pw[:, T])
    else:
        k = np.zeros(T)
        kt = psp_taps(taps, tau_s, tau_L)
        k[: min(T, taps)] = kt[:T]
        m = taps - 1
        idx = np.add.outer(np.arange(T), np.arange(m)) + 1  # lag of state row r at step t
        C = np.where(idx < taps, kt[np.clip(idx, 0, taps - 1)], 0.0)
        A = np.zeros((m, T))
        r = np.arange(min(m, T))
        A[r, T - 1 - r] = 1.0  # row r = the spikes of step T-1-r
        B = np.zeros((m, m))
        r = np.arange(T, m)
        B[r, r - T] = 1.0  # older rows shift down by T
    K = np.where(lag >= 0, k[np.clip(lag, 0, T - 1)], 0.0)
    return PSPOps(*(np.ascontiguousarray(a, dtype=dtype) for a in (K, C, A, B)))


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
        self.tau_s, self.tau_L, self.n_taps = tau_s, tau_L, taps
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

    # ---- one step (step engine)
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

    # ---- a stretch of steps (fast engine)
    def ops(self, T: int) -> PSPOps:
        return psp_ops(self.full, self.tau_s, self.tau_L, self.n_taps, T, self.dtype.str)

    @property
    def rows(self) -> np.ndarray:
        """The state as rows ``X`` (m, n) (see :class:`PSPOps`)."""
        return np.stack([self.a_L, self.a_s]) if self.full else self.hist

    @rows.setter
    def rows(self, X: np.ndarray) -> None:
        if self.full:
            self.a_L, self.a_s = X[0].copy(), X[1].copy()
        else:
            self.hist = X.copy()

    def block(self, S: np.ndarray) -> np.ndarray:
        """All ``s(t)`` (T, n) of a stretch with spikes ``S`` (T, n); advances the state."""
        o, X = self.ops(len(S)), self.rows
        s = o.K @ S + o.C @ X
        self.rows = o.A @ S + o.B @ X
        self.s = s[-1].copy()
        return s


# ------------------------------------------------------------------------------ network state


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
        """Draw, in this order: plateau offsets for each phase (if random plateau times), then
        candidate spikes at the maximum rate ``phi_max`` for the ``n_cols`` input pixels, each
        hidden layer and the output, over all ``sum(lengths)`` steps. ``lengths``: the phase
        lengths, or one number for a single phase."""
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


def _window_weights(T: int, start: int, dtype) -> np.ndarray:
    w = np.zeros(T, dtype)
    w[start:] = 1.0 / (T - start)
    return w


def _plateau_means(V_a: np.ndarray, start: int, delta: np.ndarray | None) -> np.ndarray:
    """Mean apical voltage per neuron over the window, shifted ``delta`` steps earlier per
    neuron if plateau times are random. ``V_a`` (T, n)."""
    if delta is None:
        return V_a[start:].mean(axis=0)
    T, n = V_a.shape
    c = np.concatenate([np.zeros((1, n), V_a.dtype), np.cumsum(V_a, axis=0)])
    lo = np.clip(start - delta, 0, T)
    hi = T - delta
    cols = np.arange(n)
    return (c[hi, cols] - c[lo, cols]) / np.maximum(hi - lo, 1)


def _apical_source(net, h: int) -> int:
    """The layer (output = ``n_hidden``) whose spikes reach hidden layer h's apical dendrites;
    its population index in the state (input = 0) is one more."""
    return net.n_hidden if net.config.feedback == "broadcast" else h + 1


def _teaching(net, label):
    """Per output unit: the soma's Euler factor ``a`` and constant drive ``c``: with ``g_E = t``
    and ``g_I = 1 - t`` (target phase), ``V <- a V + g_D V^b + c`` with
    ``a = 1 - g_L - g_D - g_E - g_I`` and ``c = g_E E_E + g_I E_I``; forward phase: no teaching."""
    cfg = net.config
    if label is None:
        return 1.0 - cfg.g_L - cfg.g_D, None
    c = np.full(net.n_out, cfg.E_I, dtype=net.dtype)
    c[label] = cfg.E_E
    return 1.0 - cfg.g_L - cfg.g_D - 1.0, c


# ------------------------------------------------------------------------------ the step engine


def phase_step(
    net,
    st: SpikingState,
    x: np.ndarray,
    cols: np.ndarray,
    T: int,
    label,
    draws: Draws,
    test: bool = False,
    record: dict | None = None,
    input_drive: tuple[np.ndarray, np.ndarray] | None = None,
) -> PhaseResult:
    """Simulate one phase step by step. ``x`` (784,) pixels / 255; ``label`` None in the forward
    phase, the digit in the target phase. ``record``: {layer index: neuron indices} to trace.

    ``input_drive``: the first layer's input drive ``W^0 s^in(t)`` (T, n_0) and the window mean
    of the input PSPs, if already computed (the fast engine does, when ``g_A > 0``)."""
    cfg = net.config
    phi, L = cfg.phi_max, net.n_hidden
    WT, b, Y = net._WT, net.b, net.Y
    p_in = x[cols].astype(net.dtype)  # input rate / maximum rate
    _, c_out = _teaching(net, label)
    n_all = (net.n_input,) + net.layer_sizes
    # per-step records for the window averages
    keep_V = np.zeros((T, sum(net.layer_sizes)), net.dtype)
    keep_Va = [np.zeros((T, n), net.dtype) for n in net.layer_sizes[:-1]]
    keep_s = [np.zeros((T, n), net.dtype) for n in n_all[:-1]]
    keep_r = np.zeros((T, net.n_out), net.dtype)
    spikes = [0.0] * (L + 1)
    trace = {k: {"V_b": [], "V_a": [], "V": [], "S": []} for k in (record or {})}
    offsets = np.cumsum((0,) + net.layer_sizes)
    for t in range(T):
        if input_drive is None:
            S_in = np.zeros(net.n_input, net.dtype)
            S_in[cols] = draws.events[0].spikes(t, p_in)  # input spikes
            s_below = st.psp[0].step(S_in)  # filtered input
            keep_s[0][t] = s_below
        for l in range(L + 1):
            if l == 0 and input_drive is not None:
                V_b = input_drive[0][t] + b[0]
            else:
                V_b = s_below @ WT[l] + b[l]  # basal (or output dendrite) potential
            if l < L:  # hidden soma: basal, apical, leak
                src = _apical_source(net, l)  # feedback from step t-1: spikes or rates
                if cfg.spiking_feedback:
                    V_a = Y[l] @ st.psp[1 + src].s
                else:
                    V_a = Y[l] @ rate(st.V[src], phi)
                st.V[l] = euler_soma_step(st.V[l], V_b, V_a, cfg.g_L, cfg.g_B, cfg.g_A, DT)
                keep_Va[l][t] = V_a
            else:  # output soma: dendrite, leak, teaching current
                V_a = None
                I = 0.0 if label is None else c_out - st.V[l]  # g_E(E_E - V) + g_I(E_I - V)
                st.V[l] = st.V[l] + DT * (-cfg.g_L * st.V[l] + cfg.g_D * (V_b - st.V[l]) + I)
                keep_r[t] = rate(st.V[l], phi)
            S = draws.events[l + 1].spikes(t, sigma(st.V[l]))  # spikes at phi_max sigma(V)
            s_below = st.psp[l + 1].step(S)
            spikes[l] += float(S.sum())
            keep_V[t, offsets[l] : offsets[l + 1]] = st.V[l]
            if l < L:
                keep_s[l + 1][t] = s_below
            if l in trace:
                idx = record[l]
                trace[l]["V_b"].append(V_b[idx].copy())
                trace[l]["V"].append(st.V[l][idx].copy())
                trace[l]["S"].append(S[idx].copy())
                if V_a is not None:
                    trace[l]["V_a"].append(V_a[idx].copy())
    start, _ = window(cfg, T, test)
    V_mean = keep_V[start:].mean(axis=0)
    return PhaseResult(
        V_h=[V_mean[offsets[h] : offsets[h + 1]] for h in range(L)],
        V_a=[
            _plateau_means(keep_Va[h], start, None if draws.delta is None else draws.delta[0][h])
            for h in range(L)
        ],
        s_pre=[input_drive[1] if input_drive is not None else keep_s[0][start:].mean(axis=0)]
        + [s[start:].mean(axis=0) for s in keep_s[1:]],
        V_out=V_mean[offsets[L] :],
        r_out=keep_r[start:].mean(axis=0),
        spikes=spikes,
        trace={k: {n: np.array(v) for n, v in d.items()} for k, d in trace.items()} or None,
    )


# ------------------------------------------------------------------------------ images


def phase_lengths(net) -> tuple[int, int]:
    """Forward and target phase lengths (ms): ``phase_length`` plus ``int(Wald(2, 1))`` each
    if random phase lengths are on (the paper), else ``phase_length``."""
    cfg = net.config
    if not cfg.random_phase_lengths:
        return cfg.phase_length, cfg.phase_length
    extra = net.rng.wald(2.0, 1.0, size=2).astype(int)
    return cfg.phase_length + int(extra[0]), cfg.phase_length + int(extra[1])


def run_phase(net, x, cols, T, label, draws, test=False, engine=None, record=None) -> PhaseResult:
    """One phase of ``T`` steps for image ``x`` (pixels / 255) from the network's current state,
    with either engine (``record`` needs the step engine)."""
    engine = engine or net.config.engine
    if engine == "step" or record:
        return phase_step(net, net.spiking, x, cols, T, label, draws, test, record)
    from segdend_lite.model import spiking_fast

    b = spiking_fast.BatchState.of(net.spiking)
    (r,) = spiking_fast.run(net, b, [(x, cols)], [(T, label)], [draws], test=test)
    b.store(net.spiking)
    return r


def simulate_phase(net, x: np.ndarray, label: int | None = None, record=None) -> PhaseResult:
    """One phase of ``config.phase_length`` ms for image ``x`` (784,), pixels / 255 or uint8,
    from the network's current state (which it advances, as in training); no weight change.

    ``label=None``: a forward phase; a digit: a target phase (teaching conductances on the
    output). ``record``: ``{layer: neuron indices}`` (or ``"all"`` for every hidden neuron) to
    keep per-step traces in ``result.trace[layer]`` (``"V_b"``, ``"V_a"``, ``"V"``, ``"S"``, each
    (T, k)); recording uses the step engine. The window averages the learning rule uses are the
    fields of :class:`PhaseResult`; the window starts at ``window(net.config, T)[0]``.
    """
    from segdend_lite.model.network import _as_pixels

    if net.config.mode != "spiking":
        raise ValueError("simulate_phase runs the spiking model; this network is in rate mode")
    x = _as_pixels(x, net.dtype)
    if x.shape != (net.n_input,):
        raise ValueError(f"one image of shape ({net.n_input},) please; got {x.shape}")
    if record == "all":
        record = {h: list(range(n)) for h, n in enumerate(net.layer_sizes[:-1])}
    cols = np.flatnonzero(x)
    T = net.config.phase_length
    draws = Draws.draw(net, net.rng, T, len(cols))
    return run_phase(
        net, x, cols, T, label, draws, engine="step" if record else None, record=record
    )


def train_image(net, x: np.ndarray, label: int, engine: str | None = None) -> tuple[float, int]:
    """Forward phase, target phase and one weight update for one image ``x`` (784,), pixels/255.

    Returns the output loss and whether the forward phase misclassified (as in rate mode)."""
    cfg = net.config
    phi = cfg.phi_max
    cols = np.flatnonzero(x)
    T_f, T_t = phase_lengths(net)
    draws = Draws.draw(net, net.rng, (T_f, T_t), len(cols))
    if (engine or cfg.engine) == "fast":
        from segdend_lite.model import spiking_fast

        b = spiking_fast.BatchState.of(net.spiking)
        phases = [(T_f, None), (T_t, label)]
        f, t = spiking_fast.run(net, b, [(x, cols)], phases, [draws])
        b.store(net.spiking)
    else:
        f = phase_step(net, net.spiking, x, cols, T_f, None, draws.phase(0))
        t = phase_step(net, net.spiking, x, cols, T_t, label, draws.phase(1))
    s_f = sigma(f.V_out)
    e_L = -cfg.k_D * phi * (t.r_out - phi * s_f) * s_f * (1.0 - s_f)
    alpha_f = [sigma(v) for v in f.V_a]
    alpha_t = [sigma(v) for v in t.V_a]
    slopes = [cfg.k_B * phi * sigma_prime(v) for v in f.V_h]
    e = net._hidden_errors(e_L, slopes, alpha_f, alpha_t, f.s_pre)
    net._record_spiking_stats(f, t, T_f + T_t, e, slopes)
    net._update(f.s_pre, e)
    d = (t.r_out - phi * s_f) / phi
    return float(d @ d) / net.n_out, int(np.argmax(f.V_out) != label)


#: Test images simulated together by the fast engine (more makes arrays of several MB, which
#: cost page faults on every allocation and run slower on this machine's measurements).
TEST_BATCH = 4


def test_voltages(net, X: np.ndarray, seed: int, engine: str | None = None) -> np.ndarray:
    """Mean output somatic voltage of each test image (N, n_out): state reset to zero, one
    forward phase of ``test_length`` ms, averaged from ``settle`` ms to the end. The draws of
    image i come from ``seed`` after those of images 0..i-1, whichever the engine."""
    from segdend_lite.model.network import _as_pixels

    rng = np.random.default_rng(seed)
    T = net.config.test_length
    out = np.empty((len(X), net.n_out), net.dtype)
    if (engine or net.config.engine) == "step":
        saved = net.spiking
        try:
            for i in range(len(X)):
                x = _as_pixels(X[i], net.dtype)
                cols = np.flatnonzero(x)
                net.spiking = SpikingState.zeros(net)
                draws = Draws.draw(net, rng, T, len(cols))
                out[i] = phase_step(net, net.spiking, x, cols, T, None, draws, test=True).V_out
        finally:
            net.spiking = saved
        return out
    from segdend_lite.model import spiking_fast

    for i0 in range(0, len(X), TEST_BATCH):
        images = [(x, np.flatnonzero(x)) for x in _as_pixels(X[i0 : i0 + TEST_BATCH], net.dtype)]
        draws = [Draws.draw(net, rng, T, len(cols)) for _, cols in images]  # in image order
        b = spiking_fast.BatchState.zeros(net, len(images))
        out[i0 : i0 + len(images)] = spiking_fast.run(
            net, b, images, [(T, None)], draws, learn=False, test=True
        )
    return out
