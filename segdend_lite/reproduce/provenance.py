"""Provenance: which code ran a task, on which machine, under which load."""

from __future__ import annotations

import datetime as _dt
import functools
import os
import platform
import socket
import subprocess
from pathlib import Path

import numpy as np

from segdend_lite.threads import usable_cpus


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """The package version and, in a git checkout, the commit (and whether it was modified),
    read once per process: the code a worker loaded, even if the checkout moves on later."""
    from segdend_lite import __version__

    info = {"version": __version__, "commit": None, "modified": None}
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if commit.returncode == 0:
            info["commit"] = commit.stdout.strip()
            status = subprocess.run(
                ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            info["modified"] = bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def machine() -> dict:
    """Where a task ran."""
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "usable_cpus": usable_cpus(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
    }


def load_average() -> list[float] | None:
    """The machine's 1, 5 and 15-minute load averages (other work slows a task down)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
