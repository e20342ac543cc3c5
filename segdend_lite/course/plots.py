"""Figure helpers in one house style: the Okabe-Ito colour-blind-safe palette, labelled axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

#: Okabe & Ito (2008) colour-blind-safe palette.
PALETTE = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
#: The order in which lines take colours.
CYCLE = ("blue", "vermillion", "green", "orange", "purple", "sky", "black", "yellow")

HOUSE_STYLE = {
    "axes.prop_cycle": plt.cycler(color=[PALETTE[c] for c in CYCLE]),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 100,
    "font.size": 10,
}


def use_house_style() -> None:
    """Apply the house style to every later matplotlib figure."""
    plt.rcParams.update(HOUSE_STYLE)


def show_digits(x: np.ndarray, y: np.ndarray, n: int = 10, title: str | None = None):
    """Draw the first ``n`` images of ``x`` (rows of 784 pixels) with their labels ``y``."""
    if x.ndim != 2 or x.shape[1] != 784:
        raise ValueError(f"x must have shape (N, 784), got {x.shape}")
    n = min(n, len(x))
    fig, axes = plt.subplots(1, n, figsize=(1.1 * n, 1.4), squeeze=False)
    for ax, img, label in zip(axes[0], x[:n], y[:n]):
        ax.imshow(img.reshape(28, 28), cmap="gray_r", vmin=0, vmax=255)
        ax.set_title(str(int(label)))
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_learning_curves(
    histories: dict[str, dict], ax=None, paper: dict[str, float] | None = None
):
    """Test error (%) against epoch for each labelled history: ``Network.history`` (see
    :func:`segdend_lite.model.loop.fit`) or ``MLP.history`` (:func:`segdend_lite.mlp.train`,
    fractional epochs), the one history format of the package.

    ``paper`` optionally maps labels to the paper's final error, drawn as dashed lines.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for i, (label, h) in enumerate(histories.items()):
        pts = [(e, t) for e, t in zip(h["epoch"], h["test_error"]) if t is not None]
        if not pts:
            continue
        colour = PALETTE[CYCLE[i % len(CYCLE)]]
        ax.plot(*zip(*pts), marker="o", ms=3, color=colour, label=label)
        if paper and label in paper:
            ax.axhline(paper[label], ls="--", lw=1, color=colour)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test error (%)")
    ax.set_yscale("log")
    ax.legend(frameon=False)
    return ax
