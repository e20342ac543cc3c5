"""Command line: ``python -m segdend_lite train ...`` (see ``python -m segdend_lite train -h``).

Here: running the subcommand and turning every expected failure into one line. The parser is
``segdend_lite.cli.parser``, ``train`` is ``segdend_lite.cli.train``, ``reproduce`` is
``segdend_lite.reproduce.command``.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from segdend_lite.cli.parser import build_parser
from segdend_lite.cli.train import train
from segdend_lite.threads import blas_threads
from segdend_lite.model.training import SaturationWarning


def describe_error(exc: BaseException) -> str:
    """One line for an expected failure: an OS error as "what: which file", else the message."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return str(exc) or type(exc).__name__


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings on the command line: one line ``warning: ...`` on stderr."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the command; every expected failure (bad values, OS errors, unreadable checkpoints
    or data, diverged training) is one line ``error: ...`` on stderr and exit code 2."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("always", SaturationWarning)  # every epoch it happens
        warnings.showwarning = _print_warning
        return _run(args, argv)


def _run(args: argparse.Namespace, argv: list[str] | None) -> int:
    try:
        if args.command == "train":
            try:
                with blas_threads(args.blas_threads or None):
                    return train(args)
            except KeyboardInterrupt:
                print(
                    f"\ninterrupted: every finished epoch is saved in {args.out}; run the same "
                    "command with --resume to continue",
                    file=sys.stderr,
                )
                return 130
        if args.command == "reproduce":
            from segdend_lite.reproduce import main as reproduce

            try:
                return reproduce(args, argv)
            except KeyboardInterrupt:
                print(
                    "\ninterrupted: every finished epoch is saved; run the same command again "
                    "to resume",
                    file=sys.stderr,
                )
                return 130
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"error: {describe_error(exc)}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
