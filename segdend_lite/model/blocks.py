"""The spiking model's linear recursions over blocks of steps, as matrices, for the fast engine.

Between spikes the model is linear: the PSP filter (:class:`~segdend_lite.model.spiking_state.PSP`)
and the Euler soma (``neuron.euler_soma_step``, ``neuron.euler_output_step``) are recursions
``X_t = A X_{t-1} + u_t``, so ``T`` steps of them are one product with a (T, T) matrix
(:func:`psp_ops`, :func:`soma_ops`, :func:`hidden_ops`), tested against the step-by-step forms
(tests/test_spiking.py). Also the state of a batch of networks (:class:`BatchState`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from segdend_lite.model import neuron
from segdend_lite.model.neuron import psp_taps
from segdend_lite.model.spiking_state import DT, PSP, SpikingState


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


@lru_cache(maxsize=64)
def delayed_psp_ops(
    full: bool, tau_s: float, tau_L: float, taps: int, T: int, dtype: str
) -> tuple[np.ndarray, np.ndarray]:
    """The PSPs one step late, ``s(t-1)`` for t = 0..T-1, as ``Kz S + Cz X`` plus ``s(-1)`` (the
    value before the stretch) in row 0: ``Kz`` (T, T) and ``Cz`` (T, m) are :class:`PSPOps`'
    ``K`` and ``C`` moved down one row (row 0 zero)."""
    o = psp_ops(full, tau_s, tau_L, taps, T, dtype)
    Kz, Cz = np.zeros_like(o.K), np.zeros_like(o.C)
    Kz[1:], Cz[1:] = o.K[:-1], o.C[:-1]
    return Kz, Cz


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


def hidden_recursion(cfg) -> float:
    """The hidden soma's Euler step (eq. 1, :func:`~segdend_lite.model.neuron.euler_soma_step`
    with ``dt = 1``) as ``V_t = a V_{t-1} + g_B V^b_t + g_A V^a_t``: returns
    ``a = 1 - g_L - g_B - g_A``."""
    return 1.0 - cfg.g_L - cfg.g_B - cfg.g_A


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


def chunks(T: int, size: int | None = None) -> list[slice]:
    """Equal chunks of at most ``size`` (default ``CHUNK``) steps covering ``0..T-1``."""
    n = -(-T // (size or CHUNK))
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
