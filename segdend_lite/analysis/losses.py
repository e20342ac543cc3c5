"""The hidden and output losses image by image, and how they correlate within each digit
(paper eqs. 7 and 9, Fig. 5B-C; notebook 05)."""

from __future__ import annotations

import numpy as np

from segdend_lite.model import learning, spiking
from segdend_lite.model.network import Network
from segdend_lite.model.neuron import sigma


def layer_losses(net: Network, X: np.ndarray, labels, layer: int = 0):
    """Per-image hidden loss ``L^0`` and output loss ``L^1`` (paper eqs. 7 and 9, Fig. 5B).

    ``L^0 = ||phi^{0*} - phi_max sigma(V^{0,f})||^2`` with the target ``phi^{0*} = phibar^{0,f}
    + alpha^t - alpha^f`` of hidden layer ``layer`` (rate mode: exactly ``||alpha^t -
    alpha^f||^2``), and ``L^1 = ||phibar^{1,t} - phi_max sigma(V^{1,f})||^2`` of the output.
    Both per image before any update, from :meth:`Network.phases` and the functions of
    :mod:`segdend_lite.model.learning`. ``X``: (N, 784) pixels / 255 or uint8, ``labels``
    (N,). Returns ``(L0, L1)``, each (N,): ``L0`` dimensionless (plateaus are in (0, 1)),
    ``L1`` in (spikes/ms)^2.
    """
    if not 0 <= layer < net.n_hidden:
        raise ValueError(f"layer={layer}: the network has hidden layers 0..{net.n_hidden - 1}")
    phi = net.config.phi_max
    p = net.phases(X, labels)
    target = learning.hidden_target(p.r[layer + 1], p.alpha_t[layer], p.alpha_f[layer])
    L0 = learning.hidden_loss(target, p.V_h[layer], phi)
    L1 = learning.output_loss(p.r_t, p.V_f, phi)
    return np.asarray(L0, dtype=np.float64), np.asarray(L1, dtype=np.float64)


def spiking_layer_losses(net: Network, X: np.ndarray, labels, seed: int = 0, layer: int = 0):
    """Per-image ``L^0`` and ``L^1`` of a **spiking** network (paper Fig. 5B-C), no learning.

    Each image goes through a forward and a target phase of the spiking model
    (:func:`segdend_lite.model.spiking.one_phase`, ``phase_length`` ms each), the state carrying
    over from image to image as in training, from the network's current state; the weights,
    the state and the random generator of ``net`` are left as they were (the phases' random
    draws come from ``seed``). ``L^0 = ||alpha^t - alpha^f||^2`` (the paper's ``L^0`` with the
    forward rate ``phibar^{0,f}`` taken as ``phi_max sigma(Vbar^{0,f})``) and ``L^1 =
    ||phibar^{1,t} - phi_max sigma(Vbar^{1,f})||^2``. ``X`` (N, 784), ``labels`` (N,).
    Returns ``(L0, L1)``, each (N,). About 1 ms per image with the fast engine.
    """
    if net.config.mode != "spiking":
        raise ValueError("spiking_layer_losses needs a spiking network; use layer_losses")
    if not 0 <= layer < net.n_hidden:
        raise ValueError(f"layer={layer}: the network has hidden layers 0..{net.n_hidden - 1}")
    X = np.atleast_2d(np.asarray(X))
    labels = np.asarray(labels).astype(np.int64)
    if X.ndim != 2 or X.shape[1] != net.n_input or labels.shape != (len(X),):
        raise ValueError(
            f"X must be (N, {net.n_input}) and labels (N,); got {X.shape}, {labels.shape}"
        )
    phi = net.config.phi_max
    saved_state = {k: v.copy() for k, v in net.spiking.arrays().items()}
    saved_rng = net.rng
    net.rng = np.random.default_rng(seed)  # one_phase draws its spikes from net.rng
    L0 = np.empty(len(X))
    L1 = np.empty(len(X))
    try:
        for i in range(len(X)):
            f = spiking.one_phase(net, X[i])
            t = spiking.one_phase(net, X[i], int(labels[i]))
            alpha_f = learning.plateau(f.V_a[layer])
            alpha_t = learning.plateau(t.V_a[layer])
            r_f = phi * sigma(f.V_h[layer])
            target = learning.hidden_target(r_f, alpha_t, alpha_f)
            L0[i] = learning.hidden_loss(target, f.V_h[layer], phi)
            L1[i] = learning.output_loss(t.r_out, f.V_out, phi)
    finally:
        net.rng = saved_rng
        net.spiking.load(saved_state)
    return L0, L1


def pearson_r(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two 1-D samples of equal length (NaN if either is constant or
    has fewer than 2 points)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"samples of different lengths: {a.shape} and {b.shape}")
    if len(a) < 2:
        return float("nan")
    da, db = a - a.mean(), b - b.mean()
    denom = np.sqrt(np.sum(da * da) * np.sum(db * db))
    return float(np.sum(da * db) / denom) if denom > 0 else float("nan")


def loss_correlation(
    L0: np.ndarray,
    L1: np.ndarray,
    labels,
    n_classes: int = 10,
    shuffle: np.random.Generator | None = None,
) -> np.ndarray:
    """Correlation of ``L^0`` with ``L^1`` across the images of each digit (paper Fig. 5C).

    ``L0``, ``L1``, ``labels``: (N,). Returns ``r`` (n_classes,), NaN for a digit with fewer
    than 2 images. ``shuffle``: a random generator; if given, ``L0`` is first permuted among
    the images of the same digit (the paper's shuffled control: a hidden loss paired with the
    output loss of another image of that digit), which should give ``r`` near 0.
    """
    L0 = np.asarray(L0, dtype=np.float64)
    L1 = np.asarray(L1, dtype=np.float64)
    labels = np.asarray(labels)
    if not (L0.shape == L1.shape == labels.shape) or L0.ndim != 1:
        raise ValueError(
            f"L0, L1 and labels must be 1-D of the same length; got {L0.shape}, {L1.shape}, "
            f"{labels.shape}"
        )
    r = np.full(n_classes, np.nan)
    for d in range(n_classes):
        idx = np.flatnonzero(labels == d)
        a = L0[idx] if shuffle is None else L0[shuffle.permutation(idx)]
        r[d] = pearson_r(a, L1[idx])
    return r
