"""The fast engine of the spiking model: stretches of time as matrix products, images in batches.

It computes what the step engine (:func:`segdend_lite.model.step.simulate_phase`) computes,
from the same random draws, reorganised:

- Input spikes do not depend on the network, so a whole stretch of input drive is one matrix
  product over the image's non-zero pixels (about 150 of 784).
- The PSP filter and the Euler soma are linear recursions, written as (T, T) matrices
  (:mod:`segdend_lite.model.blocks`).
- With ``g_A = 0`` no soma depends on feedback, and the weights only change after the target
  phase, so a hidden layer's somatic voltages over both phases of a training image follow from
  the spikes below in one product: ``V = g_B M (K S + C X) W^T + g_B M 1 b + p V_{-1}``, with
  ``G = g_B M K`` applied to the (few) input columns before ``W^T``.
- Spikes come from the drawn candidates (thinning, :mod:`segdend_lite.model.draws`): sigma(V)
  is needed only where a candidate falls, gathered from the block of voltages.
- Test images are independent (the state is reset), so they run as a batch: everything but the
  input products is computed for the whole batch at once.
- Weights are used transposed, ``WT = W.T`` (n_pre, n_post), a C-contiguous view of the
  network's Fortran-ordered ``W``: rows of lit input pixels are contiguous.

Long stretches (test phases, long training phases) run in chunks of at most ``blocks.CHUNK`` steps
with the state carried over, so the cost grows linearly with the length.

With ``g_A > 0`` (and a hidden layer) the somata feel the feedback:
:func:`segdend_lite.model.coupled.run` repeats such products until the feedback spikes they
assume are those they produce, with the input drive computed here (:func:`input_drive`);
:func:`segdend_lite.model.spiking.fast_engine` picks the one.
"""

from __future__ import annotations

import numpy as np

from segdend_lite.model.blocks import (
    BatchState,
    chunks,
    hidden_ops,
    hidden_recursion,
    kernel_key,
    output_recursion,
    psp_ops,
    soma_ops,
)
from segdend_lite.model.draws import thinned_counts
from segdend_lite.model.neuron import rate, sigma
from segdend_lite.model.spiking_state import PhaseResult, apical_source, plateau_means, window


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
    a_h = hidden_recursion(cfg)  # g_A = 0 here
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


def input_drive(net, b: BatchState, images, draws, omega, learn: bool, size: int | None = None):
    """What the input alone adds to the first hidden layer's somatic voltage (eq. 1 without
    bias, apical input or earlier voltage), ``G S W^T + H X W^T`` (:func:`hidden_ops`), over
    each chunk of ``chunks(T_all, size)`` from zero, for every step of the images' phases
    (B, T_all, n_0); and, if ``learn``, image 0's window means of the input PSPs per phase
    (P, 784). Advances the input's PSP state."""
    cfg, dtype, T_all = net.config, net.dtype, omega.shape[1]
    key = kernel_key(cfg)
    ev = [(d.events[0].step, d.events[0].unit, d.events[0].u) for d in draws]
    out = np.empty((len(images), T_all, net.layer_sizes[0]), dtype)
    means = 0.0
    for i, (x, cols) in enumerate(images):
        p_in, WTc = x[cols].astype(dtype), net.W[0].T[cols]
        for sl in chunks(T_all, size):
            Tc = sl.stop - sl.start
            o = psp_ops(*key, Tc, dtype.str)
            G, H, _, _ = hidden_ops(key, hidden_recursion(cfg), cfg.g_B, Tc, dtype.str)
            S = input_spikes(ev[i], p_in, sl, dtype)
            out[i, sl], m = _input_part(net, b, i, S, cols, WTc, sl, o, (G, H), omega, learn)
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
