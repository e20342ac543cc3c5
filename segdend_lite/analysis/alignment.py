"""How close the local rule's updates are to backprop's for the same images (paper Fig. 7A;
notebooks 02 and 05)."""

from __future__ import annotations

import numpy as np

from segdend_lite.model import learning
from segdend_lite.model.network import Network


def angle_to_backprop(net: Network, X: np.ndarray, labels, layer: int = 0) -> np.ndarray:
    """Angle (degrees) between the local update of hidden layer ``layer`` and the backprop
    update for the same image, one per image, shape (N,).

    Both updates have the form ``e r^T`` with the same presynaptic rates ``r``, so the angle
    between the weight changes equals the angle between the error vectors ``e^h`` (local: from
    plateau potentials; backprop: ``(W^{h+1})^T e^{h+1} k_B phi_max sigma'(V^h)``). NaN where an
    update is exactly zero.
    """
    if not 0 <= layer < net.n_hidden:
        raise ValueError(f"layer={layer}: the network has hidden layers 0..{net.n_hidden - 1}")
    p = net.phases(X, labels)
    bp = net.backprop_errors(p.V_h, p.e[-1])[layer]
    return learning.angle(p.e[layer], bp, axis=-1)


def whole_layer_updates(net: Network, X: np.ndarray, labels, layer: int = 0):
    """The weight change of hidden layer ``layer`` summed over a batch, by the local rule and
    by backprop (paper eq. 10 with the two errors; Fig. 7A compares them image by image).

    ``Delta W = -eta P sum_n e_n (r_n^{pre})^T`` with the local errors ``e^h`` (plateau
    potentials) and with backprop's through the current weights. ``X`` (N, 784), ``labels``
    (N,). Returns ``(dW_local, dW_backprop)``, each (n_h, n_pre), in weight units.
    """
    if not 0 <= layer < net.n_hidden:
        raise ValueError(f"layer={layer}: the network has hidden layers 0..{net.n_hidden - 1}")
    p = net.phases(X, labels)
    bp = net.backprop_errors(p.V_h, p.e[-1])[layer]
    eta, P = net.lr[layer], net.P[layer]
    pre = np.asarray(p.r[layer], dtype=np.float64)
    dW_local, _ = learning.weight_change(np.asarray(p.e[layer], np.float64), pre, eta, P)
    dW_bp, _ = learning.weight_change(np.asarray(bp, np.float64), pre, eta, P)
    return dW_local, dW_bp
