"""The learning rule of the segregated-dendrite network, one function per equation.

Guerguiev, Lillicrap & Richards (2017), eLife 6:e22901, main text eqs. 5-10 and Methods
eqs. 21-41 (``docs/model.md``, "Plateau potentials" and "Targets, losses and weight
updates"). Every engine (rate mode, the step-by-step and
the fast spiking engines), the baselines, the exercise checks and the notebooks call these
functions; the only second copy is the independent oracle in the tests.

Conventions, as in the rest of the package:

- units: rates in spikes/ms (``phi_max = 0.2``), voltages and conductances dimensionless;
- one image is a vector (n,), a batch of N images is an array (N, n) (one row per image);
- weights in the paper's orientation: ``W`` (n_post, n_pre), ``Y`` (n_hidden, n_source).

Notation: ``V_f`` is a layer's somatic voltage averaged over the forward phase's window
(``Vbar^{f}``), ``r_t`` the output's rate averaged over the target phase's window
(``phibar^{L,t}``), ``s_pre`` the presynaptic PSPs (rates in rate mode) averaged over the
forward window (``sbar^{f}``).
"""

from __future__ import annotations

import numpy as np

from segdend_lite.model.neuron import sigma, sigma_prime


def plateau(V_a_mean: np.ndarray) -> np.ndarray:
    """Plateau potential ``alpha = sigma(mean apical voltage)`` (paper eq. 5, Methods eq. 21).

    ``V_a_mean``: a hidden layer's apical potential averaged over a phase's window, (n_h,) or
    (N, n_h). Returns ``alpha`` in (0, 1), same shape. Computed once at the end of the forward
    phase (``alpha^f``) and once at the end of the target phase (``alpha^t``).
    """
    return sigma(V_a_mean)


def output_error(r_t: np.ndarray, V_f: np.ndarray, k_D: float, phi_max: float) -> np.ndarray:
    """Output-layer error ``e^L = -k_D phi_max (r^{L,t} - phi_max sigma(V^{L,f})) sigma'(V^{L,f})``
    (paper eqs. 6-7, Methods eqs. 23-29).

    The gradient of the output loss ``L^L = ||r^{L,t} - phi_max sigma(V^{L,f})||^2`` (factor 2
    dropped) with respect to the output's dendritic potential, using ``V^{L,f} = k_D V^{L,b,f}``
    and holding the target-phase rates ``r_t`` fixed. ``r_t`` (spikes/ms) and ``V_f``: (n_out,)
    or (N, n_out); returns the same shape (spikes/ms per unit voltage).
    """
    return -k_D * phi_max * (r_t - phi_max * sigma(V_f)) * sigma_prime(V_f)


def output_loss(r_t: np.ndarray, V_f: np.ndarray, phi_max: float) -> np.ndarray:
    """Output loss ``L^L = ||r^{L,t} - phi_max sigma(V^{L,f})||^2`` (paper eq. 7), per image.

    ``r_t``, ``V_f``: (n_out,) or (N, n_out); returns a scalar or (N,), in (spikes/ms)^2.
    """
    d = r_t - phi_max * sigma(V_f)
    return np.sum(d * d, axis=-1)


def hidden_target(r_f: np.ndarray, alpha_t: np.ndarray, alpha_f: np.ndarray) -> np.ndarray:
    """Hidden-layer target rates ``phi^{h*} = phibar^{h,f} + alpha^{h,t} - alpha^{h,f}``
    (paper eq. 8, Methods eqs. 30 and 40 with the forward rate, docs/model.md).

    ``r_f``: the layer's mean forward rate (spikes/ms); ``alpha_t``, ``alpha_f``: its plateau
    potentials; all (n_h,) or (N, n_h). Returns the same shape.
    """
    return r_f + alpha_t - alpha_f


def hidden_loss(target: np.ndarray, V_f: np.ndarray, phi_max: float) -> np.ndarray:
    """Hidden-layer loss ``L^h = ||phi^{h*} - phi_max sigma(V^{h,f})||^2`` (paper eq. 9), per
    image: about ``||alpha^t - alpha^f||^2``. Shapes as :func:`output_loss`."""
    d = target - phi_max * sigma(V_f)
    return np.sum(d * d, axis=-1)


def hidden_slope(V_f: np.ndarray, k_B: float, phi_max: float) -> np.ndarray:
    """``k_B phi_max sigma'(V^{h,f})``: how a hidden rate changes with its basal potential at
    steady state (the factor shared by every hidden error below). Same shape as ``V_f``."""
    return k_B * phi_max * sigma_prime(V_f)


def hidden_error_local(
    alpha_t: np.ndarray, alpha_f: np.ndarray, V_f: np.ndarray, k_B: float, phi_max: float
) -> np.ndarray:
    """Hidden error of the paper's local rule, ``e^h = -k_B (alpha^t - alpha^f) phi_max
    sigma'(V^{h,f})`` (paper eqs. 8-9, Methods eqs. 30-35; every hidden layer, eqs. 38-41).

    The gradient of the hidden loss :func:`hidden_loss` with the target held fixed. All arrays
    (n_h,) or (N, n_h); returns the same shape.
    """
    return -(alpha_t - alpha_f) * hidden_slope(V_f, k_B, phi_max)


def hidden_error_backprop(
    W_above: np.ndarray, e_above: np.ndarray, V_f: np.ndarray, k_B: float, phi_max: float
) -> np.ndarray:
    """Backprop's hidden error ``e^h = (W^{h+1})^T e^{h+1} k_B phi_max sigma'(V^{h,f})``
    (docs/model.md, "Baselines"; the comparison of paper Fig. 7A and the backprop baseline).

    ``W_above``: (n_{h+1}, n_h); ``e_above``: (n_{h+1},) or (N, n_{h+1}); ``V_f``: (n_h,) or
    (N, n_h). Returns (n_h,) or (N, n_h).
    """
    return (e_above @ W_above) * hidden_slope(V_f, k_B, phi_max)


def hidden_error_feedback_alignment(
    Y: np.ndarray, e_source: np.ndarray, V_f: np.ndarray, k_B: float, phi_max: float
) -> np.ndarray:
    """Feedback alignment's hidden error ``e^h = Y^h e^{src} k_B phi_max sigma'(V^{h,f})``
    (Lillicrap et al. 2016): the fixed random ``Y`` in place of ``(W^{h+1})^T``.

    ``Y``: (n_h, n_src); ``e_source``: the error of the output (broadcast) or of the layer
    above, (n_src,) or (N, n_src); ``V_f``: (n_h,) or (N, n_h). Returns (n_h,) or (N, n_h).
    """
    return (e_source @ Y.T) * hidden_slope(V_f, k_B, phi_max)


def weight_change(
    e: np.ndarray, s_pre: np.ndarray, eta: float, P: float
) -> tuple[np.ndarray, np.ndarray]:
    """The update of one layer, ``Delta W = -eta P e (sbar^{pre})^T``, ``Delta b = -eta P e``
    (paper eq. 10, Methods eqs. 28-29 and 34-35; ``P^L = 20 / phi_max^2``, ``P^h = 20 /
    phi_max`` by default).

    One image: ``e`` (n,), ``s_pre`` (m,) gives ``Delta W`` (n, m) and ``Delta b`` (n,).
    A batch: ``e`` (N, n), ``s_pre`` (N, m) gives the sums over the batch of the per-image
    changes (divide by N for their mean).

    ``Delta W`` comes in Fortran order (the transpose of a C-ordered (m, n) array), the layout
    of the network's ``W``, so that ``W += Delta W`` runs at memory speed.
    """
    g = -eta * P * e
    if g.ndim == 1:
        return np.outer(s_pre, g).T, g
    return (s_pre.T @ g).T, g.sum(axis=0)


def angle(a: np.ndarray, b: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """Angle in degrees between two updates seen as vectors (paper Fig. 7A).

    ``axis=None``: ``a`` and ``b`` of any equal shape, flattened, one angle (float). ``axis=-1``:
    one angle per row, e.g. per image for errors (N, n_h). NaN where either vector is zero.
    For updates ``e s^T`` that share ``s``, the angle between the updates equals the angle
    between the errors ``e``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if axis is None:
        a, b = a.ravel(), b.ravel()
    dot = np.sum(a * b, axis=axis)
    norms = np.linalg.norm(a, axis=axis) * np.linalg.norm(b, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.clip(dot / norms, -1.0, 1.0)
    out = np.degrees(np.arccos(cos))
    return float(out) if np.ndim(out) == 0 else out


def layer_errors(
    rule: str,
    e_L: np.ndarray,
    V_f: list[np.ndarray],
    alpha_f: list[np.ndarray],
    alpha_t: list[np.ndarray],
    W: list[np.ndarray],
    Y: list[np.ndarray],
    k_B: float,
    phi_max: float,
    broadcast: bool = True,
) -> list[np.ndarray]:
    """The error of every layer, hidden layers first and the output's ``e_L`` last.

    ``rule``: ``"local"`` (the paper, :func:`hidden_error_local` from the plateau potentials),
    ``"backprop"`` (:func:`hidden_error_backprop`, top-down through the current ``W``) or
    ``"feedback_alignment"`` (:func:`hidden_error_feedback_alignment` from the output's error if
    ``broadcast``, else from the layer above's). ``V_f``, ``alpha_f``, ``alpha_t``: per hidden
    layer, (n_h,) or (N, n_h); ``W``: all layers, (n_l, n_{l-1}); ``Y``: per hidden layer.
    """
    n = len(V_f)
    e = [None] * n + [e_L]
    for h in reversed(range(n)):
        if rule == "local":
            e[h] = hidden_error_local(alpha_t[h], alpha_f[h], V_f[h], k_B, phi_max)
        elif rule == "backprop":
            e[h] = hidden_error_backprop(W[h + 1], e[h + 1], V_f[h], k_B, phi_max)
        elif rule == "feedback_alignment":
            src = e_L if broadcast else e[h + 1]
            e[h] = hidden_error_feedback_alignment(Y[h], src, V_f[h], k_B, phi_max)
        else:
            raise ValueError(f"unknown hidden-layer rule {rule!r}")
    return e
