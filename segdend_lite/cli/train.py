"""``python -m segdend_lite train``: a fresh network from the options (or the checkpoint of a
run to resume, after checking that the options given again match it), trained with
``fit``; history, checkpoint, learning-curve figure and ``train.json`` in the output folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from segdend_lite.atomic import atomic_write_bytes
from segdend_lite.cli.parser import CONFIG_FLAGS, RULES
from segdend_lite.data import load_data
from segdend_lite.model.baselines import backprop_network, feedback_alignment_network
from segdend_lite.model.config import Config
from segdend_lite.model.network import Network
from segdend_lite.model.training import TrainingDiverged, fit, load_checkpoint


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
