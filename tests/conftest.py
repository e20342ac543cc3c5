"""Shared fixtures and helpers of the test suite.

- MNIST: ``mnist_small`` (the bundled subset, what most tests need) and ``mnist_full`` (from the
  user's cache, filled by the offline route on a fresh machine the first time).
- ``load_script``: a script of ``scripts/`` or ``benchmarks/`` loaded as a module.
- Notebook cells run in this process (``NotebookCells``): a course notebook's code cells, one
  solution line changed, run up to a given cell; what each cell printed and which cell raised.

The options, the opt-in marks and each notebook's peak-memory item are in ../conftest.py.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
from pathlib import Path

import pytest

from segdend_lite.data import load_mnist

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


# ------------------------------------------------------------------------------ data, scripts


@pytest.fixture(scope="session")
def mnist_full():
    return load_mnist("auto", verbose=False)


@pytest.fixture(scope="session")
def mnist_small():
    return load_mnist("small", verbose=False)


def load_script(relpath: str):
    """The file ``relpath`` (relative to the repository, e.g. ``scripts/build_exercises.py``)
    loaded as a module."""
    path = ROOT / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------ notebook cells


class NotebookCells:
    """The code cells of ``notebooks/<name>.ipynb``, read from its JSON, to change and run in
    this process (IPython's own translation of ``%`` lines; working directory = notebooks/).

    ``run(upto)`` runs cells ``0..upto`` (indices into ``self.sources``; ``run_cells`` the ones
    given) in one namespace and stops at the first exception; ``self.stdout[i]`` is what cell
    ``i`` printed and ``self.error`` is ``(i, exception)`` or None."""

    def __init__(self, name: str):
        nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
        self.name = name
        self.sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
        self.stdout: dict[int, str] = {}
        self.error: tuple[int, BaseException] | None = None
        self.namespace: dict = {}

    def index(self, needle: str) -> int:
        """The one cell that contains ``needle``."""
        hits = [i for i, s in enumerate(self.sources) if needle in s]
        assert len(hits) == 1, f"{needle!r} is in {len(hits)} cells of {self.name}; need one"
        return hits[0]

    def check_cell(self, name: str) -> int:
        """The cell that checks exercise (or prediction) ``name``."""
        for i, s in enumerate(self.sources):
            if f'check("{name}", {name})' in s or f'check_prediction("{name}"' in s:
                return i
        raise AssertionError(f"{self.name} has no check cell for {name}")

    def replace(self, old: str, new: str) -> int:
        """Replace ``old`` by ``new`` in the one cell holding it; return that cell's index."""
        i = self.index(old)
        self.sources[i] = self.sources[i].replace(old, new)
        return i

    def insert(self, at: int, source: str) -> None:
        self.sources.insert(at, source)

    def run(self, upto: int) -> NotebookCells:
        return self.run_cells(range(upto + 1))

    def run_cells(self, indices) -> NotebookCells:
        """Run the cells ``indices`` (in that order) in this object's namespace."""
        from IPython.core.inputtransformer2 import TransformerManager
        from IPython.display import display

        import matplotlib.pyplot as plt

        translate = TransformerManager().transform_cell
        ns = self.namespace
        ns.setdefault("__name__", "__main__")
        ns.setdefault("display", display)
        old = os.getcwd()
        os.chdir(NOTEBOOKS)
        try:
            for i in indices:
                out = io.StringIO()
                try:
                    with contextlib.redirect_stdout(out):
                        code = compile(
                            translate(self.sources[i]), f"<{self.name} cell {i}>", "exec"
                        )
                        exec(code, ns)
                except Exception as exc:  # noqa: BLE001 - the test looks at which cell raised
                    self.error = (i, exc)
                    return self
                finally:
                    self.stdout[i] = out.getvalue()
        finally:
            os.chdir(old)
            plt.close("all")
        return self


@pytest.fixture
def notebook_env(tmp_path, monkeypatch):
    """Quick mode, headless, a private progress file, progress recording off afterwards."""
    from segdend_lite.course import checks

    monkeypatch.setenv("SEGDEND_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("SEGDEND_WIDGETS", "0")
    monkeypatch.setenv("SEGDEND_PROGRESS_FILE", str(tmp_path / "progress.json"))
    yield monkeypatch
    checks.record_progress(False)
