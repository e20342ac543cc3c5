"""The spiking engines against an independent oracle (tests/spiking_oracle.py): the expected value
of every quantity of one learning step, over a few hundred repetitions of one image at fixed
weights, with independent random numbers on each side.

The comparison is a chi-square per degree of freedom of the difference of the means (about 1 when
both sides compute the same expectations; quantities with 10 elements scatter more). Measured
(784-100-10, float64, 300 repetitions per side): 0.5-2.2 for every quantity with both engines
(1,000 repetitions: 0.5-2.0, so nothing grows with the sample). Against the fast engine's
samples, the oracle with its kernel scaled by 2 gives 27-300 for every quantity (scaled by 1.1:
2-8); with its window starting at the phase's onset instead of 30 ms in, 140 for the target
phase's output rates and 46 for its apical voltages. A window that starts anywhere in the
settled part of the phase (20 or 40 ms) has the same expectations and is not detected (0.4-3.8),
as it should not be."""

from __future__ import annotations

import numpy as np
import pytest

from segdend_lite import Config, Network
from segdend_lite.model.spiking import one_phase
from spiking_oracle import PlainNetwork, chi2_per_dof, kernel_lags  # tests/spiking_oracle.py

R = 300  # repetitions of the image per side
IMAGE = 7  # a training image of the bundled subset
#: Matching expectations give about 1 (chi-square per degree of freedom); this leaves room for
#: the scatter of 10-element quantities and for the correlation of successive repetitions (the
#: state carries over).
MATCH = 3.0

QUANTITIES = (
    "f_s0",  # input PSPs, forward window (n_input,)
    "f_V0",  # hidden somatic voltages, forward window
    "f_Va0",  # hidden apical voltages, forward window
    "t_Va0",  # hidden apical voltages, target window
    "f_V_out",  # output somatic voltages, forward window
    "t_r_out",  # output rates, target window
    "dW0",
    "db0",
    "dW1",
    "db1",
)


def _network(engine: str) -> Network:
    cfg = Config(mode="spiking", dtype="float64", random_phase_lengths=False, engine=engine)
    return Network((100, 10), cfg, seed=3)


def _engine_samples(engine: str, x: np.ndarray, label: int) -> dict[str, np.ndarray]:
    """The engine's quantities over R repetitions: window averages from ``one_phase`` (a
    forward then a target phase, the state carried over), weight changes from ``train_step``
    with the weights restored after each."""
    net = _network(engine)
    rows: dict[str, list] = {k: [] for k in QUANTITIES}
    for _ in range(R):
        f = one_phase(net, x, None)
        t = one_phase(net, x, label)
        for k, v in (
            ("f_s0", f.s_pre[0]),
            ("f_V0", f.V_h[0]),
            ("f_Va0", f.V_a[0]),
            ("t_Va0", t.V_a[0]),
            ("f_V_out", f.V_out),
            ("t_r_out", t.r_out),
        ):
            rows[k].append(np.array(v, float))
    net = _network(engine)
    W0 = [w.copy() for w in net.W]
    b0 = [v.copy() for v in net.b]
    for _ in range(R):
        net.train_step(x, label)
        for l in range(2):
            rows[f"dW{l}"].append(net.W[l] - W0[l])
            rows[f"db{l}"].append(net.b[l] - b0[l])
            net.W[l] = W0[l]
            net.b[l] = b0[l]
    return {k: np.array(v) for k, v in rows.items()}


def _oracle_samples(x, label, scale: float = 1.0, settle: int | None = None, reps: int = R):
    net = _network("step")
    cfg = net.config
    plain = PlainNetwork(net.W, net.b, net.Y, cfg, kernel_lags(cfg, scale), settle)
    rng = np.random.default_rng(12345)
    lr = cfg.learning_rates(2)
    steps = [plain.learning_step(x, label, cfg.phase_length, rng, lr) for _ in range(reps)]
    return {k: np.array([s[k] for s in steps]) for k in QUANTITIES}


@pytest.fixture(scope="module")
def image(mnist_small):
    return mnist_small.x_train[IMAGE] / 255.0, int(mnist_small.y_train[IMAGE])


@pytest.fixture(scope="module")
def oracle(image):
    return _oracle_samples(*image)


@pytest.fixture(scope="module")
def fast_engine(image):
    return _engine_samples("fast", *image)


@pytest.mark.parametrize("engine", ["fast", "step"])
def test_engines_have_the_oracles_expectations(engine, image, oracle, fast_engine):
    samples = fast_engine if engine == "fast" else _engine_samples("step", *image)
    chi2 = {k: chi2_per_dof(samples[k], oracle[k]) for k in QUANTITIES}
    bad = {k: round(v, 2) for k, v in chi2.items() if not v < MATCH}
    assert not bad, f"{engine} engine differs from the oracle (chi2/dof per quantity): {chi2}"
    # the weight changes are not vanishingly small: the comparison has something to compare
    assert np.abs(oracle["dW0"].mean(axis=0)).max() > 1e-4


def test_the_comparison_fails_with_the_kernel_scaled_by_2(image, fast_engine):
    scaled = _oracle_samples(*image, scale=2.0, reps=100)
    chi2 = {k: chi2_per_dof(fast_engine[k], scaled[k]) for k in QUANTITIES}
    assert all(v > 3 * MATCH for v in chi2.values()), chi2


def test_the_comparison_fails_with_the_window_shifted(image, fast_engine):
    """A window from the phase's onset (0 ms) instead of 30 ms in takes in the output's swing
    from one phase to the next."""
    shifted = _oracle_samples(*image, settle=0, reps=100)
    chi2 = chi2_per_dof(fast_engine["t_r_out"], shifted["t_r_out"])
    assert chi2 > 10 * MATCH, chi2
