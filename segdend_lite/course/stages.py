"""Notebook 05's explorer: pick a training stage and a digit, see Theorem 1's condition, the
correlation of the hidden and output losses and the angles to backprop for those images.

:func:`snapshot` freezes a copy of a network during training; :func:`stage_measures` is the
plain, tested computation; :func:`stage_figure` draws it; :func:`stage_explorer_widget` puts
dropdowns on top.
"""

from __future__ import annotations

import numpy as np

from segdend_lite import analysis
from segdend_lite.model.network import Network


def snapshot(net: Network) -> Network:
    """A copy of ``net`` (weights, biases, feedback weights, images seen) that later training
    of ``net`` does not change. Rate or spiking mode; the spiking state is not copied."""
    copy = Network(net.layer_sizes, net.config, seed=net.seed, n_input=net.n_input)
    for name in ("W", "b", "Y"):
        for i, a in enumerate(getattr(net, name)):
            getattr(copy, name)[i] = a
    copy.images_seen = net.images_seen
    return copy


def stage_measures(net: Network, X: np.ndarray, y, digit: int | None = None, seed: int = 0):
    """Theorem 1's condition, the L^0-L^1 correlation and the angles to backprop of a rate-mode
    network with one or more hidden layers (the last one for Theorem 1, the first one for the
    angles and losses), on the images of ``X`` (N, 784) showing ``digit`` (None: all).

    Returns a dict: ``n`` images used; ``condition`` (product of mean Jacobians, the paper)
    and ``condition_code`` (mean of products, the authors' code); ``L0``, ``L1`` per image;
    ``r`` their Pearson correlation and ``r_shuffled`` with ``L0`` shuffled among the images
    (seeded by ``seed``); ``angles`` per image (degrees).
    """
    X = np.asarray(X)
    y = np.asarray(y)
    idx = np.arange(len(y)) if digit is None else np.flatnonzero(y == digit)
    if len(idx) < 2:
        raise ValueError(f"need at least 2 images of digit {digit}; got {len(idx)}")
    Xd, yd = X[idx], y[idx]
    L0, L1 = analysis.layer_losses(net, Xd, yd)
    shuffled = np.random.default_rng(seed).permutation(L0)
    return {
        "n": len(idx),
        "condition": analysis.jacobian_condition(net, Xd, product_of_means=True),
        "condition_code": analysis.jacobian_condition(net, Xd, product_of_means=False),
        "L0": L0,
        "L1": L1,
        "r": analysis.pearson_r(L0, L1),
        "r_shuffled": analysis.pearson_r(shuffled, L1),
        "angles": analysis.angle_to_backprop(net, Xd, yd),
    }


def stage_figure(m: dict, title: str = ""):
    """Two panels from :func:`stage_measures`: ``L^0`` against ``L^1`` per image (with ``r``)
    and the histogram of angles to backprop; the condition in the title."""
    import matplotlib.pyplot as plt

    from segdend_lite.course.plots import PALETTE

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax1.scatter(m["L1"], m["L0"], s=6, alpha=0.5, color=PALETTE["blue"])
    ax1.set_xlabel("output loss $L^1$ ((spikes/ms)$^2$)")
    ax1.set_ylabel("hidden loss $L^0$")
    ax1.set_title(f"r = {m['r']:.2f} (shuffled: {m['r_shuffled']:.2f})", fontsize=10)
    angles = m["angles"][np.isfinite(m["angles"])]
    ax2.hist(angles, bins=30, range=(0, 180), color=PALETTE["vermillion"], alpha=0.8)
    ax2.axvline(90, ls=":", color="grey")
    ax2.set_xlabel("angle to backprop (deg)")
    ax2.set_ylabel("images")
    ax2.set_title(f"mean {np.mean(angles):.0f} deg" if len(angles) else "", fontsize=10)
    cond = f"Theorem 1: max eig = {m['condition']:.3f} (mean of products {m['condition_code']:.3f})"
    fig.suptitle(f"{title}   {cond}" if title else cond, fontsize=10)
    fig.tight_layout()
    return fig


def stage_explorer_widget(snapshots: dict[str, Network], X: np.ndarray, y):
    """Dropdowns for the stage (a key of ``snapshots``) and the digit (or all digits)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    stage = w.Dropdown(options=list(snapshots), description="stage")
    digit = w.Dropdown(
        options=[("all", None)] + [(str(d), d) for d in range(10)], description="digit"
    )

    def show(stage, digit):
        net = snapshots[stage]
        m = stage_measures(net, X, y, digit)
        stage_figure(
            m, f"{stage}, {'all digits' if digit is None else f'digit {digit}'}, {m['n']} images"
        )
        plt.show()

    return w.interactive(show, stage=stage, digit=digit)
