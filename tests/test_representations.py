"""Representations (Figs. 6C, 7B-C): activities, t-SNE, cluster scores, receptive fields."""

from __future__ import annotations

import numpy as np
import pytest

from segdend_lite import Config, Network
from segdend_lite.analysis import representations as R
from segdend_lite.model.baselines import backprop_network


@pytest.fixture(scope="module")
def trained(mnist_small):
    """A 784-100-50-10 rate-mode network after two epochs on the bundled subset (seed 0)."""
    net = Network((100, 50, 10), Config(), seed=0)
    net.fit(mnist_small.x_train, mnist_small.y_train, epochs=2, progress=False)
    return net


def test_activities_are_the_networks_own_forward_rates(mnist_small, trained):
    X = mnist_small.x_test[:300]
    acts = R.hidden_activities(trained, X, chunk=128)
    assert [a.shape for a in acts] == [(300, 784), (300, 100), (300, 50)]
    p = trained.phases(X, mnist_small.y_test[:300])
    for a, r in zip(acts, p.r):
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-7)  # float32, other batches
    cfg = trained.config
    np.testing.assert_allclose(acts[0], cfg.phi_max * X / 255.0, rtol=1e-6)
    assert np.all((acts[1] > 0) & (acts[1] < cfg.phi_max))


def test_spiking_network_is_read_through_its_rate_twin(mnist_small):
    spiking = Network((30, 10), Config(mode="spiking"), seed=3)
    twin = R.rate_twin(spiking)
    assert twin.config.mode == "rate" and twin.layer_sizes == spiking.layer_sizes
    for name in ("W", "b", "Y"):
        for a, b in zip(getattr(spiking, name), getattr(twin, name)):
            np.testing.assert_array_equal(a, b)
    X = mnist_small.x_test[:20]
    acts = R.hidden_activities(spiking, X)
    cfg = spiking.config
    expected = cfg.phi_max / (
        1
        + np.exp(
            -cfg.k_B
            * (
                cfg.phi_max * X / 255.0 @ np.asarray(spiking.W[0], dtype=np.float64).T
                + spiking.b[0]
            )
        )
    )
    np.testing.assert_allclose(acts[1], expected, rtol=1e-4)


def test_knn_accuracy_on_hand_made_points():
    # two clean clusters: every point's neighbours share its label
    Z = np.array([[0, 0], [0, 1], [1, 0], [10, 10], [10, 11], [11, 10]], dtype=float)
    y = np.array([0, 0, 0, 1, 1, 1])
    assert R.knn_accuracy(Z, y, k=1) == 100.0
    assert R.knn_accuracy(Z, y, k=2) == 100.0
    # relabel the point (0, 0): it is now wrong, and so are its two neighbours, whose nearest
    # point it is (with k=1)
    y2 = y.copy()
    y2[0] = 1
    assert R.knn_accuracy(Z, y2, k=1) == pytest.approx(50.0)
    # leave-one-out: a point is never its own neighbour
    assert R.knn_accuracy(np.array([[0.0], [1.0], [5.0]]), np.array([0, 1, 1]), k=1) == (
        pytest.approx(100 * 1 / 3)
    )


def test_knn_accuracy_agrees_with_a_brute_force_count():
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(1500, 3))
    y = rng.integers(0, 2, 1500)
    Z[y == 1] += 1.0
    d = np.linalg.norm(Z[:, None] - Z[None], axis=2)
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1)[:, :5]
    brute = 100 * np.mean((y[nearest].mean(axis=1) > 0.5) == y)
    assert R.knn_accuracy(Z, y, k=5) == pytest.approx(brute)
    with pytest.raises(ValueError, match="k="):
        R.knn_accuracy(Z, y, k=0)


def test_hidden_layers_cluster_more_cleanly_than_the_input(mnist_small, trained):
    """Fig. 6C, measured: nearest-neighbour accuracy and silhouette rise with depth."""
    X, y = mnist_small.x_test[:600], mnist_small.y_test[:600]
    acts = R.hidden_activities(trained, X)
    knn = [R.knn_accuracy(a, y, k=5) for a in acts]
    sil = [R.silhouette(a, y) for a in acts]
    assert knn[2] > knn[0] + 2, knn
    assert sil[1] > sil[0] and sil[2] > sil[1], sil


def test_embedding_keeps_the_clusters(mnist_small, trained):
    X, y = mnist_small.x_test[:400], mnist_small.y_test[:400]
    hidden = R.hidden_activities(trained, X)[2]
    Z = R.embed(hidden, seed=0, perplexity=20)
    assert Z.shape == (400, 2) and np.all(np.isfinite(Z))
    np.testing.assert_allclose(Z, R.embed(hidden, seed=0, perplexity=20))  # seeded
    assert R.knn_accuracy(Z, y, k=5) > 80
    # shuffled labels cluster at chance level in the same map
    shuffled = np.random.default_rng(0).permutation(y)
    assert R.knn_accuracy(Z, shuffled, k=5) < 30
    with pytest.raises(ValueError, match="perplexity"):
        R.embed(hidden[:10], perplexity=30)


def test_receptive_fields_are_the_input_weights(trained):
    F = R.receptive_fields(trained)
    assert F.shape == (100, 28, 28)
    np.testing.assert_array_equal(F[7].ravel(), np.asarray(trained.W[0])[7])
    with pytest.raises(ValueError, match="first hidden layer"):
        R.receptive_fields(trained, layer=1)


def test_best_correlation_finds_a_permuted_copy():
    rng = np.random.default_rng(0)
    G = rng.normal(size=(40, 784))
    order = rng.permutation(40)
    F = 3.0 * G[order] + 1.0  # Pearson r ignores scale and offset
    best = R.best_correlations(F, G)
    np.testing.assert_allclose(best, 1.0)
    control = R.shuffled_correlations(F, G, rng)
    assert control.shape == (40,) and np.all(control < 0.3)
    # against a single field: the plain Pearson correlation
    f, g = rng.normal(size=(1, 784)), rng.normal(size=(1, 784))
    np.testing.assert_allclose(R.best_correlations(f, g)[0], np.corrcoef(f[0], g[0])[0, 1])
    mask = np.zeros(784, bool)
    mask[:100] = True
    np.testing.assert_allclose(
        R.best_correlations(f, g, mask)[0], np.corrcoef(f[0, :100], g[0, :100])[0, 1]
    )


def test_local_rule_fields_resemble_backprop_more_than_shuffled(mnist_small):
    """Fig. 7C on a small scale: trained with different seeds, the local rule's receptive
    fields correlate with backprop's more than shuffled fields do."""
    local = Network((100, 10), Config(), seed=0)
    bp = backprop_network((100, 10), seed=1)
    for net in (local, bp):
        net.fit(mnist_small.x_train, mnist_small.y_train, epochs=3, progress=False)
    lit = (mnist_small.x_train > 0).mean(axis=0) > 0.05
    F, G = R.receptive_fields(local), R.receptive_fields(bp)
    best = R.best_correlations(F, G, lit)
    control = R.shuffled_correlations(F, G, np.random.default_rng(0), lit)
    assert np.median(best) > np.median(control) + 0.05, (np.median(best), np.median(control))
