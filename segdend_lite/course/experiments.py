"""The paper's experiments as short runs a student can change (notebooks 07 and 08).

The questions a student explores are :data:`QUESTIONS` of the one experiment registry
(``segdend_lite.reproduce.registry``): each names the :class:`~segdend_lite.Config` option it
varies, the values the paper used (each selecting a condition such as ``fig8/sparse``, with
its network, options, the paper's result and its stored run). :func:`make_network` builds the
network for one value, :func:`run_curve` trains it for a number of images, chunk by chunk
(``segdend_lite.runs.train_chunks``, the loop ``reproduce`` uses too), and records a learning
curve; :func:`load_stored` reads a stored run (with its provenance) from the package's results
(``segdend_lite.runs.store``); :func:`experiment_widget` puts the three together.

A curve is a history (``segdend_lite.runs.history``, the format of ``Network.history``) with
one entry per chunk of training images: ``epoch`` and ``images`` (seen so far), ``seconds``
(training time of the chunk), ``train_error`` (% of the chunk's images misclassified in their
forward phase, before their update), ``loss``, ``angle_to_bp`` (mean angle, degrees, between
the first hidden layer's update and backprop's: in spiking mode over the chunk's training
images, in rate mode on the chunk's images after the chunk; None without a hidden layer),
``hidden_rate_hz`` (spiking mode) and ``test_error`` (%, where ``test_every`` says, else None).
"""

from __future__ import annotations

import time

import numpy as np

from segdend_lite.model import neuron
from segdend_lite.model.config import Config
from segdend_lite.model.network import Network
from segdend_lite.reproduce.registry import QUESTIONS, Question
from segdend_lite.runs import angle_probe, train_chunks
from segdend_lite.runs.store import load_stored, stored_epochs, stored_names

__all__ = ["QUESTIONS", "Question", "load_stored", "stored_epochs", "stored_names"]


def _question(question: Question | str) -> Question:
    if isinstance(question, Question):
        return question
    if question not in QUESTIONS:
        raise ValueError(f"unknown experiment {question!r}: choose one of {list(QUESTIONS)}")
    return QUESTIONS[question]


def experiment_config(question: Question | str, value, mode: str = "rate") -> Config:
    """The :class:`Config` of one run of ``question`` with its option set to ``value``.

    A value the paper used selects its condition's options (for ``symmetric_feedback`` the
    value is the noise SD, and None means random feedback, the control); another value is
    set on the options of the last condition (e.g. ``g_A = 0.3`` on those of ``fig9/gA0.6``).
    Raises ValueError for an unknown question.
    """
    q = _question(question)
    hit = q.condition(value)
    if hit is not None:
        options = dict(hit[1].options)
    else:
        options = dict(q.condition(q.values[-1][0])[1].options)
        options[q.option] = value
    return Config(mode=mode, **options)


def layer_sizes(question: Question | str) -> tuple[int, ...]:
    """The network of a question's runs: its conditions' hidden layers, then 10 outputs."""
    q = _question(question)
    return tuple(q.condition(q.values[0][0])[1].hidden) + (10,)


def value_label(question: Question | str, value) -> str:
    """A short label for one value of a question's option, e.g. ``"g_A = 0.6"``; the first
    value (the paper's control) is marked "(control)"."""
    q = _question(question)
    if q.name == "symmetric_feedback":
        text = (
            "random Y"
            if value is None
            else "Y = W^T, no noise"
            if not value
            else f"Y = W^T, noise SD {value:g}"
        )
    else:
        text = f"{q.option} = {value}"
    return text + (" (control)" if value == q.values[0][0] else "")


def make_network(question: Question | str, value, mode: str = "rate", seed: int = 0) -> Network:
    """A fresh network for one run of ``question`` (see :func:`experiment_config`)."""
    return Network(layer_sizes(question), experiment_config(question, value, mode), seed=seed)


def run_curve(
    net: Network,
    X: np.ndarray,
    y: np.ndarray,
    n_images: int,
    chunk: int = 1000,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    test_every: int | None = None,
    curve: dict | None = None,
    progress: bool = False,
    on_chunk=None,
) -> dict:
    """Train ``net`` online on ``n_images`` training images, ``chunk`` at a time, and record a
    learning curve (see the module docstring; ``curve``: one to continue). ``on_chunk(images)``,
    if given, is called after every chunk with the images the network has seen (for progress).

    Images are taken in a fresh random order of ``X`` (from ``net.rng``) for every pass
    through the set, like epochs. ``X`` (N, 784) uint8 or pixels / 255, ``y`` (N,) labels.
    If ``X_test``/``y_test`` are given, the test error is measured after every ``test_every``
    images (default: at the end only) and at the end.
    """
    return train_chunks(
        net,
        X,
        y,
        n_images,
        chunk=chunk,
        X_test=X_test,
        y_test=y_test,
        test_every=test_every,
        probe=_with_progress(angle_probe(), on_chunk),
        history=curve,
        progress=progress,
    )


def _with_progress(probe, on_chunk):
    if on_chunk is None:
        return probe

    def report(net, X, y, entry):
        out = probe(net, X, y, entry)
        on_chunk(entry["images"])
        return out

    return report


def last_test(curve: dict) -> tuple[int, float] | None:
    """(images, test error %) of a curve's last test, or None if it has none."""
    tests = [(n, e) for n, e in zip(curve["images"], curve["test_error"]) if e is not None]
    return tests[-1] if tests else None


#: How a stored spiking run's PSP kernel is named in its description.
KERNEL_LABELS = {
    "truncated": " (10-lag kernel)",
    "full": " (full kernel of the paper's text)",
}


def describe(run: dict) -> str:
    """One line saying what a stored run is: mode (and PSP kernel), network, images/epochs,
    seed, final test error, and where it came from."""
    p, c = run["provenance"], run["curve"]
    epochs = stored_epochs(run)
    test = last_test(c)
    test = f"test error {test[1]:.2f} %" if test else "no test"
    kernel = ""
    if p["mode"] == "spiking":
        # stored configurations name every option; runs made before the default changed
        # name the full kernel
        kernel = KERNEL_LABELS.get(p.get("config", {}).get("kernel"), "")
    return (
        f"{p['name']}: {p['mode']} mode{kernel}, {p['network']}, {c['images'][-1]:,} images "
        f"({epochs:.2g} epoch{'' if epochs == 1 else 's'}), seed {p['seed']}, {test}; "
        f"{p['command']} "
        f"(commit {p['commit'][:8]}, {p['date'][:10]}, {p['wall_seconds'] / 60:.0f} min)"
    )


def stored_run(question: Question | str, value) -> dict | None:
    """The stored run of one value of a question (its condition's ``stored``), or None if the
    condition has none or it is not in the results folder."""
    hit = _question(question).condition(value)
    if hit is None or hit[1].stored is None:
        return None
    try:
        return load_stored(hit[1].stored)
    except FileNotFoundError:
        return None


# ------------------------------------------------------------------------------ figures


def show_stored(question: Question | str) -> dict:
    """Print one line per stored run of ``question`` (see :func:`describe`) and draw their
    train error and angle to backprop against images seen; returns the runs by label."""
    import matplotlib.pyplot as plt

    q = _question(question)
    runs = {}
    for value, _ in q.values:
        name = q.condition(value)[1].stored
        if name is None:
            continue
        try:
            runs[f"stored, {value_label(q, value)}"] = load_stored(name)
        except FileNotFoundError:
            print(
                f"{q.option} = {value}: no stored run {name!r} in this copy (make it with "
                f"`python scripts/course_runs.py {name}` from a clone of the repository)"
            )
    for run in runs.values():
        print(describe(run))
    if runs:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
        curves = {k: v["curve"] for k, v in runs.items()}
        curves_figure(curves, key="train_error", ax=axes[0], smooth_n=3)
        curves_figure(curves, key="angle_to_bp", ax=axes[1], smooth_n=3)
        fig.suptitle("stored spiking runs (running means over 3 points)", fontsize=9)
        fig.tight_layout()
        plt.show()
    return runs


def smooth(values, n: int = 5) -> np.ndarray:
    """Running mean over ``n`` consecutive entries (fewer at the start); None becomes NaN."""
    v = np.array([np.nan if x is None else x for x in values], dtype=float)
    out = np.empty_like(v)
    for i in range(len(v)):
        out[i] = (
            np.nanmean(v[max(0, i - n + 1) : i + 1])
            if np.any(np.isfinite(v[max(0, i - n + 1) : i + 1]))
            else np.nan
        )
    return out


def curves_figure(curves: dict[str, dict], key: str = "train_error", ax=None, smooth_n: int = 1):
    """Plot ``key`` against images seen for several curves (label -> curve); returns the axes.

    Stored and live curves share one axis; a label with "stored" is drawn dashed."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, c in curves.items():
        x = np.asarray(c["images"], dtype=float)
        y = smooth(c[key], smooth_n)
        ax.plot(x, y, ls="--" if "stored" in label else "-", label=label)
    ax.set_xlabel("training images seen")
    ax.set_ylabel(
        {
            "train_error": "train error (%)",
            "angle_to_bp": "angle to backprop (deg)",
            "loss": "output loss",
            "test_error": "test error (%)",
        }.get(key, key)
    )
    ax.legend(frameon=False, fontsize=8)
    return ax


# ------------------------------------------------------------------------------ g_A (Fig. 9)


def soma_traces(
    net: Network,
    x: np.ndarray,
    label: int,
    g_A_values=(0.0, 0.05, 0.6),
    phase_ms: float = 50.0,
    dt: float = 0.1,
    neurons=(0, 1, 2),
    spikes: bool = False,
    seed: int = 0,
) -> dict:
    """Somatic voltage of some first-hidden-layer neurons through a forward then a target
    phase, for several apical conductances ``g_A`` (the mechanism behind Fig. 9).

    The dendritic potentials come from a rate-mode network ``net`` and one image ``x`` (784,)
    with its ``label``: basal ``V_b = W^0 r^in + b^0`` (the same in both phases), apical
    ``V_a = Y^0 s`` with ``s`` the output's forward-phase rates, then its target-phase rates
    (held at the values of the segregated network, to isolate the soma); with ``spikes=True``
    ``s(t)`` is instead the output's Poisson spike trains at those rates (drawn from ``seed``,
    the same for every g_A) filtered by the PSP kernel (``neuron.psp_kernel``), as the paper's
    apical dendrites receive them. The soma follows ``neuron.euler_soma_step`` from ``V = 0``
    with step ``dt`` ms (0.1 ms: with 1-ms steps the g_A = 0.6 soma rings, an artefact of the
    Euler method).

    Returns ``t`` (ms, shape (T,)), ``V`` {g_A: (T, len(neurons))}, ``V_a`` (T, len(neurons))
    the apical potential, ``V_b``, ``V_a_f``, ``V_a_t`` (len(neurons),) the basal and the mean
    apical potentials of the two phases, and ``phase_ms``.
    """
    p = net.phases(np.asarray(x)[None], [label])
    idx = np.asarray(neurons)
    cfg = net.config
    W0 = np.asarray(net.W[0], dtype=np.float64)[idx]
    V_b = neuron.basal_potential(W0, p.r[0][0].astype(np.float64), np.asarray(net.b[0])[idx])
    Y = np.asarray(net.Y[0], dtype=np.float64)[idx]
    r_f, r_t = p.r_f[0].astype(np.float64), p.r_t[0].astype(np.float64)
    n = int(round(phase_ms / dt))
    t = dt * np.arange(1, 2 * n + 1)
    rates = np.vstack([np.repeat(r_f[None], n, axis=0), np.repeat(r_t[None], n, axis=0)])
    if spikes:  # Poisson counts per step, filtered by the PSP kernel (1/ms)
        counts = np.random.default_rng(seed).poisson(rates * dt)
        kernel = neuron.psp_kernel(t - dt, cfg.tau_s, cfg.tau_L)
        s = neuron.psp_filter(counts, kernel)
    else:
        s = rates
    V_a = neuron.apical_potential(Y, s)  # (T, len(neurons))
    V = {}
    for g_A in g_A_values:
        V_b_t = np.broadcast_to(V_b, V_a.shape)
        V[g_A] = neuron.integrate_soma(V_b_t, V_a, cfg.g_L, cfg.g_B, g_A, dt, np.zeros(len(idx)))
    return {
        "t": t,
        "V": V,
        "V_a": V_a,
        "V_b": V_b,
        "V_a_f": neuron.apical_potential(Y, r_f),
        "V_a_t": neuron.apical_potential(Y, r_t),
        "neurons": idx,
        "phase_ms": phase_ms,
    }


def soma_traces_figure(d: dict, neuron_index: int = 0, title: str = ""):
    """The apical potential (top) and the somatic voltage for each g_A (bottom) of one neuron
    of :func:`soma_traces`, with the phase switch marked; returns the figure."""
    import matplotlib.pyplot as plt

    fig, (top, ax) = plt.subplots(
        2, 1, figsize=(6.5, 4.2), sharex=True, gridspec_kw={"height_ratios": [1, 2]}
    )
    top.plot(d["t"], d["V_a"][:, neuron_index], color="0.4", lw=1)
    top.set_ylabel("apical V_a")
    for g_A, trace in d["V"].items():
        ax.plot(d["t"], trace[:, neuron_index], label=f"g_A = {g_A:g}")
    for a in (top, ax):
        a.axvline(d["phase_ms"], ls="--", color="grey", lw=1)
    top.set_title(title or "forward phase | target phase", fontsize=9)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"soma V, neuron {d['neurons'][neuron_index]}")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------ 08's widget


def experiment_run(
    data,
    experiment: str,
    value,
    mode: str = "rate",
    n_images: int = 5000,
    n_test: int = 1000,
    seed: int = 0,
    on_chunk=None,
) -> dict:
    """Run one value of an experiment briefly and fetch its stored run, if there is one.

    Returns ``{"live": curve, "stored": run or None, "label": ...}``; the live run trains a
    fresh network (:func:`make_network`) online on ``n_images`` images in ten chunks and tests
    it on the first ``n_test`` test images. Spiking mode is about 1 ms per image on a free
    core (5 times more with g_A > 0), rate mode about 0.1 ms. ``on_chunk``: see
    :func:`run_curve`.
    """
    q = _question(experiment)
    if q.needs_spiking and mode == "rate":
        raise ValueError(
            f"{q.option} has no effect in rate mode (the closed form has no apical-to-soma "
            "coupling and no plateau timing): choose mode='spiking'"
        )
    net = make_network(q, value, mode=mode, seed=seed)
    curve = run_curve(
        net,
        data.x_train,
        data.y_train,
        n_images,
        chunk=max(1, n_images // 10),
        X_test=data.x_test[:n_test],
        y_test=data.y_test[:n_test],
        on_chunk=on_chunk,
    )
    stored = stored_run(q, value)
    return {"live": curve, "stored": stored, "label": value_label(q, value), "mode": mode}


def experiment_figure(result: dict, key: str = "train_error"):
    """Live curve against the stored one (dashed) over the live run's images, for ``key``
    and the angle to backprop; the stored run's end is in the title."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    live = result["live"]
    curves = {f"live, {result['mode']}: {result['label']}": live}
    if result["stored"] is not None:
        p = result["stored"]["provenance"]
        curves[f"stored, {p['mode']}: {p['name']} (its first images)"] = result["stored"]["curve"]
    for ax, k in zip(axes, (key, "angle_to_bp")):
        curves_figure(curves, key=k, ax=ax)
        if live["images"]:  # the live run's range: a long stored run would squash it
            ax.set_xlim(0, 1.05 * live["images"][-1])
    axes[1].get_legend().remove()  # the same lines as on the left
    n_tests = sum(e is not None for e in live["test_error"])
    title = f"live run: test error {last_test(live)[1]:.1f} % on {n_tests} test"
    stored = result["stored"] and last_test(result["stored"]["curve"])
    if stored:
        title += f"; stored: {stored[1]:.2f} % after {stored[0]:,} images"
    fig.suptitle(title.replace(" on 1 test", ""), fontsize=9)
    fig.tight_layout()
    return fig


def experiment_widget(data, mode: str = "rate", n_images: int = 5000):
    """Choose an experiment and a value, run it briefly, compare with the stored curve.

    In rate mode (seconds per run) the first run starts at once and every change of the
    ``images`` slider runs again; spiking runs (minutes) start only with the button. Returns the
    widget."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    names = list(QUESTIONS)
    exp = w.Dropdown(options=names, value=names[0], description="experiment")
    value = w.Dropdown(description="value", layout=w.Layout(width="340px"))
    bar = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="200px"))
    status = w.Label("")
    mode_w = w.ToggleButtons(options=["rate", "spiking"], value=mode, description="mode")
    n = w.IntSlider(
        value=n_images,
        min=500,
        max=20000,
        step=500,
        description="images",
        continuous_update=False,
    )
    run = w.Button(description="run", button_style="primary")
    out = w.Output()

    def values(change=None):
        q = QUESTIONS[exp.value]
        value.options = [(value_label(q, v), v) for v, _ in q.values]
        value.value = q.values[-1][0]
        if q.needs_spiking:
            mode_w.value = "spiking"

    def go(_=None):
        with out:
            out.clear_output(wait=True)
            q = QUESTIONS[exp.value]
            print(f"{q.question}\nPaper: {q.paper_text()}")
            bar.max, bar.value, t0 = n.value, 0, time.perf_counter()

            def show(images):
                bar.value = images
                status.value = (
                    f"{mode_w.value}: {images:,} of {n.value:,} images, "
                    f"{time.perf_counter() - t0:.0f} s"
                )

            try:
                result = experiment_run(
                    data, exp.value, value.value, mode_w.value, n.value, on_chunk=show
                )
            except ValueError as err:
                print(f"Cannot run: {err}")
                return
            experiment_figure(result)
            plt.show()
            if result["stored"] is not None:
                print("stored:", describe(result["stored"]))

    exp.observe(values, names="value")
    run.on_click(go)
    n.observe(lambda _: go() if mode_w.value == "rate" else None, names="value")
    values()
    if mode_w.value == "rate":
        go()
    return w.VBox([w.HBox([exp, value]), w.HBox([mode_w, n, run]), w.HBox([bar, status]), out])


# ------------------------------------------------------------------------------ 07's widget


def embedding_figure(
    Z: np.ndarray, y: np.ndarray, digit: int | None = None, title: str = "", ax=None
):
    """A 2-D embedding ``Z`` (N, 2) coloured by digit ``y`` (N,); with ``digit`` set, that
    digit's points in colour and the rest in grey. Returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    cmap = plt.get_cmap("tab10")
    if digit is None:
        ax.scatter(Z[:, 0], Z[:, 1], c=cmap(np.asarray(y) % 10), s=3, lw=0)
        for d in np.unique(y):  # the digit at each cluster's median
            cx, cy = np.median(Z[y == d], axis=0)
            ax.text(cx, cy, str(d), fontsize=11, weight="bold", ha="center", va="center")
    else:
        mine = np.asarray(y) == digit
        ax.scatter(Z[~mine, 0], Z[~mine, 1], c="0.85", s=3, lw=0)
        ax.scatter(Z[mine, 0], Z[mine, 1], c=[cmap(digit % 10)], s=4, lw=0, label=str(digit))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[:].set_visible(False)  # t-SNE's axes have no units: no frame
    ax.set_title(title, fontsize=9)
    return ax


def field_pair_figure(F: np.ndarray, G: np.ndarray, unit: int, r: np.ndarray | None = None):
    """Receptive field ``unit`` of ``F`` (n, 28, 28) beside its best-correlated field of ``G``
    (m, 28, 28) (Pearson r over all pixels unless ``r``, the full correlation matrix (n, m),
    is given). Returns the figure."""
    import matplotlib.pyplot as plt

    if r is None:
        Fz = F.reshape(len(F), -1)[unit]
        Gz = G.reshape(len(G), -1)
        Fz = (Fz - Fz.mean()) / np.linalg.norm(Fz - Fz.mean())
        Gz = Gz - Gz.mean(axis=1, keepdims=True)
        row = Gz @ Fz / np.linalg.norm(Gz, axis=1)
    else:
        row = r[unit]
    best = int(np.argmax(row))
    fig, axes = plt.subplots(1, 2, figsize=(5, 2.6))
    for ax, img, title in zip(
        axes, (F[unit], G[best]), (f"local rule, unit {unit}", f"backprop, unit {best}")
    ):
        lim = np.percentile(np.abs(img - np.median(img)), 99)
        ax.imshow(img - np.median(img), cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    fig.suptitle(f"best Pearson r = {row[best]:.2f}", fontsize=9)
    fig.tight_layout()
    return fig


def representation_widget(
    embeddings: dict[str, np.ndarray],
    y: np.ndarray,
    F: np.ndarray,
    G: np.ndarray,
    r: np.ndarray | None = None,
):
    """Pick a layer and a digit (its points in the embedding), or a hidden unit (its receptive
    field beside the best-matching backprop field). ``embeddings``: layer name -> (N, 2)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    layer = w.Dropdown(options=list(embeddings), description="layer")
    # "all" is -1, not None: a Dropdown whose value is None shows blank until it is used
    digit = w.Dropdown(
        options=[("all", -1)] + [(str(d), d) for d in range(10)], value=-1, description="digit"
    )
    unit = w.IntSlider(
        value=0, min=0, max=len(F) - 1, description="hidden unit", continuous_update=False
    )

    def draw_embedding(layer, digit):
        embedding_figure(embeddings[layer], y, None if digit < 0 else digit, title=layer)
        plt.show()

    def draw_field(unit):
        field_pair_figure(F, G, unit, r)
        plt.show()

    return w.VBox(
        [
            w.HTML("<b>Receptive field</b> of one hidden unit beside its best backprop match"),
            _interactive(draw_field, unit=unit),
            w.HTML("<b>Embedding</b> of one layer, one digit highlighted"),
            _interactive(draw_embedding, layer=layer, digit=digit),
        ]
    )


def _interactive(draw, **controls):
    import ipywidgets as w

    out = w.interactive_output(draw, controls)
    return w.VBox([w.HBox(list(controls.values())), out])
