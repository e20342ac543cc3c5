"""pytest plumbing for the whole repository (tests/, notebooks/, exercises/); the fixtures and
helpers of the tests are in tests/conftest.py.

- Each notebook runs once (nbval, ``make test``) and its peak memory is measured in that run:
  under ``--nbval``/``--nbval-lax`` every notebook gets a last item, ``peak memory``, that reads
  its kernel's peak resident memory (``VmHWM``) once its cells have run, before nbval stops it.
- Opt-in tests: ``@pytest.mark.network`` (reaches the internet; ``--run-network``) and
  ``@pytest.mark.installed`` (a non-editable install in a fresh environment;
  ``--run-installed``, ``make test-installed``), skipped otherwise with the reason.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

#: MiB, per notebook, its kernel's peak resident memory. Quick mode (the tests' mode) peaks at
#: 110-200 MiB (full MNIST as float64 alone would take 360); the default mode must stay within
#: Binder's 2 GB (its figures: ``benchmarks/bench_notebooks.py``, README's notebook table).
MEMORY_BUDGET_MB = {"quick": 400, "default": 2000}

# ------------------------------------------------------------------------------ options, marks

_OPT_IN = {
    "network": "reaches the internet (PyPI): run with --run-network",
    "installed": "builds a non-editable install in a fresh environment: `make test-installed` "
    "(pytest --run-installed tests/test_installed.py)",
}


def pytest_addoption(parser):
    for mark in _OPT_IN:
        parser.addoption(f"--run-{mark}", action="store_true", help=_OPT_IN[mark])


def pytest_configure(config):
    for mark, what in _OPT_IN.items():
        config.addinivalue_line("markers", f"{mark}: {what}")


def pytest_collection_modifyitems(config, items):
    for item in items:
        for mark, why in _OPT_IN.items():
            if item.get_closest_marker(mark) and not config.getoption(f"--run-{mark}"):
                item.add_marker(pytest.mark.skip(reason=f"opt-in test: {why}"))
    _add_peak_memory_items(items)


# ------------------------------------------------------------------------------ peak memory


def _kernel_pid(kernel) -> int | None:
    km = getattr(kernel, "km", None)
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    return getattr(process, "pid", None)


class PeakMemory(pytest.Item):
    """The notebook's kernel, after its last cell: peak resident memory within the budget."""

    def runtest(self):
        kernel = getattr(self.parent, "kernel", None)
        if kernel is None or not kernel.is_alive():
            raise AssertionError(f"{self.parent.name}: the kernel is not running any more")
        pid = _kernel_pid(kernel)
        status = Path(f"/proc/{pid}/status")
        if pid is None or not status.exists():
            pytest.skip("the kernel's peak memory is read from /proc/<pid>/status (Linux)")
        peak_mb = int(re.search(r"VmHWM:\s+(\d+) kB", status.read_text()).group(1)) / 1024
        mode = (
            "quick" if os.environ.get("SEGDEND_QUICK", "").strip() in ("1", "true") else "default"
        )
        budget = MEMORY_BUDGET_MB[mode]
        self.user_properties.append(("peak_mb", round(peak_mb)))
        assert 30 < peak_mb < budget, (
            f"{self.parent.name} peaked at {peak_mb:.0f} MiB in {mode} mode (budget {budget} MiB)"
        )

    def repr_failure(self, excinfo):
        return str(excinfo.value)

    def reportinfo(self):
        return self.path, None, f"{self.parent.name}::peak memory"


def _add_peak_memory_items(items):
    """After the last cell of each nbval notebook, one PeakMemory item in the same collector
    (so it runs before nbval stops that notebook's kernel)."""
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:
        return
    out = []
    for k, item in enumerate(items):
        out.append(item)
        nxt = items[k + 1] if k + 1 < len(items) else None
        if isinstance(item, IPyNbCell) and (nxt is None or nxt.parent is not item.parent):
            out.append(PeakMemory.from_parent(item.parent, name="peak memory"))
    items[:] = out
