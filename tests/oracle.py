"""The independent oracle: the rate-mode learning step written plainly, one line per equation
(docs/model.md, "Rate mode"), without the package's learning rule.

This is the one allowed second copy of the equations: the rate mode of
:class:`segdend_lite.Network` is tested against it (tests/test_network.py) and
benchmarks/bench_speed.py measures its speed against it. It works on plain lists of arrays,
dense, one image at a time, broadcast feedback and the local hidden update only. Read it next to
the paper."""

from __future__ import annotations

import numpy as np

from segdend_lite.model.config import Config
from segdend_lite.model.neuron import sigma


def plain_rate_step(
    W: list[np.ndarray],
    b: list[np.ndarray],
    Y: list[np.ndarray],
    x: np.ndarray,
    label: int,
    config: Config,
    lr: tuple[float, ...],
) -> None:
    """Update ``W`` (n_l, n_{l-1}) and ``b`` (n_l,) in place from one image ``x`` (784,)."""
    cfg = config
    phi = cfg.phi_max
    n_hidden = len(W) - 1
    # 1-2: input rates, hidden voltages and rates
    rates = [phi * x]
    V = []
    for h in range(n_hidden):
        V.append(cfg.k_B * (W[h] @ rates[-1] + b[h]))
        rates.append(phi * sigma(V[-1]))
    # 3-4: output layer in the forward and target phases
    V_b = W[-1] @ rates[-1] + b[-1]
    V_f = cfg.k_D * V_b
    t = np.zeros(len(V_b))
    t[label] = 1.0
    g_E, g_I = t, 1.0 - t  # teaching conductances; the target phase's steady state:
    V_t = (cfg.g_D * V_b + g_E * cfg.E_E + g_I * cfg.E_I) / (cfg.g_L + cfg.g_D + g_E + g_I)
    r_f = phi * sigma(V_f)
    r_t = phi * sigma(V_t)
    # 5: plateau potentials of each hidden layer
    alpha_f = [sigma(Y[h] @ r_f) for h in range(n_hidden)]
    alpha_t = [sigma(Y[h] @ r_t) for h in range(n_hidden)]
    # 6: errors
    e_L = -cfg.k_D * phi * (r_t - r_f) * sigma(V_f) * (1 - sigma(V_f))
    e = [
        -cfg.k_B * (alpha_t[h] - alpha_f[h]) * phi * sigma(V[h]) * (1 - sigma(V[h]))
        for h in range(n_hidden)
    ] + [e_L]
    # 7: updates, every error computed above from the weights before this image
    for l in range(n_hidden + 1):
        P = cfg.P_output if l == n_hidden else cfg.P_hidden
        if P is None:  # the paper's scale factors, P^L = 20 / phi_max^2 and P^h = 20 / phi_max
            P = 20.0 / phi**2 if l == n_hidden else 20.0 / phi
        W[l] -= lr[l] * P * np.outer(e[l], rates[l])
        b[l] -= lr[l] * P * e[l]
