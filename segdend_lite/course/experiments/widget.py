"""Notebook 08's widget: choose a question and a value, run it briefly
(:func:`experiment_run`), and compare the live curve with the stored one."""

from __future__ import annotations

import time

from segdend_lite.course.experiments.curves import curves_figure, last_test, run_curve
from segdend_lite.course.experiments.questions import as_question, make_network, value_label
from segdend_lite.course.experiments.stored import describe, stored_run
from segdend_lite.reproduce.registry import QUESTIONS


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
    q = as_question(experiment)
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
