"""Theorem 1's condition: the Jacobians of the forward and feedback maps and the largest
eigenvalue of ``(I - J)^T (I - J)`` (docs/model.md, "Theorem 1"; Fig. 5-figure supplement 1;
notebook 05). Pure functions of arrays where possible, so that a student's version can be
compared with them, and their counterparts taking a network and images."""

from __future__ import annotations

import numpy as np

from segdend_lite.model.network import Network
from segdend_lite.model.neuron import sigma, sigma_prime


def jacobian_beta(C_f: np.ndarray, W_L: np.ndarray, k_D: float, phi_max: float) -> np.ndarray:
    """Jacobian of Theorem 1's forward map ``beta(x) = phi_max sigma(k_D (W^L x + b^L))`` (hidden
    rates to output rates) at the forward phase: ``J_beta = diag(phi_max sigma'(C_f)) k_D W^L``.

    ``C_f``: the output voltages ``k_D (W^L r^h + b^L)``, (n_out,) or (N, n_out); ``W_L``:
    (n_out, n_h). Returns (n_out, n_h) or (N, n_out, n_h) (output rate per hidden rate).
    """
    C_f = np.asarray(C_f, dtype=np.float64)
    W_L = np.asarray(W_L, dtype=np.float64)
    if W_L.ndim != 2 or C_f.shape[-1] != W_L.shape[0]:
        raise ValueError(f"shapes do not fit: C_f {C_f.shape} (..., n_out), W_L {W_L.shape}")
    return (phi_max * sigma_prime(C_f))[..., :, None] * (k_D * W_L)


def jacobian_gamma(C_f: np.ndarray, Y: np.ndarray, phi_max: float) -> np.ndarray:
    """Jacobian of Theorem 1's feedback map ``gamma(y) = sigma(Y y)`` (output rates to plateau
    potentials) at the forward output rates ``r^f = phi_max sigma(C_f)``: ``J_gamma =
    diag(sigma'(Y r^f)) Y``.

    ``C_f``: (n_out,) or (N, n_out); ``Y``: (n_h, n_out). Returns (n_h, n_out) or
    (N, n_h, n_out) (plateau per output rate, in ms).
    """
    C_f = np.asarray(C_f, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim != 2 or C_f.shape[-1] != Y.shape[1]:
        raise ValueError(f"shapes do not fit: C_f {C_f.shape} (..., n_out), Y {Y.shape}")
    r_f = phi_max * sigma(C_f)
    return sigma_prime(r_f @ Y.T)[..., :, None] * Y


def theorem1_jacobians(
    C_f: np.ndarray, W_L: np.ndarray, Y: np.ndarray, k_D: float, phi_max: float
) -> tuple[np.ndarray, np.ndarray]:
    """Both Jacobians of Theorem 1 from arrays: ``(jacobian_beta(...), jacobian_gamma(...))``.

    ``beta(x) = phi_max sigma(k_D W^L x)`` maps hidden rates to output rates; ``gamma(y) =
    sigma(Y y)`` maps output rates to the hidden layer's plateau potentials. ``C_f``: (n_out,)
    or (N, n_out); ``W_L``: (n_out, n_h); ``Y``: (n_h, n_out). Returns arrays of shapes
    (n_out, n_h) and (n_h, n_out), or with a leading N. Same values as :func:`jacobians`, which
    takes a network and images.
    """
    if np.shape(Y) != np.shape(W_L)[::-1]:
        raise ValueError(
            f"shapes do not fit: W_L {np.shape(W_L)} (n_out, n_h), Y {np.shape(Y)} (n_h, n_out)"
        )
    return jacobian_beta(C_f, W_L, k_D, phi_max), jacobian_gamma(C_f, Y, phi_max)


def theorem1_condition(
    J_beta: np.ndarray, J_gamma: np.ndarray, product_of_means: bool = True
) -> float:
    """Largest eigenvalue of ``(I - J)^T (I - J)`` (Theorem 1; Fig. 5-figure supplement 1).

    ``J_beta`` (N, n_out, n_h) and ``J_gamma`` (N, n_h, n_out) per image (or one image without
    the N axis). ``product_of_means=True`` (the paper): ``J = mean(J_beta) mean(J_gamma)``;
    ``False`` (the authors' code): ``J = mean(J_beta J_gamma)``. Dimensionless; below 1 means
    that, for small output errors, moving the hidden layer to its target lowers the output loss.
    """
    J_beta = np.asarray(J_beta, dtype=np.float64)
    J_gamma = np.asarray(J_gamma, dtype=np.float64)
    if J_beta.ndim == 2:
        J_beta, J_gamma = J_beta[None], J_gamma[None]
    if J_beta.ndim != 3 or J_gamma.shape != (len(J_beta),) + J_beta.shape[:0:-1]:
        raise ValueError(
            f"J_beta {J_beta.shape} and J_gamma {J_gamma.shape}: expected (N, n_out, n_h) "
            "and (N, n_h, n_out)"
        )
    if len(J_beta) == 0:
        raise ValueError("no images: expected (N, n_out, n_h) with N >= 1")
    if product_of_means:
        J = J_beta.mean(axis=0) @ J_gamma.mean(axis=0)
    else:
        J = np.mean(J_beta @ J_gamma, axis=0)
    M = np.eye(J.shape[0]) - J
    return float(np.linalg.eigvalsh(M.T @ M).max())


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
    W_L = np.asarray(net.W[-1], dtype=np.float64)
    Y = np.asarray(net.Y[h], dtype=np.float64)
    if Y.shape[1] != net.n_out:
        raise ValueError("Theorem 1 concerns feedback from the output layer (broadcast feedback)")
    return theorem1_jacobians(V_f, W_L, Y, cfg.k_D, cfg.phi_max)


def jacobian_condition(net: Network, X: np.ndarray, product_of_means: bool = True) -> float:
    """Largest eigenvalue of ``(I - J)^T (I - J)`` with ``J = J_beta J_gamma`` (n_out, n_out).

    ``product_of_means=True`` (the paper): ``J`` is the product of the Jacobians averaged over
    ``X``; ``False`` (the authors' code): the average of the per-image products. Theorem 1 says
    moving the hidden layer to its target lowers the output loss when this is below 1.
    """
    return theorem1_condition(*jacobians(net, X), product_of_means=product_of_means)
