"""``reproduce ... --estimate``: what the tasks will cost on this machine, measured, before
anything is trained.

Each task's network is built and trained on a few hundred training images and tested on a
hundred test images (the task's own configuration, data and engine; one BLAS thread, as in a
worker); the per-image times, times the images the task still has to train and test (epochs
already in its folder are not counted), give its cost. Core-hours are summed per experiment
(a shared task counts where it is trained); the wall time with W workers is the longest-first
schedule of the tasks on W workers (a task runs on one worker)."""

from __future__ import annotations

import heapq
import json
import time
from collections.abc import Sequence
from pathlib import Path

from threadpoolctl import threadpool_limits

from segdend_lite.model.network import Network
from segdend_lite.threads import usable_cpus
from segdend_lite.model.training import fit
from segdend_lite.reproduce.provenance import code_version, load_average, machine
from segdend_lite.reproduce.run import load_data
from segdend_lite.reproduce.tasks import Task
from segdend_lite.reproduce.train import PROBES, epochs_done

_WARMUP = 20


def measure(task: Task, data, n_train: int = 300, n_test: int = 100) -> dict:
    """Seconds per training image, per test image and per probe of ``task``, measured."""
    x, y, xt, yt, _ = data
    net = Network(task.hidden + (10,), task.config(), seed=task.seed)
    n_train = min(n_train, len(x) - _WARMUP)
    fit(net, x[:_WARMUP], y[:_WARMUP], shuffle=False, progress=False)  # first-call costs
    t0 = time.perf_counter()
    fit(net, x[_WARMUP : _WARMUP + n_train], y[_WARMUP : _WARMUP + n_train], progress=False)
    train = (time.perf_counter() - t0) / n_train
    n_test = min(n_test, len(xt))
    t0 = time.perf_counter()
    net.evaluate(xt[:n_test], yt[:n_test])
    test = (time.perf_counter() - t0) / n_test
    probe = 0.0
    if task.probe:
        t0 = time.perf_counter()
        PROBES[task.probe](net, x[:100], y[:100], {"angle_to_bp": None})
        probe = time.perf_counter() - t0
    return {
        "train_s": train,
        "test_s": test,
        "probe_s": probe,
        "n_train": n_train,
        "n_test": n_test,
    }


def task_cost(task: Task, m: dict, n_train: int, n_test: int) -> tuple[int, float]:
    """Epochs left and the seconds they take: training, a test pass per epoch (and one before
    training), the probes."""
    path = Path(task.folder) / "history.json"
    done = epochs_done(json.loads(path.read_text())) if path.exists() else 0
    left = max(0, task.epochs - done)
    per_epoch = n_train * m["train_s"] + n_test * m["test_s"]
    if task.probe:
        per_epoch += -(-n_train // task.probe_every) * m["probe_s"]
    first_test = n_test * m["test_s"] if done == 0 and left else 0.0
    return left, left * per_epoch + first_test


def wall_time(costs: Sequence[float], workers: int) -> float:
    """Longest-first schedule of indivisible tasks on ``workers`` workers: the last to end."""
    ends = [0.0] * max(1, workers)
    for c in sorted(costs, reverse=True):
        heapq.heappush(ends, heapq.heappop(ends) + c)
    return max(ends)


def estimate(
    tasks: Sequence[Task], workers: int | None = None, images: int = 300, log=print
) -> dict:
    """Measure every task, print a table and the totals; returns them."""
    workers = workers or usable_cpus()
    ver, m = code_version(), machine()
    log(
        f"estimate: measured on this machine ({m['processor']}, {m['usable_cpus']} usable CPUs, "
        f"load average {load_average()}), one BLAS thread, segdend_lite {ver['version']} commit "
        f"{(ver['commit'] or 'unknown')[:10]}{' (modified)' if ver['modified'] else ''}"
    )
    log(f"per task: {_WARMUP} warm-up + {images} training images timed, 100 test images timed")
    log(f"{'task':38s} {'train ms/img':>12} {'test ms/img':>11} {'epochs left':>11} {'core-h':>7}")
    loaded: dict = {}
    rows, per_exp = [], {}
    with threadpool_limits(1):
        for t in tasks:
            key = (t.data, t.train_images, t.test_images)
            if key not in loaded:
                loaded[key] = load_data(t)
            data = loaded[key]
            meas = measure(t, data, n_train=images)
            left, seconds = task_cost(t, meas, len(data[0]), len(data[2]))
            rows.append((t.key, seconds))
            per_exp[t.experiment] = per_exp.get(t.experiment, 0.0) + seconds
            log(
                f"{t.key:38s} {1000 * meas['train_s']:12.2f} {1000 * meas['test_s']:11.2f} "
                f"{left:11d} {seconds / 3600:7.2f}"
            )
    total = sum(s for _, s in rows)
    wall = wall_time([s for _, s in rows], workers)
    longest = max((s for _, s in rows), default=0.0)
    log(
        "core-hours per experiment: " + ", ".join(f"{e} {s / 3600:.2f}" for e, s in per_exp.items())
    )
    log(
        f"total: {total / 3600:.2f} core-hours; wall time with {workers} worker"
        f"{'s' * (workers != 1)}: {wall / 3600:.2f} h (the longest task alone: "
        f"{longest / 3600:.2f} h)"
    )
    return {"tasks": dict(rows), "experiments": per_exp, "total_s": total, "wall_s": wall}
