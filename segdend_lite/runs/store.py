"""Where the stored runs are, and reading them.

The package carries the small result files of this library's own runs (histories, provenance,
probes; no checkpoints) in ``segdend_lite/results/``, found through ``importlib.resources`` so
they are there after any kind of install. Set ``SEGDEND_RESULTS`` to a folder of your own runs
(the same layout) to read those instead.

Layout of the results folder: ``<experiment>/<mode>/<condition>/seed<k>/`` task folders of
``python -m segdend_lite reproduce`` (``history.json``, ``task.json``, ``probes.json``);
``NAME/`` short stored runs of the course (``history.json`` with one entry per chunk,
``provenance.json``), also one level down (``paper_text_kernel/NAME``: runs made with the
paper-text PSP kernel, kept for comparison); ``baselines/``; ``REPORT.md``.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from segdend_lite.runs.history import read_history

#: The environment variable naming a folder of one's own results.
ENV = "SEGDEND_RESULTS"


def results_folder() -> Path:
    """The results folder: ``$SEGDEND_RESULTS`` if set, else the package's own."""
    env = os.environ.get(ENV, "").strip()
    if env:
        folder = Path(env).expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(
                f"{ENV}={env!r} is not a folder: point it at a folder of results (the layout "
                f"of segdend_lite/results), or unset it to use the stored runs of the package"
            )
        return folder
    return Path(str(resources.files("segdend_lite").joinpath("results")))


def stored_names(root: str | os.PathLike | None = None) -> list[str]:
    """Names of the stored short runs: folders with ``history.json`` and ``provenance.json``,
    one or two levels down (e.g. ``spiking_1h_seed0``, ``paper_text_kernel/spiking_1h_seed0``)."""
    root = Path(root) if root is not None else results_folder()
    found = list(root.glob("*/provenance.json")) + list(root.glob("*/*/provenance.json"))
    return sorted(
        p.parent.relative_to(root).as_posix() for p in found if (p.parent / "history.json").exists()
    )


def load_stored(name: str, root: str | os.PathLike | None = None) -> dict:
    """A stored run: ``{"curve": history, "provenance": ...}`` from ``<results>/<name>/``.

    The history has one entry per chunk (``runs.history``); the provenance names the command,
    commit, date, machine, wall time, mode, network, configuration and seed. Raises
    FileNotFoundError (listing the runs there) if it is missing."""
    root = Path(root) if root is not None else results_folder()
    folder = root / name
    if not (folder / "history.json").exists() or not (folder / "provenance.json").exists():
        raise FileNotFoundError(
            f"no stored run {name!r} in {root}; stored runs: {stored_names(root) or 'none'}. "
            f"Make it with: python scripts/course_runs.py {name}"
        )
    provenance = json.loads((folder / "provenance.json").read_text())
    curve = read_history(folder / "history.json", provenance.get("train_size", 60000))
    return {"curve": curve, "provenance": provenance}


def stored_epochs(run: dict) -> float:
    """Epochs a stored run (see :func:`load_stored`) trained: its images over its training set."""
    c, p = run["curve"], run["provenance"]
    return c["images"][-1] / p.get("train_size", 60000) if c["images"] else 0.0
