"""Train the backprop and feedback-alignment baselines of notebook 06 (rate mode, full MNIST)
and store each run's small ``history.json`` with a ``provenance.json`` beside it.

    python scripts/make_baselines.py [--epochs 20] [--only NAME ...]

Each run is ``python -m segdend_lite train`` in a scratch folder (its checkpoint and plot are not
kept); the runs go one after another. Start the script itself with ``nice -n 10``. Results go
to ``rate/<name>/seed<seed>/`` (the layout ``segdend_lite.reproduce.load_task_histories``
reads).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "segdend_lite" / "results" / "baselines"

#: name (the folder under rate/): the train options. Results go to rate/NAME/seed<SEED>/.
RUNS = {
    "backprop-h1": ["--hidden", "500", "--rule", "backprop"],
    "feedback-alignment-h1": ["--hidden", "500", "--rule", "feedback-alignment"],
    "backprop-h2": ["--hidden", "500", "100", "--rule", "backprop"],
    "feedback-alignment-h2": ["--hidden", "500", "100", "--rule", "feedback-alignment"],
}


def _git(*args: str) -> str:
    out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    return out.stdout.strip()


def _machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {cpu}, {os.cpu_count()} cores, {platform.platform(terse=True)}"


def run(name: str, epochs: int, seed: int) -> None:
    from segdend_lite.atomic import atomic_write_bytes

    with tempfile.TemporaryDirectory(prefix=f"baseline-{name}-") as tmp:
        cmd = [
            sys.executable, "-m", "segdend_lite", "train", *RUNS[name],
            "--mode", "rate", "--epochs", str(epochs), "--seed", str(seed),
            "--no-progress", "--out", tmp,
        ]  # fmt: skip
        shown = ["nice", "-n", "10", "python", *cmd[1:-1], "SCRATCH"]
        load = os.getloadavg()
        commit = _git("rev-parse", "HEAD")
        dirty = bool(_git("status", "--porcelain", "--", "segdend_lite"))
        t0 = time.time()
        subprocess.run(cmd, check=True, cwd=ROOT)
        wall = time.time() - t0
        out = HERE / "rate" / name / f"seed{seed}"
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(tmp) / "history.json", out / "history.json")
    prov = {
        "script": f"nice -n 10 python scripts/make_baselines.py --epochs {epochs} "
        f"--seed {seed} --only {name}",
        "command": " ".join(shown),
        "commit": commit,
        "uncommitted_changes": dirty,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(),
        "load_average_at_start": [round(x, 2) for x in load],
        "wall_time_s": round(wall, 1),
        "epochs": epochs,
        "seed": seed,
        "data": "full MNIST (60,000 training, 10,000 test images), verified by checksum",
    }
    atomic_write_bytes(out / "provenance.json", (json.dumps(prov, indent=1) + "\n").encode())
    print(f"{name}: {wall:.0f} s", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", nargs="*", choices=sorted(RUNS), default=None)
    args = p.parse_args()
    for name in args.only or RUNS:
        run(name, args.epochs, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
