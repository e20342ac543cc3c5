"""Notebook 07's widget: a layer's 2-D embedding with one digit highlighted, and a hidden
unit's receptive field beside its best-matching backprop field."""

from __future__ import annotations

import numpy as np


def embedding_figure(
    Z: np.ndarray, y: np.ndarray, digit: int | None = None, title: str = "", ax=None
):
    """A 2-D embedding ``Z`` (N, 2) coloured by digit ``y`` (N,); with ``digit`` set, that
    digit's points in colour and the rest in grey. Returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    cmap = plt.get_cmap("tab10")
    if digit is None:
        ax.scatter(Z[:, 0], Z[:, 1], c=cmap(np.asarray(y) % 10), s=3, lw=0)
        for d in np.unique(y):  # the digit at each cluster's median
            cx, cy = np.median(Z[y == d], axis=0)
            ax.text(cx, cy, str(d), fontsize=11, weight="bold", ha="center", va="center")
    else:
        mine = np.asarray(y) == digit
        ax.scatter(Z[~mine, 0], Z[~mine, 1], c="0.85", s=3, lw=0)
        ax.scatter(Z[mine, 0], Z[mine, 1], c=[cmap(digit % 10)], s=4, lw=0, label=str(digit))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[:].set_visible(False)  # t-SNE's axes have no units: no frame
    ax.set_title(title, fontsize=9)
    return ax


def field_pair_figure(F: np.ndarray, G: np.ndarray, unit: int, r: np.ndarray | None = None):
    """Receptive field ``unit`` of ``F`` (n, 28, 28) beside its best-correlated field of ``G``
    (m, 28, 28) (Pearson r over all pixels unless ``r``, the full correlation matrix (n, m),
    is given). Returns the figure."""
    import matplotlib.pyplot as plt

    if r is None:
        Fz = F.reshape(len(F), -1)[unit]
        Gz = G.reshape(len(G), -1)
        Fz = (Fz - Fz.mean()) / np.linalg.norm(Fz - Fz.mean())
        Gz = Gz - Gz.mean(axis=1, keepdims=True)
        row = Gz @ Fz / np.linalg.norm(Gz, axis=1)
    else:
        row = r[unit]
    best = int(np.argmax(row))
    fig, axes = plt.subplots(1, 2, figsize=(5, 2.6))
    for ax, img, title in zip(
        axes, (F[unit], G[best]), (f"local rule, unit {unit}", f"backprop, unit {best}")
    ):
        lim = np.percentile(np.abs(img - np.median(img)), 99)
        ax.imshow(img - np.median(img), cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    fig.suptitle(f"best Pearson r = {row[best]:.2f}", fontsize=9)
    fig.tight_layout()
    return fig


def representation_widget(
    embeddings: dict[str, np.ndarray],
    y: np.ndarray,
    F: np.ndarray,
    G: np.ndarray,
    r: np.ndarray | None = None,
):
    """Pick a layer and a digit (its points in the embedding), or a hidden unit (its receptive
    field beside the best-matching backprop field). ``embeddings``: layer name -> (N, 2)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    layer = w.Dropdown(options=list(embeddings), description="layer")
    # "all" is -1, not None: a Dropdown whose value is None shows blank until it is used
    digit = w.Dropdown(
        options=[("all", -1)] + [(str(d), d) for d in range(10)], value=-1, description="digit"
    )
    unit = w.IntSlider(
        value=0, min=0, max=len(F) - 1, description="hidden unit", continuous_update=False
    )

    def draw_embedding(layer, digit):
        embedding_figure(embeddings[layer], y, None if digit < 0 else digit, title=layer)
        plt.show()

    def draw_field(unit):
        field_pair_figure(F, G, unit, r)
        plt.show()

    return w.VBox(
        [
            w.HTML("<b>Receptive field</b> of one hidden unit beside its best backprop match"),
            _interactive(draw_field, unit=unit),
            w.HTML("<b>Embedding</b> of one layer, one digit highlighted"),
            _interactive(draw_embedding, layer=layer, digit=digit),
        ]
    )


def _interactive(draw, **controls):
    import ipywidgets as w

    out = w.interactive_output(draw, controls)
    return w.VBox([w.HBox(list(controls.values())), out])
