"""Reading the results of ``reproduce``: every task folder under an output folder.

A result file that cannot be read (cut short, edited, not JSON) never stops the others: it is
reported in the entry's ``problems`` (naming the file and what to do), and a history that
cannot be read is rebuilt from the task's checkpoint, which holds the history too."""

from __future__ import annotations

import json
import os
from pathlib import Path

from segdend_lite.model.checkpoint import read_checkpoint
from segdend_lite.runs.history import images_per_epoch, new_history, read_history, upgrade

#: What to do about each kind of result file that cannot be read.
ADVICE = {
    "history.json": "it is rebuilt from checkpoint.npz (the checkpoint holds the history) the "
    "next time the task runs; without a readable checkpoint, remove the task folder to train "
    "the task afresh",
    "task.json": "move it away (e.g. to task.json.corrupt) and run the command again: the "
    "checkpoint is checked against the task and a new record is started (the old record of "
    "commands, commits and wall times is lost unless you restore the file)",
    "probes.json": "restore it from a copy, or remove the task folder to train the task afresh "
    "(the probes are measured during training)",
    "checkpoint.npz": "restore it from a copy, or remove the task folder to train the task afresh",
}


class ResultFileError(ValueError):
    """A result file of a task folder cannot be read; the message names it and what to do."""


def unreadable(path: str | os.PathLike, exc: BaseException) -> ResultFileError:
    """The error for a result file ``path`` that cannot be read (``exc``: why)."""
    path = Path(path)
    if isinstance(exc, KeyError):  # a checkpoint without one of its arrays
        why = f"it has no {exc.args[0]!r}"
    else:
        why = str(exc).replace(f"{path}: ", "").replace(f"{path} ", "")
    advice = ADVICE.get(path.name, "restore it, or remove the task folder")
    return ResultFileError(f"{path} cannot be read ({why}): {advice}")


def read_task_json(path: str | os.PathLike) -> dict:
    """A task.json, or ResultFileError."""
    path = Path(path)
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise unreadable(path, exc) from None
    if not isinstance(info, dict):
        raise unreadable(path, ValueError("not a JSON object"))
    return info


def read_probes(folder: str | os.PathLike, history: dict) -> dict | None:
    """The folder's probes (any format ever written; see ``runs.history``), or None;
    ResultFileError if the file cannot be read."""
    path = Path(folder) / "probes.json"
    if not path.exists():
        return None
    try:
        return read_history(path, images_per_epoch(history))
    except (OSError, ValueError) as exc:
        raise unreadable(path, exc) from None


def history_from_checkpoint(path: str | os.PathLike) -> dict:
    """The history kept in a checkpoint (``model.checkpoint``), or ResultFileError."""
    try:
        _, meta, _ = read_checkpoint(path)
        return upgrade(meta["history"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise unreadable(path, exc) from None


def load_task_histories(folder: str | os.PathLike) -> dict:
    """Every task under an output folder of ``reproduce``, as nested dicts:
    ``result[experiment][mode][condition][seed] = {"history": ..., "task": ..., "probes": ...,
    "problems": [...]}``.

    ``history``: the network's history (``runs.history``: lists per key, one entry per epoch,
    epoch 0 = before training); ``task``: the task.json (configuration, commands, commits,
    machine, wall times; None for a folder with only a history); ``probes``: the measurements
    of fig7a / fig5s1 (a history with one entry per probe interval: ``epoch``, ``images`` and
    ``angle_to_bp`` or ``jacobian_max_eig``), else None; ``problems``: one line per result
    file that could not be read (naming it and what to do; a history that cannot be read is
    rebuilt from the checkpoint; without one the history is empty). Files in the older formats
    are read as well. Shared tasks appear under the experiment that owns them (e.g. Fig. 8's regular
    network is ``fig6b/<mode>/h1``)."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder of reproduce results")
    result: dict = {}
    names = ("history.json", "checkpoint.npz", "task.json")
    seed_dirs = sorted({p.parent for n in names for p in root.glob(f"*/*/*/seed*/{n}")})
    for seed_dir in seed_dirs:
        cond, mode, exp = (
            seed_dir.parent.name,
            seed_dir.parent.parent.name,
            seed_dir.parents[2].name,
        )
        try:
            seed = int(seed_dir.name[4:])
        except ValueError:
            continue
        entry = read_task_folder(seed_dir)
        result.setdefault(exp, {}).setdefault(mode, {}).setdefault(cond, {})[seed] = entry
    return result


def read_task_folder(folder: str | os.PathLike) -> dict:
    """One task folder as an entry of :func:`load_task_histories` (an empty history if neither
    the history nor the checkpoint can be read)."""
    folder = Path(folder)
    problems = []
    history = None
    hist, ckpt = folder / "history.json", folder / "checkpoint.npz"
    if hist.exists():
        try:
            history = read_history(hist)
        except (OSError, ValueError) as exc:
            problems.append(str(unreadable(hist, exc)))
    if history is None and ckpt.exists():
        try:
            history = history_from_checkpoint(ckpt)
            what = "cannot be read" if hist.exists() else "is missing"
            problems.append(
                f"{hist} {what}: the history was rebuilt from {ckpt.name} for this report "
                "(the next run of the task writes the file again)"
            )
        except ResultFileError as exc:
            problems.append(str(exc))
    task = None
    if (folder / "task.json").exists():
        try:
            task = read_task_json(folder / "task.json")
        except ResultFileError as exc:
            problems.append(str(exc))
    probes = None
    if history is None:
        history = new_history()
    else:
        try:
            probes = read_probes(folder, history)
        except ResultFileError as exc:
            problems.append(str(exc))
    return {"history": history, "task": task, "probes": probes, "problems": problems}


__all__ = [
    "ResultFileError",
    "history_from_checkpoint",
    "load_task_histories",
    "read_probes",
    "read_task_folder",
    "read_task_json",
    "unreadable",
]
