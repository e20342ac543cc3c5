"""The rate-mode learning step written plainly, one line per equation (model_spec section 8.1).

This is the oracle that the fast engine in :mod:`segdend_lite.model.network` is tested against and
the baseline its speed is measured against. It works on plain lists of arrays, dense, one image
at a time, broadcast feedback and the local hidden update only. Read it next to the paper.
"""

from __future__ import annotations

import numpy as np

from segdend_lite.model.config import Config
from segdend_lite.model.neuron import output_target_voltage, sigma


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
    C = []
    for h in range(n_hidden):
        C.append(cfg.k_B * (W[h] @ rates[-1] + b[h]))
        rates.append(phi * sigma(C[-1]))
    # 3-4: output layer in the forward and target phases
    B_L = W[-1] @ rates[-1] + b[-1]
    C_f = cfg.k_D * B_L
    t = np.zeros(len(B_L))
    t[label] = 1.0
    C_t = output_target_voltage(B_L, t, cfg.g_L, cfg.g_D, cfg.E_E, cfg.E_I)
    r_f = phi * sigma(C_f)
    r_t = phi * sigma(C_t)
    # 5: plateau potentials of each hidden layer
    alpha_f = [sigma(Y[h] @ r_f) for h in range(n_hidden)]
    alpha_t = [sigma(Y[h] @ r_t) for h in range(n_hidden)]
    # 6: errors
    e_L = -cfg.k_D * phi * (r_t - r_f) * sigma(C_f) * (1 - sigma(C_f))
    e = [
        -cfg.k_B * (alpha_t[h] - alpha_f[h]) * phi * sigma(C[h]) * (1 - sigma(C[h]))
        for h in range(n_hidden)
    ] + [e_L]
    # 7: updates, every error computed above from the weights before this image
    for l in range(n_hidden + 1):
        P = cfg.P_L if l == n_hidden else cfg.P_h
        W[l] -= lr[l] * P * np.outer(e[l], rates[l])
        b[l] -= lr[l] * P * e[l]
