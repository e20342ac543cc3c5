"""The training loop: epochs, progress bar, history, a checkpoint after every epoch.

``fit`` trains a network for some more epochs, online (the paper) or in minibatches, with a
tqdm progress bar (a widget in a notebook, a text bar in a terminal), and appends to
``net.history`` (:data:`HISTORY_KEYS`, one entry per epoch; the same format for the textbook
network of :mod:`segdend_lite.mlp`). Every image is checked once before training, so each
update is the mode's own, without the checks of ``Network.train_step``: one image,
:func:`segdend_lite.model.rate.learn_one` or :func:`segdend_lite.model.spiking.learn_one`; a
minibatch, :func:`segdend_lite.model.rate.learn_batch`. Otherwise it uses the network's public
methods (``check_images``, ``check_labels``, ``evaluate``, ``firing_rates``, ``reset_stats``,
``stats``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np

from segdend_lite.model import divergence, rate, spiking
from segdend_lite.model.checkpoint import save_checkpoint
from segdend_lite.threads import training_threads

#: What a history records, one list per key, one entry per evaluation (per epoch for ``fit``).
HISTORY_KEYS = (
    "epoch",
    "images",
    "seconds",
    "loss",
    "train_error",
    "test_error",
    "hidden_rate_hz",
    "angle_to_bp",
)
_BLOCK = 1000  # images converted to floats at a time (keeps memory flat)


def new_history() -> dict[str, list]:
    """An empty history: one empty list per key of :data:`HISTORY_KEYS`."""
    return {k: [] for k in HISTORY_KEYS}


def record(history: dict, **entry) -> None:
    """Append one entry to ``history``; keys not given get None."""
    for k in HISTORY_KEYS:
        history[k].append(entry.get(k))


@training_threads
def fit(
    net,
    X: np.ndarray,
    y: np.ndarray,
    epochs: int = 1,
    batch_size: int = 1,
    shuffle: bool = True,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    progress: bool = True,
    checkpoint: str | os.PathLike | None = None,
    on_epoch: Callable | None = None,
) -> dict[str, list]:
    """Train ``net`` for ``epochs`` more epochs and return its history (``net.history``).

    Args:
        X, y: training images (N, 784), uint8 or pixels / 255, and labels (N,).
        batch_size: 1 = online, as in the paper; > 1 = the mean of the per-image updates of
            each minibatch (a departure from the paper).
        shuffle: reshuffle the training set at the start of every epoch (the paper does).
        X_test, y_test: if given, the test error (%) is recorded before training (epoch 0)
            and after every epoch.
        progress: show a progress bar.
        checkpoint: path of a ``.npz`` checkpoint written (atomically) after every epoch.
        on_epoch: called as ``on_epoch(net, history)`` after every epoch (e.g. to plot).

    The history holds per epoch: ``epoch``, ``images`` seen so far, ``seconds`` of training,
    mean output ``loss`` (``mean(((r^{L,t} - r^{L,f}) / phi_max)^2)``, before each update),
    ``train_error`` and ``test_error`` in percent (None where not measured); in spiking mode
    also ``hidden_rate_hz`` (mean rate of the first hidden layer) and ``angle_to_bp`` (mean
    angle, degrees, between the first hidden layer's update and backprop's for the same image).

    Every image is checked (NaN, infinity, pixel range) before training starts. Training is
    watched as it goes (:mod:`segdend_lite.model.divergence`): NaN or infinite weights, biases
    or voltages stop it with :class:`~segdend_lite.model.divergence.TrainingDiverged` ("training
    diverged at image N of epoch E ...") before that epoch's checkpoint is written; an epoch
    that gave one class for every image warns with
    :class:`~segdend_lite.model.divergence.SaturationWarning`.
    """
    if not isinstance(epochs, int | np.integer) or epochs < 0:
        raise ValueError(f"epochs={epochs!r} must be a whole number >= 0")
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a whole number >= 1")
    X = np.asarray(X)
    check_all_images(net, X, "training")
    y = net.check_labels(y, len(X))
    if (X_test is None) != (y_test is None):
        raise ValueError("give both X_test and y_test, or neither")
    if X_test is not None:
        X_test = np.asarray(X_test)
        check_all_images(net, X_test, "test")
        y_test = net.check_labels(y_test, len(X_test))
    # exp overflow in sigma(-large) correctly gives 0; NaN ("invalid") is found by the checks
    # of divergence.Watch, which stop training and say where
    with np.errstate(over="ignore", invalid="ignore"):
        return _fit(
            net, X, y, epochs, batch_size, shuffle, X_test, y_test, progress, checkpoint, on_epoch
        )


def check_all_images(net, X: np.ndarray, what: str) -> None:
    """Check every image of ``X`` (shape, NaN, infinity, pixel range) before any training, so
    that a bad image late in the set does not stop a run half-way; the error names the first
    bad image. uint8 images need only their shape checked."""
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(
            f"fit got no {what} images: pass images of shape (N, {net.n_input}) with N >= 1 "
            f"(got shape {X.shape})"
        )
    if X.dtype == np.uint8:
        net.check_images(X[:1])
        return
    for i in range(0, len(X), _BLOCK):
        block = X[i : i + _BLOCK]
        try:
            net.check_images(block)
        except ValueError as exc:
            if block.ndim == 2 and block.dtype.kind in "fiu":
                bad = ~np.isfinite(block).all(axis=1) | (block < 0).any(axis=1)
                bad |= (block > 1).any(axis=1)
                if bad.any():
                    k = i + int(np.argmax(bad))
                    raise ValueError(f"{what} image {k}: {exc}") from None
            raise ValueError(f"{what} images: {exc}") from None


def _predict(net, X_test, y_test):
    """Test predictions and the test error (%), as ``net.evaluate`` computes it."""
    predictions = net.predict(X_test)
    return predictions, float(100.0 * np.mean(predictions != y_test))


def _fit(net, X, y, epochs, batch_size, shuffle, X_test, y_test, progress, checkpoint, on_epoch):
    from tqdm.auto import tqdm

    history = net.history
    if X_test is not None and not history["epoch"]:
        record(
            history,
            epoch=0,
            images=net.images_seen,
            seconds=0.0,
            test_error=_predict(net, X_test, y_test)[1],
        )
    start = len([e for e in history["epoch"] if e > 0])
    count_by_label = np.bincount(y, minlength=net.n_out)
    for epoch in range(start + 1, start + epochs + 1):
        net.reset_stats()
        learn_one = spiking.learn_one if net.config.mode == "spiking" else rate.learn_one
        order = net.rng.permutation(len(X)) if shuffle else np.arange(len(X))
        loss = wrong = 0.0
        correct_by_label = np.zeros(net.n_out) if batch_size == 1 else None
        watch = divergence.Watch(net, epoch)
        done = 0
        t0 = time.perf_counter()
        bar = tqdm(
            total=len(X),
            desc=f"epoch {epoch}",
            unit="img",
            disable=not progress,
            leave=True,
            mininterval=0.5,
        )
        try:
            for i in range(0, len(X), _BLOCK):
                idx = order[i : i + _BLOCK]
                Xb = net.check_images(X[idx])
                yb = y[idx]
                if batch_size == 1:
                    right = np.empty(len(yb))
                    for j, (x, label) in enumerate(zip(Xb, yb.tolist())):
                        l_i, w_i = learn_one(net, x, label)
                        done += 1
                        watch.after(l_i, done)
                        loss += l_i
                        wrong += w_i
                        right[j] = 1 - w_i
                    correct_by_label += np.bincount(yb, weights=right, minlength=net.n_out)
                else:
                    for j in range(0, len(Xb), batch_size):
                        yj = yb[j : j + batch_size]
                        l_i, w_i = rate.learn_batch(net, Xb[j : j + batch_size], yj)
                        done += len(yj)
                        watch.after(l_i, done)
                        loss += l_i
                        wrong += w_i
                bar.update(len(idx))
            seconds = time.perf_counter() - t0
            watch.epoch_end(done)  # before the checkpoint: the last good one stays
        except BaseException:
            bar.close()
            raise
        rates, angles = net.firing_rates(), net.stats["angles"]
        predictions, test_error = (
            _predict(net, X_test, y_test) if X_test is not None else (None, None)
        )
        c = divergence.saturation(count_by_label, correct_by_label, predictions, y_test)
        if c is not None:
            divergence.warn_saturated(c, epoch, 100.0 * wrong / len(X), test_error)
        record(
            history,
            epoch=epoch,
            images=net.images_seen,
            seconds=seconds,
            loss=loss / len(X),
            train_error=100.0 * wrong / len(X),
            test_error=test_error,
            hidden_rate_hz=rates[0] if net.n_hidden and np.isfinite(rates[0]) else None,
            angle_to_bp=float(np.mean(angles)) if angles else None,
        )
        post = {"train err %": f"{100.0 * wrong / len(X):.2f}"}
        if test_error is not None:
            post["test err %"] = f"{test_error:.2f}"
        bar.set_postfix(post)
        bar.close()
        if checkpoint is not None:
            save_checkpoint(net, checkpoint)
        if on_epoch is not None:
            on_epoch(net, history)
    return history
