"""Stored runs of the questions' conditions (``segdend_lite.runs.store``, the package's
results): one line saying what a run is (:func:`describe`), the run of one value
(:func:`stored_run`), and all of a question's runs printed and drawn (:func:`show_stored`)."""

from __future__ import annotations

from segdend_lite.course.experiments.curves import curves_figure, last_test
from segdend_lite.course.experiments.questions import as_question, value_label
from segdend_lite.reproduce.registry import Question
from segdend_lite.runs.store import load_stored, stored_epochs

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
    hit = as_question(question).condition(value)
    if hit is None or hit[1].stored is None:
        return None
    try:
        return load_stored(hit[1].stored)
    except FileNotFoundError:
        return None


def show_stored(question: Question | str) -> dict:
    """Print one line per stored run of ``question`` (see :func:`describe`) and draw their
    train error and angle to backprop against images seen; returns the runs by label."""
    import matplotlib.pyplot as plt

    q = as_question(question)
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
