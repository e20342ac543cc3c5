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
_META_KEYS = ("layer_sizes", "n_input", "seed", "images_seen", "rng_state", "history")


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
    try:
        meta = json.loads(str(files["meta_json"]))
        config = Config.from_json(str(files["config_json"]))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: its configuration or metadata cannot be read ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("version") != CHECKPOINT_VERSION:
        version = meta.get("version") if isinstance(meta, dict) else None
        raise ValueError(f"{path}: checkpoint version {version} is not supported")
    missing = [k for k in _META_KEYS if k not in meta]
    sizes = meta.get("layer_sizes")
    if missing or not isinstance(sizes, list) or not sizes:
        raise ValueError(f"{path}: the checkpoint's metadata lacks {missing or ['layer_sizes']}")
    n_hidden = len(sizes) - 1
    arrays = [f"{n}{i}" for n in "Wb" for i in range(len(sizes))]
    arrays += [f"Y{h}" for h in range(n_hidden)]
    lacking = [k for k in arrays if k not in files]
    if config.mode == "spiking" and not any(k.startswith("state_") for k in files):
        lacking.append("state_* (the spiking state)")
    if lacking:
        raise ValueError(
            f"{path} lacks {', '.join(lacking)}: it is incomplete or not a checkpoint of this "
            "network; use another checkpoint or start afresh"
        )
    return config, meta, files


def restore(net, meta: dict, files: dict[str, np.ndarray]) -> None:
    """Put a checkpoint's weights, spiking state, random state and history into ``net`` (built
    with the checkpoint's layer sizes, configuration and seed). A missing or malformed array
    raises ValueError naming it."""
    try:
        for name in ("W", "b", "Y"):
            for i in range(len(getattr(net, name))):
                getattr(net, name)[i] = files[f"{name}{i}"]
        if net.config.mode == "spiking":
            net.spiking.load({k[6:]: v for k, v in files.items() if k.startswith("state_")})
    except KeyError as exc:
        raise ValueError(f"the checkpoint lacks the array {exc.args[0]}") from None
    net.rng.bit_generator.state = meta["rng_state"]
    net.images_seen = meta["images_seen"]
    net.history = meta["history"]
