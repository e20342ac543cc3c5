"""Baselines of the same shape and nonlinearity as the segregated network.

All share the network's forward pass (``V^h = k_B (W^h r^{h-1} + b^h)``, ``r^h = phi_max
sigma(V^h)``, output ``V^{L,f} = k_D V^b``) and its output error ``e^L``, which is the exact
gradient of the output loss

    ``L = 1/2 || r* - phi_max sigma(k_D V^b) ||^2``

with the target rates ``r* = r^{L,t}`` (the target phase's output rates) held fixed. They differ
only in how hidden layers get their error:

- backprop: ``e^h = (W^{h+1})^T e^{h+1} * k_B phi_max sigma'(V^h)``, the exact gradient;
- feedback alignment (Lillicrap et al. 2016): fixed random ``Y^h`` in place of ``(W^{h+1})^T``;
  with ``feedback="broadcast"`` every hidden layer gets ``Y^h e^L`` (direct feedback alignment);
- no hidden layer: ``Network((10,))``.

Baselines scale every layer's step by the output's ``P^L`` (gradient descent on ``P^L L``), so
each layer follows the same loss. The paper's own backprop variant of the segregated network
(hidden errors ``W^T e`` with the hidden scale ``P^h``, docs/model.md, "Baselines") is
``Network(..., Config(hidden_update="backprop"))``.
"""

from __future__ import annotations

import numpy as np

from segdend_lite.model import learning
from segdend_lite.model.config import Config
from segdend_lite.model.network import Network


def backprop_network(
    layer_sizes=(500, 10), config: Config | None = None, seed: int | None = 0
) -> Network:
    """A network trained by exact backprop of the output loss."""
    cfg = _output_scale_everywhere(config or Config())
    return Network(layer_sizes, cfg.replace(hidden_update="backprop"), seed=seed)


def feedback_alignment_network(
    layer_sizes=(500, 10),
    config: Config | None = None,
    seed: int | None = 0,
    feedback: str = "layerwise",
) -> Network:
    """A network trained by feedback alignment through its fixed random ``Y`` matrices."""
    cfg = _output_scale_everywhere(config or Config())
    cfg = cfg.replace(hidden_update="feedback_alignment", feedback=feedback)
    return Network(layer_sizes, cfg, seed=seed)


def _output_scale_everywhere(cfg: Config) -> Config:
    """``cfg`` with the hidden layers' scale factor ``P^h`` set to the output's ``P^L``."""
    (P_L,) = cfg.scale_factors(1)  # a network of one weight layer: the output's P^L alone
    return cfg.replace(P_hidden=P_L)


def output_loss(net: Network, X: np.ndarray, r_star: np.ndarray) -> float:
    """``L = 1/2 sum_n || r*_n - phi_max sigma(V^{L,f}_n) ||^2`` (half of
    :func:`~segdend_lite.model.learning.output_loss`) for images ``X`` (N, 784), pixels / 255,
    and fixed target rates ``r_star`` (N, n_out)."""
    V_f = net.output_voltage(X)
    return 0.5 * float(np.sum(learning.output_loss(r_star, V_f, net.config.phi_max)))


def gradients(net: Network, X: np.ndarray, labels) -> tuple[list, list, np.ndarray]:
    """Exact gradients ``dL/dW^l`` (n_l, n_{l-1}) and ``dL/db^l`` of :func:`output_loss` summed
    over the batch, and the fixed target rates ``r*`` they assume."""
    p = net.phases(X, labels)
    e = net.backprop_errors(p.V_h, p.e[-1])
    # the gradient is the update learning.weight_change gives with eta P = -1
    dW, db = zip(*(learning.weight_change(e[l], p.r[l], -1.0, 1.0) for l in range(len(e))))
    return list(dW), list(db), p.r_t
