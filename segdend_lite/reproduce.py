"""Reproduce the paper's experiments with one command, resumable, on a laptop or a Dask cluster.

``python -m segdend_lite reproduce fig6b --mode rate --epochs 60`` trains every (condition,
seed) of the experiment as one *task*. Each task has its own folder::

    OUT/<experiment>/<mode>/<condition>/seed<k>/
        checkpoint.npz   the network after its last finished epoch (``save_checkpoint``)
        history.json     test error etc. per epoch (``fit``'s history; epoch 0 = before training)
        task.json        identity (configuration, data), status, and one record per invocation
                         (command, commit, host, start/end, wall time per epoch)
        probes.json      fig7a / fig5s1 only: a measurement every ``probe_every`` images

Running the command again skips finished tasks and resumes unfinished ones from their
checkpoint; the result equals an uninterrupted run (weights and history, except wall times).
A folder whose checkpoint or task.json was made with another configuration is refused.

Tasks run in local worker processes (one per usable CPU, one BLAS thread each), on a Dask
``LocalCluster`` (``scheduler="local"``) or on an existing Dask cluster
(``scheduler="tcp://HOST:PORT"``; the output folder must then be shared storage). Workers send
back small results; ``write_report`` writes ``OUT/REPORT.md`` and the figures from the folders.

Notebooks read the results with :func:`load_task_histories`.

This module is tooling around the model: it uses only the model's public API (``Config``,
``Network``, ``model.training.fit``/``save_checkpoint``/``load_checkpoint``,
``model.analysis``, ``data.load_mnist``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import functools
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from segdend_lite.atomic import atomic_write_bytes
from segdend_lite.data import source_name
from segdend_lite.model import analysis
from segdend_lite.model.config import Config
from segdend_lite.model.loop import HISTORY_KEYS
from segdend_lite.model.network import Network
from segdend_lite.model.threads import usable_cpus
from segdend_lite.model.training import fit, load_checkpoint, save_checkpoint

# --------------------------------------------------------------------------------------------
# The experiments (docs/model.md, "The paper's results")


@dataclass(frozen=True)
class Condition:
    """One training configuration of an experiment.

    ``options``: ``Config`` fields set for this condition; ``owner``: another experiment whose
    task this condition shares (e.g. Fig. 8's regular network is Fig. 6B's one-hidden-layer
    network; it is trained once); ``epochs``: the paper's epoch count if it differs from the
    experiment's; ``fixed_epochs``: a measurement defined over these epochs only (not changed
    by ``--epochs``); ``probe``: ``"angle"`` or ``"jacobian"``, measured every ``probe_every``
    images; ``modes``: the modes in which the condition means something.
    """

    name: str
    label: str
    hidden: tuple[int, ...]
    options: tuple[tuple[str, object], ...] = ()
    owner: str | None = None
    epochs: int | None = None
    fixed_epochs: int | None = None
    probe: str | None = None
    modes: tuple[str, ...] = ("rate", "spiking")


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    epochs: int
    conditions: tuple[Condition, ...]
    note: str = ""


_H1 = (500,)
_H2 = (500, 100)

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment(
            "fig6b",
            "Fig. 6B: test error for 0, 1 and 2 hidden layers",
            60,
            (
                Condition("h0", "no hidden layer (784-10)", ()),
                Condition("h1", "one hidden layer (784-500-10)", _H1),
                Condition("h2", "two hidden layers (784-500-100-10)", _H2),
            ),
        ),
        Experiment(
            "fig7a",
            "Fig. 7A: angle between the local update of the hidden layer and backprop's",
            10,
            (
                Condition(
                    "spiking-feedback",
                    "spiking feedback",
                    _H1,
                    (("spiking_feedback", True),),
                    probe="angle",
                    modes=("spiking",),
                ),
                Condition(
                    "rate-feedback",
                    "rate feedback",
                    _H1,
                    (("spiking_feedback", False),),
                    probe="angle",
                ),
            ),
            note=(
                "In rate mode nothing spikes: the feedback is the output rates (as in the "
                "paper's rate-feedback condition) and the hidden and output activities are "
                "noise-free as well, so only the rate-feedback condition exists; the angle is "
                "the mean over the last 100 training images of each probe interval of the "
                "angle between the update the current weights would make and backprop's. In "
                "spiking mode it is the mean of the per-image angles of the updates actually "
                "made during the interval (the network's own statistic)."
            ),
        ),
        Experiment(
            "fig8",
            "Fig. 8: sparse and symmetric feedback, one hidden layer",
            60,
            (
                Condition("regular", "random feedback", _H1, owner="fig6b"),
                Condition(
                    "sparse", "sparse feedback (80 % zero, x5)", _H1, (("sparse_feedback", 0.8),)
                ),
                Condition(
                    "sparse-no-gain",
                    "sparse feedback without x5 (Fig. 8-S1)",
                    _H1,
                    (("sparse_feedback", 0.8), ("sparse_gain", 1.0)),
                    epochs=20,
                ),
                Condition("symmetric", "symmetric feedback", _H1, (("symmetric_feedback", True),)),
                Condition(
                    "symmetric-noise",
                    "symmetric feedback + N(0, 0.05)",
                    _H1,
                    (("symmetric_feedback", True), ("symmetric_noise", 0.05)),
                ),
            ),
        ),
        Experiment(
            "fig9",
            "Fig. 9: apical coupling g_A, two hidden layers",
            60,
            (
                Condition("gA0", "g_A = 0", _H2, owner="fig6b"),
                Condition("gA0.05", "g_A = 0.05", _H2, (("g_A", 0.05),)),
                Condition("gA0.6", "g_A = 0.6", _H2, (("g_A", 0.6),)),
            ),
            note="In rate mode g_A enters only through k_B = g_B / (g_L + g_B + g_A).",
        ),
        Experiment(
            "fig6s1",
            "Fig. 6-S1: random plateau times, one hidden layer",
            60,
            (
                Condition("synchronous", "synchronous plateaus", _H1, owner="fig6b"),
                Condition(
                    "random-plateaus",
                    "random plateau times",
                    _H1,
                    (("random_plateau_times", True),),
                    modes=("spiking",),
                ),
            ),
            note="Rate mode has no time and so no plateau times: run it with --mode spiking.",
        ),
        Experiment(
            "fig5s1",
            "Fig. 5-S1: Theorem 1's Jacobian condition during the first epoch",
            1,
            (Condition("h1", "one hidden layer", _H1, fixed_epochs=1, probe="jacobian"),),
            note=(
                "Largest eigenvalue of (I - J_beta J_gamma)^T (I - J_beta J_gamma), Jacobians "
                "averaged over the last 100 training images of each probe interval "
                "(model.analysis.jacobian_condition, the paper's product of means)."
            ),
        ),
    )
}
ALL = tuple(EXPERIMENTS)


# --------------------------------------------------------------------------------------------
# Tasks


class TaskConflict(ValueError):
    """A task folder holds results made with another configuration."""


@dataclass(frozen=True)
class Task:
    """One training run: plain data, so it can be sent to a worker process or a Dask worker."""

    experiment: str
    condition: str
    seed: int
    mode: str
    hidden: tuple[int, ...]
    options: dict = field(default_factory=dict)
    epochs: int = 60
    folder: str = ""
    data: str = "auto"
    train_images: int | None = None
    test_images: int | None = None
    probe: str | None = None
    probe_every: int = 1000
    command: str = ""

    @property
    def key(self) -> str:
        return f"{self.experiment}/{self.mode}/{self.condition}/seed{self.seed}"

    def config(self) -> Config:
        return Config(mode=self.mode, **self.options)

    def identity(self) -> dict:
        """What must match for a folder's results to continue this task."""
        return {
            "layer_sizes": list(self.hidden) + [10],
            "seed": self.seed,
            "config": json.loads(self.config().to_json()),
            "data": self.data,
            "train_images": self.train_images,
            "test_images": self.test_images,
            "probe": self.probe,
            "probe_every": self.probe_every if self.probe else None,
        }


def task_folder(out: str | os.PathLike, experiment: str, mode: str, condition: str, seed: int):
    return Path(out) / experiment / mode / condition / f"seed{seed}"


def make_tasks(
    experiments: Iterable[str],
    out: str | os.PathLike,
    mode: str = "spiking",
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int | None = None,
    data: str = "auto",
    train_images: int | None = None,
    test_images: int | None = None,
    probe_every: int = 1000,
    options: dict | None = None,
    command: str = "",
) -> tuple[list[Task], list[str]]:
    """The tasks of ``experiments`` (names or ``"all"``), each shared task once, and notes on
    conditions that do not exist in ``mode``. ``epochs`` None = the paper's count per
    condition; ``options``: ``Config`` fields set for every task (e.g. ``{"init":
    "authors_code"}`` to test a hypothesis; use another ``out``)."""
    experiments = list(experiments)
    only = _selected_conditions(experiments)
    names = _experiment_names([e.partition("/")[0] for e in experiments])
    if mode not in ("rate", "spiking"):
        raise ValueError(f"mode={mode!r}: choose 'rate' or 'spiking'")
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds) or any(int(s) != s or s < 0 for s in seeds):
        raise ValueError(f"seeds={seeds!r}: give distinct whole numbers >= 0")
    for name, value in (("epochs", epochs), ("train_images", train_images)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"{name}={value!r} must be a whole number >= 1")
    if test_images is not None and (not isinstance(test_images, int) or test_images < 1):
        raise ValueError(f"test_images={test_images!r} must be a whole number >= 1")
    if not isinstance(probe_every, int) or probe_every < 100:
        raise ValueError(f"probe_every={probe_every!r} must be a whole number >= 100")
    options = dict(options or {})
    Config(mode=mode, **options)  # a bad option fails here, before anything runs
    for name in names:
        for cond in EXPERIMENTS[name].conditions:
            clash = sorted(set(options) & set(dict(cond.options)))
            if clash:
                raise ValueError(
                    f"option(s) {clash} are what {name}/{cond.name} varies; do not set them"
                )
    tasks: dict[str, Task] = {}
    notes = []
    for name in names:
        exp = EXPERIMENTS[name]
        for cond in exp.conditions:
            if name in only and cond.name not in only[name]:
                continue
            if mode not in cond.modes:
                notes.append(f"{name}/{cond.name}: not run in {mode} mode. {exp.note}".strip())
                continue
            owner, cname = _cond_location(exp, cond)
            n_epochs = cond.fixed_epochs or epochs or cond.epochs or exp.epochs
            for seed in seeds:
                folder = task_folder(out, owner, mode, cname, seed)
                task = Task(
                    experiment=owner,
                    condition=cname,
                    seed=int(seed),
                    mode=mode,
                    hidden=tuple(cond.hidden),
                    options={**dict(cond.options), **options},
                    epochs=n_epochs,
                    folder=str(folder),
                    data=data,
                    train_images=train_images,
                    test_images=test_images,
                    probe=cond.probe,
                    probe_every=probe_every,
                    command=command,
                )
                old = tasks.get(task.key)
                if old is None or old.epochs < task.epochs:
                    tasks[task.key] = task
    return list(tasks.values()), notes


def _owned(cond: Condition) -> str:
    """The owner experiment's condition name for a shared condition."""
    for c in EXPERIMENTS[cond.owner].conditions:
        if c.hidden == cond.hidden and c.options == cond.options and not c.probe:
            return c.name
    raise AssertionError(f"{cond.name}: no matching condition in {cond.owner}")


def _selected_conditions(experiments: Sequence[str]) -> dict[str, set[str]]:
    """The conditions named as ``EXPERIMENT/CONDITION`` (e.g. ``fig6b/h1``), per experiment;
    an experiment named alone as well runs all its conditions."""
    only: dict[str, set[str]] = {}
    whole = {e for e in experiments if "/" not in e}
    for e in experiments:
        name, _, cond = e.partition("/")
        if not cond:
            continue
        if name not in EXPERIMENTS:
            raise ValueError(f"unknown experiment {name!r}: choose from {', '.join(ALL)} or all")
        known = [c.name for c in EXPERIMENTS[name].conditions]
        if cond not in known:
            raise ValueError(f"{e!r}: {name} has the conditions {', '.join(known)}")
        if name not in whole and "all" not in whole:
            only.setdefault(name, set()).add(cond)
    return only


def _experiment_names(experiments: Iterable[str]) -> list[str]:
    names: list[str] = []
    for e in experiments:
        for n in ALL if e == "all" else (e,):
            if n not in EXPERIMENTS:
                raise ValueError(f"unknown experiment {n!r}: choose from {', '.join(ALL)} or all")
            if n not in names:
                names.append(n)
    if not names:
        raise ValueError(f"name at least one experiment: {', '.join(ALL)} or all")
    return names


# --------------------------------------------------------------------------------------------
# Running one task (in a worker)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _read_json(path: Path):
    with open(path) as f:
        return json.load(f)


def _task_header(task) -> dict:
    """The fields that name a task in its ``task.json``."""
    return {
        "task": task.key,
        "experiment": task.experiment,
        "condition": task.condition,
        "seed": task.seed,
        "mode": task.mode,
        "identity": task.identity(),
    }


def _write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1) + "\n").encode())


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """The package version and, in a git checkout, the commit (and whether it was modified),
    read once per process: the code a worker loaded, even if the checkout moves on later."""
    from segdend_lite import __version__

    info = {"version": __version__, "commit": None, "modified": None}
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if commit.returncode == 0:
            info["commit"] = commit.stdout.strip()
            status = subprocess.run(
                ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            info["modified"] = bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def machine() -> dict:
    """Where a task ran."""
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "usable_cpus": usable_cpus(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
    }


def _load_average() -> list[float] | None:
    """The machine's 1, 5 and 15-minute load averages (other work slows a task down)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _load_data(task: Task):
    from segdend_lite.data import load_idx_folder, load_mnist

    if task.data in ("auto", "small", "cache", "download", "offline"):
        data = load_mnist(task.data, verbose=False)
    else:
        data = load_idx_folder(task.data)
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
    Raises TaskConflict if the folder's results were made with another configuration."""
    folder = Path(task.folder)
    ckpt = folder / "checkpoint.npz"
    info_path = folder / "task.json"
    info = _read_json(info_path) if info_path.exists() else None
    ident = task.identity()
    if info is not None and info.get("identity") != ident:
        old = info.get("identity") or {}
        diff = sorted(k for k in set(old) | set(ident) if old.get(k) != ident.get(k))
        detail = "; ".join(f"{k}: folder {old.get(k)!r}, task {ident.get(k)!r}" for k in diff)
        if "config" in diff:
            cdiff = {
                k: (old.get("config", {}).get(k), ident["config"].get(k))
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
    net = load_checkpoint(ckpt)
    mine = task.config()
    problems = []
    if net.config != mine:
        a, b = json.loads(net.config.to_json()), json.loads(mine.to_json())
        problems += [
            f"config.{k}: checkpoint {a[k]!r}, task {b[k]!r}" for k in b if a.get(k) != b[k]
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


def _epochs_done(history: dict) -> int:
    return len([e for e in history.get("epoch", []) if e and e > 0])


def run_task(task: Task) -> dict:
    """Train (or resume, or skip) one task in its folder; return a small summary."""
    code_version()
    t_start = time.perf_counter()
    folder = Path(task.folder)
    net, info = _check_folder(task)
    if net is not None and _epochs_done(net.history) >= task.epochs:
        return _summary(task, net.history, "skipped (finished before)", 0.0)
    adopted = net is not None and info is None
    x, y, xt, yt, source = _load_data(task)
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
    info["status"] = "running"
    info["epochs_requested"] = task.epochs
    info["data_source"] = source_name(source)  # no local folders in stored files
    run = {
        "command": task.command,
        **code_version(),
        **machine(),
        "started": _now(),
        "load_average_at_start": _load_average(),
        "from_epoch": _epochs_done(net.history),
        "to_epoch": None,
        "finished": None,
        "wall_seconds": None,
        "epoch_wall_seconds": [],
    }
    info["runs"].append(run)
    _write_json(folder / "task.json", info)
    todo = task.epochs - _epochs_done(net.history)
    try:
        if task.probe:
            _train_with_probes(task, net, x, y, xt, yt, todo, run, info)
        else:
            _train_plain(task, net, x, y, xt, yt, todo, run, info)
    except BaseException as exc:
        info["status"] = f"failed: {type(exc).__name__}: {exc}"
        run["finished"] = _now()
        _write_json(folder / "task.json", info)
        raise
    wall = time.perf_counter() - t_start
    run.update(
        finished=_now(),
        load_average_at_end=_load_average(),
        to_epoch=_epochs_done(net.history),
        wall_seconds=round(wall, 2),
    )
    info["status"] = "finished"
    info["final_test_error"] = net.history["test_error"][-1]
    _write_json(folder / "task.json", info)
    return _summary(task, net.history, "finished", wall)


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
    done = _epochs_done(net.history)
    info = {
        **_task_header(task),
        "status": f"adopted after {done} epochs",
        "epochs_requested": task.epochs,
        "adopted": (
            f"Copied from {source} on {_now()}: configuration, layer sizes and seed checked; "
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


def _summary(task: Task, history: dict, status: str, wall: float) -> dict:
    return {
        "task": task.key,
        "status": status,
        "epochs": _epochs_done(history),
        "final_test_error": history["test_error"][-1] if history["test_error"] else None,
        "wall_seconds": wall,
        "history": history,
    }


def _epoch_done(task: Task, net: Network, run: dict, info: dict, t_last: list) -> None:
    now = time.perf_counter()
    run["epoch_wall_seconds"].append(round(now - t_last[0], 2))
    t_last[0] = now
    run["to_epoch"] = _epochs_done(net.history)
    folder = Path(task.folder)
    _write_json(folder / "history.json", net.history)
    _write_json(folder / "task.json", info)


def _train_plain(task, net, x, y, xt, yt, todo, run, info) -> None:
    t_last = [time.perf_counter()]
    if not net.history["epoch"]:  # fit records the test error before training first
        run["initial_test"] = True
    fit(
        net,
        x,
        y,
        epochs=todo,
        X_test=xt,
        y_test=yt,
        progress=False,
        checkpoint=Path(task.folder) / "checkpoint.npz",
        on_epoch=lambda n, h: _epoch_done(task, n, run, info, t_last),
    )


def _train_with_probes(task, net, x, y, xt, yt, todo, run, info) -> None:
    """Epochs trained in chunks of ``probe_every`` images with a measurement after each.

    The chunks are the epoch's images in the order ``fit`` would use (one permutation drawn
    from ``net.rng`` per epoch, then ``fit(..., shuffle=False)`` per chunk), so the weights are
    those of an uninterrupted ``fit``; the chunk entries of the history are then merged into one
    entry per epoch."""
    folder = Path(task.folder)
    probes_path = folder / "probes.json"
    done = _epochs_done(net.history)
    probes = [
        p for p in (_read_json(probes_path) if probes_path.exists() else []) if p["epoch"] <= done
    ]
    t_last = [time.perf_counter()]
    if not net.history["epoch"]:
        net.history = {k: [] for k in HISTORY_KEYS}
        entry = dict.fromkeys(HISTORY_KEYS)
        entry.update(epoch=0, images=net.images_seen, seconds=0.0, test_error=net.evaluate(xt, yt))
        for k in HISTORY_KEYS:
            net.history[k].append(entry[k])
        probes.append(_probe(task, net, x[-100:], y[-100:], epoch=0, chunk=None))
    for epoch in range(done + 1, done + todo + 1):
        base = {k: list(v) for k, v in net.history.items()}
        order = net.rng.permutation(len(x))
        chunks = []
        for i in range(0, len(x), task.probe_every):
            idx = order[i : i + task.probe_every]
            fit(net, x[idx], y[idx], epochs=1, shuffle=False, progress=False)
            chunk = {k: net.history[k][-1] for k in HISTORY_KEYS}
            chunk["n"] = len(idx)
            chunks.append(chunk)
            last = idx[-100:]
            probes.append(_probe(task, net, x[last], y[last], epoch=epoch, chunk=chunk))
        net.history = base
        n = np.array([c["n"] for c in chunks], dtype=np.float64)

        def mean(key, chunks=chunks, n=n):
            vals = [c[key] for c in chunks]
            if any(v is None for v in vals):
                return None
            return float(np.sum(n * np.array(vals, dtype=np.float64)) / n.sum())

        entry = {
            "epoch": epoch,
            "images": net.images_seen,
            "seconds": float(sum(c["seconds"] for c in chunks)),
            "loss": mean("loss"),
            "train_error": mean("train_error"),
            "test_error": net.evaluate(xt, yt),
            "hidden_rate_hz": mean("hidden_rate_hz"),
            "angle_to_bp": mean("angle_to_bp"),
        }
        for k in HISTORY_KEYS:
            net.history[k].append(entry[k])
        save_checkpoint(net, folder / "checkpoint.npz")
        _write_json(probes_path, probes)
        _epoch_done(task, net, run, info, t_last)


def _probe(task: Task, net: Network, xs, ys, epoch: int, chunk: dict | None) -> dict:
    out = {"epoch": epoch, "images": net.images_seen}
    if task.probe == "jacobian":
        out["jacobian_max_eig"] = analysis.jacobian_condition(net, xs)
    elif task.probe == "angle":
        if task.mode == "rate":
            angles = analysis.angle_to_backprop(net, xs, ys)
            out["angle_deg"] = float(np.nanmean(angles)) if np.any(np.isfinite(angles)) else None
        else:
            out["angle_deg"] = chunk["angle_to_bp"] if chunk else None
    return out


def _run_task_safe(task: Task) -> dict:
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


# --------------------------------------------------------------------------------------------
# Where tasks run

_BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _one_blas_thread_env():
    """Set the BLAS thread variables to 1 while worker processes are started: a spawned
    worker inherits them before it imports numpy (the parent's own BLAS is already loaded
    and unaffected)."""
    saved = {k: os.environ.get(k) for k in _BLAS_VARS}
    os.environ.update(dict.fromkeys(_BLAS_VARS, "1"))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _worker_init() -> None:
    """Runs in each worker process. Ctrl-C ends the worker at once (its last finished epoch is
    safe on disk; the parent then cancels the tasks not started), and BLAS is limited to one
    thread also where the environment variables came too late (threadpoolctl)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    code_version()  # the commit of the code this worker has loaded
    threadpool_limits(1)


class _Pool:
    """The same small interface over a process pool and a Dask client."""

    def __init__(self, scheduler: str, workers: int | None):
        self.scheduler = scheduler
        self._stack = contextlib.ExitStack()
        if scheduler == "processes":
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.workers = workers or usable_cpus()
            self._stack.enter_context(_one_blas_thread_env())
            self._pool = self._stack.enter_context(
                ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_worker_init,
                )
            )
            self.where = f"{self.workers} local worker process" + "es" * (self.workers > 1)
            return
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise RuntimeError(
                f"--scheduler {scheduler} needs dask.distributed, which is not installed ({exc}). "
                "Install the optional extra: pip install 'segdend-lite[cluster]' "
                "(or pip install 'dask[distributed]'), or use --scheduler processes."
            ) from None
        if scheduler == "local":
            self.workers = workers or usable_cpus()
            with _one_blas_thread_env():
                cluster = self._stack.enter_context(
                    LocalCluster(
                        n_workers=self.workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                    )
                )
                self._client = self._stack.enter_context(Client(cluster))
            self.where = f"a Dask LocalCluster of {self.workers} worker processes"
        elif scheduler.startswith(("tcp://", "tls://")):
            try:
                self._client = self._stack.enter_context(Client(scheduler, timeout="30s"))
            except OSError as exc:
                raise RuntimeError(
                    f"could not reach a Dask scheduler at {scheduler} ({exc}). Start one "
                    "(`dask scheduler`, then `dask worker ADDRESS` on each machine) or check "
                    "the address; --scheduler local starts a cluster on this machine."
                ) from None
            n = len(self._client.scheduler_info().get("workers", {}))
            self.workers = n or 1
            self.where = f"the Dask cluster at {scheduler} ({n} workers when it started)"
        else:
            raise ValueError(f"--scheduler {scheduler!r}: use processes, local or tcp://HOST:PORT")

    def submit(self, task: Task):
        if self.scheduler == "processes":
            return self._pool.submit(_run_task_safe, task)
        return self._client.submit(_run_task_safe, task, pure=False, key=f"segdend-{task.key}")

    def close(self, cancel: bool = False) -> None:
        """Shut down; ``cancel``: drop the tasks not yet started (after an interruption)."""
        if cancel and self.scheduler == "processes":
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._stack.close()


def run_tasks(
    tasks: Sequence[Task],
    scheduler: str = "processes",
    workers: int | None = None,
    progress: bool = True,
    log=print,
) -> list[dict]:
    """Run ``tasks`` where ``scheduler`` says and return their summaries (in task order).

    A failing task is reported (``status`` "failed", ``error``, ``traceback``) and the others
    go on. Progress: one line with epochs done, tasks done / running / left / failed."""
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers={workers!r} must be a whole number >= 1")
    tasks = list(tasks)
    if not tasks:
        return []
    pool = _Pool(
        scheduler,
        workers if scheduler != "processes" else min(workers or usable_cpus(), len(tasks)),
    )
    log(f"running {len(tasks)} tasks on {pool.where}")
    results: dict[int, dict] = {}
    t0 = time.perf_counter()
    interrupted = True
    try:
        futures = {pool.submit(t): i for i, t in enumerate(tasks)}
        bar = _Progress(tasks, pool.workers, enabled=progress, log=log)
        pending = set(futures)
        while pending:
            for f in [f for f in pending if f.done()]:
                pending.discard(f)
                i = futures[f]
                try:
                    res = f.result()
                except BaseException as exc:  # a worker died (killed, out of memory ...)
                    res = {
                        "task": tasks[i].key,
                        "status": "failed",
                        "error": f"{type(exc).__name__}: {exc}",
                        "traceback": "".join(traceback.format_exception(exc)),
                    }
                results[i] = res
                bar.clear()
                if res["status"] == "failed":
                    log(f"FAILED {res['task']}: {res['error']}")
                else:
                    err = res.get("final_test_error")
                    err = f"{err:.2f} %" if err is not None else "n/a"
                    log(
                        f"{res['status']:>9} {res['task']}: {res['epochs']} epochs, test error "
                        f"{err}, {res['wall_seconds']:.0f} s"
                    )
            bar.update(results, len(pending))
            if pending:
                time.sleep(0.5)
        bar.close()
        interrupted = False
    finally:
        pool.close(cancel=interrupted)
    failed = sum(r["status"] == "failed" for r in results.values())
    log(
        f"{len(tasks) - failed} of {len(tasks)} tasks done, {failed} failed, "
        f"{time.perf_counter() - t0:.0f} s"
    )
    return [results[i] for i in range(len(tasks))]


class _Progress:
    """Epochs trained so far (read from the task folders) and tasks done / running / left /
    failed: a bar in a terminal, else (a log file, a batch job) a line when epochs were added,
    at most every 30 s."""

    def __init__(self, tasks: Sequence[Task], workers: int, enabled: bool, log=print):
        self.tasks, self.workers, self.log = tasks, workers, log
        self.total = sum(t.epochs for t in tasks)
        self._last_poll = 0.0
        self._last_line = (-1, 0.0)
        self._bar = None
        self._lines = enabled and not sys.stderr.isatty()
        if enabled and not self._lines:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, unit="epoch", desc="reproduce", mininterval=1.0)

    def _epochs(self) -> int:
        n = 0
        for t in self.tasks:
            p = Path(t.folder) / "history.json"
            try:
                n += min(t.epochs, _epochs_done(_read_json(p)))
            except (OSError, ValueError):
                pass
        return n

    def update(self, results: dict, pending: int) -> None:
        if not (self._bar or self._lines):
            return
        if time.perf_counter() - self._last_poll < 2.0 and pending:
            return
        self._last_poll = time.perf_counter()
        failed = sum(r["status"] == "failed" for r in results.values())
        running = min(self.workers, pending)
        status = (
            f"tasks: {len(results) - failed} done, {running} running, "
            f"{pending - running} left, {failed} failed"
        )
        epochs = self._epochs()
        if self._bar is not None:
            self._bar.n = epochs
            self._bar.set_postfix_str(status)
            self._bar.refresh()
        elif epochs != self._last_line[0] and time.perf_counter() - self._last_line[1] >= 30:
            self._last_line = (epochs, time.perf_counter())
            self.log(f"{_now()}  epochs {epochs}/{self.total}  {status}")

    def clear(self) -> None:
        if self._bar is not None:
            self._bar.clear()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# --------------------------------------------------------------------------------------------
# Reading results


def load_task_histories(folder: str | os.PathLike) -> dict:
    """Every task under an output folder of ``reproduce``, as nested dicts:
    ``result[experiment][mode][condition][seed] = {"history": ..., "task": ..., "probes": ...}``.

    ``history``: the network's history (lists per key, one entry per epoch, epoch 0 = before
    training; see ``model.training.fit``); ``task``: the task.json (configuration, commands,
    commits, machine, wall times; None for a folder with only a history); ``probes``: the
    measurements of fig7a / fig5s1 (a list of dicts with ``epoch``, ``images`` and
    ``angle_deg`` or ``jacobian_max_eig``), else None. Shared tasks appear under the experiment
    that owns them (e.g. Fig. 8's regular network is ``fig6b/<mode>/h1``)."""
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
        entry = {"history": _read_json(hist), "task": None, "probes": None}
        if (seed_dir / "task.json").exists():
            entry["task"] = _read_json(seed_dir / "task.json")
        if (seed_dir / "probes.json").exists():
            entry["probes"] = _read_json(seed_dir / "probes.json")
        result.setdefault(exp, {}).setdefault(mode, {}).setdefault(cond, {})[seed] = entry
    return result


def _cond_location(exp: Experiment, cond: Condition) -> tuple[str, str]:
    return (cond.owner, _owned(cond)) if cond.owner else (exp.name, cond.name)


# --------------------------------------------------------------------------------------------
# The report

#: The paper's final test errors (%) and the acceptance bands (docs/model.md, "The paper's
#: results").
PAPER_ERRORS = {
    ("fig6b", "h0"): (8.3, 0.5),
    ("fig6b", "h1"): (4.1, 0.4),
    ("fig6b", "h2"): (3.2, 0.4),
    ("fig8", "regular"): (4.1, 0.4),
    ("fig8", "sparse"): (3.7, 0.4),
    ("fig8", "symmetric"): (3.6, 0.4),
    ("fig9", "gA0"): (3.2, 0.4),
}


def _final(entries: dict) -> dict:
    """Per seed: final test error and epochs done."""
    out = {}
    for seed, e in sorted(entries.items()):
        h = e["history"]
        if _epochs_done(h):
            out[seed] = (h["test_error"][-1], _epochs_done(h))
    return out


def _fmt_stats(vals: list[float]) -> str:
    if not vals:
        return "—"
    if len(vals) == 1:
        return f"{vals[0]:.2f}"
    return f"{np.mean(vals):.2f} (range {min(vals):.2f}–{max(vals):.2f}, n={len(vals)})"


def write_report(
    out: str | os.PathLike,
    experiments: Iterable[str] = ALL,
    modes: Sequence[str] = ("rate", "spiking"),
    command: str | None = None,
    results: Sequence[dict] = (),
    notes: Sequence[str] = (),
) -> Path:
    """Write ``OUT/REPORT.md`` and ``OUT/figures/*.png`` from the task folders under ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    out = Path(out)
    data = load_task_histories(out) if out.is_dir() else {}
    names = _experiment_names(experiments)
    lines = [
        "# Reproduction report",
        "",
        f"Written {_now()} by `segdend_lite.reproduce` from the task folders under `{out}`.",
        "Test error = % of the test images misclassified after the last finished epoch "
        "(one test pass per epoch; the paper's error bars are 20 test passes of one run, "
        "ours are the range over training seeds).",
        "",
    ]
    if command:
        lines += ["Command of this invocation:", "", "```", command, "```", ""]
    m = machine()
    ver = code_version()
    lines += [
        f"Machine: {m['host']}, {m['processor']}, {m['usable_cpus']} usable CPUs, "
        f"{m['platform']}, Python {m['python']}, numpy {m['numpy']}.  ",
        f"Code: segdend_lite {ver['version']}, commit {ver['commit'] or 'unknown'}"
        + (" (with local modifications)" if ver["modified"] else "")
        + ".",
        "",
    ]
    failed = [r for r in results if r.get("status") == "failed"]
    if failed:
        lines += ["## Failed tasks of this invocation", ""]
        lines += [f"- `{r['task']}`: {r['error']}" for r in failed]
        lines.append("")
    if notes:
        lines += ["## Not run", ""] + [f"- {n}" for n in notes] + [""]
    fig_dir = out / "figures"
    timing_rows = []
    for name in names:
        exp = EXPERIMENTS[name]
        for mode in modes:
            conds = {}
            for cond in exp.conditions:
                oe, oc = _cond_location(exp, cond)
                entries = data.get(oe, {}).get(mode, {}).get(oc, {})
                if entries:
                    conds[cond.name] = (cond, entries, f"{oe}/{mode}/{oc}")
            if not conds:
                continue
            lines += [f"## {exp.title} — {mode} mode", ""]
            if exp.note:
                lines += [exp.note, ""]
            lines += _result_table(exp, conds)
            lines += _checks(exp, conds)
            png = _figure(exp, mode, conds, fig_dir)
            if png is not None:
                lines += ["", f"![{exp.title}, {mode} mode]({png.relative_to(out).as_posix()})", ""]
            for cond, entries, where in conds.values():
                for seed, e in sorted(entries.items()):
                    timing_rows.append((f"{where}/seed{seed}", e))
    lines += ["## Tasks: time and provenance", ""]
    lines += [
        "Training s/epoch from the history; wall s = all invocations of the task, per epoch "
        "training + test on the test images + checkpoint; test s/epoch = wall - training.",
        "",
        "| task | epochs | training s/epoch | wall s | test s/epoch | commit | command |",
        "|---|---|---|---|---|---|---|",
    ]
    seen, commands = set(), []
    for where, e in timing_rows:
        if where in seen:
            continue
        seen.add(where)
        h, t = e["history"], e["task"] or {}
        train = [s for ep, s in zip(h["epoch"], h["seconds"]) if ep and s is not None]
        runs = t.get("runs", [])
        walls = [w for r in runs for w in r.get("epoch_wall_seconds", [])]
        tests = [w - s for w, s in zip(walls, train[-len(walls) :])] if walls else []
        commits = sorted({(r.get("commit") or "?")[:10] for r in runs}) or ["?"]
        refs = []
        for c in sorted({r.get("command") or "" for r in runs} - {""}):
            if c not in commands:
                commands.append(c)
            refs.append(f"[{commands.index(c) + 1}]")
        lines.append(
            f"| {where} | {_epochs_done(h)} | {np.mean(train) if train else float('nan'):.1f} | "
            f"{f'{sum(walls):.0f}' if walls else '—'} | "
            f"{f'{np.mean(tests):.1f}' if tests else '—'} | {', '.join(commits)} | "
            f"{' '.join(refs) or '—'} |"
        )
    lines.append("")
    lines += [f"[{i + 1}] `{c}`  " for i, c in enumerate(commands)]
    lines.append("")
    path = out / "REPORT.md"
    atomic_write_bytes(path, "\n".join(lines).encode())
    return path


def _result_table(exp: Experiment, conds: dict) -> list[str]:
    lines = [
        "| condition | epochs (paper) | seeds | test error % after last epoch | paper | band | "
        "inside |",
        "|---|---|---|---|---|---|---|",
    ]
    for cname, (cond, entries, where) in conds.items():
        fin = _final(entries)
        vals = [v for v, _ in fin.values()]
        epochs = sorted({n for _, n in fin.values()})
        paper_epochs = cond.fixed_epochs or cond.epochs or exp.epochs
        paper = PAPER_ERRORS.get((exp.name, cname))
        if paper and vals:
            lo, hi = paper[0] - paper[1], paper[0] + paper[1]
            if epochs != [paper_epochs]:
                inside = f"not comparable ({'/'.join(map(str, epochs))} of {paper_epochs} epochs)"
            else:
                n_in = sum(lo <= v <= hi for v in vals)
                inside = "yes" if n_in == len(vals) else f"no ({n_in} of {len(vals)} seeds inside)"
            ptxt, btxt = f"{paper[0]:.1f}", f"{lo:.1f}–{hi:.1f}"
        else:
            ptxt, btxt, inside = "—", "—", "—"
        lines.append(
            f"| {cond.label} (`{where}`) | {'/'.join(map(str, epochs)) or 0} ({paper_epochs}) | "
            f"{', '.join(map(str, sorted(fin))) or '—'} | {_fmt_stats(vals)} | {ptxt} | {btxt} | "
            f"{inside} |"
        )
    return lines + [""]


def _means(conds: dict, epochs_needed: int | None = None) -> dict[str, float]:
    out = {}
    for cname, (cond, entries, _) in conds.items():
        fin = _final(entries)
        if fin and (epochs_needed is None or all(n == epochs_needed for _, n in fin.values())):
            out[cname] = float(np.mean([v for v, _ in fin.values()]))
    return out


def _checks(exp: Experiment, conds: dict) -> list[str]:
    """The relations among the paper's results that are not single numbers."""
    rows: list[tuple[str, str, str]] = []  # (claim, ours, verdict)
    full = _means(conds, exp.epochs)
    anyep = _means(conds)

    def rel(claim, a, b, test, what):
        src = full if a in full and b in full else anyep
        if a in src and b in src:
            ok = test(src[a], src[b])
            label = "" if src is full else " (not at the paper's epoch count)"
            rows.append(
                (claim, f"{what}: {src[a]:.2f} vs {src[b]:.2f}", ("yes" if ok else "no") + label)
            )

    if exp.name == "fig6b":
        rel("1 hidden layer beats none", "h1", "h0", lambda a, b: a < b, "h1 vs h0")
        rel(
            "2 hidden layers beat 1 by >= 0.5 pp", "h2", "h1", lambda a, b: b - a >= 0.5, "h2 vs h1"
        )
    elif exp.name == "fig8":
        rel("sparse below regular", "sparse", "regular", lambda a, b: a < b, "sparse vs regular")
        rel(
            "symmetric below regular",
            "symmetric",
            "regular",
            lambda a, b: a < b,
            "symmetric vs regular",
        )
        rel(
            "symmetric + noise worse than regular",
            "symmetric-noise",
            "regular",
            lambda a, b: a > b,
            "noise vs regular",
        )
    elif exp.name == "fig9":
        rel(
            "g_A = 0.05 within 0.3 pp of g_A = 0",
            "gA0.05",
            "gA0",
            lambda a, b: abs(a - b) <= 0.3,
            "0.05 vs 0",
        )
        rel(
            "g_A = 0.6 >= 1 pp worse than g_A = 0",
            "gA0.6",
            "gA0",
            lambda a, b: a - b >= 1.0,
            "0.6 vs 0",
        )
    elif exp.name == "fig6s1":
        rel(
            "random plateaus within 0.3 pp of synchronous",
            "random-plateaus",
            "synchronous",
            lambda a, b: abs(a - b) <= 0.3,
            "random vs synchronous",
        )
    elif exp.name == "fig7a":
        bands = {"spiking-feedback": (60.0, 75.0), "rate-feedback": (30.0, 45.0)}
        for cname, (cond, entries, _) in conds.items():
            lo, hi = bands[cname]
            after1 = [
                p["angle_deg"]
                for e in entries.values()
                for p in (e["probes"] or [])
                if p["epoch"] >= 2 and p.get("angle_deg") is not None
            ]
            ep1 = [
                p["angle_deg"]
                for e in entries.values()
                for p in (e["probes"] or [])
                if p["epoch"] == 1 and p.get("angle_deg") is not None
            ]
            if ep1:
                rows.append(
                    (
                        f"{cond.label}: angle during epoch 1",
                        f"{min(ep1):.1f}–{max(ep1):.1f}°, last {ep1[-1]:.1f}°",
                        "—",
                    )
                )
            if after1:
                inside = sum(lo <= a <= hi for a in after1)
                rows.append(
                    (
                        f"{cond.label}: angle after epoch 1 in {lo:.0f}–{hi:.0f}° (paper: "
                        + (
                            "about 65° then 70°"
                            if cname == "spiking-feedback"
                            else "about 35° then 40°"
                        )
                        + ")",
                        f"{np.mean(after1):.1f}° mean, {min(after1):.1f}–{max(after1):.1f}°",
                        "yes"
                        if inside == len(after1)
                        else f"no ({inside} of {len(after1)} probes inside)",
                    )
                )
    elif exp.name == "fig5s1":
        for cname, (cond, entries, _) in conds.items():
            for seed, e in sorted(entries.items()):
                ps = [
                    p
                    for p in (e["probes"] or [])
                    if p["epoch"] <= 1 and p.get("jacobian_max_eig") is not None
                ]
                if not ps:
                    continue
                below = [p["images"] for p in ps if p["jacobian_max_eig"] < 1.0]
                vals = [p["jacobian_max_eig"] for p in ps]
                rows.append(
                    (
                        f"seed {seed}: max eigenvalue crosses below 1 within epoch 1",
                        f"{vals[0]:.3f} at start, min {min(vals):.3f}, last {vals[-1]:.3f}",
                        f"yes (first after {below[0]} images)" if below else "no",
                    )
                )
    if not rows:
        return []
    lines = ["| check (the paper's orderings) | ours | holds |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return lines + [""]


_COLORS = {
    "h0": "0.5",
    "h1": "#0072B2",
    "h2": "#D55E00",
    "spiking-feedback": "#0072B2",
    "rate-feedback": "#D55E00",
}


def _figure(exp: Experiment, mode: str, conds: dict, fig_dir: Path) -> Path | None:
    import io

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    drew = False
    for i, (cname, (cond, entries, _)) in enumerate(conds.items()):
        color = _COLORS.get(cname) if exp.name in ("fig6b", "fig7a") else f"C{i}"
        if cond.probe:
            key = "angle_deg" if cond.probe == "angle" else "jacobian_max_eig"
            for j, (seed, e) in enumerate(sorted(entries.items())):
                ps = [p for p in (e["probes"] or []) if p.get(key) is not None]
                if not ps:
                    continue
                xs = [p["images"] / 1000 for p in ps]
                ax.plot(
                    xs,
                    [p[key] for p in ps],
                    color=color,
                    lw=1,
                    alpha=0.8,
                    label=f"{cond.label}" if j == 0 else None,
                )
                drew = True
            continue
        curves = []
        for seed, e in sorted(entries.items()):
            h = e["history"]
            pts = [(ep, te) for ep, te in zip(h["epoch"], h["test_error"]) if ep and te is not None]
            if pts:
                curves.append(pts)
        if not curves:
            continue
        n = min(len(c) for c in curves)
        ep = [p[0] for p in curves[0][:n]]
        arr = np.array([[p[1] for p in c[:n]] for c in curves])
        ax.plot(ep, arr.mean(axis=0), color=color, lw=1.5, label=f"{cond.label} (n={len(curves)})")
        if len(curves) > 1:
            ax.fill_between(ep, arr.min(axis=0), arr.max(axis=0), color=color, alpha=0.2, lw=0)
        paper = PAPER_ERRORS.get((exp.name, cname))
        if paper:
            ax.errorbar(
                [exp.epochs], [paper[0]], yerr=[paper[1]], fmt="s", color=color, ms=4, capsize=3
            )
        drew = True
    if not drew:
        plt.close(fig)
        return None
    probe = next((c.probe for c, _, _ in conds.values() if c.probe), None)
    if probe == "angle":
        ax.set_xlabel("training images (thousands)")
        ax.set_ylabel("angle to backprop (degrees)")
        ax.axhspan(60, 75, color=_COLORS["spiking-feedback"], alpha=0.08, lw=0)
        ax.axhspan(30, 45, color=_COLORS["rate-feedback"], alpha=0.08, lw=0)
        ax.text(
            0.01,
            0.02,
            "shaded: our bands (spiking 60-75, rate 30-45)",
            transform=ax.transAxes,
            fontsize=7,
        )
        ax.axhline(90, color="k", lw=0.5, ls=":")
    elif probe == "jacobian":
        ax.set_xlabel("training images (thousands)")
        ax.set_ylabel("max eig of (I - J)^T (I - J)")
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
    else:
        ax.set_xlabel("epoch")
        ax.set_ylabel("test error (%)")
        ax.set_yscale("log")
        lo, hi = ax.get_ylim()
        ax.set_yticks([t for t in (1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100) if lo <= t <= hi])
        ax.set_ylim(lo, hi)
        ax.yaxis.set_major_formatter(matplotlib_formatter())
        ax.yaxis.set_minor_formatter(matplotlib_formatter(minor=True))
        ax.text(
            0.01,
            0.02,
            "squares: the paper's value and band at its epoch count",
            transform=ax.transAxes,
            ha="left",
            va="bottom",
            fontsize=7,
        )
    import textwrap

    ax.set_title("\n".join(textwrap.wrap(f"{exp.title} ({mode} mode)", 70)), fontsize=9)
    ax.grid(alpha=0.3)
    if probe is None:  # learning curves: between the flat no-hidden curve and the others
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.6, 0.8))
    else:
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    path = fig_dir / f"{exp.name}_{mode}.png"
    atomic_write_bytes(path, buf.getvalue())
    return path


def matplotlib_formatter(minor: bool = False):
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: "" if minor else f"{v:g}")


# --------------------------------------------------------------------------------------------
# The command


def main(args, argv: Sequence[str] | None = None) -> int:
    """``python -m segdend_lite reproduce``; ``args`` from the parser in ``__main__``."""
    options = {}
    for item in args.set or ():
        if "=" not in item:
            raise ValueError(f"--set {item!r}: write KEY=VALUE, e.g. --set init=authors_code")
        k, v = item.split("=", 1)
        fields = {f.name: f for f in dataclasses.fields(Config)}
        if k not in fields or k == "mode":
            raise ValueError(f"--set {k}: not a Config field (use --mode for the mode)")
        options[k] = _parse_value(v)
    command = "python -m segdend_lite " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    tasks, notes = make_tasks(
        args.experiments,
        args.out,
        mode=args.mode,
        seeds=args.seeds,
        epochs=args.epochs,
        data=args.data,
        train_images=args.train_images,
        test_images=args.test_images,
        probe_every=args.probe_every,
        options=options,
        command=command,
    )
    for n in notes:
        print(f"note: {n}")
    for item in args.adopt or ():
        cond, _, src = item.partition("=")
        chosen = [t for t in tasks if t.condition == cond]
        if not src or len(chosen) != 1:
            raise ValueError(
                f"--adopt {item!r}: write CONDITION=FOLDER for one of "
                f"{sorted({t.condition for t in tasks})} with a single --seeds value"
            )
        print(f"adopted {src} as {adopt(src, chosen[0], command=f'(outside: see {src})')}")
    results: list[dict] = []
    if not args.report_only:
        results = run_tasks(tasks, args.scheduler, args.workers, progress=not args.no_progress)
    report = write_report(
        args.out,
        ALL if "all" in args.experiments else [e.partition("/")[0] for e in args.experiments],
        ("rate", "spiking"),  # whatever the folder holds, so the report never loses a mode
        command=command,
        results=results,
        notes=notes,
    )
    print(f"wrote {report}")
    return 1 if any(r["status"] == "failed" for r in results) else 0


def _parse_value(text: str):
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    if text in ("True", "true"):
        return True
    if text in ("False", "false"):
        return False
    if text == "None":
        return None
    return text


__all__ = [
    "ALL",
    "EXPERIMENTS",
    "PAPER_ERRORS",
    "Task",
    "TaskConflict",
    "adopt",
    "load_task_histories",
    "make_tasks",
    "run_task",
    "run_tasks",
    "write_report",
]
