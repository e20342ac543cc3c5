"""The spiking model: speed of the fast engine against the step engine (same run), and one-epoch
accuracy on full MNIST.

    python benchmarks/bench_spiking.py speed
    python benchmarks/bench_spiking.py accuracy [--workers 2] [--out FILE.md]
    python benchmarks/bench_spiking.py angles --checkpoint results/NAME/checkpoint.npz

Reference (model_spec 14, the authors' code, one thread of this machine): about 28 ms per
training image and 80 ms per 250-step test image for 784-500-10.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from concurrent.futures import ProcessPoolExecutor  # noqa: E402

import numpy as np  # noqa: E402

from segdend_lite import Config, Network  # noqa: E402
from segdend_lite.atomic import atomic_write_bytes  # noqa: E402
from segdend_lite.data import load_mnist  # noqa: E402

AUTHORS_TRAIN_MS, AUTHORS_TEST_MS = 28.0, 80.0


def _train_ms(net, X, y, n):
    t = time.perf_counter()
    for i in range(n):
        net.learn_one(X[i], int(y[i]))
    return 1e3 * (time.perf_counter() - t) / n


def _test_floor(net, X_test) -> tuple[float, float]:
    """Per test image (ms): the fast engine's input products ``(G S) W^T`` (chunks of
    ``CHUNK`` steps) alone, and drawing the candidate spikes alone."""
    from segdend_lite.model.fast import chunks, hidden_ops, input_spikes
    from segdend_lite.model.spiking_state import Draws

    cfg, T = net.config, net.config.test_length
    rng = np.random.default_rng(0)
    images = [(x, np.flatnonzero(x)) for x in X_test.astype(np.float32) / 255]
    t = time.perf_counter()
    draws = [Draws.draw(net, rng, T, len(cols)) for _, cols in images]
    t_draws = time.perf_counter() - t
    work = []
    for (x, cols), d in zip(images, draws):
        ev = (d.events[0].step, d.events[0].unit, d.events[0].u)
        for sl in chunks(T):
            a_h, Tc = 1.0 - cfg.g_L - cfg.g_B, sl.stop - sl.start
            G = hidden_ops(net.spiking.psp[0].kernel_key, a_h, cfg.g_B, Tc, net.dtype.str)
            S = input_spikes(ev, x[cols], sl, net.dtype)
            work.append((G[0], S, net.W[0].T[cols]))
    t = time.perf_counter()
    for G, S, WTc in work:
        (G @ S) @ WTc
    t_products = time.perf_counter() - t
    return 1e3 * t_products / len(images), 1e3 * t_draws / len(images)


def speed() -> None:
    data = load_mnist()
    X = data.x_train[:2000].astype(np.float32) / 255
    y = data.y_train
    print("one BLAS thread; float32; 784-500-10 unless stated\n")
    print("| what | step engine | fast engine | fast/step | vs authors' code |")
    print("|---|---|---|---|---|")
    for name, kw in (("paper options", {}), ("authors_code preset", {"preset": "authors_code"})):
        nets = {
            e: Network((500, 10), Config(mode="spiking", engine=e, **kw), seed=0)
            for e in ("step", "fast")
        }
        for net in nets.values():
            _train_ms(net, X, y, 20)  # warm-up (matrix caches)
        step = _train_ms(nets["step"], X[20:], y[20:], 40)
        fast = _train_ms(nets["fast"], X[20:], y[20:], 1000)
        print(
            f"| training image, {name} | {step:.1f} ms | {fast:.2f} ms | {step / fast:.0f}x "
            f"| {AUTHORS_TRAIN_MS / fast:.0f}x |"
        )
        T = nets["fast"].config.test_length
        t = time.perf_counter()
        nets["step"].output_voltage(data.x_test[:10], seed=0)
        step_t = 1e3 * (time.perf_counter() - t) / 10
        t = time.perf_counter()
        nets["fast"].output_voltage(data.x_test[:300], seed=0)
        fast_t = 1e3 * (time.perf_counter() - t) / 300
        ref = AUTHORS_TEST_MS * T / 250
        print(
            f"| {T}-step test image, {name} | {step_t:.1f} ms | {fast_t:.2f} ms "
            f"| {step_t / fast_t:.0f}x | {ref / fast_t:.0f}x |"
        )
    floor_products, floor_draws = _test_floor(nets["fast"], data.x_test[:300])
    print(
        f"\nOf the fast {T}-step test image: the input's matrix products alone take "
        f"{floor_products:.2f} ms and the random draws alone {floor_draws:.2f} ms.\n"
    )
    net = Network((500, 100, 10), Config(mode="spiking"), seed=0)
    _train_ms(net, X, y, 20)
    fast = _train_ms(net, X[20:], y[20:], 1000)
    print(f"| training image, 784-500-100-10 | | {fast:.2f} ms | | {39.0 / fast:.0f}x |")
    g = Network((500, 10), Config(mode="spiking", g_A=0.05), seed=0)
    _train_ms(g, X, y, 20)
    print(
        f"| training image, g_A = 0.05 (time stepped) | "
        f"| {_train_ms(g, X[20:], y[20:], 300):.2f} ms | | |"
    )


ROWS = [
    ("no hidden layer", (10,), {}),
    ("1 hidden (500)", (500, 10), {}),
    ("2 hidden (500, 100)", (500, 100, 10), {}),
    ("1 hidden, sparse feedback 80 % x5", (500, 10), {"sparse_feedback": 0.8}),
    ("1 hidden, symmetric feedback", (500, 10), {"symmetric_feedback": True}),
    ("1 hidden, rate feedback (Fig. 7A)", (500, 10), {"spiking_feedback": False}),
]


def _one_epoch(row):
    label, sizes, kw = row
    data = load_mnist(verbose=False)
    net = Network(sizes, Config(mode="spiking", **kw), seed=0)
    t = time.perf_counter()
    net.fit(data.x_train, data.y_train, epochs=1, progress=False)
    train_s = time.perf_counter() - t
    t = time.perf_counter()
    err = net.evaluate(data.x_test, data.y_test, seed=0)
    angles = np.asarray(net._stats["angles"])
    by_10k = [float(a.mean()) for a in np.array_split(angles, 6)] if len(angles) else []
    return (
        label,
        err,
        net.firing_rates(),
        by_10k,
        train_s,
        time.perf_counter() - t,
    )


def accuracy(workers: int, out: str | None) -> None:
    load_mnist()
    lines = [
        "| network (spiking, paper options, 1 epoch, seed 0) | test error % "
        "| rates Hz (hidden..., output) | angle to backprop (deg), per 10,000 images "
        "| train time | test time (10k x 500 ms) |",
        "|---|---|---|---|---|---|",
    ]
    print(*lines, sep="\n", flush=True)
    with ProcessPoolExecutor(workers) as pool:
        for label, err, rates, angles, ts, te in pool.map(_one_epoch, ROWS):
            rate_s = ", ".join(f"{r:.0f}" for r in rates)
            angle_s = " ".join(f"{a:.0f}" for a in angles)
            line = f"| {label} | {err:.2f} | {rate_s} | {angle_s} | {ts:.0f} s | {te:.0f} s |"
            print(line, flush=True)
            lines.append(line)
    if out:
        atomic_write_bytes(out, ("\n".join(lines) + "\n").encode())


def angles(checkpoint: str, n: int = 2000, block: int = 100) -> None:
    """Angle between the local and the backprop update of the first hidden layer, per image and
    for the sums of ``block`` consecutive updates, over ``n`` training images (training on)."""
    from segdend_lite.model import learning
    from segdend_lite.model.fast import BatchState, run
    from segdend_lite.model.spiking_state import Draws, phase_lengths
    from segdend_lite.model.training import load_checkpoint

    data = load_mnist(verbose=False)
    net = load_checkpoint(checkpoint)
    cfg = net.config
    order = np.random.default_rng(1).choice(len(data.x_train), n, replace=False)

    per_image, per_block = [], []
    sums = np.zeros((2, net.n_input, net.layer_sizes[0]))
    for k, i in enumerate(order):
        x = data.x_train[i].astype(net.dtype) / 255
        label, cols = int(data.y_train[i]), np.flatnonzero(data.x_train[i])
        T_f, T_t = phase_lengths(net)
        draws = [Draws.draw(net, net.rng, (T_f, T_t), len(cols))]
        b = BatchState.of(net.spiking)
        f, t = run(net, b, [(x, cols)], [(T_f, None), (T_t, label)], draws)
        b.store(net.spiking)
        e_L = learning.output_error(t.r_out, f.V_out, cfg.k_D, cfg.phi_max)
        alpha_f = [learning.plateau(v) for v in f.V_a]
        alpha_t = [learning.plateau(v) for v in t.V_a]
        e_local = net.layer_errors(e_L, f.V_h, alpha_f, alpha_t, rule="local")
        e_bp = net.backprop_errors(f.V_h, e_L)
        per_image.append(learning.angle(e_local[0], e_bp[0]))  # NaN if either is zero
        sums[0] += np.outer(f.s_pre[0], e_local[0])
        sums[1] += np.outer(f.s_pre[0], e_bp[0])
        if (k + 1) % block == 0:
            per_block.append(learning.angle(sums[0], sums[1]))
            sums[:] = 0.0
        net.apply_update(e_local, f.s_pre)
    print(
        f"{checkpoint} ({net.images_seen - n} images seen before): mean angle per image "
        f"{np.nanmean(per_image):.1f} deg; angle of the sums of {block} updates "
        f"{np.nanmean(per_block):.1f} deg"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["speed", "accuracy", "angles"])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None)
    ap.add_argument("--checkpoint", help="angles: a one-hidden-layer spiking checkpoint")
    args = ap.parse_args()
    if args.what == "speed":
        speed()
    elif args.what == "accuracy":
        accuracy(args.workers, args.out)
    else:
        with np.errstate(over="ignore"):  # sigma(-large): exp overflows to the right 0
            angles(args.checkpoint)


if __name__ == "__main__":
    main()
