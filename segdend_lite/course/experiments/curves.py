"""Learning curves of short runs: :func:`run_curve` trains a network for a number of images,
chunk by chunk (``segdend_lite.runs.train_chunks``, the loop ``reproduce`` uses too), and
records a curve; :func:`curves_figure` draws several.

A curve is a history (``segdend_lite.runs.history``, the format of ``Network.history``) with
one entry per chunk of training images: ``epoch`` and ``images`` (seen so far), ``seconds``
(training time of the chunk), ``train_error`` (% of the chunk's images misclassified in their
forward phase, before their update), ``loss``, ``angle_to_bp`` (mean angle, degrees, between
the first hidden layer's update and backprop's: in spiking mode over the chunk's training
images, in rate mode on the chunk's images after the chunk; None without a hidden layer),
``hidden_rate_hz`` (spiking mode) and ``test_error`` (%, where ``test_every`` says, else None).
"""

from __future__ import annotations

import numpy as np

from segdend_lite.model.network import Network
from segdend_lite.runs import angle_probe, train_chunks


def run_curve(
    net: Network,
    X: np.ndarray,
    y: np.ndarray,
    n_images: int,
    chunk: int = 1000,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    test_every: int | None = None,
    curve: dict | None = None,
    progress: bool = False,
    on_chunk=None,
) -> dict:
    """Train ``net`` online on ``n_images`` training images, ``chunk`` at a time, and record a
    learning curve (see the module docstring; ``curve``: one to continue). ``on_chunk(images)``,
    if given, is called after every chunk with the images the network has seen (for progress).

    Images are taken in a fresh random order of ``X`` (from ``net.rng``) for every pass
    through the set, like epochs. ``X`` (N, 784) uint8 or pixels / 255, ``y`` (N,) labels.
    If ``X_test``/``y_test`` are given, the test error is measured after every ``test_every``
    images (default: at the end only) and at the end.
    """
    return train_chunks(
        net,
        X,
        y,
        n_images,
        chunk=chunk,
        X_test=X_test,
        y_test=y_test,
        test_every=test_every,
        probe=_with_progress(angle_probe(), on_chunk),
        history=curve,
        progress=progress,
    )


def _with_progress(probe, on_chunk):
    if on_chunk is None:
        return probe

    def report(net, X, y, entry):
        out = probe(net, X, y, entry)
        on_chunk(entry["images"])
        return out

    return report


def last_test(curve: dict) -> tuple[int, float] | None:
    """(images, test error %) of a curve's last test, or None if it has none."""
    tests = [(n, e) for n, e in zip(curve["images"], curve["test_error"]) if e is not None]
    return tests[-1] if tests else None


def smooth(values, n: int = 5) -> np.ndarray:
    """Running mean over ``n`` consecutive entries (fewer at the start); None becomes NaN."""
    v = np.array([np.nan if x is None else x for x in values], dtype=float)
    out = np.empty_like(v)
    for i in range(len(v)):
        out[i] = (
            np.nanmean(v[max(0, i - n + 1) : i + 1])
            if np.any(np.isfinite(v[max(0, i - n + 1) : i + 1]))
            else np.nan
        )
    return out


def curves_figure(curves: dict[str, dict], key: str = "train_error", ax=None, smooth_n: int = 1):
    """Plot ``key`` against images seen for several curves (label -> curve); returns the axes.

    Stored and live curves share one axis; a label with "stored" is drawn dashed."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, c in curves.items():
        x = np.asarray(c["images"], dtype=float)
        y = smooth(c[key], smooth_n)
        ax.plot(x, y, ls="--" if "stored" in label else "-", label=label)
    ax.set_xlabel("training images seen")
    ax.set_ylabel(
        {
            "train_error": "train error (%)",
            "angle_to_bp": "angle to backprop (deg)",
            "loss": "output loss",
            "test_error": "test error (%)",
        }.get(key, key)
    )
    ax.legend(frameon=False, fontsize=8)
    return ax
