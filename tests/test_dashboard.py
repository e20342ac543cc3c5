"""The training dashboard of notebook 06: its plain update logic, the reference epoch loop, the
measurements, the figure and both front-ends (printed lines; widgets driven headless)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from segdend_lite import Config, Network  # noqa: E402
from segdend_lite.course import dashboard as db  # noqa: E402
from segdend_lite.course.catalog.nb06 import train_epoch  # noqa: E402
from segdend_lite.course.dashboard.figure import png  # noqa: E402


def _weights(net):
    return [w.copy() for w in net.W] + [b.copy() for b in net.b]


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


# ------------------------------------------------------------------ DashboardState


def test_state_rows_progress_and_view():
    s = db.DashboardState(total=300, n_train=100)
    v = s.add(
        50,
        {"train_error": 40.0, "test_error": 45.0, "angle_to_bp": 80.0, "rates_hz": (30.0, 20.0)},
    )
    assert (v.done, v.total, v.fraction) == (50, 300, 50 / 300)
    v = s.add(
        100,
        {"train_error": 20.0, "test_error": 25.0, "angle_to_bp": None, "rates_hz": (31.0, 19.0)},
    )
    np.testing.assert_allclose(v.epochs, [0.5, 1.0])
    np.testing.assert_allclose(v.test_error, [45.0, 25.0])
    assert np.isnan(v.angle_to_bp[1]) and v.angle_to_bp[0] == 80.0
    assert v.rates_hz.shape == (2, 2) and v.rates_hz[1, 0] == 31.0
    assert "epoch  1.00 (100/300 images)" in v.line and "25.00 %" in v.line
    assert "angle" not in v.line  # not measured in that row
    assert "rates 31, 19 Hz" in v.line


def test_state_counts_from_the_start_and_reports_must_follow_images_seen():
    s = db.DashboardState(total=200, n_train=100, start=100)  # a network that saw one epoch
    v = s.add(140, {"test_error": 20.0})
    assert v.done == 40 and v.epochs[-1] == pytest.approx(1.4)
    assert "(40/200 images)" in v.line
    with pytest.raises(ValueError, match="images_seen"):
        s.add(120, {"test_error": 20.0})
    with pytest.raises(ValueError, match="images_seen"):
        db.DashboardState(total=10, n_train=10, start=5).add(3, {})
    with pytest.raises(ValueError, match=">= 1"):
        db.DashboardState(total=0, n_train=10)


def test_stop_flag_marks_the_view_and_can_be_cleared():
    s = db.DashboardState(total=10, n_train=10)
    assert not s.stop_requested()
    s.request_stop()
    assert s.stop_requested()
    assert s.add(3, {"test_error": 50.0}).stopped
    s.clear_stop()
    assert not s.stop_requested() and not s.stopped
    assert s.done == 3


# ------------------------------------------------------------------ the reference loop


def test_train_epoch_equals_fit_in_the_same_order(mnist_small):
    X, y = mnist_small.x_train[:120], mnist_small.y_train[:120]
    a = Network((20, 10), Config(), seed=3)
    b = Network((20, 10), Config(), seed=3)
    calls = []
    rows = train_epoch(
        a, X, y, np.arange(120), 50, lambda net, n: calls.append(n) or n, lambda: False
    )
    b.fit(X, y, epochs=1, shuffle=False, progress=False)
    assert _same(_weights(a), _weights(b))
    assert calls == [50, 100, 120] and rows == [50, 100, 120]


def test_train_epoch_follows_the_order_it_is_given(mnist_small):
    X, y = mnist_small.x_train[:60], mnist_small.y_train[:60]
    order = np.random.default_rng(0).permutation(60)
    a = Network((20, 10), Config(), seed=1)
    b = Network((20, 10), Config(), seed=1)
    train_epoch(a, X, y, order, 1000, lambda net, n: n, lambda: False)
    b.fit(X[order], y[order], epochs=1, shuffle=False, progress=False)
    assert _same(_weights(a), _weights(b))


def test_stop_after_the_current_image_and_continue(mnist_small):
    X, y = mnist_small.x_train[:80], mnist_small.y_train[:80]
    order = np.arange(80)
    a = Network((20, 10), Config(), seed=2)
    count = {"n": 0}

    def step_counter(net, x, label, _orig=a.train_step):
        count["n"] += 1
        return _orig(x, label)

    a.train_step = lambda x, label: step_counter(a, x, label)
    rows = train_epoch(a, X, y, order, 10, lambda net, n: n, lambda: count["n"] >= 23)
    assert count["n"] == 23 and rows == [10, 20, 23]  # stopped after image 23, reported it
    partial = Network((20, 10), Config(), seed=2)
    partial.fit(X[:23], y[:23], shuffle=False, progress=False)
    assert _same(_weights(a), _weights(partial))
    # continuing from where it stopped gives the uninterrupted pass
    train_epoch(a, X, y, order[23:], 10, lambda net, n: n, lambda: False)
    full = Network((20, 10), Config(), seed=2)
    full.fit(X, y, shuffle=False, progress=False)
    assert _same(_weights(a), _weights(full))


# ------------------------------------------------------------------ measurements and figure


def test_measure_rate_mode(mnist_small):
    probe = db.Probe.from_data(mnist_small, n_train=300, n_test=300, n_angle=100)
    assert len(probe.x_train) == 300 and len(probe.x_test) == 300
    net = Network((30, 10), Config(), seed=0)
    before = db.measure(net, probe)
    assert before["test_error"] > 60 and 60 < before["angle_to_bp"] < 100
    assert len(before["rates_hz"]) == 2 and all(0 < r < 200 for r in before["rates_hz"])
    net.fit(mnist_small.x_train[:3000], mnist_small.y_train[:3000], progress=False)
    after = db.measure(net, probe)
    assert after["test_error"] < before["test_error"] - 30
    assert after["angle_to_bp"] < before["angle_to_bp"]
    flat = db.measure(Network((10,), Config(), seed=0), probe)
    assert flat["angle_to_bp"] is None and len(flat["rates_hz"]) == 1


def test_measure_spiking_mode_reads_and_resets_the_spike_counters(mnist_small):
    probe = db.Probe.from_data(mnist_small, n_train=5, n_test=5, n_angle=5)
    net = Network((20, 10), Config(mode="spiking", test_length=50), seed=0)
    for i in range(5):
        net.train_step(mnist_small.x_train[i], mnist_small.y_train[i])
    row = db.measure(net, probe)
    assert row["angle_to_bp"] is None
    assert all(0 < r < 200 for r in row["rates_hz"])
    assert all(np.isnan(r) for r in net.firing_rates())  # counters reset for the next chunk


def test_draw_three_panels_with_missing_values():
    s = db.DashboardState(total=100, n_train=100)
    s.add(50, {"train_error": 30.0, "test_error": 33.0, "angle_to_bp": None, "rates_hz": (20.0,)})
    fig = db.draw(s.view(), "title")
    assert len(fig.axes) == 3
    assert "not measured" in " ".join(t.get_text() for t in fig.axes[1].texts)
    assert png(fig)[:4] == b"\x89PNG"


# ------------------------------------------------------------------ front-ends


def test_printed_lines_when_widgets_do_not_render(mnist_small, capsys):
    probe = db.Probe.from_data(mnist_small, n_train=100, n_test=100, n_angle=20)
    X, y = mnist_small.x_train[:40], mnist_small.y_train[:40]
    net = Network((20, 10), Config(), seed=0)
    dash = db.Dashboard(net, probe, total=40, n_train=40, use_widgets=False)
    dash.start(lambda: train_epoch(net, X, y, np.arange(40), 20, dash.report, dash.stop_requested))
    state = dash.wait()
    out = capsys.readouterr().out
    assert out.count("epoch ") == 2 and "(40/40 images)" in out
    assert [r["images"] for r in state.rows] == [20, 40]
    assert db.Dashboard(net, probe, 1, 1).use_widgets is False  # no kernel here


def test_widgets_run_in_background_and_the_stop_button_stops(mnist_small):
    probe = db.Probe.from_data(mnist_small, n_train=50, n_test=50, n_angle=10)
    X, y = mnist_small.x_train[:600], mnist_small.y_train[:600]
    net = Network((20, 10), Config(), seed=0)
    dash = db.Dashboard(net, probe, total=600, n_train=600, use_widgets=True)
    started = []

    def report(net_, n):
        row = dash.report(net_, n)
        if not started:
            started.append(n)
            dash._ui["stop"].click()  # what the button does when pressed
        return row

    dash.start(lambda: train_epoch(net, X, y, np.arange(600), 10, report, dash.stop_requested))
    state = dash.wait()
    assert state.stopped and state.done < 600  # stopped early, after the current image
    assert net.images_seen == state.done
    assert dash._ui["bar"].value == state.done and dash._ui["image"].value[:4] == b"\x89PNG"
    # continue: a new pass counts on from where it stopped
    rest = np.arange(state.done, 600)
    dash.start(lambda: train_epoch(net, X, y, rest, 1000, dash.report, dash.stop_requested))
    assert dash.wait().done == 600 and net.images_seen == 600


def test_an_error_in_the_loop_reaches_wait(mnist_small):
    probe = db.Probe.from_data(mnist_small, n_train=10, n_test=10, n_angle=5)
    dash = db.Dashboard(Network((10,), Config()), probe, 10, 10, use_widgets=True)
    dash.start(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        dash.wait()
