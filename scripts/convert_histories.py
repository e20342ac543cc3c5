"""Rewrite the history files under a results folder in the current format (``runs.history``).

    python scripts/convert_histories.py [FOLDER ...]     # default: segdend_lite/results
    python scripts/convert_histories.py --check FOLDER   # exit 1 if a file is in an old format

Converts the course's stored runs (``NAME/history.json`` with ``angle`` and ``test_images``:
the curve format of ``course_runs.py`` before the change) and reproduce's probe lists
(``probes.json``, a list of ``{"epoch", "images", "angle_deg" | "jacobian_max_eig"}``); a
``history.json`` of a reproduce task folder is in the current format already. Each file is
written atomically and only if it changes; running it twice changes nothing. The library reads
the old formats too, so converting is for the committed files, not for correctness.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from segdend_lite.runs.history import images_per_epoch, is_current, upgrade, write_json

DEFAULT = Path(__file__).resolve().parents[1] / "segdend_lite" / "results"


def convert(root: Path, write: bool = True) -> list[Path]:
    """The files under ``root`` in an old format (converted if ``write``)."""
    old = []
    for path in sorted(root.rglob("history.json")) + sorted(root.rglob("probes.json")):
        obj = json.loads(path.read_text())
        if is_current(obj):
            continue
        old.append(path)
        if not write:
            continue
        if path.name == "probes.json":
            hist = upgrade(json.loads((path.parent / "history.json").read_text()))
            size = images_per_epoch(hist)
        else:
            prov = path.parent / "provenance.json"
            size = json.loads(prov.read_text()).get("train_size") if prov.exists() else None
        write_json(path, upgrade(obj, size))
    return old


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folders", nargs="*", type=Path, default=[DEFAULT])
    p.add_argument("--check", action="store_true", help="only list files in an old format")
    args = p.parse_args(argv)
    found = []
    for root in args.folders:
        if not root.is_dir():
            print(f"error: {root} is not a folder", file=sys.stderr)
            return 2
        found += convert(root, write=not args.check)
    verb = "in an old format" if args.check else "converted"
    for f in found:
        print(f"{verb}: {f}")
    print(f"{len(found)} file(s) {verb}")
    return 1 if args.check and found else 0


if __name__ == "__main__":
    sys.exit(main())
