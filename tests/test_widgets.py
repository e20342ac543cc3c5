"""The plain functions behind the widgets, and that each widget builds headless."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from segdend_lite import Config, Network  # noqa: E402
from segdend_lite.course import widgets  # noqa: E402
from segdend_lite.course.environment import quick_mode  # noqa: E402
from segdend_lite.course.single_neuron import simulate_neuron  # noqa: E402


def test_learning_curve_data_learns(mnist_small):
    """Measured: 77 % after 1/4 epoch of the 5,000-image subset, 12.8 % after two epochs."""
    hist = widgets.learning_curve_data(mnist_small, n_hidden=30, lr=3.0, epochs=2)
    assert hist["images"][-1] > hist["images"][0]
    assert 1.9 < hist["epoch"][-1] <= 2.0
    assert hist["test_error"][-1] < 20 and hist["test_error"][0] > 40


def test_feedback_alignment_data_angle_below_ninety(mnist_small):
    c = widgets.feedback_alignment_data(mnist_small, 1.0, 0.0, n_hidden=30, n_train=3000)
    angles = c["fa"]["angle_to_bp"]
    assert all(a is not None for a in angles) and angles[-1] < 80
    assert all(a is None for a in c["backprop"]["angle_to_bp"])


def test_segregation_soma_ignores_apical_input():
    a = simulate_neuron(g_A=0.0, apical_hz=(20, 20), seed=4)
    b = simulate_neuron(g_A=0.0, apical_hz=(20, 150), seed=4)
    assert np.array_equal(a["V_b"], b["V_b"])
    np.testing.assert_array_equal(a["V"], b["V"])  # the soma never sees the apical change
    assert b["alpha_t"] > b["alpha_f"] + 0.1
    c = simulate_neuron(g_A=0.6, apical_hz=(20, 150), seed=4)
    assert c["V"][-30:].mean() > a["V"][-30:].mean() + 0.2
    with pytest.raises(ValueError, match="t_switch"):
        simulate_neuron(t_switch=500)


def test_phase_explorer_data_leaves_the_network_alone(mnist_small):
    net = Network((40, 10), Config(mode="spiking"), seed=0)
    net.fit(mnist_small.x_train[:200], mnist_small.y_train[:200], progress=False)
    before = [w.copy() for w in net.W]
    state = net.rng.bit_generator.state
    d = widgets.phase_explorer_data(
        net, mnist_small.x_test[0] / 255.0, int(mnist_small.y_test[0]), 5
    )
    assert all(np.array_equal(a, b) for a, b in zip(before, net.W))
    assert net.rng.bit_generator.state == state
    assert d["V_a_f"].shape == (50,) and d["sign"] == np.sign(d["alpha_t"] - d["alpha_f"])
    assert d["output_rates_t"][int(mnist_small.y_test[0])] > 100  # the taught unit fires
    with pytest.raises(ValueError, match="neuron"):
        widgets.phase_explorer_data(net, mnist_small.x_test[0] / 255.0, 1, 40)


def test_widgets_build_and_figures_draw(mnist_small):
    import ipywidgets

    net = Network((20, 10), Config(mode="spiking"), seed=0)
    for wdg in (
        widgets.learning_curve_widget(mnist_small, n_train=300),
        widgets.feedback_alignment_widget(mnist_small, n_train=300),
        widgets.neuron_simulator_widget(),
        widgets.phase_explorer_widget(net, mnist_small.x_test[:3], mnist_small.y_test[:3]),
    ):
        assert isinstance(wdg, ipywidgets.VBox)
    fig = widgets.neuron_figure(simulate_neuron(), 60)
    assert len(fig.axes) == 2 and fig.axes[1].get_xlabel() == "time (ms)"


def test_quick_mode_flag(monkeypatch):
    monkeypatch.setenv("SEGDEND_QUICK", "1")
    assert quick_mode()
    monkeypatch.setenv("SEGDEND_QUICK", "0")
    assert not quick_mode()
    monkeypatch.setenv("SEGDEND_QUICK", "maybe")
    with pytest.raises(ValueError, match="SEGDEND_QUICK"):
        quick_mode()


def test_slider_labels_are_distinct_and_not_cut(mnist_small):
    """Each widget's slider labels differ and take the width they need (ipywidgets cuts a label
    at 80 px unless description_width is 'initial'; the browser test's screenshots show them)."""
    import ipywidgets

    def sliders(box):
        for child in getattr(box, "children", ()):
            if isinstance(
                child, (ipywidgets.IntSlider, ipywidgets.FloatSlider, ipywidgets.FloatLogSlider)
            ):
                yield child
            else:
                yield from sliders(child)

    net = Network((20, 10), Config(mode="spiking"), seed=0)
    for wdg in (
        widgets.learning_curve_widget(mnist_small, n_train=300),
        widgets.feedback_alignment_widget(mnist_small, n_train=300),
        widgets.neuron_simulator_widget(),
        widgets.phase_explorer_widget(net, mnist_small.x_test[:3], mnist_small.y_test[:3]),
    ):
        found = list(sliders(wdg))
        labels = [s.description for s in found]
        assert len(found) >= 2 and len(set(labels)) == len(labels), labels
        assert all(s.style.description_width == "initial" for s in found), labels
