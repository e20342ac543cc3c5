"""Training: ``fit`` (the loop, :mod:`segdend_lite.model.loop`) and checkpoints
(:mod:`segdend_lite.model.checkpoint`), with :func:`load_checkpoint` to rebuild a network."""

from __future__ import annotations

import os

from segdend_lite.model.checkpoint import CHECKPOINT_VERSION, read_checkpoint, restore
from segdend_lite.model.checkpoint import save_checkpoint
from segdend_lite.model.loop import HISTORY_KEYS, fit
from segdend_lite.model.network import Network

__all__ = ["CHECKPOINT_VERSION", "HISTORY_KEYS", "fit", "load_checkpoint", "save_checkpoint"]


def load_checkpoint(path: str | os.PathLike) -> Network:
    """Rebuild the network saved by :func:`save_checkpoint`, ready to resume training."""
    config, meta, files = read_checkpoint(path)
    net = Network(meta["layer_sizes"], config, seed=meta["seed"], n_input=meta["n_input"])
    restore(net, meta, files)
    return net
