"""Speed of the rate-mode engine, with ratios against the plain implementation, in one run.

    python benchmarks/bench_speed.py [--images 20000] [--threads N]

Prints images/s for online training (the fast engine and the plain line-by-line equations of
the test oracle tests/oracle.py, same dtype), minibatch training and batched evaluation, for
784-500-10 and 784-500-100-10. Uses full MNIST (cache/mirrors/offline route).
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np

from segdend_lite import Config, Network
from segdend_lite.data import load_mnist
from segdend_lite.model.rate import learn_batch, learn_one

# the plain equations: the tests' independent oracle, loaded by path (tests/ is no package)
_spec = importlib.util.spec_from_file_location(
    "oracle", Path(__file__).resolve().parent.parent / "tests" / "oracle.py"
)
_oracle = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_oracle)
plain_rate_step = _oracle.plain_rate_step


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:10,.0f} img/s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=20000, help="images per online measurement")
    ap.add_argument("--plain-images", type=int, default=2000)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = ap.parse_args()
    data = load_mnist()
    X, y = data.x_train, data.y_train
    n = min(args.images, len(X))
    Xf, y = X[:n].astype(args.dtype) / 255, y[:n]
    print(f"dtype {args.dtype}; numpy {np.__version__}")
    for sizes in [(500, 10), (500, 100, 10)]:
        name = "784-" + "-".join(map(str, sizes))
        cfg = Config(dtype=args.dtype)
        net = Network(sizes, cfg, seed=0)
        t = time.perf_counter()
        for i in range(n):
            learn_one(net, Xf[i], int(y[i]))  # the update without input checks
        fast = n / (time.perf_counter() - t)

        ref = Network(sizes, cfg, seed=0)
        W = [np.ascontiguousarray(w) for w in ref.W]
        b = [v.copy() for v in ref.b]
        Y = [v.copy() for v in ref.Y]
        m = min(args.plain_images, n)
        t = time.perf_counter()
        for i in range(m):
            plain_rate_step(W, b, Y, Xf[i], int(y[i]), cfg, ref.lr)
        plain = m / (time.perf_counter() - t)

        mb = {}
        for bs in (32, 128):
            net_b = Network(sizes, cfg, seed=0)
            t = time.perf_counter()
            for i in range(0, n, bs):
                learn_batch(net_b, Xf[i : i + bs], y[i : i + bs])
            mb[bs] = n / (time.perf_counter() - t)

        t = time.perf_counter()
        reps = 3
        for _ in range(reps):
            net.predict(data.x_test)
        ev = reps * len(data.x_test) / (time.perf_counter() - t)

        print(f"\n{name}")
        print(
            f"  online, fast engine      {fast:10,.0f} img/s   ({n / fast:.2f} s per {n} images;"
            f" full epoch {60000 / fast:.1f} s)"
        )
        print(
            f"  online, plain equations  {plain:10,.0f} img/s   -> fast/plain = {fast / plain:.1f}x"
        )
        for bs, v in mb.items():
            print(f"  minibatch {bs:3d}            {v:10,.0f} img/s")
        print(f"  evaluation (batched)     {ev:10,.0f} img/s")


if __name__ == "__main__":
    main()
