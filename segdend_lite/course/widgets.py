"""Interactive explorers for the notebooks (ipywidgets + matplotlib).

Each explorer is a thin widget around a plain function from values to data (``*_data``) and a
plain function from data to a figure (``*_figure``); the plain functions are unit-tested, the
widgets only wire sliders to them. Built headless, a widget renders once with its defaults.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from segdend_lite.mlp import MLP, train
from segdend_lite.course.single_neuron import simulate_neuron
from segdend_lite.threads import spiking_threads
from segdend_lite.course.plots import PALETTE, plot_learning_curves


def _row(controls):
    """Sliders side by side, each label as wide as it needs (ipywidgets cuts labels at 80 px by
    default), wrapping where the notebook is narrow."""
    import ipywidgets as w

    for c in controls:
        c.style.description_width = "initial"
    return w.HBox(list(controls), layout=w.Layout(flex_flow="row wrap"))


def _interactive(draw, **controls):
    import ipywidgets as w

    out = w.interactive_output(draw, controls)
    box = w.VBox([_row(controls.values()), out])
    return box


# ------------------------------------------------------------------------------ notebook 01


def learning_curve_data(
    data,
    n_hidden: int = 100,
    lr: float = 2.0,
    epochs: int = 1,
    rule: str = "backprop",
    n_train: int | None = None,
    seed: int = 0,
    train_fn=None,
) -> dict[str, list]:
    """Train a fresh 784-n_hidden-10 sigmoid network and return its history (images seen,
    test error %). ``n_train`` limits the training images (None = all). ``train_fn(net, X, y,
    X_test, y_test, epochs=, lr=, seed=)``: the training loop to use (notebook 01 passes its own,
    which runs the student's backprop); default :func:`segdend_lite.mlp.train` by ``rule``."""
    X, y = data.x_train[:n_train], data.y_train[:n_train]
    net = MLP.create(n_hidden, seed=seed)
    if train_fn is not None:
        return train_fn(net, X, y, data.x_test, data.y_test, epochs=epochs, lr=lr, seed=seed)
    return train(net, X, y, data.x_test, data.y_test, epochs=epochs, lr=lr, rule=rule, seed=seed)


def learning_curve_widget(data, n_train: int | None = None, epochs: int = 1, train_fn=None):
    """Sliders for the hidden-layer size and the learning rate; draws the learning curve
    (trained by ``train_fn``, see :func:`learning_curve_data`)."""
    import ipywidgets as w

    def draw(n_hidden, lr):
        hist = learning_curve_data(
            data, n_hidden, lr, epochs=epochs, n_train=n_train, train_fn=train_fn
        )
        plot_learning_curves({f"{n_hidden} hidden, lr {lr}": hist})
        plt.show()

    return _interactive(
        draw,
        n_hidden=w.IntSlider(100, 10, 300, 10, description="hidden units", continuous_update=False),
        lr=w.FloatLogSlider(
            2.0,
            base=10,
            min=-1.5,
            max=1,
            step=0.25,
            description="learning rate",
            continuous_update=False,
        ),
    )


# ------------------------------------------------------------------------------ notebook 02


def feedback_alignment_data(
    data,
    feedback_scale: float = 1.0,
    sparsity: float = 0.0,
    n_hidden: int = 100,
    lr: float = 2.0,
    epochs: int = 1,
    n_train: int | None = None,
    seed: int = 0,
    train_fa=None,
) -> dict[str, dict]:
    """Train the same network (same initial weights) by backprop and by feedback alignment
    with feedback ``Y`` of the given scale and sparsity; the FA history holds the angle (deg)
    between the FA and backprop hidden updates. ``train_fa(net, Y, X, y, X_test, y_test,
    epochs=, lr=, seed=)``: the feedback-alignment loop to use (notebook 02 passes its own, which
    runs the student's functions); default :func:`segdend_lite.mlp.train` with ``"fa"``."""
    X, y = data.x_train[:n_train], data.y_train[:n_train]
    out = {}
    for rule in ("backprop", "fa"):
        net = MLP.create(
            n_hidden, seed=seed, feedback_scale=feedback_scale, feedback_sparsity=sparsity
        )
        if rule == "fa" and train_fa is not None:
            out[rule] = train_fa(
                net, net.Y, X, y, data.x_test, data.y_test, epochs=epochs, lr=lr, seed=seed
            )
            continue
        out[rule] = train(
            net,
            X,
            y,
            data.x_test,
            data.y_test,
            epochs=epochs,
            lr=lr,
            rule=rule,
            seed=seed,
            track_angle=rule == "fa",
        )
    return out


def feedback_alignment_figure(curves: dict[str, dict]):
    """Left: both learning curves. Right: the FA-backprop angle over training."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    plot_learning_curves({"backprop": curves["backprop"], "feedback alignment": curves["fa"]}, a)
    fa = curves["fa"]
    b.plot(
        fa["epoch"],
        fa["angle_to_bp"],
        color=PALETTE["vermillion"],
        marker="o",
        ms=3,
    )
    b.axhline(90, ls="--", lw=1, color="grey")
    b.set_xlabel("epoch")
    b.set_ylabel("angle FA vs backprop (deg)")
    b.set_ylim(0, 100)
    fig.tight_layout()
    return fig


def feedback_alignment_widget(data, n_train: int | None = None, epochs: int = 1, train_fa=None):
    """Sliders for the feedback scale and sparsity; draws learning curves and the angle
    (feedback alignment trained by ``train_fa``, see :func:`feedback_alignment_data`)."""
    import ipywidgets as w

    def draw(scale, sparsity):
        feedback_alignment_figure(
            feedback_alignment_data(
                data, scale, sparsity, epochs=epochs, n_train=n_train, train_fa=train_fa
            )
        )
        plt.show()

    return _interactive(
        draw,
        scale=w.FloatLogSlider(
            1.0, base=10, min=-1, max=1, step=0.25, description="B scale", continuous_update=False
        ),
        sparsity=w.FloatSlider(
            0.0, min=0.0, max=0.95, step=0.05, description="B sparsity", continuous_update=False
        ),
    )


# ------------------------------------------------------------------------------ notebook 03


def neuron_figure(trace: dict[str, np.ndarray], t_switch: int | None = None):
    """Basal, apical and somatic voltages (top) and spikes (bottom) of one simulated neuron."""
    fig, (a, b) = plt.subplots(2, 1, figsize=(8, 4), sharex=True, height_ratios=[3, 1])
    a.plot(trace["t"], trace["V_b"], color=PALETTE["blue"], label="basal $V^b$")
    a.plot(trace["t"], trace["V_a"], color=PALETTE["orange"], label="apical $V^a$")
    a.plot(trace["t"], trace["V"], color=PALETTE["black"], lw=2, label="soma $V$")
    if t_switch is not None:
        for ax in (a, b):
            ax.axvline(t_switch, ls="--", lw=1, color="grey")
    a.set_ylabel("voltage (arb. units)")
    a.legend(frameon=False, ncol=3, loc="upper left")
    a.set_title(
        f"alpha_f = {trace['alpha_f']:.2f}, alpha_t = {trace['alpha_t']:.2f}, "
        f"soma rate {trace['rate_hz']:.0f} Hz",
        fontsize=9,
    )
    t_sp = np.repeat(trace["t"], trace["spikes"].astype(int))
    b.vlines(t_sp, 0, 1, color=PALETTE["black"])
    b.set_yticks([])
    b.set_xlabel("time (ms)")
    b.set_ylabel("spikes")
    fig.tight_layout()
    return fig


def neuron_simulator_widget(seed: int = 0, simulate=None):
    """Sliders for g_B, g_A, basal and apical input rates and the phase switch time.

    ``simulate(g_B=, g_A=, basal_hz=, apical_hz=, t_switch=, seed=)`` returns the trace dict of
    :func:`~segdend_lite.course.single_neuron.simulate_neuron` (the default); notebook 03 passes its
    own loop, which runs the student's functions."""
    import ipywidgets as w

    simulate = simulate or simulate_neuron

    def draw(g_B, g_A, basal_hz, apical_f_hz, apical_t_hz, t_switch):
        trace = simulate(
            g_B=g_B,
            g_A=g_A,
            basal_hz=basal_hz,
            apical_hz=(apical_f_hz, apical_t_hz),
            t_switch=t_switch,
            seed=seed,
        )
        neuron_figure(trace, t_switch)
        plt.show()

    def slider(value, lo, hi, step, text, cls=w.FloatSlider):
        return cls(value, min=lo, max=hi, step=step, description=text, continuous_update=False)

    controls = dict(
        g_B=slider(0.6, 0.0, 1.5, 0.05, "g_B"),
        g_A=slider(0.0, 0.0, 1.0, 0.05, "g_A"),
        basal_hz=slider(20.0, 0.0, 100.0, 5.0, "basal Hz"),
        apical_f_hz=slider(20.0, 0.0, 200.0, 10.0, "forward apical Hz"),
        apical_t_hz=slider(80.0, 0.0, 200.0, 10.0, "target apical Hz"),
        t_switch=slider(60, 40, 100, 5, "switch at (ms)", w.IntSlider),
    )
    out = w.interactive_output(draw, controls)
    c = controls
    rows = [
        (c["g_B"], c["g_A"]),
        (c["basal_hz"], c["t_switch"]),
        (c["apical_f_hz"], c["apical_t_hz"]),
    ]
    return w.VBox([_row(r) for r in rows] + [out])


# ------------------------------------------------------------------------------ notebook 04


@spiking_threads
def phase_explorer_data(net, x: np.ndarray, label: int, neuron: int, seed: int = 0) -> dict:
    """Run one forward and one target phase of spiking network ``net`` (a copy: ``net`` is not
    changed) on image ``x`` (784,) pixels / 255, recording hidden ``neuron``'s apical voltage.

    Returns ``V_a_f``, ``V_a_t`` (traces, one per ms), ``alpha_f``, ``alpha_t``, the window
    start of each phase, ``sign`` of the neuron's basal weight change (+1 potentiation, -1
    depression) and ``output_rates_f``/``_t`` (Hz, window means)."""
    import copy

    from segdend_lite.model.neuron import sigma
    from segdend_lite.model.spiking import Draws, run_phase, window

    if net.config.mode != "spiking" or net.n_hidden < 1:
        raise ValueError("the phase explorer needs a spiking network with a hidden layer")
    if not 0 <= neuron < net.layer_sizes[0]:
        raise ValueError(f"neuron must lie in 0..{net.layer_sizes[0] - 1}")
    work = copy.deepcopy(net)
    work.rng = np.random.default_rng(seed)
    cols = np.flatnonzero(x)
    T = work.config.phase_length
    res = {}
    for phase, lab in (("f", None), ("t", label)):
        r = run_phase(
            work,
            x,
            cols,
            T,
            lab,
            Draws.draw(work, work.rng, T, len(cols)),
            engine="step",
            record={0: [neuron]},
        )
        res[f"V_a_{phase}"] = r.trace[0]["V_a"][:, 0]
        res[f"alpha_{phase}"] = float(sigma(r.V_a[0][neuron]))
        res[f"output_rates_{phase}"] = 1000.0 * r.r_out
    res["window_start"] = window(work.config, T)[0]
    res["sign"] = int(np.sign(res["alpha_t"] - res["alpha_f"]))
    return res


def phase_explorer_figure(d: dict, label: int):
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2), width_ratios=[2, 1])
    T = len(d["V_a_f"])
    a.plot(np.arange(T), d["V_a_f"], color=PALETTE["blue"], label="forward phase")
    a.plot(np.arange(T, 2 * T), d["V_a_t"], color=PALETTE["vermillion"], label="target phase")
    for start in (d["window_start"], T + d["window_start"]):
        a.axvspan(start, start + T - d["window_start"], color="grey", alpha=0.15)
    a.axvline(T, ls="--", lw=1, color="grey")
    a.set_xlabel("time (ms)")
    a.set_ylabel("apical voltage $V^a$")
    word = {1: "potentiate", -1: "depress", 0: "no change"}[d["sign"]]
    a.set_title(f"alpha_f = {d['alpha_f']:.3f}, alpha_t = {d['alpha_t']:.3f} -> {word}", fontsize=9)
    a.legend(frameon=False)
    idx = np.arange(len(d["output_rates_f"]))
    b.bar(idx - 0.2, d["output_rates_f"], 0.4, color=PALETTE["blue"], label="forward")
    b.bar(idx + 0.2, d["output_rates_t"], 0.4, color=PALETTE["vermillion"], label="target")
    b.set_xticks(idx)
    b.set_xlabel(f"output unit (label {label})")
    b.set_ylabel("rate (Hz)")
    fig.tight_layout()
    return fig


def phase_explorer_widget(net, X: np.ndarray, y: np.ndarray):
    """Pick an image and a hidden neuron; see its apical voltage in both phases."""
    import ipywidgets as w

    def draw(image, neuron):
        x = X[image] / 255.0 if X.dtype == np.uint8 else X[image]
        phase_explorer_figure(phase_explorer_data(net, x, int(y[image]), neuron), int(y[image]))
        plt.show()

    return _interactive(
        draw,
        image=w.IntSlider(0, 0, len(X) - 1, 1, description="image", continuous_update=False),
        neuron=w.IntSlider(
            0, 0, net.layer_sizes[0] - 1, 1, description="hidden neuron", continuous_update=False
        ),
    )
