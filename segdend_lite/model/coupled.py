"""The fast engine with apical coupling (``g_A > 0``): whole stretches of steps as matrix
products, repeated until the feedback they assume is the feedback they produce.

With ``g_A > 0`` a hidden soma feels its apical potential ``V^a(t) = Y s^src(t-1)``, the PSPs
of its source layer's spikes one step earlier (eq. 1, :func:`neuron.euler_soma_step`), so a
phase cannot be computed as one product as with ``g_A = 0`` (:mod:`segdend_lite.model.fast`).
But eq. 1 is linear in its inputs: once the source's spikes are *assumed* for every step of a
stretch, every soma of the stretch follows from matrix products as in the uncoupled engine,
and every spike from its drawn candidate (thinning). This engine repeats that in rounds
(waveform relaxation):

1. assume the source's spikes over the stretch (at first: none);
2. compute the layers from the bottom over the steps not yet final: a hidden layer's voltages
   (eq. 1 as ``V = M (g_B V^b + g_A V^a) + p V(-1)``, :func:`blocks.hidden_ops`) from its
   input drive (the first, :func:`fast.input_drive`) or the spikes below, plus the apical part
   from the assumed spikes; the output's (eqs. 18-19, :func:`blocks.output_recursion`) phase by
   phase; spikes from the candidates;
3. compare the source's spikes with those assumed. Every step up to the first step ``t*`` where
   they differ only used assumed spikes of earlier steps, which were right: those steps are
   final (causality), and the next round starts at ``t* + 1``, assuming the spikes just
   computed. When nothing differs, the stretch is what stepping gives (the voltages up to float
   rounding, as in the uncoupled fast engine).

Each round makes at least one more step final. With the paper's feedback (the output's 10
units to every hidden layer) a stretch mostly takes two or three rounds: the first assumes no
feedback spikes, and after it only a few candidates change their verdict per round (measured
with 784-500-100-10: 3 per round in the first hidden layer with ``g_A = 0.05``, 22 with 0.6,
against about 3,000 kept in a stretch; rounds per stretch in benchmarks/bench_spiking.py
``coupled``). So a round recomputes the voltages from the first step not yet final, but the
spikes, and the next layer's basal input ``W S``, only where a verdict flipped.

With rate feedback (``spiking_feedback=False``) the source's signal is its rate
``phi_max sigma(V)``, and its voltages are compared instead of spikes.

Stretches are chunks of at most ``STRETCH`` steps (``blocks.chunks``); test images run as a
batch (``B`` rows), each with its own final steps (a round starts at the earliest). Tested
equal to the step engine (:func:`segdend_lite.model.step.simulate_phase`) from the same draws
(tests/test_spiking.py).
"""

from __future__ import annotations

import numpy as np

from segdend_lite.model import blocks, fast
from segdend_lite.model.neuron import rate
from segdend_lite.model.spiking_state import PhaseResult, apical_source, plateau_means

#: Longest stretch (steps) computed in rounds. Measured (784-500-100-10 training images of about
#: 104 steps, the engines alone, side by side): in two stretches of 64 steps at most, 1.3-1.6
#: times the uncoupled engine; in one of 128, 1.75-1.9 times (a round over a longer stretch
#: touches arrays that no longer fit the caches). At worst (one step per round) a stretch takes
#: as many rounds as it has steps: measured once, with a comparison that never settled, 4.5
#: times the uncoupled engine, about twice what stepping through time cost.
STRETCH = 64


def run(net, b, images, phases, draws, learn: bool = True, test: bool = False):
    """:func:`segdend_lite.model.fast.run` for ``g_A > 0`` and at least one hidden layer (same
    arguments, same results)."""
    cfg, dtype, L = net.config, net.dtype, net.n_hidden
    omega, edges, starts = fast.windows(net, phases, test)
    key = blocks.kernel_key(cfg)
    ev = fast.join_events(draws)
    logit = [_logit(e[3], dtype) for e in ev[1:]]
    drive0, s_in_means = fast.input_drive(net, b, images, draws, omega, learn, STRETCH)
    V_mean = [0.0] * (L + 1)  # window means per phase (B, P, n)
    s_pre = [s_in_means] + [0.0] * L
    r_out, counts = 0.0, np.zeros((L + 1, omega.shape[1]))  # image 0's spikes per step
    sig_rows = {k: [] for k in {apical_source(net, h) for h in range(L)}}  # image 0
    for sl in blocks.chunks(omega.shape[1], STRETCH):
        cand = [_chunk_candidates(e, u, sl, n) for e, u, n in zip(ev[1:], logit, net.layer_sizes)]
        pieces = [
            (max(lo, sl.start) - sl.start, min(hi, sl.stop) - sl.start, label)
            for (_, label), lo, hi in zip(phases, edges[:-1], edges[1:])
            if lo < sl.stop and hi > sl.start
        ]
        V, S, sig = _stretch(net, b, drive0[:, sl], cand, pieces)
        w = omega[:, sl]
        for l in range(L + 1) if learn else (L,):  # a test reads the output only
            V_mean[l] = V_mean[l] + w @ V[l]
        b.V = [v[:, -1].copy() for v in V]
        for k in range(1, L + 2):  # the PSP state of the hidden layers and the output
            means = w if learn and k <= L else None
            m = fast.advance_psp(net, b, k, S[k - 1].transpose(1, 0, 2), key, means)
            if means is not None:
                s_pre[k] = s_pre[k] + m
        if learn:
            counts[:, sl] = [s[0].sum(axis=1) for s in S]
            r_out = r_out + w @ rate(V[L][0], cfg.phi_max)
            for k, rows in sig.items():
                sig_rows[k].append(rows[0])
    if not learn:
        return V_mean[L][:, -1]
    spikes = np.add.reduceat(counts, edges[:-1], axis=1).T  # (P, L + 1)
    sig_all = {k: np.concatenate(rows) for k, rows in sig_rows.items()}  # (T_all, n_k)
    results = []
    for p in range(len(phases)):
        V_a = []
        for h in range(L):
            rows = sig_all[apical_source(net, h)][edges[p] : edges[p + 1]]
            delta = None if draws[0].delta is None else draws[0].delta[p][h]
            V_a.append(plateau_means(rows @ net.Y[h].T, starts[p], delta))
        results.append(
            PhaseResult(
                V_h=[v[0, p] for v in V_mean[:L]],
                V_a=V_a,
                s_pre=[s[p] for s in s_pre],
                V_out=V_mean[L][0, p],
                r_out=r_out[p],
                spikes=list(spikes[p]),
            )
        )
    return results


def _logit(u: np.ndarray, dtype) -> np.ndarray:
    """``log(u / (1 - u))``: a candidate with uniform number ``u`` is kept if ``u < sigma(V)``,
    that is ``V > logit(u)`` (thinning, :func:`~segdend_lite.model.draws.thinned_counts`)."""
    u = u.astype(dtype)
    with np.errstate(divide="ignore"):
        return np.log(u) - np.log1p(-u)


def _chunk_candidates(ev, logit, sl: slice, n: int) -> dict:
    """A layer's candidates in the steps ``sl`` (``ev``: image, step, unit, u over the run),
    sorted by step: ``cell`` (flat index of a (B, Tc, n) array), ``img``, ``step`` (within the
    chunk), ``logit``, and ``kept``, their verdicts so far."""
    img, step, unit, _ = ev
    if not len(img) or img[-1] == 0:  # one image: in step order already
        sel = slice(*np.searchsorted(step, [sl.start, sl.stop]))
    else:
        sel = np.flatnonzero((step >= sl.start) & (step < sl.stop))
        sel = sel[np.argsort(step[sel], kind="stable")]
    img, step, Tc = img[sel].astype(np.int64), step[sel] - sl.start, sl.stop - sl.start
    return {
        "cell": (img * Tc + step) * n + unit[sel],
        "img": img,
        "step": step,
        "logit": logit[sel],
        "kept": np.zeros(len(step), bool),
    }


def _stretch(net, b, drive0, cand, pieces):
    """One stretch of ``Tc`` steps from state ``b`` (not advanced), ``pieces`` (start, stop,
    label) its parts in each phase: every layer's voltages ``V`` and spikes ``S`` (B, Tc, n),
    and each apical source's signal one step late, ``sig[k]`` (B, Tc, n_k): ``s^k(t-1)`` (or
    ``phi_max sigma(V^k(t-1))``), whose projection ``Y sig`` is ``V^a(t)``."""
    cfg, dtype, L = net.config, net.dtype, net.n_hidden
    B, Tc = drive0.shape[:2]
    sizes, key, dt = net.layer_sizes, blocks.kernel_key(cfg), drive0.dtype.str
    WT = [w.T for w in net.W]
    src = [apical_source(net, h) for h in range(L)]
    sources = sorted(set(src))
    spiking_fb = cfg.spiking_feedback
    a_h = blocks.hidden_recursion(cfg)
    M, p_h = blocks.soma_ops(a_h, Tc, dt)
    G, H, q, _ = blocks.hidden_ops(key, a_h, cfg.g_B, Tc, dt)
    o = blocks.psp_ops(*key, Tc, dt)
    Kz, Cz = blocks.delayed_psp_ops(*key, Tc, dt)
    # what the feedback does not change: the input's drive, the state carried over (hidden
    # layers: V = G W S + [H W X + q b + p V(-1)]; the output's dendrite: V^b = K W S + [C W X + b])
    base = [drive0 + np.multiply.outer(q, net.b[0])]
    for l in range(1, L):
        base.append(H @ (b.X[l] @ WT[l]) + np.multiply.outer(q, net.b[l]))
    for l in range(L):
        base[l] += p_h[:, None] * b.V[l][:, None]
    base.append(o.C @ (b.X[L] @ WT[L]) + net.b[L])
    out_ops = [(lo, hi, *blocks.output_recursion(net, label)) for lo, hi, label in pieces]
    gAYT = [cfg.g_A * y.T for y in net.Y]  # (n_src, n_h)
    V = [np.zeros((B, Tc, n), dtype) for n in sizes]
    S = [np.zeros((B, Tc, n), dtype) for n in sizes]
    D = [None] + [np.zeros((B, Tc, n), dtype) for n in sizes[1:]]  # W^l S^{l-1}
    if spiking_fb:
        sig0 = {k: Cz @ b.X[k + 1] for k in sources}  # from the state before; s(-1) in row 0
        for k in sources:
            sig0[k][:, 0] = b.s[k + 1]
        sig = {k: sig0[k].copy() for k in sources}
    else:
        sig = {k: np.repeat(rate(b.V[k], cfg.phi_max)[:, None], Tc, axis=1) for k in sources}
    t0, rounds = 0, 0
    while True:
        rounds += 1
        R = slice(t0, Tc)
        F = {k: M[R] @ sig[k] for k in sources}  # M sig over the rows R: V^a through the soma
        old = {k: V[k][:, :-1].copy() for k in sources} if not spiking_fb else None
        first = np.full(B, Tc)  # per image, the first step whose source signal changed, + 1
        for l in range(L + 1):
            if l == 0:
                V[0][:, R] = base[0][:, R]
            elif l < L:
                V[l][:, R] = G[R] @ D[l] + base[l][:, R]
            else:
                _output(V[L], o.K @ D[L] + base[L], out_ops, b.V[L], cfg.g_D, dt)
            if l < L:
                V[l][:, R] += F[src[l]] @ gAYT[l]
            flipped = _thin(cand[l], V[l], S[l], t0)
            if l < L:
                _update_drive(D[l + 1], S[l], flipped, cand[l], WT[l + 1], R)
            if spiking_fb and l in sources:
                c = cand[l]
                last = flipped[c["step"][flipped] < Tc - 1]  # the last step's spikes: unused
                np.minimum.at(first, c["img"][last], c["step"][last] + 1)
        if not spiking_fb:
            for k in sources:
                changed = (V[k][:, t0:-1] != old[k][:, t0:]).any(axis=2)
                if changed.any():
                    step = np.where(changed.any(axis=1), t0 + changed.argmax(axis=1) + 1, Tc)
                    first = np.minimum(first, step)
        if first.min() >= Tc:
            break
        t0 = int(first.min())
        for k in sources:
            if spiking_fb:
                sig[k] = Kz @ S[k] + sig0[k]
            else:
                sig[k][:, 1:] = rate(V[k][:, :-1], cfg.phi_max)
    net.stats["rounds"][rounds] += 1  # how many stretches took how many rounds
    return V, S, sig


def _output(V, V_b, out_ops, V_before, g_D, dt) -> None:
    """The output soma over the stretch (eqs. 18-19 as ``V = M (g_D V^b + c) + p V(-1)``,
    :func:`blocks.output_recursion`), phase by phase: ``V`` (B, Tc, n) is written, ``V_b`` is
    its dendrite's potential, ``V_before`` the voltage before the stretch. Computed whole each
    round (10 units): the same spikes give the same voltages, to the last bit."""
    Tc = V.shape[1]
    for lo, hi, a, c in out_ops:
        M, p = blocks.soma_ops(a, Tc, dt)  # the first rows and columns: any shorter stretch
        M, p = M[: hi - lo, : hi - lo], p[: hi - lo]
        u = g_D * V_b[:, lo:hi]
        if c is not None:
            u += c
        prev = V[:, lo - 1] if lo > 0 else V_before
        V[:, lo:hi] = M @ u + p[:, None] * prev[:, None]


def _thin(c: dict, V: np.ndarray, S: np.ndarray, t0: int) -> np.ndarray:
    """The spikes ``S`` (B, Tc, n) from the candidates ``c`` of steps ``t0..`` with voltages
    ``V``; updated where a verdict flipped since the last round. Returns the flipped
    candidates' indices."""
    k0 = int(np.searchsorted(c["step"], t0))
    kept = V.reshape(-1)[c["cell"][k0:]] > c["logit"][k0:]
    flipped = k0 + np.flatnonzero(kept != c["kept"][k0:])
    c["kept"][k0:] = kept
    sign = np.where(c["kept"][flipped], 1.0, -1.0).astype(S.dtype)
    np.add.at(S.reshape(-1), c["cell"][flipped], sign)
    return flipped


def _update_drive(D, S, flipped, c, WT, R) -> None:
    """The next layer's basal input ``D = S W^T`` (B, Tc, n') after the flips, recomputed on the
    rows (image, step) where a candidate flipped, or over the rows ``R`` if most did."""
    n, Tc = S.shape[-1], S.shape[1]
    rows = np.zeros(S.shape[0] * Tc, bool)
    rows[c["cell"][flipped] // n] = True
    rows = np.flatnonzero(rows)
    if len(rows) * 2 > S.shape[0] * (R.stop - R.start):
        np.matmul(S[:, R], WT, out=D[:, R])
    elif len(rows):
        D.reshape(-1, D.shape[-1])[rows] = S.reshape(-1, n)[rows] @ WT
