"""The spiking benchmark's helpers run against the current library (smoke tests on tiny inputs;
the figures themselves are measured by running the scripts)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


from segdend_lite import Config, Network
from segdend_lite.model.training import save_checkpoint

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_spiking.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_spiking", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_angles_and_floor_run(tmp_path, mnist_full, capsys):
    bench = _bench()
    net = Network((20, 10), Config(mode="spiking", test_length=100), seed=0)
    net.fit(mnist_full.x_train[:50], mnist_full.y_train[:50], progress=False)
    save_checkpoint(net, tmp_path / "c.npz")
    bench.angles(str(tmp_path / "c.npz"), n=40, block=10)
    printed = capsys.readouterr().out
    assert "mean angle per image" in printed and "nan" not in printed
    products, draws = bench._test_floor(net, mnist_full.x_test[:4])
    assert products > 0 and draws > 0


def test_speed_profile_runs(capsys):
    _bench().profile(n=8)
    printed = capsys.readouterr().out
    assert "own ms per image" in printed and "| all |" in printed
