"""Training loops, history and checkpoints.

``fit`` trains a :class:`~segdend_lite.model.network.Network` for some more epochs, online (the
paper) or in minibatches, with a tqdm progress bar (a widget in a notebook, a text bar in a terminal),
and appends to ``net.history``. A checkpoint is a ``.npz`` file without pickles: the arrays, the
configuration as JSON, the random generator's state and the history; it is written atomically.
Resuming from a checkpoint continues exactly as an uninterrupted run with the same seed would.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from segdend_lite.atomic import atomic_write
from segdend_lite.model.config import Config
from segdend_lite.model.network import HISTORY_KEYS, Network
from segdend_lite.model.threads import spiking_threads

CHECKPOINT_VERSION = 1
_BLOCK = 1000  # images converted to floats at a time (keeps memory flat)


def _record(history: dict, **entry) -> None:
    for k in HISTORY_KEYS:
        history[k].append(entry.get(k))


@spiking_threads
def fit(
    net: Network,
    X: np.ndarray,
    y: np.ndarray,
    epochs: int = 1,
    batch_size: int = 1,
    shuffle: bool = True,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    progress: bool = True,
    checkpoint: str | os.PathLike | None = None,
    on_epoch: Callable[[Network, dict], None] | None = None,
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
    """
    if not isinstance(epochs, int | np.integer) or epochs < 0:
        raise ValueError(f"epochs={epochs!r} must be a whole number >= 0")
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a whole number >= 1")
    X = np.asarray(X)
    net._check_images(X[:1])
    y = net._check_labels(y, len(X))
    if (X_test is None) != (y_test is None):
        raise ValueError("give both X_test and y_test, or neither")
    with np.errstate(over="ignore"):  # exp overflow in sigma(-large) correctly gives 0
        return _fit(
            net, X, y, epochs, batch_size, shuffle, X_test, y_test, progress, checkpoint, on_epoch
        )


def _fit(net, X, y, epochs, batch_size, shuffle, X_test, y_test, progress, checkpoint, on_epoch):
    from tqdm.auto import tqdm

    history = net.history
    if X_test is not None and not history["epoch"]:
        _record(
            history,
            epoch=0,
            images=net.images_seen,
            seconds=0.0,
            test_error=net.evaluate(X_test, y_test),
        )
    start = len([e for e in history["epoch"] if e > 0])
    for epoch in range(start + 1, start + epochs + 1):
        net.reset_stats()
        order = net.rng.permutation(len(X)) if shuffle else np.arange(len(X))
        loss = wrong = 0.0
        t0 = time.perf_counter()
        bar = tqdm(
            total=len(X),
            desc=f"epoch {epoch}",
            unit="img",
            disable=not progress,
            leave=True,
            mininterval=0.5,
        )
        for i in range(0, len(X), _BLOCK):
            idx = order[i : i + _BLOCK]
            Xb = net._check_images(X[idx])
            yb = y[idx]
            if batch_size == 1:
                for x, label in zip(Xb, yb.tolist()):
                    l_i, w_i = net._online_step(x, label)
                    loss += l_i
                    wrong += w_i
            else:
                for j in range(0, len(Xb), batch_size):
                    l_i, w_i = net._batch_step(Xb[j : j + batch_size], yb[j : j + batch_size])
                    loss += l_i
                    wrong += w_i
            bar.update(len(idx))
        seconds = time.perf_counter() - t0
        rates, angles = net.firing_rates(), net._stats["angles"]
        if not np.all(np.isfinite(net.b[-1])):
            bar.close()
            raise FloatingPointError(
                f"epoch {epoch}: the weights became NaN or infinite; lower the learning rates"
            )
        test_error = net.evaluate(X_test, y_test) if X_test is not None else None
        _record(
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


# --------------------------------------------------------------------------------------------
# Checkpoints


def save_checkpoint(net: Network, path: str | os.PathLike) -> Path:
    """Write ``net`` (weights, configuration, random state, history) to ``path`` atomically."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"checkpoint path {path} must end in .npz")
    arrays = {}
    for name in ("W", "b", "Y"):
        for i, a in enumerate(getattr(net, name)):
            arrays[f"{name}{i}"] = np.ascontiguousarray(a)
    meta = {
        "version": CHECKPOINT_VERSION,
        "layer_sizes": list(net.layer_sizes),
        "n_input": net.n_input,
        "seed": net.seed,
        "images_seen": net.images_seen,
        "rng_state": net.rng.bit_generator.state,
        "history": net.history,
    }
    if net.config.mode == "spiking":
        arrays.update({f"state_{k}": v for k, v in net.spiking.arrays().items()})
    arrays["config_json"] = np.array(net.config.to_json())
    arrays["meta_json"] = np.array(json.dumps(meta))
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def load_checkpoint(path: str | os.PathLike) -> Network:
    """Rebuild the network saved by :func:`save_checkpoint`, ready to resume training."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            files = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ValueError(f"{path} is not a readable segdend_lite checkpoint ({exc})") from exc
    if "meta_json" not in files or "config_json" not in files:
        raise ValueError(f"{path} is an .npz file but not a segdend_lite checkpoint")
    meta = json.loads(str(files["meta_json"]))
    if meta.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: checkpoint version {meta.get('version')} is not supported")
    config = Config.from_json(str(files["config_json"]))
    net = Network(meta["layer_sizes"], config, seed=meta["seed"], n_input=meta["n_input"])
    for name in ("W", "b", "Y"):
        for i in range(len(getattr(net, name))):
            getattr(net, name)[i] = files[f"{name}{i}"]
    if config.mode == "spiking":
        net.spiking.load({k[6:]: v for k, v in files.items() if k.startswith("state_")})
    net.rng.bit_generator.state = meta["rng_state"]
    net.images_seen = meta["images_seen"]
    net.history = meta["history"]
    return net
