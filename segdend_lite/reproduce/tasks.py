"""Tasks: one (experiment, condition, seed) training run each, as plain data for a worker.

``make_tasks`` turns experiment names (``fig6b``, ``fig6b/h1``, ``all``) into tasks, each
shared task once (e.g. Fig. 8's regular network is Fig. 6B's one-hidden-layer network)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from segdend_lite.model.config import Config
from segdend_lite.reproduce.registry import ALL, EXPERIMENTS, owner_of
from segdend_lite.reproduce.settings import make_setting

#: ``data`` names of the MNIST loader (anything else must be a folder of IDX files).
DATA_NAMES = ("auto", "small", "cache", "download", "offline")


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
    overrides: dict = field(default_factory=dict)

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

    def setting(self) -> dict:
        """What every task of its output folder shares (``settings``): the data, the image
        counts and ``overrides`` (the ``Config`` fields set for every task, ``--set``)."""
        return make_setting(self.data, self.train_images, self.test_images, self.overrides)


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
    only = selected_conditions(experiments)
    names = experiment_names([e.partition("/")[0] for e in experiments])
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
    if not isinstance(data, str) or (data not in DATA_NAMES and not Path(data).is_dir()):
        raise ValueError(
            f"data={data!r}: use {', '.join(DATA_NAMES)} (MNIST) or a folder of IDX files"
            + (f" ({data} is not a folder)" if isinstance(data, str) else "")
        )
    options = dict(options or {})
    try:
        Config(mode=mode, **options)  # a bad option fails here, before anything runs
    except TypeError as exc:
        raise ValueError(f"options {options}: {exc}") from None
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
            owner, cname = owner_of(exp, cond)
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
                    overrides=options,
                )
                old = tasks.get(task.key)
                if old is None or old.epochs < task.epochs:
                    tasks[task.key] = task
    _check_depths(tasks.values(), options)
    return list(tasks.values()), notes


def _check_depths(tasks: Iterable[Task], options: dict) -> None:
    """The learning rates set for every task (``options["lr"]``) have one rate per weight
    layer of every task."""
    if options.get("lr") is None:
        return
    lr = tuple(options["lr"])
    wrong = sorted({f"{t.experiment}/{t.condition}": len(t.hidden) + 1 for t in tasks}.items())
    wrong = [(k, n) for k, n in wrong if n != len(lr)]
    if wrong:
        have = ", ".join(f"{k} has {n}" for k, n in wrong)
        raise ValueError(
            f"lr={','.join(f'{v:g}' for v in lr)} gives {len(lr)} learning rate(s), but {have} "
            "weight layer(s): give one rate per weight layer, first hidden layer first, and "
            "name conditions of one depth (e.g. fig6b/h1)"
        )


def selected_conditions(experiments: Sequence[str]) -> dict[str, set[str]]:
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


def experiment_names(experiments: Iterable[str]) -> list[str]:
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
