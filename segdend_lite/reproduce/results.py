"""Reading the results of ``reproduce``: every task folder under an output folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

from segdend_lite.reproduce.train import read_probes
from segdend_lite.runs.history import read_history


def load_task_histories(folder: str | os.PathLike) -> dict:
    """Every task under an output folder of ``reproduce``, as nested dicts:
    ``result[experiment][mode][condition][seed] = {"history": ..., "task": ..., "probes": ...}``.

    ``history``: the network's history (``runs.history``: lists per key, one entry per epoch,
    epoch 0 = before training); ``task``: the task.json (configuration, commands, commits,
    machine, wall times; None for a folder with only a history); ``probes``: the measurements
    of fig7a / fig5s1 (a history with one entry per probe interval: ``epoch``, ``images`` and
    ``angle_to_bp`` or ``jacobian_max_eig``), else None. Files in the older formats are read
    as well. Shared tasks appear under the experiment that owns them (e.g. Fig. 8's regular
    network is ``fig6b/<mode>/h1``)."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder of reproduce results")
    result: dict = {}
    for hist in sorted(root.glob("*/*/*/seed*/history.json")):
        seed_dir = hist.parent
        cond, mode, exp = (
            seed_dir.parent.name,
            seed_dir.parent.parent.name,
            seed_dir.parents[2].name,
        )
        try:
            seed = int(seed_dir.name[4:])
        except ValueError:
            continue
        history = read_history(hist)
        entry = {"history": history, "task": None, "probes": read_probes(seed_dir, history)}
        if (seed_dir / "task.json").exists():
            entry["task"] = json.loads((seed_dir / "task.json").read_text())
        result.setdefault(exp, {}).setdefault(mode, {}).setdefault(cond, {})[seed] = entry
    return result
