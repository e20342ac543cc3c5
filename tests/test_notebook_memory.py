"""Each course notebook, run top to bottom in quick mode in a fresh kernel, stays under a memory
budget. Binder gives a session 2 GB; the default mode's peaks are measured by
``benchmarks/bench_notebooks.py`` (README, notebook table)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench_notebooks.py"
#: MiB. Quick-mode kernels peak at 110-200 MiB; full MNIST as float64 alone would take 360.
BUDGET_MB = 400


@pytest.mark.parametrize(
    "path", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem
)
def test_quick_mode_notebook_stays_under_the_memory_budget(path):
    # a subprocess with a time limit: a kernel that hangs cannot hold up the suite
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--out", "-", str(path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    row = re.search(rf"^\| `{path.stem}` \| (\d+) \| ([\d.]+) \|$", done.stdout, re.M)
    assert row, done.stdout
    peak = int(row.group(1))
    assert 30 < peak < BUDGET_MB, (
        f"{path.name} peaked at {peak} MiB in quick mode (budget {BUDGET_MB})"
    )
