"""Command line: ``python -m segdend_lite train ...`` (see ``python -m segdend_lite train -h``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from segdend_lite.atomic import atomic_write_bytes
from segdend_lite.model.baselines import backprop_network, feedback_alignment_network
from segdend_lite.model.config import Config
from segdend_lite.model.network import Network
from segdend_lite.model.threads import DEFAULT_BLAS_THREADS, blas_threads
from segdend_lite.model.training import fit, load_checkpoint


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m segdend_lite", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a network on MNIST and save history, checkpoint, plot")
    t.add_argument(
        "--hidden",
        type=int,
        nargs="*",
        default=[500],
        help="hidden layer sizes (none for no hidden layer); default 500",
    )
    t.add_argument("--epochs", type=int, default=1, help="epochs to train (total, with --resume)")
    t.add_argument("--mode", choices=["rate", "spiking"], default="rate")
    t.add_argument(
        "--rule",
        choices=["local", "backprop", "feedback-alignment"],
        default="local",
        help="local = the paper's plateau rule; the others are baselines",
    )
    t.add_argument(
        "--lr",
        type=float,
        nargs="+",
        default=None,
        help="learning rate per layer, first hidden first (default: the paper's)",
    )
    t.add_argument("--feedback", choices=["broadcast", "layerwise"], default="broadcast")
    t.add_argument(
        "--sparse-feedback",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="fraction of feedback weights set to zero (paper: 0.8)",
    )
    t.add_argument("--symmetric", action="store_true", help="tie Y to W^T")
    t.add_argument("--symmetric-noise", type=float, default=0.0, metavar="SD")
    t.add_argument("--g-A", dest="g_A", type=float, default=0.0, help="apical conductance")
    t.add_argument(
        "--random-plateau-times",
        action="store_true",
        help="spiking: each hidden neuron's plateau 0-5 ms before the phase ends",
    )
    t.add_argument(
        "--rate-feedback",
        action="store_true",
        help="spiking: apical dendrites receive output rates instead of spikes (paper Fig. 7A)",
    )
    t.add_argument(
        "--preset",
        choices=["paper", "authors_code"],
        default="paper",
        help="authors_code: the code's kernel, window, test length and initial spread",
    )
    t.add_argument("--init", choices=["design", "authors_code"], default="design")
    t.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    t.add_argument("--batch-size", type=int, default=1, help="1 = online (the paper)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--data",
        default="auto",
        help="auto (full MNIST), small (bundled subset) or a folder of IDX files",
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


def _load_data(spec: str):
    from segdend_lite.data import load_idx_folder, load_mnist

    if spec in ("auto", "small", "cache", "download", "offline"):
        return load_mnist(spec)
    return load_idx_folder(spec)


def train(args: argparse.Namespace) -> int:
    out = Path(args.out)
    ckpt = out / "checkpoint.npz"
    if args.resume:
        if not ckpt.exists():
            print(f"error: --resume but {ckpt} does not exist", file=sys.stderr)
            return 2
        net = load_checkpoint(ckpt)
        print(f"resumed {net} from {ckpt}")
    else:
        if ckpt.exists():
            print(
                f"error: {ckpt} exists; use --resume to continue it or another --out",
                file=sys.stderr,
            )
            return 2
        sizes = tuple(args.hidden) + (10,)
        config = Config(
            mode=args.mode,
            lr=tuple(args.lr) if args.lr else None,
            feedback=args.feedback,
            sparse_feedback=args.sparse_feedback,
            symmetric_feedback=args.symmetric,
            symmetric_noise=args.symmetric_noise,
            g_A=args.g_A,
            init=args.init,
            dtype=args.dtype,
            random_plateau_times=args.random_plateau_times,
            spiking_feedback=not args.rate_feedback,
            preset=args.preset,
        )
        if args.rule == "backprop":
            net = backprop_network(sizes, config, seed=args.seed)
        elif args.rule == "feedback-alignment":
            net = feedback_alignment_network(sizes, config, seed=args.seed)
        else:
            net = Network(sizes, config, seed=args.seed)
    data = _load_data(args.data)
    done = len([e for e in net.history["epoch"] if e > 0])
    todo = max(0, args.epochs - done)
    out.mkdir(parents=True, exist_ok=True)

    def report(net: Network, history: dict) -> None:
        print(
            f"epoch {history['epoch'][-1]:3d}  test error {history['test_error'][-1]:6.2f} %"
            f"  train error {history['train_error'][-1]:6.2f} %  ({history['seconds'][-1]:.1f} s)",
            flush=True,
        )
        atomic_write_bytes(out / "history.json", json.dumps(history, indent=1).encode())

    if not net.history["epoch"]:
        print(f"{net}: test error before training {net.evaluate(data.x_test, data.y_test):.2f} %")
    fit(
        net,
        data.x_train,
        data.y_train,
        epochs=todo,
        batch_size=args.batch_size,
        X_test=data.x_test,
        y_test=data.y_test,
        progress=not args.no_progress,
        checkpoint=ckpt,
        on_epoch=report,
    )
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "train":
            with blas_threads(args.blas_threads or None):
                return train(args)
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
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
