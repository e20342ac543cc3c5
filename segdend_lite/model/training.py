"""Training: ``fit`` (the loop, :mod:`segdend_lite.model.loop`) and checkpoints
(:mod:`segdend_lite.model.checkpoint`), with :func:`load_checkpoint` to rebuild a network.

Training that diverges (NaN or infinite weights, biases or voltages) raises
:class:`TrainingDiverged` (a ``RuntimeError``), in ``fit`` before that epoch's checkpoint is
written; an epoch after which the network gives one class for every image warns with
:class:`SaturationWarning` (:mod:`segdend_lite.model.divergence`)."""

from __future__ import annotations

import os

from segdend_lite.model.checkpoint import CHECKPOINT_VERSION, read_checkpoint, restore
from segdend_lite.model.checkpoint import save_checkpoint
from segdend_lite.model.divergence import SaturationWarning, TrainingDiverged
from segdend_lite.model.loop import HISTORY_KEYS, fit
from segdend_lite.model.network import Network

__all__ = [
    "CHECKPOINT_VERSION",
    "HISTORY_KEYS",
    "SaturationWarning",
    "TrainingDiverged",
    "fit",
    "load_checkpoint",
    "save_checkpoint",
]


def load_checkpoint(path: str | os.PathLike) -> Network:
    """Rebuild the network saved by :func:`save_checkpoint`, ready to resume training."""
    config, meta, files = read_checkpoint(path)
    try:
        net = Network(meta["layer_sizes"], config, seed=meta["seed"], n_input=meta["n_input"])
        restore(net, meta, files)
    except ValueError as exc:
        raise ValueError(f"{path} cannot be restored: {exc}") from exc
    return net
