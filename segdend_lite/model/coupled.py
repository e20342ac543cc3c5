"""The fast engine with apical coupling (``g_A > 0``): only what depends on the previous step is
stepped.

With ``g_A > 0`` a hidden soma feels its apical potential ``V^a(t) = Y s^src(t-1)``, which
depends on the spikes of the step before: the phase cannot be one matrix product as with
``g_A = 0`` (:mod:`segdend_lite.model.fast`). What does not depend on it is computed once, before
the steps:

- the first hidden layer's basal drive ``g_B V^b_0(t) = g_B (W^0 s^in(t) + b^0)`` for every step
  of the image's phases, as matrix products over the lit pixels (:func:`fast.input_drive`);
- the candidate spikes of every layer, sorted by step, and the logit of their uniform numbers:
  a candidate is kept if ``u < sigma(V)``, that is ``V > log(u / (1 - u))``
  (:func:`~segdend_lite.model.neuron.thinned_counts`), so a step only gathers the voltages where
  its candidates fall;
- the PSP filter of a layer's spikes, seen by the layer above through its weights: the filter is
  linear, so the layer above's basal input ``W s(t) = sum_k kappa(k) W S(t-k+1)`` is filtered
  from ``D(t) = W S(t)``, one small product per step.

Per 1-ms step, layer by layer from the bottom (the order of the step engine,
:func:`segdend_lite.model.step.simulate_phase`): the Euler step of each soma, eq. 1 for a hidden
layer, ``V <- (1 - g_L - g_B - g_A) V + g_B V^b + g_A V^a`` (:func:`neuron.euler_soma_step`
rearranged), eqs. 18-19 for the output (:func:`blocks.output_recursion`); its spikes; their PSPs.
After the steps: the window averages and the carried-over PSP state, from the stored spikes, with
the fast engine's PSP operators. Test images run as a batch (``B`` rows). Tested equal to the step
engine from the same draws (tests/test_spiking.py).
"""

from __future__ import annotations

import numpy as np

from segdend_lite.model import blocks, fast
from segdend_lite.model.neuron import psp_taps, rate
from segdend_lite.model.spiking_state import DT, PhaseResult, apical_source, plateau_means


class Filtered:
    """The PSPs of one population seen through weights ``WT`` (n, n') (or none), one step at a
    time: write ``D = S(t) WT`` (B, n') into :meth:`slot`, then :meth:`step` gives ``s(t) WT``.

    Truncated kernel: ``s(t) WT = sum_k kappa(k) D(t - k + 1)`` over the stored ``D`` rows (the
    state's last spikes, projected, come first). Full kernel: the two exponential traces of
    :class:`~segdend_lite.model.spiking_state.PSP`, projected."""

    def __init__(self, key, X: np.ndarray, s: np.ndarray, WT, T: int, dtype):
        full, tau_s, tau_L, taps = key
        proj = (lambda A: A) if WT is None else (lambda A: A @ WT)
        self.value = proj(s)  # s(t-1) WT, (B, n')
        self.shape, self.full = self.value.shape, full
        if full:
            self.d = np.exp(-DT / np.array([tau_L, tau_s]))[:, None, None].astype(dtype)
            self.c = (np.array([1.0, -1.0]) / (tau_L - tau_s)).astype(dtype)
            self.traces = proj(X).transpose(1, 0, 2).copy()  # (2, B, n')
            self.D = np.zeros(self.shape, dtype)
        else:
            self.m = taps - 1
            self.k = psp_taps(taps, tau_s, tau_L)[::-1].astype(dtype)  # kappa(taps), .., kappa(1)
            self.D = np.zeros((self.m + T, self.value.size), dtype)
            hist = proj(X)  # (B, taps - 1, n'): S(t-1), S(t-2), ... projected
            for r in range(self.m):
                self.D[self.m - 1 - r] = hist[:, r].reshape(-1)

    def slot(self, t: int) -> np.ndarray:
        """Where ``D(t)`` (B, n') goes."""
        return self.D if self.full else self.D[self.m + t].reshape(self.shape)

    def step(self, t: int) -> np.ndarray:
        """``s(t) WT`` (B, n'), once ``D(t)`` is in its slot."""
        if self.full:
            self.traces += self.D
            self.traces *= self.d
            self.value = (self.c @ self.traces.reshape(2, -1)).reshape(self.shape)
        else:
            self.value = (self.k @ self.D[t : t + self.m + 1]).reshape(self.shape)
        return self.value


class Candidates:
    """A layer's candidate spikes over the run, sorted by step: ``cells`` (image * n + unit)
    and ``logit(u)``; ``bounds[t]`` the first candidate of step ``t``."""

    def __init__(self, ev, n: int, T: int, dtype):
        img, step, unit, u = ev
        order = np.argsort(step, kind="stable")
        self.cells = (img.astype(np.int64) * n + unit)[order]
        u = u[order].astype(dtype)
        with np.errstate(divide="ignore"):
            self.logit = np.log(u) - np.log1p(-u)
        self.bounds = np.searchsorted(step[order], np.arange(T + 1)).tolist()

    def spikes(self, t: int, V: np.ndarray, size: int) -> np.ndarray:
        """Spike counts (size,) at step ``t`` for somatic voltages ``V`` (flat, size)."""
        k0, k1 = self.bounds[t], self.bounds[t + 1]
        cells = self.cells[k0:k1]
        return np.bincount(cells[V[cells] > self.logit[k0:k1]], minlength=size)


def run(net, b, images, phases, draws, learn: bool = True, test: bool = False):
    """:func:`segdend_lite.model.fast.run` for ``g_A > 0`` and at least one hidden layer (same
    arguments, same results)."""
    cfg, dtype, L = net.config, net.dtype, net.n_hidden
    B, P = len(images), len(phases)
    omega, edges, _ = fast.windows(net, phases, test)
    T_all = omega.shape[1]
    sizes = net.layer_sizes
    key = blocks.kernel_key(cfg)
    ev = fast.join_events(draws)
    cand = [Candidates(ev[l + 1], n, T_all, dtype) for l, n in enumerate(sizes)]
    # g_B V^b_0(t) for every step: the input's part, computed once (T_all, B, n_0)
    drive0, s_in_means = fast.input_drive(net, b, images, draws, omega, learn)
    drive0 += net.b[0]
    drive0 *= cfg.g_B
    WT = [w.T for w in net.W]
    gWT = [cfg.g_B * w for w in WT[1:L]] + [cfg.g_D * WT[L]]  # g_B W^T, and g_D W^T (output)
    # the layers above see each hidden layer's PSPs through their weights
    up = [Filtered(key, b.X[h + 1], b.s[h + 1], gWT[h], T_all, dtype) for h in range(L)]
    src = [apical_source(net, h) for h in range(L)]
    spiking_fb = cfg.spiking_feedback
    sources = sorted(set(src))
    own = {k: Filtered(key, b.X[k + 1], b.s[k + 1], None, T_all, dtype) for k in sources}
    if not spiking_fb:
        own = {}
    gAYT = [cfg.g_A * y.T for y in net.Y]  # g_A Y^T (n_src, n_h)
    a_h = blocks.hidden_recursion(cfg)  # eq. 1: V <- a_h V + g_B V^b + g_A V^a
    out = []  # per phase, the output soma (eqs. 18-19) as V <- a V + g_D W s + c
    for _, label in phases:
        a, c = blocks.output_recursion(net, label)
        out.append((a, cfg.g_D * net.b[L] + (0.0 if c is None else c)))
    phase_of = np.repeat(np.arange(P), np.diff(edges)).tolist()
    V_t = [np.empty((T_all + 1, B, n), dtype) for n in sizes]  # row 0: the state before
    for l in range(L + 1):
        V_t[l][0] = b.V[l]
    flat = [v.reshape(T_all + 1, -1) for v in V_t]
    S_t = [np.zeros((T_all, B, n), dtype) for n in sizes]
    fb_t = {k: np.empty((T_all, B, sizes[k]), dtype) for k in sources}  # apical signal (t-1)
    phi = cfg.phi_max
    gb = [cfg.g_B * b_l for b_l in net.b[1:L]]
    kept = [[] for _ in sizes]  # per layer and step, the cells that spiked (B == 1)
    for t in range(T_all):
        # what the apical dendrites receive now: their source's signal of step t-1
        for k in sources:
            fb_t[k][t] = own[k].value if spiking_fb else rate(V_t[k][t], phi)
        drive = drive0[t]  # g_B V^b of the first hidden layer
        for l in range(L + 1):
            V = V_t[l][t + 1]
            if l < L:  # hidden soma (eq. 1)
                np.multiply(V_t[l][t], a_h, out=V)
                V += drive
                V += fb_t[src[l]][t] @ gAYT[l]
            else:  # output soma (eqs. 18-19); drive = g_D W^L s(t)
                a, c = out[phase_of[t]]
                np.multiply(V_t[l][t], a, out=V)
                V += drive
                V += c
            C = cand[l]
            k0, k1 = C.bounds[t], C.bounds[t + 1]
            cells = C.cells[k0:k1]
            spiked = cells[flat[l][t + 1][cells] > C.logit[k0:k1]]  # thinning: u < sigma(V)
            if l < L:  # the layer above's drive: g_B V^b, or g_D W s for the output
                if B == 1:
                    kept[l].append(spiked)
                    np.add.reduce(gWT[l][spiked], axis=0, out=up[l].slot(t)[0])
                else:
                    S = S_t[l][t]
                    S.reshape(-1)[:] = np.bincount(spiked, minlength=S.size)
                    np.matmul(S, gWT[l], out=up[l].slot(t))
                drive = up[l].step(t)
                if l + 1 < L:
                    drive = drive + gb[l]
            else:
                S_t[l][t].reshape(-1)[:] = np.bincount(spiked, minlength=V.size)
            if l in own:
                if l < L and B == 1:
                    S_t[l][t, 0] = np.bincount(spiked, minlength=V.size)
                np.copyto(own[l].slot(t), S_t[l][t])
                own[l].step(t)
    if B == 1:
        for l in range(L):
            if l not in own:
                steps = np.repeat(np.arange(T_all), [len(k) for k in kept[l]])
                n = sizes[l]
                cells = steps * n + np.concatenate(kept[l]).astype(np.int64)
                S_t[l].reshape(-1)[:] = np.bincount(cells, minlength=S_t[l].size)
    V_t = [v[1:] for v in V_t]
    V = [v[-1] for v in V_t]
    return _results(net, b, V, V_t, S_t, fb_t, s_in_means, omega, edges, draws, learn)


def _results(net, b, V, V_t, S_t, fb_t, s_in_means, omega, edges, draws, learn):
    """The carried-over state and the window averages, from the stored steps."""
    cfg, L, P = net.config, net.n_hidden, omega.shape[0]
    key = blocks.kernel_key(cfg)
    b.V = [v.copy() for v in V]
    s_pre = [s_in_means]
    for l in range(L + 1):
        means = fast.advance_psp(net, b, l + 1, S_t[l], key, omega if learn else None)
        if l < L:
            s_pre.append(means)
    V_out = np.einsum("pt,tbn->bpn", omega, V_t[L])
    if not learn:
        return V_out[:, -1]
    V_h = [omega @ v[:, 0] for v in V_t[:L]]
    r_out = omega @ rate(V_t[L][:, 0], cfg.phi_max)
    results = []
    for p in range(P):
        lo, hi = edges[p], edges[p + 1]
        start = int(np.argmax(omega[p, lo:hi] > 0))
        V_a = []
        for h in range(L):
            rows = fb_t[apical_source(net, h)][lo:hi, 0] @ net.Y[h].T
            delta = None if draws[0].delta is None else draws[0].delta[p][h]
            V_a.append(plateau_means(rows, start, delta))
        results.append(
            PhaseResult(
                V_h=[v[p] for v in V_h],
                V_a=V_a,
                s_pre=[s[p] for s in s_pre],
                V_out=V_out[0, p],
                r_out=r_out[p],
                spikes=[float(S[lo:hi, 0].sum()) for S in S_t],
            )
        )
    return results
