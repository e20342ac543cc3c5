"""course.experiments (notebooks 07-08): configurations, chunked runs, stored runs, g_A."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest

from segdend_lite import Config, Network
from segdend_lite.course import experiments as E
from segdend_lite.data import load_mnist
from segdend_lite.model import neuron
from segdend_lite.model.loop import HISTORY_KEYS

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def small():
    return load_mnist("small", verbose=False)


def test_experiment_configs_set_the_papers_options():
    assert E.experiment_config("sparse_feedback", 0.8).sparse_feedback == 0.8
    sym = E.experiment_config("symmetric_feedback", 0.05)
    assert sym.symmetric_feedback and sym.symmetric_noise == 0.05
    assert E.experiment_config("symmetric_feedback", None) == Config()
    assert E.experiment_config("apical_conductance", 0.6, mode="spiking").g_A == 0.6
    assert E.make_network("apical_conductance", 0.0).layer_sizes == (500, 100, 10)
    assert E.experiment_config("init", "authors_code").init == "authors_code"
    with pytest.raises(ValueError, match="unknown experiment"):
        E.experiment_config("nope", 1)
    for q in E.QUESTIONS.values():  # every value of every question makes a valid Config
        for value, key in q.values:
            assert E.experiment_config(q, value) == Config(**dict(q.condition(value)[1].options))
    # a value the paper did not use is set on the last condition's options
    assert E.experiment_config("symmetric_feedback", 0.1).symmetric_feedback
    assert E.experiment_config("apical_conductance", 0.3, mode="spiking").g_A == 0.3


def test_run_curve_trains_chunk_by_chunk(small):
    net = Network((50, 10), Config(), seed=0)
    W0 = np.array(net.W[0])
    c = E.run_curve(
        net, small.x_train, small.y_train, 1000, chunk=400, X_test=small.x_test, y_test=small.y_test
    )
    assert c["images"] == [400, 800, 1000] and net.images_seen == 1000
    assert c["epoch"] == [400 / len(small.x_train), 800 / len(small.x_train), 1000 / 5000]
    assert c["test_error"][:2] == [None, None] and 0 <= c["test_error"][2] < 60
    assert all(0 < a < 90 for a in c["angle_to_bp"])  # rate mode: on the chunk's images
    assert not np.allclose(net.W[0], W0)
    assert c["train_error"][-1] < c["train_error"][0]
    # continuing a curve counts on from where it stopped
    E.run_curve(net, small.x_train, small.y_train, 200, chunk=200, curve=c)
    assert c["images"][-1] == 1200
    with pytest.raises(ValueError):
        E.run_curve(net, small.x_train, small.y_train[:10], 100)


def test_layerwise_first_layer_cannot_learn_in_rate_mode(small):
    net = E.make_network("feedback_topology", "layerwise")
    W0 = np.array(net.W[0])
    c = E.run_curve(net, small.x_train, small.y_train, 200, chunk=100)
    np.testing.assert_array_equal(net.W[0], W0)
    assert c["angle_to_bp"] == [None, None]  # no update of the first layer: no angle


def test_g_A_needs_spiking_mode(small):
    with pytest.raises(ValueError, match="spiking"):
        E.experiment_run(small, "apical_conductance", 0.6, mode="rate", n_images=10)


def test_stored_run_round_trip_and_missing(tmp_path):
    folder = tmp_path / "run_x"
    folder.mkdir()
    curve = {k: [1] for k in HISTORY_KEYS} | {"test_error": [9.5]}
    (folder / "history.json").write_text(json.dumps(curve))
    prov = {
        "name": "run_x",
        "mode": "spiking",
        "network": "784-500-10",
        "seed": 0,
        "command": "python scripts/course_runs.py run_x",
        "commit": "0123456789abcdef",
        "date": "2025-01-01T00:00:00+00:00",
        "wall_seconds": 120.0,
        "train_size": 60000,
    }
    (folder / "provenance.json").write_text(json.dumps(prov))
    run = E.load_stored("run_x", root=tmp_path)
    assert run["curve"]["test_error"] == [9.5]
    line = E.describe(run)
    assert "spiking mode" in line and "9.50 %" in line and "course_runs.py run_x" in line
    assert E.stored_names(tmp_path) == ["run_x"]
    old = {"images": [2, 4], "seconds": [1, 1], "train_error": [5, 4], "loss": [1, 1]}
    old |= {"angle": [80, 70], "hidden_rate_hz": [None, None], "test_images": [4]}
    (folder / "history.json").write_text(json.dumps(old | {"test_error": [9.0]}))
    run = E.load_stored("run_x", root=tmp_path)  # a curve in the old format is read as well
    assert run["curve"]["angle_to_bp"] == [80, 70] and run["curve"]["test_error"] == [None, 9.0]
    assert run["curve"]["epoch"] == [2 / 60000, 4 / 60000]
    with pytest.raises(FileNotFoundError, match="run_x"):
        E.load_stored("other", root=tmp_path)


def test_committed_stored_runs_name_their_provenance():
    """Every stored run says what made it, and its curve matches its provenance."""
    names = E.stored_names()
    assert "spiking_1h_seed0" in names and "paper_text_kernel/spiking_1h_seed0" in names
    for name in names:
        run = E.load_stored(name)
        p, c = run["provenance"], run["curve"]
        # a run kept for comparison under a subfolder was made under its last name part
        assert p["name"] == name and p["command"].endswith(name.rsplit("/", 1)[-1])
        for key in ("commit", "date", "machine", "wall_seconds", "mode", "seed", "config"):
            assert p[key] not in (None, ""), (name, key)
        assert c["images"][-1] == p["train_images"], name
        assert set(HISTORY_KEYS) <= set(c) and E.last_test(c) is not None
        assert Config.from_json(json.dumps(p["config"])).mode == p["mode"]


def test_soma_steady_state_is_the_limit_of_the_euler_soma():
    V_b, V_a = np.array([2.0, -1.0]), np.array([0.5, 3.0])
    for g_A in (0.0, 0.05, 0.6):
        V = np.zeros(2)
        for _ in range(2000):
            V = neuron.euler_soma_step(V, V_b, V_a, 0.1, 0.6, g_A, 0.1)
        np.testing.assert_allclose(neuron.soma_steady_state(V_b, V_a, 0.1, 0.6, g_A), V, rtol=1e-9)
    np.testing.assert_allclose(
        neuron.soma_steady_state(V_b, V_a, 0.1, 0.6, 0.0), neuron.k_B(0.1, 0.6) * V_b
    )


def test_soma_traces_move_only_with_apical_coupling(small):
    net = Network((40, 10), Config(), seed=0)
    net.fit(small.x_train[:300], small.y_train[:300], progress=False)
    d = E.soma_traces(net, small.x_test[0], int(small.y_test[0]), g_A_values=(0.0, 0.6))
    half = len(d["t"]) // 2
    jump0 = d["V"][0.0][-1] - d["V"][0.0][half - 1]
    jump6 = d["V"][0.6][-1] - d["V"][0.6][half - 1]
    np.testing.assert_allclose(jump0, 0.0, atol=1e-12)
    k_A = 0.6 / (0.1 + 0.6 + 0.6)
    np.testing.assert_allclose(jump6, k_A * (d["V_a_t"] - d["V_a_f"]), rtol=1e-6, atol=1e-9)
    assert np.all(np.abs(jump6) > 0)
    noisy = E.soma_traces(net, small.x_test[0], int(small.y_test[0]), (0.0, 0.6), spikes=True)
    fwd = slice(half // 2, half)
    assert noisy["V"][0.0][fwd].std(axis=0).max() < 1e-6  # segregated: spikes never reach V
    assert np.all(noisy["V"][0.6][fwd].std(axis=0) > 1e-4)


def test_figures_draw(small):
    rng = np.random.default_rng(0)
    Z, y = rng.normal(size=(50, 2)), rng.integers(0, 10, 50)
    assert E.embedding_figure(Z, y, digit=3).get_title() == ""
    F, G = rng.normal(size=(4, 28, 28)), rng.normal(size=(5, 28, 28))
    assert len(E.field_pair_figure(F, G, unit=2).axes) == 2
    curve = {k: [1, 2] for k in HISTORY_KEYS} | {"test_error": [None, 50.0]}
    fig = E.experiment_figure({"live": curve, "stored": None, "label": "x", "mode": "rate"})
    assert len(fig.axes) == 2


# ------------------------------------------------------------------------------ catalogue

checks = pytest.importorskip("segdend_lite.course.checks")
pytestmark_catalogue = pytest.mark.skipif(
    not hasattr(checks, "register"), reason="the exercise catalogue API is not in this tree"
)


@pytestmark_catalogue
@pytest.mark.parametrize("name", ["knn_accuracy", "best_correlation", "sparsify", "soma_voltage"])
def test_references_pass_and_every_known_mistake_is_named(name):
    ex = checks.catalogue()[name]
    assert ex.notebook in ("07_what_the_network_learned", "08_experiments")
    assert checks.verdict(name, ex.reference).passed
    for mistake, message in ex.mistakes:
        v = checks.verdict(name, mistake)
        assert not v.passed and message in v.message, (name, message)


@pytestmark_catalogue
def test_sparsify_check_rejects_a_mask_that_is_only_right_on_average():
    def bernoulli(rng, Y, fraction, gain):
        return np.where(rng.random(Y.shape) < fraction, 0.0, Y * gain)

    assert not checks.verdict("sparsify", bernoulli).passed


def test_value_labels_name_the_control():
    assert E.value_label("apical_conductance", 0.6) == "g_A = 0.6"
    assert E.value_label("apical_conductance", 0.0) == "g_A = 0.0 (control)"
    assert E.value_label("symmetric_feedback", None) == "random Y (control)"
    assert E.value_label("symmetric_feedback", 0.05) == "Y = W^T, noise SD 0.05"
    assert E.value_label("symmetric_feedback", 0.0) == "Y = W^T, no noise"


def test_08_widget_names_its_values_shows_progress_and_the_live_range(small, monkeypatch):
    """The value menu shows labels (not `None / 0.0 / 0.05`), a run reports every chunk, and
    the figure's x axis is the live run's (a 120,000-image stored run would squash it)."""
    w = pytest.importorskip("ipywidgets")
    import matplotlib.pyplot as plt

    seen = []
    c = E.run_curve(
        Network((20, 10), Config(), seed=0),
        small.x_train,
        small.y_train,
        300,
        chunk=100,
        X_test=small.x_test[:50],
        y_test=small.y_test[:50],
        on_chunk=seen.append,
    )
    assert seen == [100, 200, 300]
    from segdend_lite.runs.history import HISTORY_KEYS

    stored = {k: [None, None, None] for k in HISTORY_KEYS}
    stored.update(images=[2000, 60000, 120000], train_error=[50.0, 10.0, 8.0])
    stored.update(test_error=[None, None, 5.0])
    run = {"curve": stored, "provenance": {"mode": "spiking", "name": "s"}}
    fig = E.experiment_figure({"live": c, "stored": run, "label": "x", "mode": "rate"})
    assert all(ax.get_xlim()[1] <= 1.05 * 300 + 1e-9 for ax in fig.axes)
    plt.close(fig)
    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    box = E.experiment_widget(small, mode="spiking", n_images=500)  # spiking: nothing runs yet
    exp, value = box.children[0].children
    exp.value = "symmetric_feedback"
    labels = [label for label, _ in value.options]
    assert labels == ["random Y (control)", "Y = W^T, no noise", "Y = W^T, noise SD 0.05"]
    bar = box.children[2].children[0]
    assert isinstance(bar, w.IntProgress)


def test_07_digit_menu_is_not_blank():
    pytest.importorskip("ipywidgets")
    rng = np.random.default_rng(0)
    box = E.representation_widget(
        {"input": rng.normal(size=(30, 2))},
        rng.integers(0, 10, 30),
        rng.normal(size=(3, 28, 28)),
        rng.normal(size=(4, 28, 28)),
    )
    menus = [c for c in box.children[3].children[0].children if hasattr(c, "options")]
    digit = next(m for m in menus if m.description == "digit")
    assert digit.value == -1 and digit.label == "all"


def test_results_folder_is_the_packages_unless_overridden(tmp_path, monkeypatch):
    from segdend_lite.runs import ENV, results_folder

    monkeypatch.delenv(ENV, raising=False)
    assert (results_folder() / "fig6b" / "rate" / "h1" / "seed0" / "history.json").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "history.json").write_text(json.dumps({"epoch": [0.5], "images": [1]}))
    (tmp_path / "mine" / "provenance.json").write_text(json.dumps({"name": "mine"}))
    monkeypatch.setenv(ENV, str(tmp_path))
    assert results_folder() == tmp_path and E.stored_names() == ["mine"]
    assert E.load_stored("mine")["curve"]["angle_to_bp"] == [None]
    monkeypatch.setenv(ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="SEGDEND_RESULTS"):
        results_folder()


def test_every_stored_run_is_the_condition_the_registry_says():
    from segdend_lite.reproduce.registry import EXPERIMENTS

    checked = 0
    for exp in EXPERIMENTS.values():
        for cond in exp.conditions:
            if cond.stored is None:
                continue
            p = E.load_stored(cond.stored)["provenance"]
            assert p["network"] == "-".join(map(str, (784,) + cond.hidden + (10,))), cond
            assert p["mode"] == "spiking" and p["seed"] == 0
            for key, value in cond.options:
                assert p["config"][key] == value, (exp.name, cond.name, key)
            checked += 1
    assert checked >= 10
