"""``python -m segdend_lite reproduce``: the command (its parser is in ``__main__``)."""

from __future__ import annotations

import dataclasses
import shlex
import sys
from collections.abc import Sequence

from segdend_lite.model.config import Config
from segdend_lite.reproduce.estimate import estimate
from segdend_lite.reproduce.registry import ALL
from segdend_lite.reproduce.report import write_report
from segdend_lite.reproduce.run import adopt
from segdend_lite.reproduce.runners import run_tasks
from segdend_lite.reproduce.tasks import make_tasks


def main(args, argv: Sequence[str] | None = None) -> int:
    """``python -m segdend_lite reproduce``; ``args`` from the parser in ``__main__``."""
    options = {}
    for item in args.set or ():
        if "=" not in item:
            raise ValueError(f"--set {item!r}: write KEY=VALUE, e.g. --set init=authors_code")
        k, v = item.split("=", 1)
        fields = {f.name: f for f in dataclasses.fields(Config)}
        if k not in fields or k == "mode":
            raise ValueError(f"--set {k}: not a Config field (use --mode for the mode)")
        options[k] = _parse_value(v)
    command = "python -m segdend_lite " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    tasks, notes = make_tasks(
        args.experiments,
        args.out,
        mode=args.mode,
        seeds=args.seeds,
        epochs=args.epochs,
        data=args.data,
        train_images=args.train_images,
        test_images=args.test_images,
        probe_every=args.probe_every,
        options=options,
        command=command,
    )
    for n in notes:
        print(f"note: {n}")
    if getattr(args, "estimate", False):
        estimate(tasks, args.workers, images=args.estimate_images)
        return 0
    for item in args.adopt or ():
        cond, _, src = item.partition("=")
        chosen = [t for t in tasks if t.condition == cond]
        if not src or len(chosen) != 1:
            raise ValueError(
                f"--adopt {item!r}: write CONDITION=FOLDER for one of "
                f"{sorted({t.condition for t in tasks})} with a single --seeds value"
            )
        print(f"adopted {src} as {adopt(src, chosen[0], command=f'(outside: see {src})')}")
    results: list[dict] = []
    if not args.report_only:
        results = run_tasks(tasks, args.scheduler, args.workers, progress=not args.no_progress)
    report = write_report(
        args.out,
        ALL if "all" in args.experiments else [e.partition("/")[0] for e in args.experiments],
        ("rate", "spiking"),  # whatever the folder holds, so the report never loses a mode
        command=command,
        results=results,
        notes=notes,
    )
    print(f"wrote {report}")
    return 1 if any(r["status"] == "failed" for r in results) else 0


def _parse_value(text: str):
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    if text in ("True", "true"):
        return True
    if text in ("False", "false"):
        return False
    if text == "None":
        return None
    return text
