"""Make the stored runs that notebooks 07 and 08 compare with (small, with provenance).

    python scripts/course_runs.py NAME [NAME ...]     # e.g. spiking_1h_seed0
    python scripts/course_runs.py --list

Each run trains one network online on full MNIST through
``segdend_lite.course.experiments.run_curve`` (curve points every 2,000 images or a twelfth of
the run, the full test set after every epoch) and writes ``<results>/NAME/history.json`` (the
curve, one entry per chunk: ``segdend_lite.runs.history``) and ``<results>/NAME/provenance.json``
(command, commit, date, machine, wall time, mode, network, configuration, seed), atomically;
``<results>`` is ``segdend_lite/results`` (``$SEGDEND_RESULTS`` if set). The library limits
BLAS threads itself."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

from segdend_lite.atomic import atomic_write_bytes
from segdend_lite.course.experiments import run_curve
from segdend_lite.data import Dataset, load_mnist, source_name
from segdend_lite.model.config import Config
from segdend_lite.model.network import Network
from segdend_lite.reproduce import EXPERIMENTS, code_version, machine
from segdend_lite.runs import results_folder

EPOCH = 60000


def _runs() -> dict:
    """name -> (layer sizes, Config options, training images), from the experiment registry
    (every condition with a ``stored`` run, in spiking mode). One-hidden-layer runs: two epochs
    each, so the control and every variant are compared at the same length; two-hidden-layer
    runs (Fig. 9): one epoch each (made when g_A > 0 was stepped through time, about 5 times slower). All ten took
    75 minutes on a 2-core machine, two runs at a time; the reproduction runs (``python -m
    segdend_lite reproduce``) take the paper's experiments to 60 epochs."""
    runs: dict = {}
    for exp in EXPERIMENTS.values():
        for cond in exp.conditions:
            if cond.stored is None:
                continue
            options = {"mode": "spiking", **dict(cond.options)}
            run = (cond.hidden + (10,), options, (2 if len(cond.hidden) == 1 else 1) * EPOCH)
            seen = runs.setdefault(cond.stored, run)
            if Config(**seen[1]) != Config(**options) or seen[0] != run[0]:
                raise AssertionError(f"{cond.stored}: two conditions of the registry differ")
    return runs


RUNS = _runs()


def commit_label() -> str:
    """The commit of the code this process runs, read once when it starts (``-dirty`` if
    tracked files differed from it then), through :func:`segdend_lite.reproduce.code_version`."""
    v = code_version()
    return (v["commit"] or "unknown") + ("-dirty" if v["modified"] else "")


def run(name: str, commit: str, mnist: Dataset, seed: int = 0) -> Path:
    sizes, options, n_images = RUNS[name]
    config = Config(**options)
    net = Network(sizes, config, seed=seed)
    t0 = time.perf_counter()
    curve = run_curve(
        net,
        mnist.x_train,
        mnist.y_train,
        n_images,
        chunk=min(2000, n_images // 12),
        X_test=mnist.x_test,
        y_test=mnist.y_test,
        test_every=EPOCH,
    )
    wall = time.perf_counter() - t0
    provenance = {
        "name": name,
        "command": f"python scripts/course_runs.py {name}",
        "commit": commit,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {**machine(), "load_average_at_end": os.getloadavg()},
        "wall_seconds": round(wall, 1),
        "mode": config.mode,
        "network": "-".join(str(n) for n in (784,) + sizes),
        "train_images": n_images,
        "train_size": len(mnist.x_train),
        "test_images_per_test": len(mnist.x_test),
        "seed": seed,
        "data": source_name(mnist.source),  # no local folders in stored files
        "config": json.loads(config.to_json()),
    }
    folder = results_folder() / name
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / "history.json", json.dumps(curve, indent=1).encode())
    atomic_write_bytes(folder / "provenance.json", json.dumps(provenance, indent=1).encode())
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="runs to make (see --list)")
    parser.add_argument("--list", action="store_true", help="list the runs")
    args = parser.parse_args(argv)
    if args.list or not args.names:
        for name, (sizes, options, n) in RUNS.items():
            print(f"{name:40s} {sizes} {options} {n:,} images")
        return 0
    unknown = [n for n in args.names if n not in RUNS]
    if unknown:
        print(f"error: unknown runs {unknown}; see --list", file=sys.stderr)
        return 2
    commit = commit_label()  # the code imported now is what every run below uses
    mnist = load_mnist()
    for name in args.names:
        t0 = time.perf_counter()
        folder = run(name, commit, mnist)
        print(f"wrote {folder} in {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
