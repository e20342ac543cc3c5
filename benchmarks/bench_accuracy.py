"""Test error of the rate-mode network and its baselines on full MNIST, online, paper rates.

    python benchmarks/bench_accuracy.py [--epochs 20] [--workers N] [--out FILE.md]

Trains each row from seed 0 and prints the test error (%) after 1, 5 and 20 epochs (and
--epochs if larger) as a markdown table. Paper figures (spiking mode, 60 epochs): no hidden
layer 8.3 %, one hidden layer 4.1 %, two hidden layers 3.2 %. Rows run in parallel processes,
one BLAS thread each.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from concurrent.futures import ProcessPoolExecutor  # noqa: E402

from segdend_lite import Config, Network  # noqa: E402
from segdend_lite.atomic import atomic_write_bytes  # noqa: E402
from segdend_lite.model.baselines import backprop_network, feedback_alignment_network  # noqa: E402
from segdend_lite.data import load_mnist  # noqa: E402
from segdend_lite.threads import usable_cpus  # noqa: E402

ROWS = [
    ("no hidden layer (784-10)", "local", (10,), {}),
    ("segregated, 1 hidden (784-500-10)", "local", (500, 10), {}),
    ("backprop, 1 hidden", "backprop", (500, 10), {}),
    ("feedback alignment, 1 hidden", "fa", (500, 10), {}),
    ("segregated, 1 hidden, minibatch 32", "local", (500, 10), {"batch_size": 32}),
    ("segregated, 2 hidden (784-500-100-10), lr 0.23/0.23/0.12", "local", (500, 100, 10), {}),
    (
        "segregated, 2 hidden, lr 0.12/0.23/0.23",
        "local",
        (500, 100, 10),
        {"lr": (0.12, 0.23, 0.23)},
    ),
    ("backprop, 2 hidden", "backprop", (500, 100, 10), {}),
    ("feedback alignment, 2 hidden", "fa", (500, 100, 10), {}),
]
PAPER = {
    "no hidden layer (784-10)": 8.3,
    "segregated, 1 hidden (784-500-10)": 4.1,
    "segregated, 2 hidden (784-500-100-10), lr 0.23/0.23/0.12": 3.2,
}


def run(row, epochs: int):
    label, rule, sizes, opts = row
    data = load_mnist(verbose=False)
    cfg = Config(lr=opts.get("lr"))
    if rule == "backprop":
        net = backprop_network(sizes, cfg, seed=0)
    elif rule == "fa":
        net = feedback_alignment_network(sizes, cfg, seed=0)
    else:
        net = Network(sizes, cfg, seed=0)
    t = time.perf_counter()
    h = net.fit(
        data.x_train,
        data.y_train,
        epochs=epochs,
        batch_size=opts.get("batch_size", 1),
        X_test=data.x_test,
        y_test=data.y_test,
        progress=False,
    )
    return label, h["test_error"], time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--workers", type=int, default=usable_cpus(), help="default: usable CPUs")
    ap.add_argument("--out", default=None, help="also write the table to this markdown file")
    args = ap.parse_args()
    load_mnist()  # fetch once before the workers start
    marks = sorted({e for e in (1, 5, 20, args.epochs) if e <= args.epochs})
    lines = [
        "| network | "
        + " | ".join(f"epoch {e}" for e in marks)
        + " | paper (60 ep., spiking) | time |",
        "|---|" + "---|" * (len(marks) + 2),
    ]
    print(lines[0], lines[1], sep="\n", flush=True)
    with ProcessPoolExecutor(args.workers) as pool:
        results = pool.map(run, ROWS, [args.epochs] * len(ROWS))
        for label, errors, seconds in results:
            cells = " | ".join(f"{errors[e]:.2f}" for e in marks)
            paper = f"{PAPER[label]:.1f}" if label in PAPER else ""
            line = f"| {label} | {cells} | {paper} | {seconds / 60:.1f} min |"
            print(line, flush=True)
            lines.append(line)
    if args.out:
        atomic_write_bytes(args.out, ("\n".join(lines) + "\n").encode())


if __name__ == "__main__":
    main()
