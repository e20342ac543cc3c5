"""The fast engine of the spiking model: stretches of time as matrix products, images in batches.

It computes what the step engine (:func:`segdend_lite.model.step.simulate_phase`) computes,
from the same random draws, reorganised:

- Input spikes do not depend on the network, so a whole stretch of input drive is one matrix
  product over the image's non-zero pixels (about 150 of 784).
- The PSP filter and the Euler soma are linear recursions, written as (T, T) matrices
  (:func:`psp_ops`, :func:`soma_ops`).
- With ``g_A = 0`` no soma depends on feedback, and the weights only change after the target
  phase, so a hidden layer's somatic voltages over both phases of a training image follow from
  the spikes below in one product: ``V = g_B M (K S + C X) W^T + g_B M 1 b + p V_{-1}``, with
  ``G = g_B M K`` applied to the (few) input columns before ``W^T``.
- Spikes come from the drawn candidates (thinning): sigma(V) is needed only where a candidate
  falls, gathered from the block of voltages.
- Test images are independent (the state is reset), so they run as a batch: everything but the
  input products is computed for the whole batch at once.
- Weights are used transposed, ``WT = W.T`` (n_pre, n_post), a C-contiguous view of the
  network's Fortran-ordered ``W``: rows of lit input pixels are contiguous.

Long stretches (test phases, long training phases) run in chunks of at most ``CHUNK`` steps
with the state carried over, so the cost grows linearly with the length.

With ``g_A > 0`` (and a hidden layer) the somata feel the feedback:
:func:`segdend_lite.model.coupled.run` steps through time instead, with the input drive computed
here (:func:`input_drive`); :func:`segdend_lite.model.spiking.fast_engine` picks the one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from segdend_lite.model import neuron
from segdend_lite.model.draws import thinned_counts
from segdend_lite.model.neuron import psp_taps, rate, sigma
from segdend_lite.model.spiking_state import (
    DT,
    PSP,
    PhaseResult,
    SpikingState,
    apical_source,
    plateau_means,
    window,
)


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


def kernel_key(cfg) -> tuple:
    """What fixes the PSP filter (the same for every population): ``(full, tau_s, tau_L,
    taps)``, the arguments of :func:`psp_ops` before ``T``."""
    return (cfg.kernel == "full", cfg.tau_s, cfg.tau_L, cfg.kernel_taps)


def psp_rows(psp: PSP) -> np.ndarray:
    """The state of a :class:`PSP` as the rows ``X`` (m, n) of :class:`PSPOps`: the traces
    ``a_L``, ``a_s`` (full kernel) or the last spikes, most recent first (truncated)."""
    return np.stack([psp.a_L, psp.a_s]) if psp.full else psp.hist


def set_psp_rows(psp: PSP, X: np.ndarray) -> None:
    """Put the rows ``X`` (m, n) back into a :class:`PSP` (the inverse of :func:`psp_rows`)."""
    if psp.full:
        psp.a_L, psp.a_s = X[0].copy(), X[1].copy()
    else:
        psp.hist = X.copy()


def psp_block(psp: PSP, S: np.ndarray, key: tuple) -> np.ndarray:
    """All ``s(t)`` (T, n) of a stretch with spikes ``S`` (T, n); advances ``psp``'s state.
    ``key``: :func:`kernel_key`."""
    o, X = psp_ops(*key, len(S), psp.dtype.str), psp_rows(psp)
    s = o.K @ S + o.C @ X
    set_psp_rows(psp, o.A @ S + o.B @ X)
    psp.s = s[-1].copy()
    return s


def output_recursion(net, label) -> tuple[float, np.ndarray | None]:
    """The output soma with the teaching current as ``V_t = a V_{t-1} + g_D V^b_t + c``:
    ``I = g_E (E_E - V) + g_I (E_I - V)`` (:func:`~segdend_lite.model.neuron.teaching_current`)
    gives ``a = 1 - g_L - g_D - (g_E + g_I)`` and ``c = g_E E_E + g_I E_I`` (n_out,); the
    forward phase has no teaching (``c`` None)."""
    cfg = net.config
    if label is None:
        return 1.0 - cfg.g_L - cfg.g_D, None
    g_E, g_I = neuron.teaching_conductances(label, net.n_out, net.dtype)
    total = g_E + g_I
    if np.ptp(total) != 0:
        raise ValueError("the fast engine needs the same total teaching conductance per unit")
    return 1.0 - cfg.g_L - cfg.g_D - float(total[0]), g_E * cfg.E_E + g_I * cfg.E_I


#: Longest stretch computed with one set of (T, T) matrices.
CHUNK = 128


@lru_cache(maxsize=64)
def hidden_ops(psp_key: tuple, a: float, g_B: float, T: int, dtype: str):
    """``G = g_B M K`` (T, T), ``H = g_B M C`` (T, m), ``q = g_B M 1`` (T,), ``p`` (T,): the
    hidden soma over ``T`` steps from the spikes ``S`` and state rows ``X`` of the layer below:
    ``V = G S W^T + H X W^T + q b + p V_{-1}``."""
    o = psp_ops(*psp_key, T, dtype)
    M, p = soma_ops(a, T, dtype)
    return g_B * (M @ o.K), g_B * (M @ o.C), g_B * M.sum(axis=1), p


def chunks(T: int) -> list[slice]:
    """Equal chunks of at most ``CHUNK`` steps covering ``0..T-1``."""
    n = -(-T // CHUNK)
    edges = np.linspace(0, T, n + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


class BatchState:
    """The state of ``B`` networks that share weights: per population PSP rows ``X`` (B, m, n)
    and last value ``s`` (B, n); per layer somatic voltages ``V`` (B, n_l)."""

    def __init__(self, X: list, s: list, V: list):
        self.X, self.s, self.V = X, s, V

    @classmethod
    def of(cls, st: SpikingState) -> BatchState:
        return cls(
            [psp_rows(p)[None].copy() for p in st.psp],
            [p.s[None].copy() for p in st.psp],
            [v[None].copy() for v in st.V],
        )

    @classmethod
    def zeros(cls, net, B: int) -> BatchState:
        st = SpikingState.zeros(net)
        return cls(
            [np.repeat(psp_rows(p)[None], B, 0) for p in st.psp],
            [np.repeat(p.s[None], B, 0) for p in st.psp],
            [np.repeat(v[None], B, 0) for v in st.V],
        )

    def store(self, st: SpikingState) -> None:
        """Write image 0's state back into ``st``."""
        for p, X, s in zip(st.psp, self.X, self.s):
            set_psp_rows(p, X[0])
            p.s = s[0].copy()
        st.V = [v[0].copy() for v in self.V]


def _input_part(net, b: BatchState, i: int, S, cols, WTc, sl, o, F, omega, learn):
    """Image ``i``'s first-layer term over one chunk: ``F[0] S W^T + F[1] X W^T`` (Tc, n_0) for
    input spikes ``S`` (Tc, len(cols)) and state rows ``X``; also (if ``learn``) the window means
    of the input PSPs per phase (P, 784). ``o``: the input's :class:`PSPOps` for the chunk.
    Advances the input state of image ``i``."""
    WT0 = net.W[0].T
    X = b.X[0][i]
    out = (F[0] @ S) @ WTc
    live = np.flatnonzero(np.any(X != 0, axis=0))
    if len(live):
        inside = len(live) <= len(cols) and np.isin(live, cols, assume_unique=True).all()
        XW = X[:, cols] @ WTc if inside else X @ WT0
        out += F[1] @ XW
    means = None
    if learn:
        w = omega[:, sl]
        means = (w @ o.C) @ X
        means[:, cols] += (w @ o.K) @ S
    b.s[0][i] = o.C[-1] @ X
    b.s[0][i, cols] += o.K[-1] @ S
    X = o.B @ X
    X[:, cols] += o.A @ S
    b.X[0][i] = X
    return out, means


def windows(net, phases, test: bool = False):
    """The averaging windows of consecutive ``phases`` (list of (T_p, label_p)) as weights
    ``omega`` (P, T_all): ``omega @ X`` is each phase's window mean of the rows of ``X``
    (T_all, ...); also the phases' edges (P + 1,) and window starts (within each phase)."""
    lengths = [T for T, _ in phases]
    edges = np.cumsum([0] + lengths)
    omega = np.zeros((len(phases), int(edges[-1])), net.dtype)
    starts = []
    for p, T in enumerate(lengths):
        start, _ = window(net.config, T, test=test)
        starts.append(start)
        omega[p, edges[p] + start : edges[p + 1]] = 1.0 / (T - start)
    return omega, edges, starts


def run(net, b: BatchState, images, phases, draws, learn: bool = True, test: bool = False):
    """Simulate ``B`` images (``images``: list of (x, cols)) through consecutive ``phases``
    (list of (T_p, label_p); label None = forward phase; the same for every image) with
    ``draws[i]`` (:class:`~segdend_lite.model.draws.Draws` of all the phases), from
    state ``b`` (advanced in place).

    ``learn=True`` (``B = 1``): returns one :class:`PhaseResult` per phase (what the learning
    rule needs). ``learn=False``: returns the window-mean output somatic voltage (B, n_out) of
    the last phase; only what this read-out needs is computed. ``test``: the windows of a test
    phase (from ``settle`` to the end).
    """
    cfg, dtype, L = net.config, net.dtype, net.n_hidden
    if cfg.g_A != 0.0 and L:
        raise ValueError("with g_A > 0 the somata feel the feedback: use coupled.run")
    B, P = len(images), len(phases)
    omega, edges, starts = windows(net, phases, test)
    T_all = int(edges[-1])
    phi = cfg.phi_max
    p_in = [x[cols].astype(dtype) for x, cols in images]  # input rate / maximum rate
    ev = join_events(draws)
    WT = [w.T for w in net.W]  # (n_pre, n_post), C-contiguous views
    WTc = [WT[0][cols] for _, cols in images]
    # accumulators (B, ...) per phase
    V_h = [np.zeros((B, P, n), dtype) for n in net.layer_sizes[:-1]]
    s_pre = [np.zeros((B, P, n), dtype) for n in (net.n_input,) + net.layer_sizes[:-1]]
    V_out = np.zeros((B, P, net.n_out), dtype)
    r_out = np.zeros((B, P, net.n_out), dtype)
    spikes = np.zeros((P, L + 1))
    keep_rows = learn and draws[0].delta is not None
    ap = _Apical(net, P, B, keep_rows)
    rate_feedback = not cfg.spiking_feedback
    a_h = 1.0 - cfg.g_L - cfg.g_B
    key = kernel_key(cfg)
    for sl in chunks(T_all):
        Tc = sl.stop - sl.start
        w = omega[:, sl]
        V_start = [v.copy() for v in b.V] if rate_feedback else None
        # the same PSP kernel for every population: one set of hidden-soma operators
        G, H, q, p_h = hidden_ops(key, a_h, cfg.g_B, Tc, dtype.str)
        # ---- first hidden layer (or the output's dendrite) from the input spikes
        o_in = psp_ops(*key, Tc, dtype.str)
        F = (G, H) if L else (o_in.K, o_in.C)
        drive = np.empty((B, Tc, net.layer_sizes[0]), dtype)
        for i, (x, cols) in enumerate(images):
            S = input_spikes(ev[0][i], p_in[i], sl, dtype)
            drive[i], means = _input_part(net, b, i, S, cols, WTc[i], sl, o_in, F, omega, learn)
            if learn:
                s_pre[0][i] += means
        if not L:
            drive += net.b[0]  # the output dendrite's bias
        for l in range(L + 1):
            if l < L:  # hidden layer l: voltages from the drive
                V = drive
                V += np.multiply.outer(q, net.b[l])
                V += p_h[:, None] * b.V[l][:, None]
                b.V[l] = V[:, -1].copy()
                if rate_feedback and l + 1 in ap.pops:
                    ap.add(l + 1, rate(V_start[l], phi), rate(V, phi), w)
                S = _neuron_spikes(ev[l + 1], V, sl)
                if learn:
                    V_h[l] += w @ V
                    spikes[:, l] += _phase_counts(S, edges, sl)
                # PSPs of layer l feed the layer above
                o = psp_ops(*key, Tc, dtype.str)
                X = b.X[l + 1]
                D = S @ WT[l + 1]
                XW = X @ WT[l + 1]
                if l + 1 < L:
                    drive = G @ D + H @ XW
                else:
                    drive = o.K @ D + o.C @ XW + net.b[L]  # output dendrite V^b
                if learn:
                    s_pre[l + 1] += (w @ o.K) @ S + (w @ o.C) @ X
                _advance(b, l + 1, o, S, None if rate_feedback else ap, w)
            else:  # output soma, phase by phase (teaching conductances in the target phase)
                V = np.empty_like(drive)
                for p, (T, label) in enumerate(phases):
                    lo, hi = max(sl.start, edges[p]), min(sl.stop, edges[p + 1])
                    if lo >= hi:
                        continue
                    a, c = output_recursion(net, label)
                    M, p_ = soma_ops(a, hi - lo, dtype.str)
                    u = cfg.g_D * drive[:, lo - sl.start : hi - sl.start]
                    if c is not None:
                        u = u + c
                    Vp = M @ u + p_[:, None] * b.V[L][:, None]
                    V[:, lo - sl.start : hi - sl.start] = Vp
                    b.V[L] = Vp[:, -1].copy()
                V_out += w @ V
                if not learn:
                    continue
                R = rate(V, phi)
                r_out += w @ R
                if rate_feedback and L + 1 in ap.pops:
                    ap.add(L + 1, rate(V_start[L], phi), R, w)
                S = _neuron_spikes(ev[L + 1], V, sl)
                spikes[:, L] += _phase_counts(S, edges, sl)
                o = psp_ops(*key, Tc, dtype.str)
                _advance(b, L + 1, o, S, None if rate_feedback else ap, w)
    if not learn:
        return V_out[:, -1]
    out = []
    for p in range(P):
        V_a = []
        for h in range(L):
            k = 1 + apical_source(net, h)
            if keep_rows:
                rows = np.concatenate(ap.rows[k])[edges[p] : edges[p + 1]] @ net.Y[h].T
                V_a.append(plateau_means(rows, starts[p], draws[0].delta[p][h]))
            else:
                V_a.append(net.Y[h] @ ap.mean[k][0, p])
        out.append(
            PhaseResult(
                V_h=[v[0, p] for v in V_h],
                V_a=V_a,
                s_pre=[s[0, p] for s in s_pre],
                V_out=V_out[0, p],
                r_out=r_out[0, p],
                spikes=list(spikes[p]),
            )
        )
    return out


def join_events(draws) -> list:
    """The candidate spikes of ``draws[i]`` (image i): for the input a list over images of
    (step, unit, u); for each layer one tuple (image, step, unit, u) over all images, in
    (image, step) order."""
    out = [[(d.events[0].step, d.events[0].unit, d.events[0].u) for d in draws]]
    for k in range(1, len(draws[0].events)):
        evs = [d.events[k] for d in draws]
        img = np.repeat(np.arange(len(evs)), [len(e.step) for e in evs])
        if len(evs) == 1:
            out.append((img, evs[0].step, evs[0].unit, evs[0].u))
        else:
            out.append(
                (img,)
                + tuple(np.concatenate(a) for a in zip(*((e.step, e.unit, e.u) for e in evs)))
            )
    return out


def input_spikes(ev, p, sl, dtype) -> np.ndarray:
    """Input spike counts (Tc, n_cols) of one image over the chunk ``sl``; ``p`` (n_cols,)
    pixel intensities = rate / maximum rate."""
    step, unit, u = ev
    k0, k1 = np.searchsorted(step, [sl.start, sl.stop])
    unit = unit[k0:k1]
    n, Tc = len(p), sl.stop - sl.start
    cells = (step[k0:k1] - sl.start) * n + unit
    return thinned_counts(p[unit], u[k0:k1], cells, Tc * n).reshape(Tc, n).astype(dtype)


def _neuron_spikes(ev, V, sl) -> np.ndarray:
    """Spike counts (B, Tc, n) of a layer over the chunk ``sl`` with somatic voltages ``V``
    (B, Tc, n): candidates kept with probability ``sigma(V)`` (rate / ``phi_max``), which is
    needed only where a candidate falls."""
    img, step, unit, u = ev
    B, Tc, n = V.shape
    if len(step) and (step.min() < sl.start or step.max() >= sl.stop):
        sel = (step >= sl.start) & (step < sl.stop)
        img, step, unit, u = img[sel], step[sel], unit[sel], u[sel]
    cells = (img.astype(np.int64) * Tc + (step - sl.start)) * n + unit
    p = sigma(V.reshape(-1)[cells])
    return thinned_counts(p, u, cells, V.size).reshape(V.shape).astype(V.dtype)


def _phase_counts(S, edges, sl) -> np.ndarray:
    """Spikes of image 0 in each phase (P,) within the chunk ``sl``; ``S`` (B, Tc, n)."""
    rows = S[0]
    return np.array(
        [
            rows[max(lo - sl.start, 0) : max(hi - sl.start, 0)].sum()
            for lo, hi in zip(edges[:-1], edges[1:])
        ]
    )


class _Apical:
    """What the plateau potentials need from the populations that feed apical dendrites (the
    output, or the layer above): the window means, per phase, of their signal one step earlier
    (filtered spikes ``s(t-1)``, or rates ``phi_max sigma(V(t-1))`` with rate feedback), and,
    for random plateau times, the rows themselves."""

    def __init__(self, net, P: int, B: int, keep_rows: bool):
        self.pops = {1 + apical_source(net, h) for h in range(net.n_hidden)}
        self.mean = {k: np.zeros((B, P, net.layer_sizes[k - 1]), net.dtype) for k in self.pops}
        self.rows = {k: [] for k in self.pops}
        self.keep_rows = keep_rows

    def add(self, k: int, before: np.ndarray, rows: np.ndarray, w: np.ndarray) -> None:
        """Population ``k``'s signal over a chunk (B, Tc, n), and its value just before (B, n)."""
        prev = np.concatenate([before[:, None], rows[:, :-1]], axis=1)  # the signal at t-1
        self.mean[k] += w @ prev
        if self.keep_rows:
            self.rows[k].append(prev[0])


def _advance(b, k, o, S, ap, w):
    """Advance population ``k``'s PSP state over a chunk with spikes ``S`` (B, Tc, n); if it
    feeds apical dendrites (and ``ap`` is given: spiking feedback), pass its filtered spikes."""
    X = b.X[k]
    if ap is not None and k in ap.pops:
        s = o.K @ S + o.C @ X  # (B, Tc, n)
        ap.add(k, b.s[k], s, w)
        b.s[k] = s[:, -1].copy()
    else:
        b.s[k] = o.K[-1] @ S + o.C[-1] @ X
    b.X[k] = o.A @ S + o.B @ X


def input_drive(net, b: BatchState, images, draws, omega, learn: bool):
    """The first layer's basal input without its bias, ``W^0 s^in(t)``, for every step of the
    images' phases (T_all, B, n_0), in one product per chunk; and, if ``learn``, image 0's
    window means of the input PSPs per phase (P, 784). Advances the input's PSP state."""
    dtype, T_all = net.dtype, omega.shape[1]
    key = kernel_key(net.config)
    ev = [(d.events[0].step, d.events[0].unit, d.events[0].u) for d in draws]
    out = np.empty((T_all, len(images), net.layer_sizes[0]), dtype)
    means = 0.0
    for i, (x, cols) in enumerate(images):
        p_in, WTc = x[cols].astype(dtype), net.W[0].T[cols]
        for sl in chunks(T_all):
            o = psp_ops(*key, sl.stop - sl.start, dtype.str)
            S = input_spikes(ev[i], p_in, sl, dtype)
            d, m = _input_part(net, b, i, S, cols, WTc, sl, o, (o.K, o.C), omega, learn)
            out[sl, i] = d
            if learn and i == 0:
                means = means + m
    return out, means


def advance_psp(net, b: BatchState, k: int, S: np.ndarray, key, omega=None):
    """Advance population ``k``'s PSP state in ``b`` over the spikes ``S`` (T_all, B, n) of a
    run; with ``omega`` (P, T_all), return image 0's window means of its PSPs per phase (P, n).
    """
    means = 0.0
    for sl in chunks(len(S)):
        o = psp_ops(*key, sl.stop - sl.start, net.dtype.str)
        Sc = S[sl].transpose(1, 0, 2)  # (B, Tc, n)
        X = b.X[k]
        if omega is not None:
            w = omega[:, sl]
            means = means + (w @ o.K) @ Sc[0] + (w @ o.C) @ X[0]
        b.s[k] = o.K[-1] @ Sc + o.C[-1] @ X
        b.X[k] = o.A @ Sc + o.B @ X
    return means if omega is not None else None
