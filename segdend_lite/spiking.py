"""The paper's spiking model: Poisson spikes in 1-ms steps, PSP kernel, Euler somata, two phases.

Two engines compute the same thing from the same random draws:

- ``step``: a loop over time steps, one line per equation (the paper's "Simulation details":
  layers bottom to top; in each layer dendrites, then soma, then spikes). It can record traces.
- ``fast``: the same computation reorganised. Input spikes do not depend on the network, so a
  phase's input drive is a few matrix products over the image's non-zero pixels; the PSP filter
  and the Euler soma are linear recursions, written as (T, T) lower-triangular matrices; and with
  ``g_A = 0`` no soma depends on feedback, so every layer's whole phase is computed at once.

Random draws: at the start of each phase the uniforms for every spike of the phase are drawn in
one fixed order (input pixels, hidden layers, output) and spikes come from
:func:`~segdend_lite.neuron.poisson_spikes`; both engines consume them identically.

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

from segdend_lite.neuron import euler_soma_step, poisson_spikes, psp_taps, sigma, sigma_prime

DT = 1.0  # ms, the time step


# ------------------------------------------------------------------------------ linear filters


@lru_cache(maxsize=64)
def _powers(a: float, T: int) -> np.ndarray:
    """``a^0 .. a^T`` (float64)."""
    return a ** np.arange(T + 1, dtype=np.float64)


@lru_cache(maxsize=64)
def _recursion_matrix(a: float, T: int) -> np.ndarray:
    """(T, T) lower-triangular ``M[t, j] = a^(t-j)``: ``y = M u`` solves ``y_t = a y_{t-1} + u_t``
    from ``y_{-1} = 0``."""
    p = _powers(a, T)
    lag = np.subtract.outer(np.arange(T), np.arange(T))
    return np.where(lag >= 0, p[np.clip(lag, 0, T)], 0.0)


@lru_cache(maxsize=64)
def _kernel_matrix(taps: tuple, T: int) -> np.ndarray:
    """(T, T) ``K[t, j] = kappa(t - j + 1)`` for the first ``len(taps)`` lags, else 0."""
    lag = np.subtract.outer(np.arange(T), np.arange(T))
    k = np.asarray(taps)
    return np.where((lag >= 0) & (lag < len(k)), k[np.clip(lag, 0, len(k) - 1)], 0.0)


def soma_block(u: np.ndarray, V0: np.ndarray, a: float) -> np.ndarray:
    """All steps of ``V_t = a V_{t-1} + u_t`` at once: ``u`` (T, n), ``V0`` = V_{-1} (n,)."""
    T = len(u)
    M = _recursion_matrix(a, T).astype(u.dtype)
    return M @ u + np.outer(_powers(a, T)[1:].astype(u.dtype), V0)


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
        self.tau_s, self.tau_L = tau_s, tau_L
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

    # ---- a whole phase (fast engine)
    def _K(self, T: int) -> np.ndarray:
        if self.full:
            p_L, p_s = _powers(self.d_L, T), _powers(self.d_s, T)
            taps = tuple(self.c * (p_L[1:] - p_s[1:]))
        else:
            taps = tuple(self.taps)
        return _kernel_matrix(taps, T).astype(self.dtype)

    def _carry_weights(self, T: int) -> np.ndarray:
        """(T, m): the weight of each state row in ``s(t)``, t = 0..T-1, when no new spikes come."""
        if self.full:
            p_L, p_s = _powers(self.d_L, T), _powers(self.d_s, T)
            return np.stack([self.c * p_L[1:], -self.c * p_s[1:]], axis=1).astype(self.dtype)
        K = len(self.taps)
        idx = np.add.outer(np.arange(T), np.arange(K - 1)) + 1  # lag of state row m at step t
        return np.where(idx < K, self.taps[np.clip(idx, 0, K - 1)], 0.0).astype(self.dtype)

    def _state_rows(self) -> np.ndarray:
        return np.stack([self.a_L, self.a_s]) if self.full else self.hist

    def _advance(self, S: np.ndarray, cols=None) -> None:
        """Move the state to the end of a phase with spikes ``S`` (T, len(cols) or n)."""
        T = len(S)
        if self.full:
            for name, d in (("a_L", self.d_L), ("a_s", self.d_s)):
                p = _powers(d, T)
                new = getattr(self, name) * self.dtype.type(p[T])
                add = p[T:0:-1].astype(self.dtype) @ S  # d^(T-j) for j = 0..T-1
                if cols is None:
                    new += add
                else:
                    new[cols] += add
                setattr(self, name, new)
        else:
            m = len(self.taps) - 1
            last = np.zeros((min(T, m), self.n), self.dtype)
            if cols is None:
                last[:] = S[::-1][: len(last)]
            else:
                last[:, cols] = S[::-1][: len(last)]
            self.hist = np.concatenate([last, self.hist])[:m]

    def block(self, S: np.ndarray) -> np.ndarray:
        """All ``s(t)`` (T, n) of a phase with spikes ``S`` (T, n); advances the state."""
        s = self._K(len(S)) @ S + self._carry_weights(len(S)) @ self._state_rows()
        self._advance(S)
        self.s = s[-1].copy()
        return s

    def drive_block(self, S: np.ndarray, cols: np.ndarray, WT: np.ndarray, omega: np.ndarray):
        """``s(t) @ WT`` for all t (T, n_post) and the window mean ``omega @ s`` (n,) (or (k, n)
        for k windows ``omega`` (k, T)), when new spikes ``S`` (T, len(cols)) come only from the
        units ``cols``. Advances the state.

        Linearity: ``s = K S + C x`` so ``s WT = (K S) WT[cols] + C (x WT)``, never forming
        ``s`` for all n units over T steps.
        """
        T = len(S)
        K, C, X = self._K(T), self._carry_weights(T), self._state_rows()
        live = np.flatnonzero(np.any(X != 0, axis=0))
        carried = X[:, live] @ WT[live] if 4 * len(live) < self.n else X @ WT
        KS = K @ S
        drive = KS @ WT[cols] + C @ carried  # (K S) first: S has fewer columns than WT
        mean = (omega @ C) @ X  # omega (T,) or several windows (k, T)
        mean[..., cols] += omega @ KS
        self._advance(S, cols)
        return drive, mean


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
class Draws:
    """The random numbers of one phase: uniforms for every spike, plateau offsets."""

    U: list[np.ndarray]  # input (T, n_cols), each hidden layer (T, n_h), output (T, n_out)
    delta: list[np.ndarray] | None = None  # per hidden neuron, steps before the phase end

    @classmethod
    def draw(cls, net, rng: np.random.Generator, T: int, n_cols: int) -> Draws:
        """Draw, in this order: plateau offsets (if random plateau times), then uniforms for
        the input pixels ``n_cols``, each hidden layer and the output, for ``T`` steps."""
        cfg = net.config
        delta = None
        if cfg.random_plateau_times and net.n_hidden:
            delta = [
                np.minimum(np.abs(rng.normal(0.0, cfg.plateau_sd, n)).astype(int), 5)
                for n in net.layer_sizes[:-1]
            ]
        sizes = (n_cols,) + net.layer_sizes
        return cls([rng.random((T, n), dtype=net.dtype) for n in sizes], delta)


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
    lam_in = (phi * DT * x[cols]).astype(net.dtype)
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
            S_in[cols] = poisson_spikes(lam_in, draws.U[0][t])  # input spikes
            s_below = st.psp[0].step(S_in)  # filtered input
            keep_s[0][t] = s_below
        for l in range(L + 1):
            if l == 0 and input_drive is not None:
                V_b = input_drive[0][t] + b[0]
            else:
                V_b = s_below @ WT[l] + b[l]  # basal (or output dendrite) potential
            if l < L:  # hidden soma: basal, apical, leak
                V_a = Y[l] @ st.psp[1 + _apical_source(net, l)].s  # feedback from step t-1
                st.V[l] = euler_soma_step(st.V[l], V_b, V_a, cfg.g_L, cfg.g_B, cfg.g_A, DT)
                keep_Va[l][t] = V_a
            else:  # output soma: dendrite, leak, teaching current
                V_a = None
                I = 0.0 if label is None else c_out - st.V[l]  # g_E(E_E - V) + g_I(E_I - V)
                st.V[l] = st.V[l] + DT * (-cfg.g_L * st.V[l] + cfg.g_D * (V_b - st.V[l]) + I)
                keep_r[t] = phi * sigma(st.V[l])
            S = poisson_spikes(phi * DT * sigma(st.V[l]), draws.U[l + 1][t])  # spikes
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
            _plateau_means(keep_Va[h], start, None if draws.delta is None else draws.delta[h])
            for h in range(L)
        ],
        s_pre=[input_drive[1] if input_drive is not None else keep_s[0][start:].mean(axis=0)]
        + [s[start:].mean(axis=0) for s in keep_s[1:]],
        V_out=V_mean[offsets[L] :],
        r_out=keep_r[start:].mean(axis=0),
        spikes=spikes,
        trace={k: {n: np.array(v) for n, v in d.items()} for k, d in trace.items()} or None,
    )


# ------------------------------------------------------------------------------ the fast engine


#: Longest stretch of steps computed with one set of (T, T) matrices; longer phases (tests) run
#: in chunks with the state carried over, so the cost grows linearly with the phase length.
CHUNK = 64


def phase_fast(
    net,
    st: SpikingState,
    x: np.ndarray,
    cols: np.ndarray,
    T: int,
    label,
    draws: Draws,
    test: bool = False,
    input_drive: tuple[np.ndarray, np.ndarray] | None = None,
) -> PhaseResult:
    """Simulate one phase with whole-phase matrix operations (see the module docstring).

    ``input_drive``: the first layer's input drive (T, n_0) and the window mean of the input
    PSPs (784,), if already computed (:func:`train_image` does both phases at once)."""
    cfg = net.config
    phi, L, dtype = cfg.phi_max, net.n_hidden, net.dtype
    WT, b, Y = net._WT, net.b, net.Y
    start, _ = window(cfg, T, test)
    omega = _window_weights(T, start, dtype)
    lam_in = (phi * DT * x[cols]).astype(dtype)
    chunks = [slice(t0, min(T, t0 + CHUNK)) for t0 in range(0, T, CHUNK)]

    def chunk_input(sl):
        if input_drive is not None:
            return input_drive[0][sl], (input_drive[1] if sl.start == 0 else 0.0)
        S_in = poisson_spikes(
            np.broadcast_to(lam_in, (sl.stop - sl.start, len(cols))), draws.U[0][sl]
        )
        return st.psp[0].drive_block(S_in, cols, WT[0], omega[sl])

    if cfg.g_A != 0.0:
        parts = [chunk_input(sl) for sl in chunks]
        drive0 = np.concatenate([d for d, _ in parts])
        mean0 = sum(m for _, m in parts)  # somata feel feedback: step through time
        return phase_step(net, st, x, cols, T, label, draws, test, input_drive=(drive0, mean0))
    a_out, c_out = _teaching(net, label)
    s_pre = [0.0] * (L + 1)
    V_h = [0.0] * L
    V_out = r_out = 0.0
    spikes = [0.0] * (L + 1)
    src_mean = [0.0] * L  # window mean of each apical source (synchronous plateaus)
    V_a_rows = [[] for _ in range(L)]  # apical voltages (random plateau times)
    for sl in chunks:
        w = omega[sl]
        prev_s = [p.s.copy() for p in st.psp]  # s(t-1) at the chunk start, for apical inputs
        drive0, mean0 = chunk_input(sl)
        s_pre[0] = s_pre[0] + mean0
        sources = {}
        drive = drive0 + b[0]
        S = None  # spikes of the layer below, set by the previous pass of the loop
        for l in range(L + 1):
            if l:
                s = st.psp[l].block(S)  # PSPs of the layer below, all steps of the chunk
                sources[l] = s
                s_pre[l] = s_pre[l] + w @ s
                drive = s @ WT[l] + b[l]
            if l < L:
                V = soma_block(cfg.g_B * drive, st.V[l], 1.0 - cfg.g_L - cfg.g_B)
                V_h[l] = V_h[l] + w @ V
            else:
                u = cfg.g_D * drive if c_out is None else cfg.g_D * drive + c_out
                V = soma_block(u, st.V[l], a_out)
            st.V[l] = V[-1].copy()
            S = poisson_spikes(phi * DT * sigma(V), draws.U[l + 1][sl])
            spikes[l] += float(S.sum())
        sources[L + 1] = st.psp[L + 1].block(S)
        V_out = V_out + w @ V
        r_out = r_out + w @ (phi * sigma(V))
        for h in range(L):
            src = 1 + _apical_source(net, h)
            s_prev = np.concatenate([prev_s[src][None], sources[src][:-1]])  # s(t-1)
            if draws.delta is None:
                src_mean[h] = src_mean[h] + w @ s_prev
            else:
                V_a_rows[h].append(s_prev @ Y[h].T)
    if draws.delta is None:
        V_a = [Y[h] @ src_mean[h] for h in range(L)]
    else:
        V_a = [_plateau_means(np.concatenate(V_a_rows[h]), start, draws.delta[h]) for h in range(L)]
    return PhaseResult(V_h, V_a, s_pre, V_out, r_out, spikes)


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
    engine = engine or net.config.engine
    if engine == "step":
        return phase_step(net, net.spiking, x, cols, T, label, draws, test, record)
    return phase_fast(net, net.spiking, x, cols, T, label, draws, test)


def _image_input_drive(net, x, cols, draws_f: Draws, draws_t: Draws):
    """The input drive of both phases of a training image at once: input spikes do not depend
    on the network, and the weights only change after the target phase."""
    cfg, dtype = net.config, net.dtype
    T_f, T_t = len(draws_f.U[0]), len(draws_t.U[0])
    lam = (cfg.phi_max * DT * x[cols]).astype(dtype)
    U = np.concatenate([draws_f.U[0], draws_t.U[0]])
    S = poisson_spikes(np.broadcast_to(lam, U.shape), U)
    omega = np.zeros((2, T_f + T_t), dtype)
    omega[0, :T_f] = _window_weights(T_f, window(cfg, T_f)[0], dtype)
    omega[1, T_f:] = _window_weights(T_t, window(cfg, T_t)[0], dtype)
    drive, means = net.spiking.psp[0].drive_block(S, cols, net._WT[0], omega)
    return (drive[:T_f], means[0]), (drive[T_f:], means[1])


def train_image(net, x: np.ndarray, label: int, engine: str | None = None) -> tuple[float, int]:
    """Forward phase, target phase and one weight update for one image ``x`` (784,), pixels/255.

    Returns the output loss and whether the forward phase misclassified (as in rate mode)."""
    cfg = net.config
    phi = cfg.phi_max
    cols = np.flatnonzero(x)
    T_f, T_t = phase_lengths(net)
    draws_f = Draws.draw(net, net.rng, T_f, len(cols))
    draws_t = Draws.draw(net, net.rng, T_t, len(cols))
    if (engine or cfg.engine) == "fast" and T_f + T_t <= 2 * CHUNK:
        drive_f, drive_t = _image_input_drive(net, x, cols, draws_f, draws_t)
        f = phase_fast(net, net.spiking, x, cols, T_f, None, draws_f, input_drive=drive_f)
        t = phase_fast(net, net.spiking, x, cols, T_t, label, draws_t, input_drive=drive_t)
    else:
        f = run_phase(net, x, cols, T_f, None, draws_f, engine=engine)
        t = run_phase(net, x, cols, T_t, label, draws_t, engine=engine)
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


def test_voltages(net, X: np.ndarray, seed: int, engine: str | None = None) -> np.ndarray:
    """Mean output somatic voltage of each test image (N, n_out): state reset to zero, one
    forward phase of ``test_length`` ms, averaged from ``settle`` ms to the end."""
    from segdend_lite.network import _as_pixels

    rng = np.random.default_rng(seed)
    saved = net.spiking
    out = np.empty((len(X), net.n_out), net.dtype)
    try:
        for i in range(len(X)):
            x = _as_pixels(X[i], net.dtype)
            cols = np.flatnonzero(x)
            net.spiking = SpikingState.zeros(net)
            T = net.config.test_length
            r = run_phase(
                net, x, cols, T, None, Draws.draw(net, rng, T, len(cols)), test=True, engine=engine
            )
            out[i] = r.V_out
    finally:
        net.spiking = saved
    return out
