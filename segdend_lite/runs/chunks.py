"""The one training loop with probes: online training in chunks, one history entry per chunk.

Used by the course (``course.experiments.run_curve``, notebooks 07-08), by ``reproduce`` (the
Fig. 7A and Fig. 5-S1 tasks, a measurement every ``probe_every`` images) and by the stored-run
maker (``scripts/course_runs.py``). The course's dashboard (notebook 06) measures with the same
probe (:func:`angle_to_backprop`) while the notebook runs its own loop.

Every call starts a new pass through the training set: a fresh order from ``net.rng`` (as
``fit`` draws one per epoch), cut into chunks of ``chunk`` images (the last chunk of a pass may
be shorter), each trained with ``fit(..., shuffle=False)``. So one call over ``len(X)`` images
leaves the network exactly as one epoch of ``fit`` does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from segdend_lite import analysis
from segdend_lite.model.loop import HISTORY_KEYS, fit
from segdend_lite.runs.history import add_entry, new_history

Probe = Callable[[object, np.ndarray, np.ndarray, dict], dict]


def angle_to_backprop(net, X: np.ndarray, y: np.ndarray) -> float | None:
    """Mean angle (degrees) between the first hidden layer's local update and backprop's on
    the images ``X`` (rate-mode closed form, ``analysis.angle_to_backprop``); None
    without a hidden layer or where no update is made."""
    if not net.n_hidden:
        return None
    angles = analysis.angle_to_backprop(net, X, y)
    return float(np.nanmean(angles)) if np.any(np.isfinite(angles)) else None


def angle_probe(last: int | None = None) -> Probe:
    """``angle_to_bp`` of a chunk: in spiking mode the mean of the per-image angles of the
    updates made (the network's own statistic, already in the entry); in rate mode
    :func:`angle_to_backprop` after the chunk on its images (``last``: its last images only)."""

    def probe(net, X, y, entry):
        if net.config.mode == "spiking":
            return {"angle_to_bp": entry.get("angle_to_bp")}
        xs, ys = (X, y) if last is None else (X[-last:], y[-last:])
        return {"angle_to_bp": angle_to_backprop(net, xs, ys)}

    return probe


def jacobian_probe(last: int = 100) -> Probe:
    """``jacobian_max_eig``: Theorem 1's condition (``analysis.jacobian_condition``) on
    the chunk's last ``last`` images."""

    def probe(net, X, y, entry):
        return {"jacobian_max_eig": analysis.jacobian_condition(net, X[-last:])}

    return probe


def train_chunks(
    net,
    X: np.ndarray,
    y: np.ndarray,
    n_images: int,
    chunk: int = 1000,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    test_every: int | None = None,
    probe: Probe | None = None,
    history: dict | None = None,
    progress: bool = False,
) -> dict:
    """Train ``net`` online on ``n_images`` images, ``chunk`` at a time; append one entry per
    chunk to ``history`` (a new one if None) and return it.

    Entries (``runs.history``): ``epoch`` (images seen / ``len(X)``), ``images``
    (``net.images_seen``), ``seconds`` of training, the chunk's ``loss`` and ``train_error``,
    ``hidden_rate_hz`` and ``angle_to_bp`` (spiking mode), what ``probe(net, X_chunk,
    y_chunk, entry)`` returns, and ``test_error`` on ``X_test`` after every ``test_every``
    images (default: at the end only) and at the end. ``net.history`` (per epoch) is left as
    it was. ``X`` (N, 784) uint8 or pixels / 255, ``y`` (N,) labels.
    """
    if n_images < 1 or chunk < 1:
        raise ValueError(f"n_images={n_images} and chunk={chunk} must be >= 1")
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y) or len(X) == 0:
        raise ValueError(f"{len(X)} images but {len(y)} labels")
    history = history if history is not None else new_history()
    base = net.history
    order = np.empty(0, dtype=np.int64)
    done = 0
    while done < n_images:
        if len(order) == 0:
            order = net.rng.permutation(len(X))
        n = min(chunk, n_images - done, len(order))
        idx, order = order[:n], order[n:]
        net.history = {k: [] for k in HISTORY_KEYS}
        try:
            h = fit(net, X[idx], y[idx], epochs=1, shuffle=False, progress=progress)
        finally:
            net.history = base
        entry = {k: h[k][-1] for k in HISTORY_KEYS}
        entry.update(epoch=net.images_seen / len(X), images=net.images_seen)
        if probe is not None:
            entry.update(probe(net, X[idx], y[idx], entry))
        done += n
        due = test_every is not None and done % test_every < n
        if X_test is not None and (due or done == n_images):
            entry["test_error"] = net.evaluate(X_test, y_test)
        add_entry(history, **entry)
    return history


def merge_chunks(history: dict, start: int, images_before: int, epoch: int) -> dict:
    """Entry ``epoch`` of a per-epoch history from the chunk entries ``history[...][start:]``
    (the network had seen ``images_before`` images before them): ``seconds`` summed, ``loss``,
    ``train_error``, ``hidden_rate_hz`` and ``angle_to_bp`` averaged weighted by the chunks'
    images (None if a chunk has None), ``images`` of the last chunk."""
    images = history["images"][start:]
    n = np.diff([images_before] + images).astype(np.float64)

    def mean(key):
        vals = history[key][start:]
        if any(v is None for v in vals):
            return None
        return float(np.sum(n * np.array(vals, dtype=np.float64)) / n.sum())

    return {
        "epoch": epoch,
        "images": images[-1],
        "seconds": float(sum(history["seconds"][start:])),
        "loss": mean("loss"),
        "train_error": mean("train_error"),
        "hidden_rate_hz": mean("hidden_rate_hz"),
        "angle_to_bp": mean("angle_to_bp"),
    }
