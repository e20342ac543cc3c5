"""An independent spiking oracle: one training image of the spiking model written plainly from the
paper's Methods, 1-ms step by 1-ms step, sharing no code with the package's engines.

Per step, bottom to top (paper "Simulation details"): Poisson input spikes at ``phi_max x``
(``rng.poisson``); every population's PSP as an explicit sum over the kernel's lags of its last
spikes; per layer the basal potential ``W s + b``, for hidden layers the apical potential
``Y s_out`` of the output's PSPs of the previous step, the soma's Euler step (eq. 14; the output's
eq. 18 with the teaching current of eq. 19 in the target phase), the somatic rate and its
Poisson spikes. After each phase the window averages (from ``settle`` ms to the phase's end);
after the target phase the plateau potentials, errors and weight changes (eqs. 21-35).

Only the configuration's numbers are read from ``Config``; nothing else of the package is used.
tests/test_spiking_oracle.py compares the engines' expected quantities with this oracle's.
"""

from __future__ import annotations

import math

import numpy as np


def sigma(v):
    return 1.0 / (1.0 + np.exp(-v))


def kernel_lags(cfg, scale: float = 1.0) -> np.ndarray:
    """The PSP kernel at lags 1, 2, ... ms: ``kappa(k) = (e^{-k/tau_L} - e^{-k/tau_s}) /
    (tau_L - tau_s)``, the first ``kernel_taps`` lags (the default) or 300 lags (the full
    kernel, whose rest is below 1e-13). ``scale`` multiplies it (to show the test can fail)."""
    n = cfg.kernel_taps if cfg.kernel == "truncated" else 300
    k = np.arange(1, n + 1, dtype=float)
    return scale * (np.exp(-k / cfg.tau_L) - np.exp(-k / cfg.tau_s)) / (cfg.tau_L - cfg.tau_s)


class PlainNetwork:
    """Weights ``W[l]`` (n_l, n_{l-1}), ``b[l]``, ``Y[h]`` (n_h, n_out), broadcast feedback, and
    the state carried from step to step: somatic voltages and each population's recent spikes
    (newest first), from which the PSPs are summed."""

    def __init__(self, W, b, Y, cfg, kappa: np.ndarray, settle: int | None = None):
        self.W = [np.array(w, float) for w in W]
        self.b = [np.array(v, float) for v in b]
        self.Y = [np.array(y, float) for y in Y]
        self.cfg, self.kappa = cfg, kappa
        self.settle = cfg.settle if settle is None else settle
        sizes = [self.W[0].shape[1]] + [w.shape[0] for w in self.W]
        self.V = [np.zeros(n) for n in sizes[1:]]
        self.recent = [np.zeros((len(kappa), n)) for n in sizes]  # row j: spikes j steps ago

    def psp(self, k: int, spikes: np.ndarray) -> np.ndarray:
        """Push this step's spikes of population ``k`` and return its PSP ``sum_j kappa(j+1)
        S(t - j)``."""
        self.recent[k] = np.roll(self.recent[k], 1, axis=0)
        self.recent[k][0] = spikes
        return self.kappa @ self.recent[k]

    def phase(self, x: np.ndarray, T: int, label, rng) -> dict:
        """One phase of ``T`` ms; ``label`` None (forward) or the digit (target). Returns the
        window averages."""
        cfg = self.cfg
        L = len(self.W) - 1  # number of hidden layers; the output is layer L
        n_out = self.W[L].shape[0]
        g_E = np.zeros(n_out)
        g_I = np.zeros(n_out)
        if label is not None:
            g_E[label] = 1.0
            g_I = 1.0 - g_E
        s_out_prev = self.kappa @ self.recent[L + 1]  # the output's PSPs after the last step
        rows: dict[str, list] = {"s0": [], "V_out": [], "r_out": []}
        for h in range(L):
            rows[f"V{h}"], rows[f"Va{h}"], rows[f"s{h + 1}"] = [], [], []
        for t in range(T):
            s = self.psp(0, rng.poisson(cfg.phi_max * x))  # input spikes and their PSPs
            rows["s0"].append(s)
            for l in range(L + 1):
                V_b = self.W[l] @ s + self.b[l]
                V = self.V[l]
                if l < L:
                    V_a = self.Y[l] @ s_out_prev  # feedback arrives one step late
                    dV = -cfg.g_L * V + cfg.g_B * (V_b - V) + cfg.g_A * (V_a - V)
                    self.V[l] = V + dV  # dt = 1 ms
                    rows[f"Va{l}"].append(V_a)
                    rows[f"V{l}"].append(self.V[l])
                else:
                    I = g_E * (cfg.E_E - V) + g_I * (cfg.E_I - V)
                    self.V[l] = V + (-cfg.g_L * V + cfg.g_D * (V_b - V) + I)
                    rows["V_out"].append(self.V[l])
                    rows["r_out"].append(cfg.phi_max * sigma(self.V[l]))
                s = self.psp(l + 1, rng.poisson(cfg.phi_max * sigma(self.V[l])))
                if l < L:
                    rows[f"s{l + 1}"].append(s)
            s_out_prev = s
        start = self.settle
        return {k: np.mean(v[start:], axis=0) for k, v in rows.items()}

    def learning_step(self, x: np.ndarray, label: int, T: int, rng, lr) -> dict:
        """A forward and a target phase, then the weight changes (not applied)."""
        cfg = self.cfg
        phi = cfg.phi_max
        L = len(self.W) - 1
        f = self.phase(x, T, None, rng)
        t = self.phase(x, T, label, rng)
        k_D = cfg.g_D / (cfg.g_L + cfg.g_D)
        k_B = cfg.g_B / (cfg.g_L + cfg.g_B + cfg.g_A)
        P_h, P_L = 20.0 / phi, 20.0 / phi**2
        sf = sigma(f["V_out"])
        e = {L: -k_D * phi * (t["r_out"] - phi * sf) * sf * (1 - sf)}
        out = {"alpha_f0": sigma(f["Va0"]), "alpha_t0": sigma(t["Va0"])} if L else {}
        for h in range(L):
            d_alpha = sigma(t[f"Va{h}"]) - sigma(f[f"Va{h}"])
            sh = sigma(f[f"V{h}"])
            e[h] = -k_B * d_alpha * phi * sh * (1 - sh)
        for l in range(L + 1):
            P = P_L if l == L else P_h
            out[f"dW{l}"] = -lr[l] * P * np.outer(e[l], f[f"s{l}"])
            out[f"db{l}"] = -lr[l] * P * e[l]
        out.update({f"f_{k}": v for k, v in f.items()})
        out.update({f"t_{k}": v for k, v in t.items()})
        return out


def chi2_per_dof(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean squared z-score of the difference of the means of two sets of repetitions
    ``a``, ``b`` (R, ...) per element (elements with no variance in either are skipped)."""
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    se2 = a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b)
    keep = se2 > 1e-30
    if mask is not None:
        keep &= mask.reshape(-1)
    z2 = (a.mean(axis=0) - b.mean(axis=0))[keep] ** 2 / se2[keep]
    return float(np.mean(z2)) if z2.size else math.nan
