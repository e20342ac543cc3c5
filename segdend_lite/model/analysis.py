"""Analysis: how close the local rule is to backprop (Fig. 7A) and Theorem 1's condition
(section 12, Fig. 5-figure supplement 1)."""

from __future__ import annotations

import numpy as np

from segdend_lite.model import learning
from segdend_lite.model.network import Network
from segdend_lite.model.neuron import sigma, sigma_prime


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


def jacobians(net: Network, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-image Jacobians of Theorem 1 for the last hidden layer and the output.

    ``J_beta = diag(phi_max sigma'(V^{L,f})) k_D W^L``, shape (N, n_out, n_h), of
    ``beta(x) = phi_max sigma(k_D W^L x)``; ``J_gamma = diag(sigma'(Y r^{L,f})) Y``, shape
    (N, n_h, n_out), of ``gamma(x) = sigma(Y x)`` at the forward output rates ``r^{L,f}``.
    """
    if net.n_hidden < 1:
        raise ValueError("Theorem 1 needs a hidden layer")
    cfg = net.config
    h = net.n_hidden - 1
    V_f = net.output_voltage(X).astype(np.float64)
    r_f = cfg.phi_max * sigma(V_f)
    W_L = np.asarray(net.W[-1], dtype=np.float64)
    Y = np.asarray(net.Y[h], dtype=np.float64)
    if Y.shape[1] != net.n_out:
        raise ValueError("Theorem 1 concerns feedback from the output layer (broadcast feedback)")
    J_beta = (cfg.phi_max * sigma_prime(V_f))[:, :, None] * (cfg.k_D * W_L)[None]
    J_gamma = sigma_prime(r_f @ Y.T)[:, :, None] * Y[None]
    return J_beta, J_gamma


def jacobian_condition(net: Network, X: np.ndarray, product_of_means: bool = True) -> float:
    """Largest eigenvalue of ``(I - J)^T (I - J)`` with ``J = J_beta J_gamma`` (n_out, n_out).

    ``product_of_means=True`` (the paper): ``J`` is the product of the Jacobians averaged over
    ``X``; ``False`` (the authors' code): the average of the per-image products. Theorem 1 says
    moving the hidden layer to its target lowers the output loss when this is below 1.
    """
    J_beta, J_gamma = jacobians(net, X)
    if product_of_means:
        J = J_beta.mean(axis=0) @ J_gamma.mean(axis=0)
    else:
        J = np.mean(J_beta @ J_gamma, axis=0)
    M = np.eye(J.shape[0]) - J
    return float(np.linalg.eigvalsh(M.T @ M).max())
