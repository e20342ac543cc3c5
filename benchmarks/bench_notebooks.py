"""Peak kernel memory and wall time of each course notebook, as a student runs it.

    python benchmarks/bench_notebooks.py [--quick] [--out FILE.md] [NOTEBOOK ...]

Runs each notebook in ``notebooks/`` top to bottom in a fresh kernel (nbclient, working
directory = the notebook's folder), in the default mode (what students run; ``--quick`` for
``SEGDEND_QUICK=1``), then reads the kernel's own peak resident memory (``VmHWM`` in
``/proc/self/status``; elsewhere ``ru_maxrss``) from a last cell added for the purpose. The wall
time includes the kernel's start. Binder gives a session 2 GB. Prints a markdown table and
writes it (with the command, commit, date and machine) to ``benchmarks/results_notebooks.md``
(``--quick``: ``results_notebooks_quick.md``)
unless ``--out -``. The tests check the quick-mode budget inside their one run of each notebook
(conftest.py, ``peak memory``)."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# VmHWM (Linux) is the peak of this process image only; ru_maxrss, the fallback elsewhere, also
# counts the parent's memory from before the kernel's exec (the fork), so it can read too high.
PEAK_CELL = """import re as _re, resource as _r, sys as _s
try:
    with open("/proc/self/status") as _f:
        _kb = float(_re.search(r"VmHWM:\\s+(\\d+) kB", _f.read()).group(1))
except (OSError, AttributeError):
    _kb = _r.getrusage(_r.RUSAGE_SELF).ru_maxrss / (1024 if _s.platform == "darwin" else 1)
print("SEGDEND_PEAK_RSS_MB", _kb / 1024)"""


def course_notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def measure(path: Path, quick: bool, timeout: int = 3600) -> dict:
    """Run notebook ``path`` in a fresh kernel; return ``seconds`` (wall, kernel start
    included) and ``peak_mb`` (the kernel's peak resident memory, MiB)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_CELL))
    with tempfile.TemporaryDirectory(prefix="segdend-nbmem-") as tmp:
        env = dict(os.environ)
        env["SEGDEND_QUICK"] = "1" if quick else "0"
        env["SEGDEND_PROGRESS_FILE"] = str(Path(tmp) / "progress.json")  # not the user's
        env.pop("MPLBACKEND", None)  # the kernel's inline backend, as in JupyterLab
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        t0 = time.perf_counter()
        client.execute(env=env)
        seconds = time.perf_counter() - t0
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    peak = float(text.split("SEGDEND_PEAK_RSS_MB")[1].split()[0])
    return {"seconds": seconds, "peak_mb": peak}


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(ROOT),
                "status",
                "--porcelain",
                "--",
                "notebooks",
                "segdend_lite",
                "benchmarks/bench_notebooks.py",
            ],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return out.stdout.strip() + (" (with local changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="SEGDEND_QUICK=1 (the tests' mode)")
    ap.add_argument(
        "--out",
        default=None,
        help="default: benchmarks/results_notebooks.md (--quick: results_notebooks_quick.md)",
    )
    ap.add_argument("notebooks", nargs="*", type=Path)
    args = ap.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or course_notebooks()
    mode = "quick mode (SEGDEND_QUICK=1)" if args.quick else "default mode"
    rows = []
    t0 = time.perf_counter()
    for p in paths:
        m = measure(p, args.quick)
        rows.append(f"| `{p.stem}` | {m['peak_mb']:.0f} | {m['seconds']:.1f} |")
        print(rows[-1], flush=True)
    import numpy

    table = "\n".join(
        [
            f"# Notebooks: peak kernel memory and wall time, {mode}",
            "",
            f"Command: `python benchmarks/bench_notebooks.py{' --quick' if args.quick else ''}`  ",
            f"Commit: {_commit()}; date: {time.strftime('%Y-%m-%d %H:%M %Z')}  ",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, numpy {numpy.__version__}, OPENBLAS_NUM_THREADS="
            f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, load average at the end "
            f"{os.getloadavg()[0]:.1f} (the benchmark's own kernel adds about 1); total wall time "
            f"{time.perf_counter() - t0:.0f} s  ",
            "Peak memory: the kernel's own peak resident set (VmHWM), MiB; wall time from the"
            " kernel's start to the last cell, s. MNIST came from the local cache.",
            "",
            "| notebook | peak memory (MiB) | wall time (s) |",
            "|---|---|---|",
            *rows,
            "",
        ]
    )
    if args.out is None:
        name = "results_notebooks_quick.md" if args.quick else "results_notebooks.md"
        args.out = str(ROOT / "benchmarks" / name)
    if args.out != "-":
        from segdend_lite.atomic import atomic_write_bytes

        atomic_write_bytes(Path(args.out), table.encode())
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
