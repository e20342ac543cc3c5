"""Make the stored runs that notebooks 07 and 08 compare with (small, with provenance).

    python scripts/course_runs.py NAME [NAME ...]     # e.g. spiking_1h_seed0
    python scripts/course_runs.py --list

Each run trains one network online on full MNIST through
``segdend_lite.course.experiments.run_curve`` (curve points every 2,000 images or a twelfth of
the run, the full test set after every epoch) and writes ``reproduction/NAME/history.json`` (the
curve) and ``reproduction/NAME/provenance.json`` (command, commit, date, machine, wall time,
mode, network, configuration, seed), atomically. The library limits BLAS threads itself."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

from segdend_lite.atomic import atomic_write_bytes
from segdend_lite.course.experiments import STORE, run_curve
from segdend_lite.data import Dataset, load_mnist, source_name
from segdend_lite.model.config import Config
from segdend_lite.model.network import Network
from segdend_lite.reproduce import code_version, machine

EPOCH = 60000
#: name -> (layer sizes, Config options, training images). One-hidden-layer runs: two epochs
#: each, so the control and every variant are compared at the same length; two-hidden-layer
#: runs (Fig. 9): one epoch each (g_A > 0 is time stepped, about 5 times slower). All ten took
#: 75 minutes on a 2-core machine, two runs at a time; the reproduction runs
#: (``python -m segdend_lite reproduce``) take the paper's experiments to 60 epochs.
RUNS = {
    # Fig. 7A: angle to backprop, spiking vs rate feedback (one hidden layer); also the control
    # of the one-hidden-layer experiments of notebook 08.
    "spiking_1h_seed0": ((500, 10), {"mode": "spiking"}, 2 * EPOCH),
    "spiking_1h_rate_feedback_seed0": (
        (500, 10),
        {"mode": "spiking", "spiking_feedback": False},
        2 * EPOCH,
    ),
    # Fig. 8: sparse and symmetric feedback
    "spiking_1h_sparse0.8_seed0": (
        (500, 10),
        {"mode": "spiking", "sparse_feedback": 0.8},
        2 * EPOCH,
    ),
    "spiking_1h_symmetric_seed0": (
        (500, 10),
        {"mode": "spiking", "symmetric_feedback": True},
        2 * EPOCH,
    ),
    "spiking_1h_symmetric_noise0.05_seed0": (
        (500, 10),
        {"mode": "spiking", "symmetric_feedback": True, "symmetric_noise": 0.05},
        2 * EPOCH,
    ),
    # Fig. 6-S1: random plateau times
    "spiking_1h_random_plateaus_seed0": (
        (500, 10),
        {"mode": "spiking", "random_plateau_times": True},
        2 * EPOCH,
    ),
    # init: the authors' code's doubled spread
    "spiking_1h_init_code_seed0": (
        (500, 10),
        {"mode": "spiking", "init": "authors_code"},
        2 * EPOCH,
    ),
    # Fig. 9: apical conductance, two hidden layers
    "spiking_2h_seed0": ((500, 100, 10), {"mode": "spiking"}, EPOCH),
    "spiking_2h_gA0.05_seed0": ((500, 100, 10), {"mode": "spiking", "g_A": 0.05}, EPOCH),
    "spiking_2h_gA0.6_seed0": ((500, 100, 10), {"mode": "spiking", "g_A": 0.6}, EPOCH),
}


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
    folder = STORE / name
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
