"""The spiking benchmark's helpers run against the current library (smoke tests on tiny inputs;
the figures themselves are measured by running the scripts)."""

from __future__ import annotations

import pytest

from conftest import load_script
from segdend_lite import Config, Network
from segdend_lite.model.training import save_checkpoint


@pytest.fixture(scope="module")
def bench():
    return load_script("benchmarks/bench_spiking.py")


def test_angles_and_floor_run(tmp_path, mnist_small, bench, capsys):
    net = Network((20, 10), Config(mode="spiking", test_length=100), seed=0)
    net.fit(mnist_small.x_train[:50], mnist_small.y_train[:50], progress=False)
    save_checkpoint(net, tmp_path / "c.npz")
    bench.angles(str(tmp_path / "c.npz"), n=40, block=10)
    printed = capsys.readouterr().out
    assert "mean angle per image" in printed and "nan" not in printed
    products, draws = bench._test_floor(net, mnist_small.x_test[:4])
    assert products > 0 and draws > 0


def test_speed_profile_runs(bench, capsys):
    bench.profile(n=8)
    printed = capsys.readouterr().out
    assert "own ms per image" in printed and "| all |" in printed
