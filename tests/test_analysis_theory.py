"""Notebook 05's analysis: per-image losses L^0 and L^1, their correlation per digit, Theorem 1's
Jacobians and condition, whole-layer updates. Oracles: finite differences, the network's own
weight change, independent formulas."""

from __future__ import annotations

import numpy as np
import pytest

from segdend_lite import Config, Network
from segdend_lite import analysis
from segdend_lite.model import learning
from segdend_lite.model.neuron import sigma


@pytest.fixture(scope="module")
def trained(mnist_small):
    net = Network((40, 10), Config(dtype="float64"), seed=0)
    net.fit(mnist_small.x_train[:1500], mnist_small.y_train[:1500], progress=False)
    return net


def test_layer_losses_are_the_plateau_change_and_the_output_error(trained, mnist_small):
    X, y = mnist_small.x_test[:50], mnist_small.y_test[:50]
    L0, L1 = analysis.layer_losses(trained, X, y)
    p = trained.phases(X, y)
    np.testing.assert_allclose(L0, np.sum((p.alpha_t[0] - p.alpha_f[0]) ** 2, axis=1), rtol=1e-9)
    np.testing.assert_allclose(L1, np.sum((p.r_t - p.r_f) ** 2, axis=1), rtol=1e-9)
    assert L0.shape == L1.shape == (50,) and np.all(L0 > 0)
    with pytest.raises(ValueError, match="hidden layers"):
        analysis.layer_losses(trained, X, y, layer=1)


def test_pearson_and_loss_correlation_per_digit():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 400)
    L0 = rng.random(1200)
    noise = rng.normal(size=1200)
    # digit 0: L1 = L0 exactly; digit 1: r = 1/sqrt(2) by construction; digit 2: independent
    L1 = np.where(labels == 0, 2 * L0, 0.0)
    z = (L0 - 0.5) / np.sqrt(1 / 12)
    L1 = np.where(labels == 1, z + noise, L1)
    L1 = np.where(labels == 2, noise, L1)
    r = analysis.loss_correlation(L0, L1, labels, n_classes=4)
    assert r[0] == pytest.approx(1.0)
    assert r[1] == pytest.approx(1 / np.sqrt(2), abs=0.06)
    assert abs(r[2]) < 0.1 and np.isnan(r[3])  # no image of digit 3
    shuffled = analysis.loss_correlation(L0, L1, labels, n_classes=3, shuffle=rng)
    assert np.all(np.abs(shuffled) < 0.15)
    assert analysis.pearson_r([1, 2, 3], [2, 4, 7]) == pytest.approx(
        np.corrcoef([1, 2, 3], [2, 4, 7])[0, 1]
    )
    assert np.isnan(analysis.pearson_r([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="same length"):
        analysis.loss_correlation(L0, L1[:10], labels)


def test_theorem1_jacobians_match_finite_differences(trained, mnist_small):
    cfg = trained.config
    x = mnist_small.x_test[3:4]
    p = trained.phases(x, mnist_small.y_test[3:4])
    h = p.r[1][0]  # hidden rates
    W_L, b_L, Y = trained.W[-1], trained.b[-1], trained.Y[0]
    C_f = trained.output_voltage(x)[0]
    J_beta, J_gamma = analysis.theorem1_jacobians(C_f, W_L, Y, cfg.k_D, cfg.phi_max)

    def beta(v):
        return cfg.phi_max * sigma(cfg.k_D * (W_L @ v + b_L))

    def gamma(v):
        return sigma(Y @ v)

    eps = 1e-6
    num_beta = np.stack(
        [(beta(h + eps * e) - beta(h - eps * e)) / (2 * eps) for e in np.eye(len(h))], axis=1
    )
    r_f = cfg.phi_max * sigma(C_f)
    num_gamma = np.stack(
        [(gamma(r_f + eps * e) - gamma(r_f - eps * e)) / (2 * eps) for e in np.eye(len(r_f))],
        axis=1,
    )
    np.testing.assert_allclose(J_beta, num_beta, rtol=1e-5, atol=1e-10)
    np.testing.assert_allclose(J_gamma, num_gamma, rtol=1e-5, atol=1e-10)
    # batched, and the same as the network-level function
    Jb, Jg = analysis.jacobians(trained, mnist_small.x_test[:7])
    Jb2, Jg2 = analysis.theorem1_jacobians(
        trained.output_voltage(mnist_small.x_test[:7]), W_L, Y, cfg.k_D, cfg.phi_max
    )
    np.testing.assert_allclose(Jb2, Jb, rtol=1e-12)
    np.testing.assert_allclose(Jg2, Jg, rtol=1e-12)
    with pytest.raises(ValueError, match="shapes"):
        analysis.theorem1_jacobians(C_f, W_L, Y.T, cfg.k_D, cfg.phi_max)


def test_theorem1_condition_known_cases(trained, mnist_small):
    I3 = np.eye(3)
    zero = np.zeros((2, 3, 4)), np.zeros((2, 4, 3))
    assert analysis.theorem1_condition(*zero) == pytest.approx(1.0)
    half = np.stack([0.5 * np.eye(3, 4)] * 2), np.stack([np.eye(4, 3)] * 2)
    assert analysis.theorem1_condition(*half) == pytest.approx(0.25)
    # the two averages differ when the Jacobians vary together: J = 0.5 (I I + (-I)(-I)) = I
    # for the mean of products, 0 for the product of means
    Jb = np.stack([I3, -I3])
    assert analysis.theorem1_condition(Jb, Jb, product_of_means=False) == pytest.approx(0.0)
    assert analysis.theorem1_condition(Jb, Jb, product_of_means=True) == pytest.approx(1.0)
    assert analysis.theorem1_condition(0.5 * I3, I3) == pytest.approx(0.25)  # one image
    Jb, Jg = analysis.jacobians(trained, mnist_small.x_test[:20])
    for pom in (True, False):
        assert analysis.theorem1_condition(Jb, Jg, pom) == pytest.approx(
            analysis.jacobian_condition(trained, mnist_small.x_test[:20], pom), rel=1e-12
        )
    with pytest.raises(ValueError, match="expected"):
        analysis.theorem1_condition(Jb, Jg[:5])
    with pytest.raises(ValueError, match="expected"):
        analysis.theorem1_condition(np.zeros((0, 3, 4)), np.zeros((0, 4, 3)))


def test_whole_layer_update_is_what_train_step_does(mnist_small):
    net = Network((30, 10), Config(dtype="float64"), seed=5)
    net.fit(mnist_small.x_train[:500], mnist_small.y_train[:500], progress=False)
    x, label = mnist_small.x_train[600], int(mnist_small.y_train[600])
    dW_local, dW_bp = analysis.whole_layer_updates(net, x[None], [label])
    before = net.W[0].copy()
    net.train_step(x, label)
    np.testing.assert_allclose(net.W[0] - before, dW_local, rtol=1e-9, atol=1e-15)
    # one image: the angle between the updates is the angle between the errors
    per_image = analysis.angle_to_backprop(net, x[None], [label])[0]
    dW_local, dW_bp = analysis.whole_layer_updates(net, x[None], [label])
    assert learning.angle(dW_local, dW_bp) == pytest.approx(per_image, abs=1e-6)
    # a batch: the sums are the sums of per-image updates
    X, y = mnist_small.x_test[:5], mnist_small.y_test[:5]
    sums = analysis.whole_layer_updates(net, X, y)
    parts = [analysis.whole_layer_updates(net, X[i : i + 1], y[i : i + 1]) for i in range(5)]
    np.testing.assert_allclose(sums[0], sum(p[0] for p in parts), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(sums[1], sum(p[1] for p in parts), rtol=1e-9, atol=1e-15)


def test_spiking_losses_leave_the_network_alone_and_correlate(mnist_small):
    """Measured (30 hidden, the authors' initial spread, two epochs of the 5,000 bundled images,
    200 test images): overall r = 0.41, the shuffled pairs 0.03. Early in training the 10-lag
    kernel's network has not yet coupled the two losses (r = 0.09 after 2,500 images with the
    design spread; 0.36 with the full kernel)."""
    net = Network((30, 10), Config(mode="spiking", init="authors_code"), seed=0)
    net.fit(mnist_small.x_train, mnist_small.y_train, epochs=2, progress=False)
    W = [w.copy() for w in net.W]
    state = {k: v.copy() for k, v in net.spiking.arrays().items()}
    rng_state = net.rng.bit_generator.state
    X, y = mnist_small.x_test[:200], mnist_small.y_test[:200]
    L0, L1 = analysis.spiking_layer_losses(net, X, y, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(W, net.W))
    assert all(np.array_equal(v, net.spiking.arrays()[k]) for k, v in state.items())
    assert net.rng.bit_generator.state == rng_state
    again = analysis.spiking_layer_losses(net, X[:20], y[:20], seed=1)
    np.testing.assert_array_equal(L0[:20], again[0])
    assert np.all((L0 >= 0) & (L0 <= 30)) and np.all(L1 > 0)
    r = analysis.pearson_r(L0, L1)
    shuffled = analysis.pearson_r(np.random.default_rng(0).permutation(L0), L1)
    assert r > 0.25 and abs(shuffled) < 0.15  # the hidden loss follows the output loss
    with pytest.raises(ValueError, match="spiking network"):
        analysis.spiking_layer_losses(Network((10, 10)), X, y)


def test_snapshot_is_frozen_and_stage_measures_per_digit(mnist_small):
    from segdend_lite.course import stages

    net = Network((30, 10), Config(), seed=0)
    net.fit(mnist_small.x_train[:300], mnist_small.y_train[:300], progress=False)
    snap = stages.snapshot(net)
    X, y = mnist_small.x_test[:300], mnist_small.y_test[:300]
    before = net.predict(X)
    net.fit(mnist_small.x_train[300:600], mnist_small.y_train[300:600], progress=False)
    assert np.array_equal(snap.predict(X), before) and snap.images_seen == 300
    assert not np.array_equal(snap.W[0], net.W[0])
    m = stages.stage_measures(snap, X, y, digit=2)
    n2 = int(np.sum(y == 2))
    assert m["n"] == n2 and m["L0"].shape == (n2,) and m["angles"].shape == (n2,)
    assert m["condition"] == pytest.approx(analysis.jacobian_condition(snap, X[y == 2]), rel=1e-12)
    assert m["r"] > m["r_shuffled"]
    assert stages.stage_measures(snap, X, y)["n"] == 300
    with pytest.raises(ValueError, match="at least 2"):
        stages.stage_measures(snap, X[:3], y[:3], digit=int(np.setdiff1d(np.arange(10), y[:3])[0]))
