"""Spiking mode: kernel, Poisson spikes, Euler soma, and the step/fast engine equivalence."""

from __future__ import annotations

import numpy as np
import pytest

from segdend_lite import Config, Network
from segdend_lite.model import neuron, spiking
from segdend_lite.model.draws import candidate_events, thinned_counts
from segdend_lite.model.blocks import psp_block, soma_block
from segdend_lite.model.spiking_state import PSP

F64 = dict(mode="spiking", dtype="float64")


def test_psp_kernel_integrates_to_one_and_truncation_to_half():
    dt = 0.001  # ms; a midpoint sum of the continuous kernel
    t = np.arange(0, 400, dt) + dt / 2
    assert neuron.psp_kernel(t).sum() * dt == pytest.approx(1.0, abs=1e-6)
    assert neuron.psp_taps(10).sum() == pytest.approx(0.51, abs=0.005)
    assert neuron.psp_taps(10)[0] == pytest.approx(0.027, abs=5e-4)
    assert neuron.psp_taps(2000).sum() == pytest.approx(1.0, abs=0.005)  # 1-ms sampling


def test_psp_filter_traces_equal_convolution():
    """Every form of the filter (the convolution ``neuron.psp_filter``, traces step by step,
    matrices for a phase) equals the direct sum over the kernel, across two phases (state
    carried over)."""
    rng = np.random.default_rng(0)
    S = rng.poisson(0.3, size=(120, 4)).astype(float)
    for kernel, taps in (("full", 120), ("truncated", 10)):
        k = neuron.psp_taps(taps)
        direct = np.array(
            [sum(k[j] * S[t - j] for j in range(min(t + 1, len(k)))) for t in range(120)]
        )
        stepper = PSP(4, 3.0, 10.0, kernel, 10, np.float64)
        stepped = np.array([stepper.step(S[t]) for t in range(120)])
        blocker = PSP(4, 3.0, 10.0, kernel, 10, np.float64)
        key = (kernel == "full", 3.0, 10.0, 10)
        blocked = np.concatenate([psp_block(blocker, S[:53], key), psp_block(blocker, S[53:], key)])
        np.testing.assert_allclose(neuron.psp_filter(S, k), direct, atol=1e-12)
        np.testing.assert_allclose(stepped, direct, atol=1e-12)
        np.testing.assert_allclose(blocked, direct, atol=1e-12)


@pytest.mark.parametrize("lam_max", [0.2, 1.5])
def test_thinned_candidates_give_poisson_counts(lam_max):
    """Counts per (step, unit) cell from thinning: mean, variance and P(0) = exp(-lambda) within
    5 standard errors for rates from 0.5 % to 100 % of the maximum, with p varying over time
    too; neighbouring steps uncorrelated."""
    rng = np.random.default_rng(1)
    T, n = 4000, 100
    p = np.empty((T, n))
    p[:, :25], p[:, 25:50], p[:, 50:75] = 0.005, 0.12, 1.0
    p[:, 75:] = np.where(np.arange(T)[:, None] % 2 == 0, 0.6, 0.3)  # switches every step
    step, unit, u = candidate_events(rng, lam_max, T, n)
    assert np.all(np.diff(step) >= 0) and unit.dtype == np.int32
    S = thinned_counts(p[step, unit], u, step * n + unit, T * n).reshape(T, n)
    groups = [
        (S[:, :25], 0.005),
        (S[:, 25:50], 0.12),
        (S[:, 50:75], 1.0),
        (S[0::2, 75:], 0.6),
        (S[1::2, 75:], 0.3),
    ]
    for cells, frac in groups:
        lam, N = lam_max * frac, cells.size
        se = np.sqrt(lam / N)
        assert abs(cells.mean() - lam) < 5 * se, (lam_max, frac)
        p0 = np.exp(-lam)
        assert abs(np.mean(cells == 0) - p0) < 5 * np.sqrt(p0 * (1 - p0) / N), (lam_max, frac)
        assert abs(cells.var() - lam) < 0.05 * lam + 10 * se, (lam_max, frac)
    r = np.corrcoef(S[:-1, 50:75].ravel(), S[1:, 50:75].ravel())[0, 1]
    assert abs(r) < 5 / np.sqrt(S[:, 50:75].size)


def test_euler_soma_converges_to_k_B_times_basal():
    cfg = Config()
    V_b = np.full((60, 3), 2.0)
    V = soma_block(cfg.g_B * V_b, np.zeros(3), 1.0 - cfg.g_L - cfg.g_B)
    np.testing.assert_allclose(V[-1], cfg.k_B * 2.0, rtol=1e-12)
    v = 0.0  # the same with plain Euler steps
    for _ in range(60):
        v += -cfg.g_L * v + cfg.g_B * (2.0 - v)
    assert v == pytest.approx(V[-1, 0], rel=1e-12)


@pytest.mark.parametrize("g_A", [0.0, 0.05, 0.6])
def test_the_fast_engines_recursions_are_the_euler_steps(g_A):
    """``blocks.hidden_recursion`` and ``blocks.output_recursion`` are eqs. 1 and 18-19 as
    ``neuron.euler_soma_step`` and ``neuron.euler_output_step`` (with the teaching current)
    compute them, in both phases."""
    from segdend_lite.model.blocks import hidden_recursion, output_recursion

    net = Network((5, 4), Config(mode="spiking", g_A=g_A, dtype="float64"), seed=0)
    cfg, rng = net.config, np.random.default_rng(0)
    V, V_b, V_a = rng.normal(size=(3, 4))
    a = hidden_recursion(cfg)
    expected = neuron.euler_soma_step(V, V_b, V_a, cfg.g_L, cfg.g_B, cfg.g_A)
    np.testing.assert_allclose(a * V + cfg.g_B * V_b + cfg.g_A * V_a, expected, rtol=1e-12)
    for label in (None, 2):
        a, c = output_recursion(net, label)
        g_E, g_I = neuron.teaching_conductances(label, 4)
        I = neuron.teaching_current(V, g_E, g_I, cfg.E_E, cfg.E_I)
        expected = neuron.euler_output_step(V, V_b, I, cfg.g_L, cfg.g_D)
        got = a * V + cfg.g_D * V_b + (0.0 if c is None else c)
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"g_A": 0.05},
        {"random_plateau_times": True},
        {"preset": "authors_code"},
        {"g_A": 0.6, "random_plateau_times": True},
        {"feedback": "layerwise"},
        {"phase_length": 80, "kernel": "truncated"},  # longer than one chunk of the fast engine
        {"spiking_feedback": False, "random_plateau_times": True},
        {"spiking_feedback": False, "feedback": "layerwise", "g_A": 0.05},
        {"feedback": "layerwise", "g_A": 0.05},
        {"kernel": "full", "g_A": 0.6, "phase_length": 70},
    ],
)
@pytest.mark.parametrize("sizes", [(60, 10), (40, 20, 10)])
def test_step_and_fast_engines_agree(mnist_small, options, sizes, monkeypatch):
    """From the same draws, the fast engine (with g_A = 0 or > 0) gives the step engine's
    spikes, state, weights and test read-out. With g_A > 0, some stretches took a third round
    (a difference found after the first), so restarting from the first step not yet final is
    covered too."""
    monkeypatch.setattr(spiking, "TEST_BATCH", 2)  # test images in batches of 2 and 1
    nets = {e: Network(sizes, Config(engine=e, **F64, **options), seed=2) for e in ("step", "fast")}
    for net in nets.values():
        for i in range(4):
            x, y = mnist_small.x_train[i] / 255.0, mnist_small.y_train[i]
            spiking.learn_one(net, x, y, same_draws=True)
    step, fast = nets["step"], nets["fast"]
    start = Network(sizes, Config(**F64, **options), seed=2)
    assert np.abs(step.W[0] - start.W[0]).max() > 1e-4  # they learned something
    for a, b in zip(list(step.W) + list(step.b), list(fast.W) + list(fast.b)):
        np.testing.assert_allclose(a, b, atol=1e-10)
    for a, b in zip(step.spiking.V, fast.spiking.V):
        np.testing.assert_allclose(a, b, atol=1e-10)
    for p, q in zip(step.spiking.psp, fast.spiking.psp):  # the carried-over PSP state
        for k, v in p.state().items():
            np.testing.assert_allclose(v, q.state()[k], atol=1e-10)
    np.testing.assert_array_equal(step.stats["spikes"], fast.stats["spikes"])
    X = mnist_small.x_test[:3]
    np.testing.assert_allclose(
        spiking.output_voltage(step, X / 255.0, 5, same_draws=True),
        spiking.output_voltage(fast, X / 255.0, 5),
        atol=1e-10,
    )
    if options.get("g_A"):
        rounds = fast.stats["rounds"]
        assert max(rounds) >= 3, rounds


def test_blank_image_is_simulated_alike_by_both_engines():
    """An image with no lit pixel (no input spikes) trains and tests without error."""
    nets = {e: Network((20, 10), Config(engine=e, **F64), seed=0) for e in ("step", "fast")}
    for net in nets.values():
        spiking.learn_one(net, np.zeros(784), 3, same_draws=True)
    np.testing.assert_allclose(nets["step"].b[0], nets["fast"].b[0], atol=1e-12)
    assert np.abs(nets["fast"].b[0] - Network((20, 10), Config(**F64), seed=0).b[0]).max() > 0
    blank = np.zeros((2, 784))
    np.testing.assert_allclose(
        spiking.output_voltage(nets["step"], blank, 1, same_draws=True),
        spiking.output_voltage(nets["fast"], blank, 1),
    )


def test_step_engine_draws_poisson_spikes_as_it_goes(mnist_small):
    """By default the step engine draws ``Poisson(rate dt)`` at each step: over 400 ms the input
    spike counts of lit pixels match ``phi_max x`` (within 5 standard errors), counts above 1
    occur, and the fast engine's draws are not used (another stream of spikes)."""
    net = Network((30, 10), Config(engine="step", phase_length=400, **F64), seed=0)
    x = mnist_small.x_train[0] / 255.0
    seen = []
    draw = spiking.poisson_spikes(np.random.default_rng(3))

    def spikes(k, t, rate):
        S = draw(k, t, rate)
        if k == 0:
            seen.append(S)
        return S

    from segdend_lite.model.step import simulate_phase

    simulate_phase(net, net.spiking, x, 400, None, spikes)
    S = np.array(seen)  # (400, 784)
    lam = net.config.phi_max * x
    cols = lam > 0.1
    se = np.sqrt(lam[cols].sum() / 400)
    assert abs(S[:, cols].sum(1).mean() - lam[cols].sum()) < 5 * se
    assert S.max() >= 2 and S[:, x == 0].sum() == 0
    a = Network((30, 10), Config(engine="step", **F64), seed=0)
    b = Network((30, 10), Config(engine="fast", **F64), seed=0)
    for net in (a, b):
        net.train_step(x, 5)
    assert np.abs(a.W[0] - b.W[0]).max() > 1e-8


def test_step_engine_records_traces(mnist_small):
    from segdend_lite.model.spiking import Draws, run_phase

    net = Network((30, 10), Config(engine="step", **F64), seed=0)
    x = mnist_small.x_train[0] / 255.0
    cols = np.flatnonzero(x)
    r = run_phase(
        net,
        x,
        cols,
        50,
        3,
        Draws.draw(net, net.rng, 50, len(cols)),
        engine="step",
        record={0: [0, 1], 1: [3]},
    )
    assert r.trace[0]["V_a"].shape == (50, 2) and r.trace[0]["S"].shape == (50, 2)
    assert r.trace[1]["V"].shape == (50, 1)
    assert r.trace[1]["V"][-1, 0] > 2.0  # the taught unit is pushed up in the target phase


def test_rate_feedback_sends_output_rates_of_the_previous_step(mnist_small):
    """With ``spiking_feedback=False`` the apical potential at step t is ``Y phi_max sigma(V)``
    of the output somata at step t-1 (paper Fig. 7A, "rate feedback")."""
    from segdend_lite.model.spiking import Draws, run_phase

    cfg = Config(engine="step", spiking_feedback=False, **F64)
    net = Network((30, 10), cfg, seed=1)
    x = mnist_small.x_train[3] / 255.0
    cols = np.flatnonzero(x)
    draws = Draws.draw(net, net.rng, 40, len(cols))
    r = run_phase(net, x, cols, 40, 2, draws, record={0: [0, 5], 1: list(range(10))})
    V_out = r.trace[1]["V"]  # (40, 10)
    expected = (cfg.phi_max * neuron.sigma(V_out[:-1])) @ net.Y[0][[0, 5]].T
    np.testing.assert_allclose(r.trace[0]["V_a"][1:], expected, rtol=1e-12)
    assert np.ptp(r.trace[0]["V_a"][1:, 0]) > 0.01  # the teaching signal changes it


def test_short_spiking_training_beats_chance(mnist_small):
    """Measured (seed 0, 784-100-10, the default 10-lag kernel, 5,000 images): 35.3 % test error
    on 300 test images, hidden 107 Hz, output 21 Hz, mean angle to backprop 77.6 degrees (seed
    1: 42.0 %). The full kernel learns faster this early (18.7 % after 3,000 images)."""
    net = Network((100, 10), Config(mode="spiking", test_length=100), seed=0)
    net.fit(mnist_small.x_train[:5000], mnist_small.y_train[:5000], epochs=1, progress=False)
    err = net.evaluate(mnist_small.x_test[:300], mnist_small.y_test[:300], seed=0)
    assert err < 45.0, f"test error {err:.1f} % after 5,000 spiking images (measured 35.3 %)"
    hidden, out = net.firing_rates()
    assert 50.0 < hidden < 160.0 and 5.0 < out < 40.0, (hidden, out)
    assert 55.0 < np.mean(net.stats["angles"]) < 88.0


def test_spiking_rejects_minibatches(mnist_small):
    net = Network((20, 10), Config(mode="spiking"), seed=0)
    with pytest.raises(ValueError, match="online only"):
        net.train_batch(mnist_small.x_train[:4] / 255.0, mnist_small.y_train[:4])


def test_spiking_checkpoint_resume_equals_straight_run(tmp_path, mnist_small):
    X, y = mnist_small.x_train[:60], mnist_small.y_train[:60]
    cfg = Config(mode="spiking", random_plateau_times=True)
    straight = Network((30, 10), cfg, seed=3)
    straight.fit(X, y, epochs=2, progress=False)
    first = Network((30, 10), cfg, seed=3)
    first.fit(X, y, epochs=1, progress=False, checkpoint=tmp_path / "s.npz")
    from segdend_lite.model.training import load_checkpoint

    resumed = load_checkpoint(tmp_path / "s.npz")
    resumed.fit(X, y, epochs=1, progress=False)
    for a, b in zip(list(resumed.W) + resumed.spiking.V, list(straight.W) + straight.spiking.V):
        np.testing.assert_array_equal(a, b)
    assert straight.history["hidden_rate_hz"][-1] > 0
    assert 0 < straight.history["angle_to_bp"][-1] < 180
