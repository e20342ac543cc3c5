"""The BLAS thread limit around the spiking engines, and the count of usable CPUs."""

from __future__ import annotations

import os

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from segdend_lite import Config, Network
from segdend_lite.threads import (
    DEFAULT_BLAS_THREADS,
    blas_threads,
    cgroup_cpu_limit,
    usable_cpus,
)

BEFORE = 3  # the user's own setting before a run: not the library's default


def _blas_threads() -> set[int]:
    return {d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"}


@pytest.fixture
def user_threads():
    """The user's BLAS setting (BEFORE threads) for the test, restored afterwards."""
    if not _blas_threads():
        pytest.skip("threadpoolctl finds no BLAS library in this numpy")
    with threadpool_limits(BEFORE, user_api="blas"):
        if _blas_threads() != {BEFORE}:
            pytest.skip(f"this BLAS does not take {BEFORE} threads")
        yield


@pytest.fixture
def spy(monkeypatch):
    """Record the BLAS threads each time numpy's flatnonzero is called: the engines call it on
    every image (pixels that are lit), so the record covers the spiking run itself."""
    seen = []
    real = np.flatnonzero

    def flatnonzero(a):
        seen.append(_blas_threads())
        return real(a)

    monkeypatch.setattr(np, "flatnonzero", flatnonzero)
    return seen


def _spiking(sizes=(20, 10), **kw):
    return Network(
        sizes, Config(mode="spiking", phase_length=20, test_length=30, settle=10, **kw), seed=0
    )


def test_spiking_fit_and_evaluate_run_limited_and_restore(mnist_small, user_threads, spy):
    X, y = mnist_small.x_train[:3], mnist_small.y_train[:3]
    net = _spiking()
    in_callback = []
    net.fit(
        X, y, epochs=1, progress=False, on_epoch=lambda n, h: in_callback.append(_blas_threads())
    )
    assert in_callback == [{DEFAULT_BLAS_THREADS}]
    assert spy and all(s == {DEFAULT_BLAS_THREADS} for s in spy)
    assert _blas_threads() == {BEFORE}  # restored
    spy.clear()
    net.evaluate(mnist_small.x_test[:5], mnist_small.y_test[:5], seed=0)
    assert len(spy) >= 5 and all(s == {DEFAULT_BLAS_THREADS} for s in spy)
    assert _blas_threads() == {BEFORE}
    spy.clear()
    net.train_step(X[0] / 255.0, int(y[0]))
    assert spy and all(s == {DEFAULT_BLAS_THREADS} for s in spy)
    assert _blas_threads() == {BEFORE}


def test_limit_restored_after_an_error(mnist_small, user_threads):
    net = _spiking()

    def fail(net, history):
        assert _blas_threads() == {DEFAULT_BLAS_THREADS}
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        net.fit(mnist_small.x_train[:2], mnist_small.y_train[:2], progress=False, on_epoch=fail)
    assert _blas_threads() == {BEFORE}


def test_blas_threads_setting_and_rate_mode(mnist_small, user_threads, spy):
    X = mnist_small.x_test[:4]
    with blas_threads(2):
        _spiking().output_voltage(X, seed=0)
    assert spy and all(s == {2} for s in spy)
    spy.clear()
    with blas_threads(None):  # no limit: the user's own setting inside the run
        _spiking().output_voltage(X, seed=0)
    assert spy and all(s == {BEFORE} for s in spy)
    spy.clear()
    rate = Network((20, 10), Config(mode="rate"), seed=0)
    seen = []
    rate.fit(
        mnist_small.x_train[:4],
        mnist_small.y_train[:4],
        batch_size=2,
        progress=False,
        on_epoch=lambda n, h: seen.append(_blas_threads()),
    )
    assert seen == [{BEFORE}]  # rate-mode batches: not limited
    assert _blas_threads() == {BEFORE}
    rate.evaluate(mnist_small.x_test[:4], mnist_small.y_test[:4])
    assert _blas_threads() == {BEFORE}


def test_online_rate_mode_and_the_textbook_network_train_with_one_thread(
    mnist_small, user_threads, monkeypatch
):
    """Online rate-mode training (fit with batch_size 1, train_step) and the textbook network's
    minibatch loop are matrix-vector products: one BLAS thread, the user's setting after."""
    from segdend_lite import mlp
    from segdend_lite.model import rate

    seen = []
    real_learn, real_step = rate.learn_one, mlp.MLP.step

    def learn(*args, **kwargs):
        seen.append(("rate", _blas_threads()))
        return real_learn(*args, **kwargs)

    def step(self, *args, **kwargs):
        seen.append(("mlp", _blas_threads()))
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(rate, "learn_one", learn)
    monkeypatch.setattr(mlp.MLP, "step", step)
    net = Network((20, 10), Config(mode="rate"), seed=0)
    X, y = mnist_small.x_train[:4], mnist_small.y_train[:4]
    net.fit(X, y, progress=False)
    net.train_step(X[0] / 255.0, int(y[0]))
    mlp.train(mlp.MLP.create(n_hidden=8), X, y, X, y, batch_size=2)
    assert {k for k, _ in seen} == {"rate", "mlp"}, seen
    assert all(t == {DEFAULT_BLAS_THREADS} for _, t in seen), seen
    assert _blas_threads() == {BEFORE}


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_blas_threads_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="whole number >= 1 or None"):
        with blas_threads(bad):
            pass


def test_phase_explorer_runs_limited(mnist_small, user_threads, spy):
    from segdend_lite.course.widgets import phase_explorer_data

    net = _spiking()
    phase_explorer_data(net, mnist_small.x_train[0] / 255.0, int(mnist_small.y_train[0]), 0)
    assert spy and all(s == {DEFAULT_BLAS_THREADS} for s in spy)
    assert _blas_threads() == {BEFORE}


# ------------------------------------------------------------------------------ usable CPUs


def _tree(tmp_path, files: dict[str, str], self_cgroup: str):
    root = tmp_path / "cgroup"
    root.mkdir()
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    proc = tmp_path / "proc_self_cgroup"
    proc.write_text(self_cgroup)
    return root, proc


def _affinity() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@pytest.mark.parametrize(
    "files, self_cgroup, quota",
    [
        # cgroup v2, container: its own group at the root
        ({"cgroup.controllers": "cpu", "cpu.max": "150000 100000\n"}, "0::/\n", 1.5),
        ({"cgroup.controllers": "cpu", "cpu.max": "max 100000\n"}, "0::/\n", None),
        # cgroup v2, a nested group: the smallest quota of it and its ancestors
        (
            {
                "cgroup.controllers": "cpu",
                "a/cpu.max": "50000 100000\n",
                "a/b/cpu.max": "300000 100000\n",
            },
            "0::/a/b\n",
            0.5,
        ),
        # cgroup v1 (cpu controller mounted with cpuacct)
        (
            {
                "cpu,cpuacct/cpu.cfs_quota_us": "200000\n",
                "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
            },
            "4:memory:/x\n3:cpu,cpuacct:/\n0::/\n",
            2.0,
        ),
        (
            {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"},
            "1:cpu:/\n",
            None,
        ),
        # cgroup v1, a group path the container cannot see: the visible root counts
        (
            {"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"},
            "1:cpu:/docker/abc\n",
            1.0,
        ),
        ({}, "", None),  # no cgroup files at all
    ],
)
def test_cgroup_cpu_limit_from_fake_files(tmp_path, files, self_cgroup, quota):
    root, proc = _tree(tmp_path, files, self_cgroup)
    assert cgroup_cpu_limit(root, proc) == quota
    n = _affinity()
    expected = n if quota is None else max(1, min(n, int(quota)))
    assert usable_cpus(root, proc) == expected


def test_usable_cpus_rounds_down_and_follows_affinity(tmp_path, monkeypatch):
    root, proc = _tree(tmp_path, {"cgroup.controllers": "", "cpu.max": "390000 100000"}, "0::/")
    monkeypatch.setattr(
        os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5, 6, 7}, raising=False
    )
    assert usable_cpus(root, proc) == 3  # 3.9 CPUs of quota -> 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5, 6}, raising=False)
    assert usable_cpus(root, proc) == 2  # only two CPUs allowed
    (root / "cpu.max").write_text("20000 100000")
    assert usable_cpus(root, proc) == 1  # 0.2 CPU -> at least 1


def test_usable_cpus_on_this_machine():
    n = usable_cpus()
    assert 1 <= n <= (os.cpu_count() or 1)


def test_cli_rejects_a_bad_thread_count(tmp_path, capsys):
    from segdend_lite.__main__ import main

    code = main(["train", "--blas-threads", "-1", "--data", "small", "--out", str(tmp_path)])
    assert code == 2 and "blas_threads" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
