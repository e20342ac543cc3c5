"""Running one task in its folder (in a worker process): train, resume or skip.

A folder holds ``checkpoint.npz`` (the network after its last finished epoch), ``history.json``
(one entry per epoch, ``runs.history``), ``task.json`` (identity, status, one record per
invocation) and, for probed conditions, ``probes.json`` (one entry per ``probe_every`` images,
the same format). A folder made with another configuration is refused (``TaskConflict``)."""

from __future__ import annotations

import json
import os
import time
import traceback
from pathlib import Path

from segdend_lite.data import source_name
from segdend_lite.model.divergence import TrainingDiverged
from segdend_lite.model.network import Network
from segdend_lite.model.training import load_checkpoint
from segdend_lite.reproduce.provenance import code_version, load_average, machine, now
from segdend_lite.reproduce.results import ResultFileError, read_task_json, unreadable
from segdend_lite.reproduce.tasks import Task, TaskConflict
from segdend_lite.reproduce.train import epochs_done, train_plain, train_probed
from segdend_lite.runs.history import read_history
from segdend_lite.runs.history import write_json as _write_json


def _task_header(task) -> dict:
    """The fields that name a task in its ``task.json``."""
    return {
        "task": task.key,
        "experiment": task.experiment,
        "condition": task.condition,
        "seed": task.seed,
        "mode": task.mode,
        "identity": task.identity(),
        "setting": task.setting(),
    }


def load_data(task: Task):
    from segdend_lite.data import load_data as load_source

    data = load_source(task.data, verbose=False)
    x, y, xt, yt = data.x_train, data.y_train, data.x_test, data.y_test
    for name, n, have in (
        ("train_images", task.train_images, len(x)),
        ("test_images", task.test_images, len(xt)),
    ):
        if n is not None and n > have:
            raise ValueError(f"{name}={n} but the data ({data.source}) has only {have}")
    if task.train_images:
        x, y = x[: task.train_images], y[: task.train_images]
    if task.test_images:
        xt, yt = xt[: task.test_images], yt[: task.test_images]
    return x, y, xt, yt, data.source


def _check_folder(task: Task) -> tuple[Network | None, dict | None]:
    """The network to resume (None: start afresh) and the folder's task.json (None: none).
    Raises TaskConflict if the folder's results were made with another configuration, and
    ResultFileError if its task.json or checkpoint cannot be read."""
    folder = Path(task.folder)
    ckpt = folder / "checkpoint.npz"
    info_path = folder / "task.json"
    info = read_task_json(info_path) if info_path.exists() else None
    ident = task.identity()
    if info is not None and info.get("identity") != ident:
        old = info.get("identity") or {}
        diff = sorted(k for k in set(old) | set(ident) if old.get(k) != ident.get(k))
        detail = "; ".join(f"{k}: folder {old.get(k)!r}, task {ident.get(k)!r}" for k in diff)
        if "config" in diff:
            cdiff = {
                k: ((old.get("config") or {}).get(k), ident["config"].get(k))
                for k in ident["config"]
                if (old.get("config") or {}).get(k) != ident["config"].get(k)
            }
            detail = "; ".join(
                [f"config.{k}: folder {a!r}, task {b!r}" for k, (a, b) in cdiff.items()]
                + [
                    f"{k}: folder {old.get(k)!r}, task {ident.get(k)!r}"
                    for k in diff
                    if k != "config"
                ]
            )
        raise TaskConflict(
            f"{folder} holds task {task.key} made with a different configuration ({detail}). "
            "Use another --out, or remove the folder to start it afresh."
        )
    if not ckpt.exists():
        return None, info
    try:
        net = load_checkpoint(ckpt)
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise unreadable(ckpt, exc) from None
    mine = task.config()
    problems = []
    if net.config != mine:
        a, b = json.loads(net.config.to_json()), json.loads(mine.to_json())
        problems += [
            f"config.{k}: checkpoint {a.get(k)!r}, task {b[k]!r}" for k in b if a.get(k) != b[k]
        ]
    if list(net.layer_sizes) != ident["layer_sizes"]:
        problems.append(
            f"layer sizes: checkpoint {list(net.layer_sizes)}, task {ident['layer_sizes']}"
        )
    if net.seed != task.seed:
        problems.append(f"seed: checkpoint {net.seed}, task {task.seed}")
    if problems:
        raise TaskConflict(
            f"{ckpt} was made with a different configuration than task {task.key} "
            f"({'; '.join(problems)}). Use another --out, or move the folder away."
        )
    return net, info


def _sync_history(folder: Path, history: dict) -> str | None:
    """Rewrite ``history.json`` from the checkpoint's history if it is missing, cannot be read
    or has fewer epochs (a crash after the checkpoint was written); say so, else None."""
    path = folder / "history.json"
    try:
        have = epochs_done(read_history(path)) if path.exists() else None
        why = "was missing" if have is None else None
    except (OSError, ValueError):
        have, why = None, "could not be read"
    if have is not None and have >= epochs_done(history):
        return None
    why = why or f"had {have} of the checkpoint's {epochs_done(history)} epochs"
    _write_json(path, history)
    return f"{path} {why}: rewritten from checkpoint.npz"


def _previous_run_ended(task: Task, info: dict, done: int) -> str:
    """Mark the last run of a task.json that still says "running" (its process ended without
    recording it: killed, or the machine stopped) and say so."""
    run = info["runs"][-1] if info.get("runs") else {}
    run["ended"] = "without a record: the process stopped (killed?) before it could write one"
    who = f"process {run.get('pid', '?')} on {run.get('host', '?')}, started {run.get('started')}"
    info["status"] = f"stopped without a record after {done} epochs"
    return f"{task.key}: its last run ({who}) ended without a record; resuming after {done} epochs"


def _saved(folder: Path, run: dict) -> str:
    if not (folder / "checkpoint.npz").exists():
        return "no epoch was saved"
    return f"checkpoint.npz keeps epoch {run.get('to_epoch') or run.get('from_epoch')}"


def run_task(task: Task) -> dict:
    """Train (or resume, or skip) one task in its folder; return a small summary (with
    ``notes``: what was found and repaired in the folder)."""
    code_version()
    t_start = time.perf_counter()
    folder = Path(task.folder)
    net, info = _check_folder(task)
    notes = []
    done = epochs_done(net.history) if net is not None else 0
    if info is not None and info.get("status") == "running":
        notes.append(_previous_run_ended(task, info, done))
    if net is not None:
        note = _sync_history(folder, net.history)
        if note:
            notes.append(note)
    if net is not None and done >= task.epochs:
        if info is not None and info.get("status") != "finished":
            info["status"] = "finished"
            info["final_test_error"] = net.history["test_error"][-1]
            _write_json(folder / "task.json", info)
        return _summary(task, net.history, "skipped (finished before)", 0.0, notes)
    adopted = net is not None and info is None
    x, y, xt, yt, source = load_data(task)
    if net is None:
        net = Network(task.hidden + (10,), task.config(), seed=task.seed)
    folder.mkdir(parents=True, exist_ok=True)
    if info is None:
        info = {**_task_header(task), "runs": []}
        if adopted:
            info["adopted"] = (
                "The first epochs were trained outside this command (a checkpoint found in "
                "the folder); its configuration, layer sizes and seed were checked, its data "
                "and test set size were not recorded by that run."
            )
    info.setdefault("setting", task.setting())
    info["status"] = "running"
    info["epochs_requested"] = task.epochs
    info["data_source"] = source_name(source)  # no local folders in stored files
    run = {
        "command": task.command,
        **code_version(),
        **machine(),
        "pid": os.getpid(),
        "started": now(),
        "load_average_at_start": load_average(),
        "from_epoch": done,
        "to_epoch": None,
        "finished": None,
        "wall_seconds": None,
        "epoch_wall_seconds": [],
    }
    info["runs"].append(run)
    _write_json(folder / "task.json", info)
    todo = task.epochs - done
    try:
        if task.probe:
            train_probed(task, net, x, y, xt, yt, todo, run, info)
        else:
            train_plain(task, net, x, y, xt, yt, todo, run, info)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            info["status"] = f"interrupted ({_saved(folder, run)}): run again to resume"
        else:
            info["status"] = f"failed: {type(exc).__name__}: {exc} ({_saved(folder, run)})"
        run["finished"] = now()
        _write_json(folder / "task.json", info)
        if isinstance(exc, (TrainingDiverged, FloatingPointError)):
            raise TrainingDiverged(f"{exc} ({_saved(folder, run)})") from exc
        raise
    wall = time.perf_counter() - t_start
    run.update(
        finished=now(),
        load_average_at_end=load_average(),
        to_epoch=epochs_done(net.history),
        wall_seconds=round(wall, 2),
    )
    info["status"] = "finished"
    info["final_test_error"] = net.history["test_error"][-1]
    _write_json(folder / "task.json", info)
    return _summary(task, net.history, "finished", wall, notes)


def mark_ended(task: Task, status: str) -> bool:
    """Give a task whose task.json still says "running" the status ``status`` (its worker
    died or was stopped); True if it did."""
    path = Path(task.folder) / "task.json"
    try:
        info = read_task_json(path)
    except ResultFileError:
        return False
    if info.get("status") != "running":
        return False
    run = info["runs"][-1] if info.get("runs") else {}
    if run.get("finished") is None:
        run["finished"] = now()
        run["ended"] = status
    info["status"] = status
    _write_json(path, info)
    return True


def adopt(source: str | os.PathLike, task: Task, command: str = "", commit: str | None = None):
    """Copy a run made outside this command (``python -m segdend_lite train``: a folder with
    ``checkpoint.npz`` and ``history.json``) into ``task``'s folder, after checking that its
    configuration, layer sizes and seed are the task's; running the task then resumes it.
    ``command`` and ``commit``: how the run was made, recorded in task.json."""
    import shutil

    source = Path(source)
    folder = Path(task.folder)
    if not (source / "checkpoint.npz").exists():
        raise FileNotFoundError(f"{source} has no checkpoint.npz to adopt")
    if (folder / "checkpoint.npz").exists() or (folder / "task.json").exists():
        raise TaskConflict(f"{folder} already holds a task; remove it first to adopt {source}")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".adopting.npz"
    shutil.copyfile(source / "checkpoint.npz", tmp)  # copy first: the source may be running
    try:
        os.replace(tmp, folder / "checkpoint.npz")
        net, _ = _check_folder(task)
    except BaseException:
        (folder / "checkpoint.npz").unlink(missing_ok=True)
        raise
    _write_json(folder / "history.json", net.history)
    done = epochs_done(net.history)
    info = {
        **_task_header(task),
        "status": f"adopted after {done} epochs",
        "epochs_requested": task.epochs,
        "adopted": (
            f"Copied from {source} on {now()}: configuration, layer sizes and seed checked; "
            "the data and test set size were not recorded by that run (its command says)."
        ),
        "runs": [
            {
                "command": command,
                "commit": commit,
                "started": None,
                "finished": None,
                "from_epoch": 0,
                "to_epoch": done,
                "wall_seconds": None,
                "epoch_wall_seconds": [],
                **{k: v for k, v in machine().items() if k in ("host", "processor")},
            }
        ],
        "final_test_error": net.history["test_error"][-1] if done else None,
    }
    _write_json(folder / "task.json", info)
    return folder


def _summary(task: Task, history: dict, status: str, wall: float, notes=()) -> dict:
    return {
        "task": task.key,
        "status": status,
        "notes": list(notes),
        "epochs": epochs_done(history),
        "final_test_error": history["test_error"][-1] if history["test_error"] else None,
        "wall_seconds": wall,
        "history": history,
    }


def run_task_safe(task: Task) -> dict:
    """``run_task`` that returns an error summary instead of raising (for the workers)."""
    try:
        return run_task(task)
    except Exception as exc:  # report every failure to the parent, never lose the others
        return {
            "task": task.key,
            "status": "failed",
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
