"""The command line's parser: ``train``'s options and ``reproduce``'s, with their help texts;
``train``'s options that set a ``Config`` field (:data:`CONFIG_FLAGS`, :data:`RULES`)."""

from __future__ import annotations

import argparse

from segdend_lite.threads import DEFAULT_BLAS_THREADS

#: What ``python -m segdend_lite -h`` says first.
DESCRIPTION = (
    "Command line: ``python -m segdend_lite train ...`` (see ``python -m segdend_lite train -h``)."
)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m segdend_lite``: its subcommands ``train`` and ``reproduce``."""
    parser = argparse.ArgumentParser(prog="python -m segdend_lite", description=DESCRIPTION)
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
