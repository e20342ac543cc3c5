"""The rate-mode network: closed forms, signs, oracles, equivalences, learning, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from segdend_lite.model import neuron
from segdend_lite.analysis import angle_to_backprop, jacobian_condition
from segdend_lite.model.baselines import (
    backprop_network,
    feedback_alignment_network,
    gradients,
    output_loss,
)
from segdend_lite.model.config import Config
from segdend_lite.model.network import Network
from segdend_lite.model.training import load_checkpoint, save_checkpoint
from oracle import plain_rate_step  # tests/oracle.py

F64 = Config(dtype="float64")


# ---------------------------------------------------------------- closed forms and signs


@pytest.mark.parametrize("g_A, expected", [(0.0, 0.857), (0.05, 0.800), (0.6, 0.462)])
def test_k_B(g_A, expected):
    assert Config(g_A=g_A).k_B == pytest.approx(expected, abs=5e-4)


def test_k_D_and_euler_steady_state():
    cfg = Config()
    assert cfg.k_D == pytest.approx(0.6 / 0.7)
    V, B = 0.0, 2.5  # forward phase: dV/dt = -g_L V + g_D (B - V)
    for _ in range(200):
        V += -cfg.g_L * V + cfg.g_D * (B - V)
    assert V == pytest.approx(cfg.k_D * B, rel=1e-9)


@pytest.mark.parametrize("t", [1.0, 0.0])
def test_target_phase_fixed_point(t):
    cfg = Config()
    B = 3.0
    V = 0.0
    for _ in range(500):  # Euler factor -0.7: oscillates while it converges
        V += -cfg.g_L * V + cfg.g_D * (B - V) + t * (cfg.E_E - V) + (1 - t) * (cfg.E_I - V)
    fixed = neuron.output_target_voltage(
        np.array(B), np.array(t), cfg.g_L, cfg.g_D, cfg.E_E, cfg.E_I
    )
    assert V == pytest.approx(float(fixed), rel=1e-9)
    assert float(fixed) == pytest.approx(0.353 * B + (4.71 if t else -4.71), abs=0.01)


def _tiny(hidden=1, seed=0):
    net = Network((hidden, 2), F64, seed=seed, n_input=3)
    return net


def test_signs_of_updates_on_hand_made_case():
    """alpha^t > alpha^f potentiates active basal synapses; the correct output unit's weights
    from active hidden units grow, the wrong unit's shrink; silent inputs do not change."""
    net = _tiny()
    net.W[1] = np.array([[0.0], [0.0]])
    net.b[1] = np.zeros(2)
    net.Y[0] = np.array([[5.0, -5.0]])  # feedback from unit 0 raises the plateau
    x = np.array([1.0, 0.0, 0.5])
    W0, W1 = net.W[0].copy(), net.W[1].copy()
    net.train_step(x, 0)  # target phase drives unit 0 up: alpha^t > alpha^f
    dW0, dW1 = net.W[0] - W0, net.W[1] - W1
    assert dW0[0, 0] > 0 and dW0[0, 2] > 0 and dW0[0, 1] == 0
    assert dW1[0, 0] > 0 and dW1[1, 0] < 0
    net2 = _tiny()
    net2.W[1] = np.array([[0.0], [0.0]])
    net2.b[1] = np.zeros(2)
    net2.Y[0] = np.array([[5.0, -5.0]])
    net2.train_step(x, 1)  # now the feedback lowers the plateau: depression
    assert (net2.W[0] - W0)[0, 0] < 0


def test_fast_engine_equals_plain_equations_float64(mnist_small):
    for sizes in [(500, 10), (500, 100, 10)]:
        net = Network(sizes, F64, seed=3)
        W = [w.copy() for w in net.W]
        b = [v.copy() for v in net.b]
        Y = [v.copy() for v in net.Y]
        for i in range(300):
            x = mnist_small.x_train[i] / 255.0
            net.train_step(x, mnist_small.y_train[i])
            plain_rate_step(W, b, Y, x, int(mnist_small.y_train[i]), net.config, net.lr)
        for a, c in zip(list(net.W) + list(net.b), W + b):
            np.testing.assert_allclose(a, c, rtol=0, atol=1e-12)
        assert not np.allclose(W[0], Network(sizes, F64, seed=3).W[0])  # it did learn


def test_float32_fast_path_tracks_float64(mnist_small):
    n32, n64 = Network((500, 10), seed=1), Network((500, 10), F64, seed=1)
    for i in range(200):
        x = mnist_small.x_train[i] / 255.0
        n32.train_step(x, mnist_small.y_train[i])
        n64.train_step(x, mnist_small.y_train[i])
    assert n32.W[0].dtype == np.float32
    np.testing.assert_allclose(n32.W[1], n64.W[1], atol=2e-4)


def test_minibatch_is_mean_of_per_image_updates(mnist_small):
    X, y = mnist_small.x_train[:4] / 255.0, mnist_small.y_train[:4]
    ref = Network((50, 10), F64, seed=2)
    start = [w.copy() for w in ref.W]
    deltas = []
    for i in range(4):
        net = Network((50, 10), F64, seed=2)
        net.train_step(X[i], y[i])
        deltas.append([w - s for w, s in zip(net.W, start)])
    ref.train_batch(X, y)
    for l in range(2):
        np.testing.assert_allclose(
            ref.W[l] - start[l], np.mean([d[l] for d in deltas], axis=0), atol=1e-14
        )


# ---------------------------------------------------------------- baselines and equivalences


def test_backprop_gradient_matches_finite_differences(mnist_small):
    net = backprop_network((12, 7, 10), F64, seed=4)
    X, y = mnist_small.x_train[:3] / 255.0, mnist_small.y_train[:3]
    dW, db, r_star = gradients(net, X, y)
    rng = np.random.default_rng(0)
    eps = 1e-6
    for l in range(3):
        for _ in range(4):
            i = tuple(rng.integers(0, s) for s in net.W[l].shape)
            if l == 0:
                i = (i[0], int(np.flatnonzero(X[0])[rng.integers(0, 50)]))
            old = net.W[l][i]
            net.W[l][i] = old + eps
            up = output_loss(net, X, r_star)
            net.W[l][i] = old - eps
            down = output_loss(net, X, r_star)
            net.W[l][i] = old
            assert (up - down) / (2 * eps) == pytest.approx(dW[l][i], rel=1e-5, abs=1e-10)
        j = rng.integers(0, len(net.b[l]))
        old = net.b[l][j]
        net.b[l][j] = old + eps
        up = output_loss(net, X, r_star)
        net.b[l][j] = old
        assert (up - output_loss(net, X, r_star)) / eps == pytest.approx(db[l][j], rel=1e-4)


@pytest.mark.parametrize("sizes", [(30, 10), (30, 20, 10)])
def test_feedback_alignment_with_transposed_weights_equals_backprop(mnist_small, sizes):
    bp = backprop_network(sizes, F64, seed=5)
    fa = feedback_alignment_network(sizes, F64, seed=5, feedback="layerwise")
    for h in range(len(sizes) - 1):
        fa.Y[h] = bp.W[h + 1].T
    for i in range(20):
        x = mnist_small.x_train[i] / 255.0
        bp.train_step(x, mnist_small.y_train[i])
        fa.train_step(x, mnist_small.y_train[i])
        for h in range(len(sizes) - 1):
            fa.Y[h] = fa.W[h + 1].T
    for a, c in zip(bp.W, fa.W):
        np.testing.assert_allclose(a, c, atol=1e-13)


def test_symmetric_feedback_near_linear_regime_angle_near_zero(mnist_small):
    net = Network((100, 10), Config(dtype="float64", symmetric_feedback=True), seed=6)
    net.W[1] = net.W[1] * 0.01  # output voltages and apical inputs near 0: sigma nearly linear
    net.b[1] = np.zeros(10)
    net.tie_feedback()
    angles = angle_to_backprop(net, mnist_small.x_train[:50] / 255.0, mnist_small.y_train[:50])
    assert np.nanmax(angles) < 3.0
    random = Network((100, 10), F64, seed=6)
    far = angle_to_backprop(random, mnist_small.x_train[:50] / 255.0, mnist_small.y_train[:50])
    assert np.nanmean(far) > 30.0  # random feedback starts far from backprop


def test_jacobian_condition_falls_with_training(mnist_small):
    """Measured in rate mode (seed 0, 100 images): 1.34 before, 1.08 after 5,000 images. (On
    full MNIST it hovers at 1.04-1.14 through epoch 1, without crossing 1 as the paper's
    spiking network does.)"""
    net = Network((500, 10), seed=0)
    X = mnist_small.x_train[:100]
    before = jacobian_condition(net, X)
    net.fit(mnist_small.x_train, mnist_small.y_train, epochs=1, progress=False)
    after = jacobian_condition(net, X)
    assert before > 1.2 and after < 0.9 * before
    assert abs(jacobian_condition(net, X, product_of_means=False) - after) < 0.2


# ---------------------------------------------------------------- learning on real data


def test_online_training_on_bundled_subset_learns(mnist_small):
    """Band from measurements (seed 0, 2 epochs of the 5,000 images: 15.1 %). A flipped sign or
    a broken update lands far outside it."""
    net = Network((500, 10), seed=0)
    h = net.fit(
        mnist_small.x_train,
        mnist_small.y_train,
        epochs=2,
        progress=False,
        X_test=mnist_small.x_test,
        y_test=mnist_small.y_test,
    )
    assert h["test_error"][0] > 80
    assert 11.0 < h["test_error"][-1] < 19.0
    assert h["loss"][2] < h["loss"][1]


def test_hidden_layer_beats_no_hidden_layer_after_one_epoch(mnist_full):
    """Full MNIST, one online epoch, a 100-unit hidden layer against none. Measured over seeds
    0-3: 8.9-9.6 % without, 5.9-6.6 % with it (seed 0: 9.56 vs 5.90; with 500 hidden units,
    9.56 vs 9.17 at several times the cost). On the 5,000-image subset the hidden layer is
    still behind, so this needs the full set."""
    errs = {}
    for sizes in [(10,), (100, 10)]:
        net = Network(sizes, seed=0)
        net.fit(mnist_full.x_train, mnist_full.y_train, epochs=1, progress=False)
        errs[sizes] = net.evaluate(mnist_full.x_test, mnist_full.y_test)
    assert errs[(100, 10)] < errs[(10,)] - 2.0, errs
    assert errs[(100, 10)] < 7.5, errs


# ---------------------------------------------------------------- checkpoints and bad input


def test_checkpoint_round_trip_and_resume(tmp_path, mnist_small):
    X, y = mnist_small.x_train[:1500], mnist_small.y_train[:1500]
    straight = Network((40, 10), Config(symmetric_feedback=True, symmetric_noise=0.05), seed=7)
    straight.fit(X, y, epochs=2, progress=False)
    first = Network((40, 10), Config(symmetric_feedback=True, symmetric_noise=0.05), seed=7)
    first.fit(X, y, epochs=1, progress=False, checkpoint=tmp_path / "c.npz")
    resumed = load_checkpoint(tmp_path / "c.npz")
    np.testing.assert_array_equal(resumed.W[0], first.W[0])
    assert resumed.config == first.config and resumed.history == first.history
    resumed.fit(X, y, epochs=1, progress=False)
    for a, c in zip(list(resumed.W) + list(resumed.Y), list(straight.W) + list(straight.Y)):
        np.testing.assert_array_equal(a, c)
    assert resumed.history["loss"] == straight.history["loss"]


def test_bad_input_gives_clear_errors(tmp_path):
    net = Network((20, 10), seed=0)
    with pytest.raises(ValueError, match=r"shape \(784,\)"):
        net.train_step(np.zeros(783), 1)
    x = np.zeros(784)
    x[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        net.train_step(x, 1)
    with pytest.raises(ValueError, match=r"0\.\.9"):
        net.train_step(np.zeros(784), 10)
    with pytest.raises(ValueError, match="pixels / 255"):
        net.train_step(np.full(784, 3.0), 1)
    with pytest.raises(ValueError, match="Config.feedback"):
        Config(feedback="sideways")
    with pytest.raises(ValueError, match="Config.g_A"):
        Config(g_A=-1)
    with pytest.raises(ValueError, match="Config.spiking_feedback"):
        Config(spiking_feedback="no")
    assert Config(random_plateau_times=np.bool_(True)).random_plateau_times is True
    with pytest.raises(ValueError, match="Config.lr has 1"):
        Network((20, 10), Config(lr=(0.1,)))
    with pytest.raises(ValueError, match="W\\[0\\] has shape"):
        net.W[0] = np.zeros((3, 3))
    good = save_checkpoint(net, tmp_path / "ok.npz")
    before = good.read_bytes()
    with pytest.raises(ValueError, match=".npz"):
        save_checkpoint(net, tmp_path / "ok.pickle")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable"):
        load_checkpoint(tmp_path / "bad.npz")
    net.b[0][0] = np.inf  # a failing save must leave the old checkpoint as it was

    def boom(*a, **k):
        raise OSError("disk full")

    import segdend_lite.model.checkpoint as T

    orig = T.np.savez
    T.np.savez = boom
    try:
        with pytest.raises(OSError):
            save_checkpoint(net, good)
    finally:
        T.np.savez = orig
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz", "ok.npz"]


# ---------------------------------------------------------------- issue 10: bugs and formats


@pytest.mark.parametrize("mode", ["rate", "spiking"])
def test_train_step_returns_loss_and_miss(mnist_small, mode):
    """``train_step`` returns the output loss before the update and whether the forward phase
    missed, as documented; the loss equals the rate-mode closed form computed beforehand."""
    net = Network((30, 10), Config(mode=mode, dtype="float64", test_length=60), seed=0)
    x, label = mnist_small.x_train[0] / 255.0, int(mnist_small.y_train[0])
    if mode == "rate":
        p = net.phases(x, [label])
        expected = float(np.mean(((p.r_t - p.r_f) / net.config.phi_max) ** 2))
        expected_miss = int(np.argmax(p.V_f[0]) != label)
    out = net.train_step(x, label)
    assert isinstance(out, tuple) and len(out) == 2
    loss, wrong = out
    assert isinstance(loss, float) and loss > 0 and wrong in (0, 1)
    if mode == "rate":
        assert loss == pytest.approx(expected, rel=1e-12) and wrong == expected_miss
    # over a few images, some are missed at first (an untrained net is near chance)
    misses = [
        net.train_step(mnist_small.x_train[i] / 255.0, mnist_small.y_train[i])[1]
        for i in range(1, 8)
    ]
    assert sum(misses) >= 1


def test_fit_on_zero_images_says_what_is_wrong():
    net = Network((20, 10), seed=0)
    with pytest.raises(ValueError, match="no training images"):
        net.fit(np.zeros((0, 784)), np.zeros(0, int))


def test_version_1_checkpoint_with_the_old_layout_loads(tmp_path):
    """A file written with the layout of CHECKPOINT_VERSION 1 (arrays W0.., b0.., Y0..,
    state_*, config_json, meta_json; W as (n_post, n_pre) C-ordered arrays), built here by hand,
    loads into a network with those weights, state, random state and history."""
    import json

    cfg = Config(mode="spiking", dtype="float64", kernel="full")  # state of a full kernel
    rng = np.random.default_rng(0)
    sizes = (7, 3)
    arrays = {
        "W0": rng.normal(size=(7, 784)),
        "W1": rng.normal(size=(3, 7)),
        "b0": rng.normal(size=7),
        "b1": rng.normal(size=3),
        "Y0": rng.normal(size=(7, 3)),
    }
    state = {"V0": rng.normal(size=7), "V1": rng.normal(size=3)}
    for k, n in enumerate((784, 7, 3)):
        state.update({f"psp{k}_s": rng.random(n), f"psp{k}_a_L": rng.random(n)})
        state[f"psp{k}_a_s"] = rng.random(n)
    arrays.update({f"state_{k}": v for k, v in state.items()})
    gen = np.random.default_rng(42)
    gen.random(5)
    history = {k: [1] for k in ("epoch", "images")}
    meta = {
        "version": 1,
        "layer_sizes": list(sizes),
        "n_input": 784,
        "seed": 9,
        "images_seen": 1234,
        "rng_state": gen.bit_generator.state,
        "history": history,
    }
    arrays["config_json"] = np.array(cfg.to_json())
    arrays["meta_json"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "v1.npz", **arrays)
    net = load_checkpoint(tmp_path / "v1.npz")
    for name in ("W0", "W1", "b0", "b1", "Y0"):
        np.testing.assert_array_equal(getattr(net, name[0])[int(name[1])], arrays[name])
    for k, v in net.spiking.arrays().items():
        np.testing.assert_array_equal(v, state[k])
    assert net.images_seen == 1234 and net.history == history and net.seed == 9
    assert net.rng.random() == gen.random()
    assert net.W[0].flags.f_contiguous  # the paper's orientation, Fortran-ordered storage
