"""Course helpers: the run mode (quick for tests, default for students), the environment check."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

#: The packages the course needs, in the order the environment check lists them.
COURSE_PACKAGES = ("numpy", "matplotlib", "ipywidgets", "tqdm", "jupyterlab")


def quick_mode() -> bool:
    """True when ``$SEGDEND_QUICK`` is set to 1/true/yes: notebooks shrink data and epochs.

    The test suite sets it so that every notebook runs in well under a minute.
    """
    value = os.environ.get("SEGDEND_QUICK", "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValueError(f"SEGDEND_QUICK={value!r}: use 1 (quick mode) or 0 (default mode)")


def environment_report() -> dict[str, str]:
    """Versions of Python, the platform and each course package ('missing' if not installed)."""
    report = {"python": sys.version.split()[0], "platform": platform.platform(terse=True)}
    for name in COURSE_PACKAGES + ("segdend-lite",):
        try:
            report[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            report[name] = "missing"
    return report


def setup_colab() -> None:
    """On Google Colab, turn on the widget manager that ipywidgets 8 needs there; elsewhere
    (JupyterLab, Binder, a laptop) do nothing.

    Called by the first code cell of every notebook, after that cell has installed the package
    if it was missing (as it is on Colab)."""
    try:
        from google.colab import output  # type: ignore[import-not-found]
    except ImportError:
        return
    output.enable_custom_widget_manager()
