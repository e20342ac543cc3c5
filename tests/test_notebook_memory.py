"""Each course notebook, run top to bottom in quick mode in a fresh kernel, stays under a memory
budget. Binder gives a session 2 GB; the default mode's peaks are measured by
``benchmarks/bench_notebooks.py`` (README, notebook table)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_notebooks.py"
#: MiB. Quick-mode kernels peak at 110-200 MiB; full MNIST as float64 alone would take 360.
BUDGET_MB = 400


def _bench():
    spec = importlib.util.spec_from_file_location("bench_notebooks", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", _bench().course_notebooks(), ids=lambda p: p.stem)
def test_quick_mode_notebook_stays_under_the_memory_budget(path):
    measured = _bench().measure(path, quick=True, timeout=300)
    assert 30 < measured["peak_mb"] < BUDGET_MB, (
        f"{path.name} peaked at {measured['peak_mb']:.0f} MiB in quick mode "
        f"(budget {BUDGET_MB} MiB)"
    )
