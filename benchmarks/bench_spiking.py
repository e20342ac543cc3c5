"""The spiking model: speed as users get it (thread conditions), the fast engine against the
step engine, a profile of the test image, and one-epoch accuracy on full MNIST.

    python benchmarks/bench_spiking.py speed [--out benchmarks/results_spiking_speed.md]
    python benchmarks/bench_spiking.py coupled [--rounds 3] [--out FILE.md]
    python benchmarks/bench_spiking.py accuracy [--workers N] [--out FILE.md]
    python benchmarks/bench_spiking.py angles --checkpoint results/NAME/checkpoint.npz

``speed`` runs, in one invocation, each condition in a fresh process (BLAS settings are read
when numpy starts): one BLAS thread (``OPENBLAS_NUM_THREADS=1``); the default threads on an
otherwise idle machine; the default threads with a busy process on every other usable core;
and, to show what the library's own thread limit prevents, the last with the limit switched
off. Then the step/fast table and a profile of the 250-step test image.

The authors' code (GPL, run on this kind of machine: one thread, one epoch of 784-500-10 plus
10,000 test images of 250 ms, other processes running): about 11-13 ms per training image and
28 ms per 250-ms test image; 784-10: about 4.5 and 8 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from segdend_lite import Config, Network
from segdend_lite.atomic import atomic_write_bytes
from segdend_lite.data import load_mnist
from segdend_lite.threads import blas_threads, limited_blas, usable_cpus

AUTHORS_TRAIN_MS = (11.0, 13.0)  # 784-500-10, per training image
AUTHORS_TEST_MS = 28.0  # 784-500-10, per 250-ms test image
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _train_ms(net, X, y, n):
    """Wall-clock ms per training image through the public ``train_step`` (with its thread
    limit, as a user's loop would run it)."""
    t = time.perf_counter()
    for i in range(n):
        net.train_step(X[i], int(y[i]))
    return 1e3 * (time.perf_counter() - t) / n


def _test_floor(net, X_test) -> tuple[float, float]:
    """Per test image (ms): the fast engine's input products ``(G S) W^T`` (chunks of
    ``CHUNK`` steps) alone, and drawing the candidate spikes alone."""
    from segdend_lite.model.draws import Draws
    from segdend_lite.model.blocks import chunks, hidden_ops, hidden_recursion, kernel_key
    from segdend_lite.model.fast import input_spikes

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
            a_h, Tc = hidden_recursion(cfg), sl.stop - sl.start
            G = hidden_ops(kernel_key(cfg), a_h, cfg.g_B, Tc, net.dtype.str)
            S = input_spikes(ev, x[cols], sl, net.dtype)
            work.append((G[0], S, net.W[0].T[cols]))
    t = time.perf_counter()
    for G, S, WTc in work:
        (G @ S) @ WTc
    t_products = time.perf_counter() - t
    return 1e3 * t_products / len(images), 1e3 * t_draws / len(images)


def engines(out=print) -> None:
    """The fast engine against the step engine (same process), per image."""
    data = load_mnist(verbose=False)
    X = data.x_train[:2000].astype(np.float32) / 255
    y = data.y_train
    lo, hi = AUTHORS_TRAIN_MS
    out("library thread limit (default); float32; 784-500-10 unless stated\n")
    out("| what | step engine | fast engine | fast/step | authors' code / fast |")
    out("|---|---|---|---|---|")
    for name, kw in (("paper options", {}), ("authors_code preset", {"preset": "authors_code"})):
        nets = {
            e: Network((500, 10), Config(mode="spiking", engine=e, **kw), seed=0)
            for e in ("step", "fast")
        }
        for net in nets.values():
            _train_ms(net, X, y, 20)  # warm-up (matrix caches)
        step = _train_ms(nets["step"], X[20:], y[20:], 40)
        fast = _train_ms(nets["fast"], X[20:], y[20:], 300)
        out(
            f"| training image, {name} | {step:.1f} ms | {fast:.2f} ms | {step / fast:.0f}x "
            f"| {lo / fast:.0f}-{hi / fast:.0f}x |"
        )
        T = nets["fast"].config.test_length
        t = time.perf_counter()
        nets["step"].output_voltage(data.x_test[:10], seed=0)
        step_t = 1e3 * (time.perf_counter() - t) / 10
        t = time.perf_counter()
        nets["fast"].output_voltage(data.x_test[:200], seed=0)
        fast_t = 1e3 * (time.perf_counter() - t) / 200
        ref = f"{AUTHORS_TEST_MS / fast_t:.0f}x" if T == 250 else ""
        out(
            f"| {T}-step test image, {name} | {step_t:.1f} ms | {fast_t:.2f} ms "
            f"| {step_t / fast_t:.0f}x | {ref} |"
        )
    with limited_blas():
        floor_products, floor_draws = _test_floor(nets["fast"], data.x_test[:300])
    floor = floor_products + floor_draws
    out(
        f"\nOf the fast {T}-step test image ({fast_t:.2f} ms): the input's matrix products alone "
        f"take {floor_products:.2f} ms and the random draws alone {floor_draws:.2f} ms; "
        f"floor {floor:.2f} ms, test image / floor = {fast_t / floor:.2f}.\n"
    )
    coupled(out, rounds=2)


def _cpu_train_ms(net, X, y, n) -> tuple[float, float]:
    """(wall-clock, CPU) ms per training image through ``train_step``."""
    c, t = time.process_time(), time.perf_counter()
    for i in range(n):
        net.train_step(X[i], int(y[i]))
    return 1e3 * (time.perf_counter() - t) / n, 1e3 * (time.process_time() - c) / n


def _cpu_test_ms(net, X) -> tuple[float, float]:
    """(wall-clock, CPU) ms per test image (``test_length`` ms each) through
    ``output_voltage``."""
    c, t = time.process_time(), time.perf_counter()
    net.output_voltage(X, seed=0)
    return 1e3 * (time.perf_counter() - t) / len(X), 1e3 * (time.process_time() - c) / len(X)


def coupled(out=print, rounds: int = 3) -> None:
    """Apical coupling (``g_A > 0``, Fig. 9) beside ``g_A = 0`` in the same run: 784-500-100-10,
    paper options, float32, per training image and per 500-ms test image, fast engine; the
    conditions take turns, ``rounds`` times, and the best round counts (the least disturbed by
    other processes); and the rounds the coupled engine took per stretch
    (``net.stats["rounds"]``). Then the step engine with ``g_A = 0.05``, for the
    fast/step ratio."""
    from segdend_lite.model import coupled as coupled_engine

    data = load_mnist(verbose=False)
    X = data.x_train[:1000].astype(np.float32) / 255
    y, X_test = data.y_train, data.x_test[:160]
    n_train, sizes = 300, (500, 100, 10)
    out(
        f"784-500-100-10, paper options, float32, fast engine; {n_train} training images and "
        f"{len(X_test)} test images of 500 ms per condition and round, {rounds} rounds taken in "
        "turn, best round shown (wall clock, CPU time in brackets). Load average (1 min) at the "
        f"start of this section: {os.getloadavg()[0]:.1f} on {usable_cpus()} usable CPUs.\n"
    )
    g_As = (0.0, 0.05, 0.6)
    nets = {g: Network(sizes, Config(mode="spiking", g_A=g), seed=0) for g in g_As}
    best = {g: {"train": (np.inf, np.inf), "test": (np.inf, np.inf)} for g in g_As}
    n_rounds = {(g, what): Counter() for g in g_As for what in ("train", "test")}
    with np.errstate(over="ignore"):
        for net in nets.values():  # warm-up (operator caches)
            _cpu_train_ms(net, X, y, 20)
            net.output_voltage(X_test[:16], seed=0)
        for r in range(rounds):
            for g, net in nets.items():
                lo = 20 + r * n_train
                net.reset_stats()
                tr = _cpu_train_ms(net, X[lo:], y[lo:], n_train)
                n_rounds[g, "train"] += net.stats["rounds"]
                net.reset_stats()
                te = _cpu_test_ms(net, X_test)
                n_rounds[g, "test"] += net.stats["rounds"]
                best[g]["train"] = min(best[g]["train"], tr)
                best[g]["test"] = min(best[g]["test"], te)
        step = Network(sizes, Config(mode="spiking", g_A=0.05, engine="step"), seed=0)
        step_train = _cpu_train_ms(step, X, y, 20)
        step_test = _cpu_test_ms(step, X_test[:3])
    base = best[0.0]
    out("| g_A | training image | coupled / uncoupled | 500-ms test image | coupled / uncoupled |")
    out("|---|---|---|---|---|")
    for g in g_As:
        b = best[g]
        out(
            f"| {g} | {b['train'][0]:.2f} ms ({b['train'][1]:.2f}) "
            f"| {b['train'][0] / base['train'][0]:.2f} ({b['train'][1] / base['train'][1]:.2f}) "
            f"| {b['test'][0]:.2f} ms ({b['test'][1]:.2f}) "
            f"| {b['test'][0] / base['test'][0]:.2f} ({b['test'][1] / base['test'][1]:.2f}) |"
        )
    out(
        f"\nRounds of the coupled engine per stretch (at most {coupled_engine.STRETCH} steps; "
        "the first assumes no feedback spikes, the last finds no change; all rounds above):"
    )
    for g in g_As[1:]:
        parts = []
        for what, label in (("train", "training"), ("test", "test")):
            c = n_rounds[g, what]
            mean = sum(k * v for k, v in c.items()) / max(sum(c.values()), 1)
            hist = ", ".join(f"{k}: {v}" for k, v in sorted(c.items()))
            parts.append(f"{label} {mean:.2f} on average, at most {max(c)} ({hist})")
        out(f"- g_A = {g}: " + "; ".join(parts))
    fast = best[0.05]
    out(
        f"\nStep engine, g_A = 0.05 (Poisson spikes drawn per step): {step_train[0]:.1f} ms "
        f"({step_train[1]:.1f}) per training image, {step_test[0]:.0f} ms ({step_test[1]:.0f}) "
        f"per test image. Fast / step, g_A = 0.05: training {step_train[0] / fast['train'][0]:.0f}x"
        f" ({step_train[1] / fast['train'][1]:.0f}x), test {step_test[0] / fast['test'][0]:.0f}x "
        f"({step_test[1] / fast['test'][1]:.0f}x) faster. Goal: coupled within 1.5x of uncoupled "
        f"per training image; measured {fast['train'][0] / base['train'][0]:.2f}x (wall), "
        f"{fast['train'][1] / base['train'][1]:.2f}x (CPU). Load average (1 min) at the end: "
        f"{os.getloadavg()[0]:.1f}."
    )


def coupled_report(out_path: str | None, rounds: int) -> None:
    """``coupled`` alone, written to ``out_path`` with the machine's description."""
    lines: list[str] = []

    def out(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    t0, calib = time.perf_counter(), calibration_us()
    coupled(out, rounds)
    if out_path:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"], capture_output=True, text=True
        ).stdout.strip()
        head = [
            "# Spiking speed with apical coupling (written by the benchmark)",
            "",
            f"- command: `python benchmarks/bench_spiking.py coupled --rounds {rounds}`",
            f"- commit: {commit}",
            f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
            f"- machine: {platform.machine()}, {os.cpu_count()} CPUs seen, {usable_cpus()} "
            f"usable; Python {platform.python_version()}, numpy {np.__version__}",
            f"- machine speed: the reference product took {calib:.0f} us (`calibration_us`; "
            "220 us on an idle machine)",
            f"- wall time: {time.perf_counter() - t0:.0f} s",
            "",
        ]
        atomic_write_bytes(out_path, ("\n".join(head + lines) + "\n").encode())


# ------------------------------------------------------------------------------ conditions


def measure(limit: str) -> dict:
    """In this process: ms per training image (paper options) and per 500-step (paper) and
    250-step (authors_code preset) test image of 784-500-10, wall clock and CPU time, with the
    library's thread limit (``limit="default"``) or without it (``"off"``)."""
    from threadpoolctl import threadpool_info

    data = load_mnist(verbose=False)
    X = data.x_train[:620].astype(np.float32) / 255
    res = {"blas_threads_outside": sorted({d["num_threads"] for d in threadpool_info()})}
    with blas_threads(None if limit == "off" else 1), np.errstate(over="ignore"):
        net = Network((500, 10), Config(mode="spiking"), seed=0)
        _train_ms(net, X, data.y_train, 20)  # warm-up
        c, t = time.process_time(), time.perf_counter()
        n = 600
        _train_ms(net, X[20:], data.y_train[20:], n)
        res["train"] = (1e3 * (time.perf_counter() - t) / n, 1e3 * (time.process_time() - c) / n)
        for key, kw, n in (("test500", {}, 80), ("test250", {"preset": "authors_code"}, 160)):
            net = Network((500, 10), Config(mode="spiking", **kw), seed=0)
            net.output_voltage(data.x_test[:8], seed=0)  # warm-up
            c, t = time.process_time(), time.perf_counter()
            net.output_voltage(data.x_test[:n], seed=0)
            res[key] = (1e3 * (time.perf_counter() - t) / n, 1e3 * (time.process_time() - c) / n)
    return res


CONDITIONS = [
    ("one thread (OPENBLAS_NUM_THREADS=1)", {"env": "one", "busy": False, "limit": "default"}),
    (
        "default threads, machine otherwise idle",
        {"env": "default", "busy": False, "limit": "default"},
    ),
    ("default threads, other cores busy", {"env": "default", "busy": True, "limit": "default"}),
    (
        "(for contrast) other cores busy, library limit off",
        {"env": "default", "busy": True, "limit": "off"},
    ),
]


def _child(env_kind: str, limit: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    if env_kind == "one":
        env.update({k: "1" for k in THREAD_VARS})
    cmd = [sys.executable, __file__, "_measure", "--limit", limit]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _busy(n: int) -> list[subprocess.Popen]:
    """``n`` processes that each keep one core busy (a Python busy loop)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def conditions(rounds: int, out=print) -> None:
    n_cpu = usable_cpus()
    n_busy = max(n_cpu - 1, 0)
    out(
        f"usable CPUs: {n_cpu} (affinity and cgroup quota); busy processes in the busy "
        f"conditions: {n_busy}. Each condition in a fresh process, {rounds} rounds in turn; the "
        "table shows the best round (lowest wall-clock time) and all rounds below it.\n"
    )
    load = os.getloadavg()[0]
    if load > 0.5 * n_cpu:
        out(
            f"NOTE: the machine was not idle (load average {load:.1f} on {n_cpu} usable CPUs, "
            "from other processes): 'idle' below means no busy processes started by this "
            "benchmark; wall-clock times include waiting for the CPU, CPU times do not.\n"
        )
    runs = {name: [] for name, _ in CONDITIONS}
    for r in range(rounds):
        for name, c in CONDITIONS:
            busy = _busy(n_busy) if c["busy"] else []
            try:
                time.sleep(0.5 if busy else 0.0)
                runs[name].append(_child(c["env"], c["limit"]))
            finally:
                for p in busy:
                    p.kill()
                    p.wait()
    keys = (("train", "training image"), ("test250", "250-step test"), ("test500", "500-step test"))
    out(
        "| condition | BLAS threads at start | "
        + " | ".join(f"{k[1]} ms (CPU ms)" for k in keys)
        + " |"
    )
    out("|---|---|" + "---|" * len(keys))
    best = {}
    for name, _ in CONDITIONS:
        rs = runs[name]
        best[name] = {k: min(r[k] for r in rs) for k, _ in keys}
        cells = " | ".join(f"{best[name][k][0]:.2f} ({best[name][k][1]:.2f})" for k, _ in keys)
        out(f"| {name} | {rs[0]['blas_threads_outside']} | {cells} |")
    out("\nAll rounds, wall-clock ms (training / 250-step / 500-step):\n")
    for name, _ in CONDITIONS:
        rounds_s = "; ".join(" / ".join(f"{r[k][0]:.2f}" for k, _ in keys) for r in runs[name])
        out(f"- {name}: {rounds_s}")
    one = best[CONDITIONS[0][0]]
    out("\nRatios to one thread (wall clock, best rounds):\n")
    out("| condition | " + " | ".join(k[1] for k in keys) + " |")
    out("|---|" + "---|" * len(keys))
    for name, _ in CONDITIONS[1:]:
        out(
            f"| {name} | "
            + " | ".join(f"{best[name][k][0] / one[k][0]:.2f}" for k, _ in keys)
            + " |"
        )
    three = [name for name, _ in CONDITIONS[:3]]
    for clock, j in (("wall clock", 0), ("CPU time", 1)):
        for k, label in keys:
            vals = [best[name][k][j] for name in three]
            spread = max(vals) / min(vals) - 1
            verdict = "within" if spread <= 0.15 else "NOT within"
            out(
                f"- {label}, {clock}: the three conditions are {verdict} 15 % of each other "
                f"(spread {100 * spread:.0f} %)"
            )


# ------------------------------------------------------------------------------ profile


def profile(out=print, n: int = 200) -> None:
    """Where the 250-step test image (authors_code preset, batched) spends its time: cProfile's
    own time per function, per image."""
    import cProfile
    import pstats

    data = load_mnist(verbose=False)
    net = Network((500, 10), Config(mode="spiking", preset="authors_code"), seed=0)
    X = data.x_test[:n]
    with limited_blas(), np.errstate(over="ignore"):
        net.output_voltage(X[:8], seed=0)
        pr = cProfile.Profile()
        pr.enable()
        net.output_voltage(X, seed=0)
        pr.disable()
    st = pstats.Stats(pr).stats
    total = sum(v[2] for v in st.values())
    rows = sorted(st.items(), key=lambda kv: -kv[1][2])[:12]
    out(f"cProfile of {n} test images (250 steps, batches of 4); own time per image:\n")
    out("| function | calls per image | own ms per image | share |")
    out("|---|---|---|---|")
    for (path, line, fn), v in rows:
        where = f"{os.path.basename(path)}:{line}({fn})" if line else fn
        out(f"| `{where}` | {v[1] / n:.1f} | {1e3 * v[2] / n:.3f} | {100 * v[2] / total:.0f} % |")
    out(f"| all | | {1e3 * total / n:.3f} | 100 % |")


def calibration_us() -> float:
    """Microseconds for one reference product, (500, 784) @ (784, 20) in float32 with one BLAS
    thread (best of 5 x 500): the same code ran 2.3 times slower on this kind of virtual
    machine on one day than on another, so results from different runs are compared
    through this figure."""
    rng = np.random.default_rng(0)
    W = np.asfortranarray(rng.standard_normal((500, 784), dtype=np.float32))
    S = rng.standard_normal((784, 20), dtype=np.float32)
    best = np.inf
    with limited_blas():
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(500):
                W @ S
            best = min(best, (time.perf_counter() - t) / 500)
    return 1e6 * best


def _cpu_ticks() -> tuple[int, int] | None:
    """(steal, total) clock ticks of all CPUs since boot from /proc/stat (Linux), else None.
    Steal is time the virtual machine's host gave to someone else: it slows every condition
    without showing as load."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def speed(out_path: str | None, rounds: int) -> None:
    t0 = time.perf_counter()
    lines: list[str] = []

    def out(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    load_before, ticks_before = os.getloadavg(), _cpu_ticks()
    calib = calibration_us()
    out("## Thread conditions\n")
    conditions(rounds, out)
    out("\n## Fast and step engines\n")
    engines(out)
    out("\n## Profile of the 250-step test image\n")
    profile(out)
    wall = time.perf_counter() - t0
    ticks_after = _cpu_ticks()
    steal = "not available"
    if ticks_before and ticks_after and ticks_after[1] > ticks_before[1]:
        share = (ticks_after[0] - ticks_before[0]) / (ticks_after[1] - ticks_before[1])
        steal = f"{100 * share:.1f} % of CPU time (taken by the host, /proc/stat)"
    if out_path:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"], capture_output=True, text=True
        ).stdout.strip()
        cpu = platform.processor() or platform.machine()
        try:
            with open("/proc/cpuinfo") as f:
                cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
        except (OSError, StopIteration):
            pass
        head = [
            "# Spiking speed (written by the benchmark)",
            "",
            f"- command: `python benchmarks/bench_spiking.py speed --rounds {rounds}`",
            f"- commit: {commit}",
            f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
            f"- machine: {cpu}, {os.cpu_count()} CPUs seen, {usable_cpus()} usable; "
            f"Python {platform.python_version()}, numpy {np.__version__}",
            f"- load average (1 min) at start {load_before[0]:.1f}, "
            f"at end {os.getloadavg()[0]:.1f}",
            f"- machine speed: the reference product (500, 784) @ (784, 20), float32, one "
            f"thread, took {calib:.0f} us (see `calibration_us`)",
            f"- steal during the run: {steal}",
            f"- wall time: {wall:.0f} s",
            "",
        ]
        atomic_write_bytes(out_path, ("\n".join(head + lines) + "\n").encode())


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
    from segdend_lite.model.blocks import BatchState
    from segdend_lite.model.spiking import fast_engine
    from segdend_lite.model.draws import Draws
    from segdend_lite.model.spiking_state import phase_lengths
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
        f, t = fast_engine(net)(net, b, [(x, cols)], [(T_f, None), (T_t, label)], draws)
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
    ap.add_argument("what", choices=["speed", "coupled", "accuracy", "angles", "_measure"])
    ap.add_argument("--workers", type=int, default=usable_cpus(), help="default: usable CPUs")
    ap.add_argument("--out", default=None)
    ap.add_argument("--rounds", type=int, default=5, help="speed: rounds of the conditions")
    ap.add_argument("--limit", choices=["default", "off"], default="default")
    ap.add_argument("--checkpoint", help="angles: a one-hidden-layer spiking checkpoint")
    args = ap.parse_args()
    if args.what == "speed":
        speed(args.out or "benchmarks/results_spiking_speed.md", args.rounds)
    elif args.what == "coupled":
        coupled_report(args.out or "benchmarks/results_spiking_coupled.md", args.rounds)
    elif args.what == "_measure":  # one condition, in a child process of ``speed``
        print(json.dumps(measure(args.limit)))
    elif args.what == "accuracy":
        accuracy(args.workers, args.out)
    else:
        with np.errstate(over="ignore"):  # sigma(-large): exp overflows to the right 0
            angles(args.checkpoint)


if __name__ == "__main__":
    main()
