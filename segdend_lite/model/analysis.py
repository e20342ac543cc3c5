"""Analysis: how close the local rule is to backprop (Fig. 7A) and Theorem 1's condition
(docs/model.md, "Theorem 1"; Fig. 5-figure supplement 1)."""

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


# --------------------------------------------------------------------------------------------
# Notebook 05: why the local rule works (paper Fig. 5B-C, Fig. 5-figure supplement 1, Theorem 1).
# Pure functions of arrays where possible, so that a student's version can be compared with them.


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
    eta, P = net.lr[layer], net.config.P_h
    pre = np.asarray(p.r[layer], dtype=np.float64)
    dW_local, _ = learning.weight_change(np.asarray(p.e[layer], np.float64), pre, eta, P)
    dW_bp, _ = learning.weight_change(np.asarray(bp, np.float64), pre, eta, P)
    return dW_local, dW_bp


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
    from segdend_lite.model import spiking

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
