"""Checkpoint files: a ``.npz`` file without pickles, written atomically.

Format (``CHECKPOINT_VERSION`` 1): arrays ``W0``, ``W1``, ... (n_l, n_{l-1}), ``b0``, ...,
``Y0``, ...; in spiking mode the state ``state_V{l}``, ``state_psp{k}_{s,a_L,a_s,hist}``;
``config_json`` (the :class:`Config` as JSON) and ``meta_json`` (version, layer sizes, input
size, seed, images seen, the random generator's state, the history). Resuming from a checkpoint
continues exactly as an uninterrupted run with the same seed would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from segdend_lite.atomic import atomic_write
from segdend_lite.model.config import Config

CHECKPOINT_VERSION = 1


def save_checkpoint(net, path: str | os.PathLike) -> Path:
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


def read_checkpoint(path: str | os.PathLike) -> tuple[Config, dict, dict[str, np.ndarray]]:
    """The configuration, the metadata and the arrays of a checkpoint file, or a ValueError
    saying why it cannot be read."""
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
    return Config.from_json(str(files["config_json"])), meta, files


def restore(net, meta: dict, files: dict[str, np.ndarray]) -> None:
    """Put a checkpoint's weights, spiking state, random state and history into ``net`` (built
    with the checkpoint's layer sizes, configuration and seed)."""
    for name in ("W", "b", "Y"):
        for i in range(len(getattr(net, name))):
            getattr(net, name)[i] = files[f"{name}{i}"]
    if net.config.mode == "spiking":
        net.spiking.load({k[6:]: v for k, v in files.items() if k.startswith("state_")})
    net.rng.bit_generator.state = meta["rng_state"]
    net.images_seen = meta["images_seen"]
    net.history = meta["history"]
