"""Command line: ``python -m segdend_lite train ...`` (see ``python -m segdend_lite train -h``)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from segdend_lite.atomic import atomic_write_bytes
from segdend_lite.model.baselines import backprop_network, feedback_alignment_network
from segdend_lite.model.config import Config
from segdend_lite.model.network import Network
from segdend_lite.threads import DEFAULT_BLAS_THREADS, blas_threads
from segdend_lite.data import load_data
from segdend_lite.model.training import SaturationWarning, TrainingDiverged, fit, load_checkpoint


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m segdend_lite", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser(
        "train",
        help="train a network on MNIST and save history, checkpoint, plot",
        description="Train a network on MNIST; write OUT/history.json, OUT/checkpoint.npz after "
        "every epoch, OUT/learning_curve.png and OUT/train.json (the data and batch size). "
        "With --resume, options given again must match the run; options left out are taken "
        "from it.",
    )
    t.add_argument(
        "--hidden",
        type=_count(1),
        nargs="*",
        default=None,
        help="hidden layer sizes (none for no hidden layer); default 500",
    )
    t.add_argument(
        "--epochs", type=_count(0), default=1, help="epochs to train (total, with --resume)"
    )
    t.add_argument("--mode", choices=["rate", "spiking"], default=None, help="default rate")
    t.add_argument(
        "--rule",
        choices=list(RULES),
        default=None,
        help="local (default) = the paper's plateau rule; the others are baselines",
    )
    t.add_argument(
        "--lr",
        type=float,
        nargs="+",
        default=None,
        help="learning rate per layer, first hidden first (default: the paper's)",
    )
    t.add_argument("--feedback", choices=["broadcast", "layerwise"], default=None)
    t.add_argument(
        "--sparse-feedback",
        type=float,
        default=None,
        metavar="FRACTION",
        help="fraction of feedback weights set to zero (paper: 0.8)",
    )
    t.add_argument("--symmetric", action="store_true", default=None, help="tie Y to W^T")
    t.add_argument("--symmetric-noise", type=float, default=None, metavar="SD")
    t.add_argument("--g-A", dest="g_A", type=float, default=None, help="apical conductance")
    t.add_argument(
        "--random-plateau-times",
        action="store_true",
        default=None,
        help="spiking: each hidden neuron's plateau 0-5 ms before the phase ends",
    )
    t.add_argument(
        "--rate-feedback",
        action="store_true",
        default=None,
        help="spiking: apical dendrites receive output rates instead of spikes (paper Fig. 7A)",
    )
    t.add_argument(
        "--preset",
        choices=["paper", "authors_code"],
        default=None,
        help="authors_code: the code's window, test length, initial spread and plateau SD",
    )
    t.add_argument("--init", choices=["design", "authors_code"], default=None)
    t.add_argument("--dtype", choices=["float32", "float64"], default=None)
    t.add_argument("--batch-size", type=_count(1), default=None, help="1 = online (the paper)")
    t.add_argument("--seed", type=_count(0), default=None, help="default 0")
    t.add_argument(
        "--data",
        default=None,
        help="auto (full MNIST, the default), small (bundled subset) or a folder of IDX files",
    )
    t.add_argument("--out", required=True, help="output folder, e.g. results/NAME")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    t.add_argument("--no-progress", action="store_true")
    t.add_argument(
        "--blas-threads",
        type=int,
        default=DEFAULT_BLAS_THREADS,
        metavar="N",
        help=f"spiking: BLAS threads while the engines run (default {DEFAULT_BLAS_THREADS}; "
        "0 = the BLAS's own setting)",
    )
    _add_reproduce(sub)
    return parser


def _add_reproduce(sub) -> None:
    from segdend_lite.reproduce import ALL

    r = sub.add_parser(
        "reproduce",
        help="run the paper's experiments (resumable; local processes or Dask)",
        description="Train every (condition, seed) of the named experiments, each in its own "
        "folder OUT/<experiment>/<mode>/<condition>/seed<k>/, skipping finished tasks and "
        "resuming unfinished ones; then write OUT/REPORT.md and OUT/figures/.",
    )
    r.add_argument(
        "experiments",
        nargs="+",
        metavar="EXPERIMENT",
        help=f"one or more of {', '.join(ALL)}, or all; EXPERIMENT/CONDITION (e.g. fig6b/h1) "
        "runs one condition",
    )
    r.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs per task (default: the paper's, 60 for most; fig5s1 is 1)",
    )
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--mode", choices=["spiking", "rate"], default="spiking")
    r.add_argument("--out", default="results/reproduction", help="output folder")
    r.add_argument(
        "--scheduler",
        default="processes",
        help="processes (default: local worker processes), local (a Dask "
        "LocalCluster) or tcp://HOST:PORT (an existing Dask scheduler)",
    )
    r.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: one per usable CPU)"
    )
    r.add_argument(
        "--data",
        default="auto",
        help="auto (full MNIST), small (bundled subset) or a folder of IDX files",
    )
    r.add_argument(
        "--train-images",
        type=int,
        default=None,
        metavar="N",
        help="train on the first N training images only (tiny runs)",
    )
    r.add_argument(
        "--test-images",
        type=int,
        default=None,
        metavar="N",
        help="test on the first N test images only (default: all 10,000)",
    )
    r.add_argument(
        "--probe-every",
        type=int,
        default=1000,
        metavar="N",
        help="fig7a, fig5s1: images between measurements",
    )
    r.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="set a Config field for every task, e.g. --set init=authors_code (use another --out)",
    )
    r.add_argument(
        "--adopt",
        action="append",
        metavar="CONDITION=FOLDER",
        help="first copy a run of `train` (checkpoint.npz, history.json) into the task of "
        "CONDITION (one seed), after checking its configuration",
    )
    r.add_argument(
        "--report-only",
        action="store_true",
        help="write REPORT.md from the folders without training",
    )
    r.add_argument(
        "--estimate",
        action="store_true",
        help="measure each task's cost on this machine and print the core-hours per "
        "experiment, in total and the wall time with --workers; train nothing",
    )
    r.add_argument(
        "--estimate-images",
        type=int,
        default=300,
        metavar="N",
        help="training images timed per task for --estimate (default 300)",
    )
    r.add_argument("--no-progress", action="store_true")


#: ``--rule`` -> ``Config.hidden_update`` (and the network builder).
RULES = {"local": "local", "backprop": "backprop", "feedback-alignment": "feedback_alignment"}
#: ``train`` options that set a ``Config`` field directly: option dest -> field.
CONFIG_FLAGS = {
    "mode": "mode",
    "feedback": "feedback",
    "sparse_feedback": "sparse_feedback",
    "symmetric": "symmetric_feedback",
    "symmetric_noise": "symmetric_noise",
    "g_A": "g_A",
    "random_plateau_times": "random_plateau_times",
    "init": "init",
    "dtype": "dtype",
    "preset": "preset",
}


def _count(minimum: int):
    """An argparse type: a whole number >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return value

    return parse


def _flag(dest: str) -> str:
    return "--" + {"g_A": "g-A", "symmetric": "symmetric"}.get(dest, dest.replace("_", "-"))


def _new_network(args: argparse.Namespace) -> Network:
    """The network a fresh run with these options trains (defaults for options not given)."""
    options = {f: getattr(args, d) for d, f in CONFIG_FLAGS.items() if getattr(args, d) is not None}
    if args.lr:
        options["lr"] = tuple(args.lr)
    if args.rate_feedback:
        options["spiking_feedback"] = False
    config = Config(**options)
    sizes = tuple(args.hidden if args.hidden is not None else [500]) + (10,)
    seed = args.seed if args.seed is not None else 0
    rule = args.rule or "local"
    if rule == "backprop":
        return backprop_network(sizes, config, seed=seed)
    if rule == "feedback-alignment":
        return feedback_alignment_network(sizes, config, seed=seed)
    return Network(sizes, config, seed=seed)


def resume_differences(args: argparse.Namespace, net: Network, run: dict) -> list[str]:
    """The options given to ``train --resume`` that differ from the run being resumed (its
    checkpoint ``net`` and its ``train.json`` ``run``), one ``"--flag given (run: value)"``
    each; options not given are not compared."""
    cfg = net.config
    found = []

    def differs(flag: str, given, have) -> None:
        if given != have:
            found.append(f"{flag} {given} (run: {have})")

    if args.hidden is not None:
        differs(
            "--hidden",
            " ".join(map(str, args.hidden)) or "(none)",
            " ".join(map(str, net.layer_sizes[:-1])) or "(none)",
        )
    for dest, field in CONFIG_FLAGS.items():
        given = getattr(args, dest)
        if given is not None:
            differs(_flag(dest), given, getattr(cfg, field))
    if args.rate_feedback is not None:
        differs("--rate-feedback", True, not cfg.spiking_feedback)
    if args.rule is not None:
        differs("--rule", args.rule, {v: k for k, v in RULES.items()}[cfg.hidden_update])
    if args.lr:
        given = tuple(float(v) for v in args.lr)
        if given != tuple(net.lr):
            found.append(f"--lr {' '.join(map(repr, given))} (run: {' '.join(map(repr, net.lr))})")
    if args.seed is not None:
        differs("--seed", args.seed, net.seed)
    for dest in ("data", "batch_size"):
        if getattr(args, dest) is not None and dest in run:
            differs(_flag(dest), getattr(args, dest), run[dest])
    return found


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder (it is made if missing)")


def train(args: argparse.Namespace) -> int:
    out = Path(args.out)
    _check_out(out)
    ckpt = out / "checkpoint.npz"
    run_file = out / "train.json"
    if args.resume:
        if not ckpt.exists():
            print(f"error: --resume but {ckpt} does not exist", file=sys.stderr)
            return 2
        net = load_checkpoint(ckpt)
        try:
            run = json.loads(run_file.read_text()) if run_file.exists() else {}
        except (OSError, ValueError) as exc:
            raise ValueError(f"{run_file} cannot be read ({exc}); move it away") from exc
        run = run if isinstance(run, dict) else {}
        diff = resume_differences(args, net, run)
        if diff:
            print(
                f"error: --resume: these options differ from the run in {out}: "
                f"{'; '.join(diff)}. Leave them out to continue the run as it was, or train "
                "into another --out.",
                file=sys.stderr,
            )
            return 2
        print(f"resumed {net} from {ckpt}")
    else:
        if ckpt.exists():
            print(
                f"error: {ckpt} exists; use --resume to continue it or another --out",
                file=sys.stderr,
            )
            return 2
        net = _new_network(args)
        run = {}
    done = len([e for e in net.history["epoch"] if e > 0])
    todo = max(0, args.epochs - done)
    if todo == 0:
        print(
            f"nothing to train: {net} has {done} epoch(s) and --epochs is {args.epochs}; "
            "no file written"
        )
        return 0
    data_spec = args.data or run.get("data") or "auto"
    batch_size = args.batch_size or run.get("batch_size") or 1
    data = load_data(data_spec)
    out.mkdir(parents=True, exist_ok=True)
    if not run:  # a new run (or one from before train.json): record what it trains on
        record = {"data": data_spec, "batch_size": batch_size, "source": data.source}
        atomic_write_bytes(run_file, json.dumps(record, indent=1).encode())

    def report(net: Network, history: dict) -> None:
        print(
            f"epoch {history['epoch'][-1]:3d}  test error {history['test_error'][-1]:6.2f} %"
            f"  train error {history['train_error'][-1]:6.2f} %  ({history['seconds'][-1]:.1f} s)",
            flush=True,
        )
        atomic_write_bytes(out / "history.json", json.dumps(history, indent=1).encode())

    if not net.history["epoch"]:
        print(f"{net}: test error before training {net.evaluate(data.x_test, data.y_test):.2f} %")
    try:
        fit(
            net,
            data.x_train,
            data.y_train,
            epochs=todo,
            batch_size=batch_size,
            X_test=data.x_test,
            y_test=data.y_test,
            progress=not args.no_progress,
            checkpoint=ckpt,
            on_epoch=report,
        )
    except TrainingDiverged as exc:
        kept = len([e for e in net.history["epoch"] if e > 0])
        saved = f"{ckpt} keeps epoch {kept}" if ckpt.exists() else "no epoch was saved"
        raise TrainingDiverged(f"{exc} ({saved})") from exc
    _save_plot(net.history, out / "learning_curve.png", title=f"{net} on {data.source}")
    print(f"wrote {out / 'history.json'}, {ckpt}, {out / 'learning_curve.png'}")
    return 0


def _save_plot(history: dict, path: Path, title: str) -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from segdend_lite.course.plots import plot_learning_curves, use_house_style

    use_house_style()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    plot_learning_curves({"test error": history}, ax=ax)
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


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
    args = _parser().parse_args(argv)
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
