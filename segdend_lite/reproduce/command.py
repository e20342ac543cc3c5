"""``python -m segdend_lite reproduce``: the command (its parser: ``segdend_lite.cli.parser``).

Every expected failure (a bad value, a folder that cannot be used, a file that cannot be read,
another ``reproduce`` in the same folder, a folder of another setting) is one line ``error:
...`` and exit code 2; a task that fails (or diverges) is reported and the command exits with
1 after the others ran; Ctrl-C exits with 130, SIGTERM with 143 (every finished epoch kept)."""

from __future__ import annotations

import shlex
import signal
import sys
from collections.abc import Sequence

from segdend_lite.reproduce.estimate import estimate
from segdend_lite.reproduce.folder import check_out, check_setting, folder_lock, record_setting
from segdend_lite.reproduce.registry import ALL
from segdend_lite.reproduce.report import write_report
from segdend_lite.reproduce.run import adopt
from segdend_lite.reproduce.runners import check_where, run_tasks
from segdend_lite.reproduce.stopping import Stopped
from segdend_lite.reproduce.settings import make_setting, parse_set
from segdend_lite.reproduce.tasks import make_tasks


def main(args, argv: Sequence[str] | None = None) -> int:
    """``python -m segdend_lite reproduce``; ``args`` from ``segdend_lite.cli.parser``."""
    try:
        return _main(args, argv)
    except KeyboardInterrupt as exc:
        how = f"stopped by {exc.args[0]}" if isinstance(exc, Stopped) else "interrupted"
        print(
            f"\n{how}: every finished epoch is saved; run the same command again to resume",
            file=sys.stderr,
        )
        return 128 + (exc.signum if isinstance(exc, Stopped) else signal.SIGINT)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"error: {describe(exc)}", file=sys.stderr)
        return 2


def describe(exc: BaseException) -> str:
    """One line for an expected failure: an OS error as "what: which file", else its message."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def _main(args, argv: Sequence[str] | None) -> int:
    options = parse_set(args.set)
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
    out = check_out(args.out)
    setting = make_setting(args.data, args.train_images, args.test_images, options)
    results: list[dict] = []
    if args.adopt or not args.report_only:
        check_where(args.scheduler, args.workers)
        with folder_lock(out, command):
            check_setting(out, setting)
            for item in args.adopt or ():
                cond, _, src = item.partition("=")
                chosen = [t for t in tasks if t.condition == cond]
                if not src or len(chosen) != 1:
                    raise ValueError(
                        f"--adopt {item!r}: write CONDITION=FOLDER for one of "
                        f"{sorted({t.condition for t in tasks})} with a single --seeds value"
                    )
                where = adopt(src, chosen[0], command=f"(outside: see {src})")
                print(f"adopted {src} as {where}")
            record_setting(out, setting, args.mode, command)
            if not args.report_only:
                results = run_tasks(
                    tasks, args.scheduler, args.workers, progress=not args.no_progress
                )
    report = write_report(
        out,
        ALL if "all" in args.experiments else [e.partition("/")[0] for e in args.experiments],
        ("rate", "spiking"),  # whatever the folder holds, so the report never loses a mode
        command=command,
        results=results,
        notes=notes,
    )
    print(f"wrote {report}")
    return 1 if any(r["status"] == "failed" for r in results) else 0
