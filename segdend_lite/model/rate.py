"""Rate mode: the authors' non-spiking mode in closed form (docs/model.md, "Rate mode").

Per image ``x`` (pixels / 255, shape (784,)) with one-hot label ``t``:

1. input rates ``r^{-1} = phi_max x``;
2. each hidden layer ``h``: ``V^h = k_B (W^h r^{h-1} + b^h)``, ``r^h = phi_max sigma(V^h)``;
3. output, forward phase: ``V^b = W^L r^{L-1} + b^L``, ``V^{L,f} = k_D V^b``; target phase: the
   steady state with the teaching conductances, ``V^{L,t}``
   (:func:`~segdend_lite.model.neuron.output_target_voltage`);
4. plateau potentials ``alpha^{h,f} = sigma(Y^h r^{L,f})``, ``alpha^{h,t} = sigma(Y^h r^{L,t})``;
5. errors (:mod:`segdend_lite.model.learning`): ``e^L`` and ``e^h`` of the chosen rule;
6. updates, all from the weights before the image: ``W^l += -eta^l P^l e^l (r^{l-1})^T``,
   ``b^l += -eta^l P^l e^l``.

Shapes: ``W[l]`` (n_l, n_{l-1}), ``b[l]`` (n_l,), ``Y[h]`` (n_h, n_out) in broadcast mode or
(n_h, n_{h+1}) layer-wise. A batch of N images has one row per image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segdend_lite.model import learning, neuron


@dataclass
class Phases:
    """What one pass of forward and target phases computed for a batch of N images.

    Lists run over layers: ``r`` input rates first (N, 784), then each hidden layer (N, n_h);
    ``V_h`` somatic voltages of the hidden layers; ``V_f``/``V_t`` output somatic voltages
    (N, n_out) in the forward and target phases, ``r_f``/``r_t`` their rates;
    ``alpha_f``/``alpha_t`` plateau potentials per hidden layer; ``e`` errors per layer (hidden
    first, output last).
    """

    r: list[np.ndarray]
    V_h: list[np.ndarray]
    V_f: np.ndarray
    V_t: np.ndarray
    r_f: np.ndarray
    r_t: np.ndarray
    alpha_f: list[np.ndarray]
    alpha_t: list[np.ndarray]
    e: list[np.ndarray]


def phases(net, X: np.ndarray, labels: np.ndarray, W0: np.ndarray | None = None) -> Phases:
    """The closed form on a batch ``X`` (N, n_in) with ``labels`` (N,); no weight changes.

    ``W0`` replaces the first layer's weights, e.g. by the columns of an image's lit pixels,
    with ``X`` holding just those pixels."""
    cfg = net.config
    phi = cfg.phi_max
    W = list(net.W) if W0 is None else [W0] + list(net.W[1:])
    r, V_h = [phi * X], []
    for h in range(net.n_hidden):
        V_h.append(cfg.k_B * neuron.basal_potential(W[h], r[-1], net.b[h]))
        r.append(phi * neuron.sigma(V_h[-1]))
    V_b = neuron.basal_potential(W[-1], r[-1], net.b[-1])
    t = np.zeros_like(V_b)
    t[np.arange(len(t)), labels] = 1.0
    V_f = cfg.k_D * V_b
    V_t = neuron.output_target_voltage(V_b, t, cfg.g_L, cfg.g_D, cfg.E_E, cfg.E_I)
    r_f, r_t = phi * neuron.sigma(V_f), phi * neuron.sigma(V_t)
    alpha_f, alpha_t = [], []
    for h in range(net.n_hidden):
        if cfg.feedback == "broadcast" or h == net.n_hidden - 1:
            src_f, src_t = r_f, r_t
        else:  # layer-wise: the layer above; in rate mode its target rate is its forward rate
            src_f = src_t = r[h + 2]
        alpha_f.append(learning.plateau(neuron.apical_potential(net.Y[h], src_f)))
        alpha_t.append(learning.plateau(neuron.apical_potential(net.Y[h], src_t)))
    e_L = learning.output_error(r_t, V_f, cfg.k_D, phi)
    e = net.layer_errors(e_L, V_h, alpha_f, alpha_t)
    return Phases(r, V_h, V_f, V_t, r_f, r_t, alpha_f, alpha_t, e)


def learn_one(net, x: np.ndarray, label: int) -> tuple[float, int]:
    """One online update from one image ``x`` (784,), pixels / 255. Touches only the columns
    of ``W^0`` of the image's lit pixels (about 20 % of MNIST pixels): the closed form on those
    columns gives the same numbers as on all of them.

    Returns the output loss ``learning.output_loss / (phi_max^2 n_out)`` and whether the
    forward phase misclassified the image (0 or 1)."""
    cfg = net.config
    nz = np.flatnonzero(x)
    p = phases(net, x[nz][None], [label], net.W[0][:, nz])
    net.apply_update([e[0] for e in p.e], [cfg.phi_max * x] + [r[0] for r in p.r[1:]])
    return float(_loss(net, p)[0]), int(np.argmax(p.V_f[0]) != label)


def learn_batch(net, X: np.ndarray, labels: np.ndarray) -> tuple[float, int]:
    """One update with the mean of the per-image updates of a minibatch (a departure from
    the paper, which trains online). Returns the summed loss and the number misclassified.
    Rate mode only: a spiking network gets a ValueError."""
    if net.config.mode == "spiking":
        raise ValueError("spiking mode trains online only: use batch_size=1")
    p = phases(net, X, labels)
    net.apply_update(p.e, p.r)
    return float(np.sum(_loss(net, p))), int(np.sum(np.argmax(p.V_f, axis=1) != labels))


def _loss(net, p: Phases) -> np.ndarray:
    phi = net.config.phi_max
    return learning.output_loss(p.r_t, p.V_f, phi) / (phi * phi * net.n_out)


def output_voltage(net, X: np.ndarray) -> np.ndarray:
    """Forward-phase output somatic voltages ``V^{L,f} = k_D (W^L r^{L-1} + b^L)``, (N, n_out),
    for images ``X`` (N, 784), pixels / 255."""
    cfg = net.config
    r = cfg.phi_max * X
    for h in range(net.n_hidden):
        r = cfg.phi_max * neuron.sigma(cfg.k_B * neuron.basal_potential(net.W[h], r, net.b[h]))
    return cfg.k_D * neuron.basal_potential(net.W[-1], r, net.b[-1])
