"""Write REPRODUCTION.md from the committed result files in segdend_lite/results/ (never by hand).

    python scripts/write_reproduction.py [--results segdend_lite/results] [--out REPRODUCTION.md]

Reads every task folder with ``segdend_lite.reproduce.load_task_histories`` and the machine's
load averages sampled during the runs (``segdend_lite/results/machine_load.log``: one line per
minute, ``ISO-time load1 load5 load15``), and fills the tables of the template below. The text
around the tables (what is known, what the modes mean) is written here; every number in a table
comes from the files.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np

from segdend_lite.course.experiments import describe, load_stored, stored_epochs, stored_names
from segdend_lite.reproduce import EXPERIMENTS, PAPER_ERRORS, load_task_histories
from segdend_lite.runs.history import images_per_epoch

LABELS = {c.name: c.label for c in EXPERIMENTS["fig6b"].conditions}


def _load_log(path: Path) -> list[tuple[dt.datetime, float]]:
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2:
                rows.append(
                    (dt.datetime.fromisoformat(parts[0].replace("Z", "+00:00")), float(parts[1]))
                )
    return rows


def _mean_load(log, start: str | None, end: str | None) -> str:
    if not log or not start:
        return "—"
    t0 = dt.datetime.fromisoformat(start)
    t1 = dt.datetime.fromisoformat(end) if end else log[-1][0]
    vals = [v for t, v in log if t0 <= t <= t1]
    return f"{np.mean(vals):.1f}" if vals else "—"


def _task_rows(entries: dict, log) -> list[dict]:
    rows = []
    for seed, e in sorted(entries.items()):
        h, info = e["history"], e["task"] or {}
        epochs = [i for i, ep in enumerate(h["epoch"]) if ep]
        train = [h["seconds"][i] for i in epochs]
        runs = info.get("runs", [])
        walls = [w for r in runs for w in r.get("epoch_wall_seconds", [])]
        tests = [w - s for w, s in zip(walls, train[-len(walls) :])] if walls else []
        errs = [h["test_error"][i] for i in epochs]
        rows.append(
            {
                "seed": seed,
                "epochs": len(epochs),
                "final": errs[-1] if errs else None,
                "best": min(errs) if errs else None,
                "curve": errs,
                "train_s": float(np.mean(train)) if train else None,
                "test_s": float(np.mean(tests)) if tests else None,
                "wall_s": sum(walls) if walls else None,
                "commands": sorted({r.get("command") for r in runs if r.get("command")}),
                "commits": sorted({(r.get("commit") or "?")[:10] for r in runs}),
                "load": _mean_load(
                    log,
                    runs[0].get("started") if runs else None,
                    runs[-1].get("finished") if runs else None,
                ),
                "started": runs[0].get("started") if runs else None,
                "finished": runs[-1].get("finished") if runs else None,
                "status": info.get("status", "?"),
            }
        )
    return rows


def _fmt(v, spec=".2f", none="—"):
    return none if v is None else format(v, spec)


def fig6b_rate_section(data, log) -> list[str]:
    rate = data.get("fig6b", {}).get("rate", {})
    lines = [
        "## Fig. 6B in rate mode (all three depths)",
        "",
        "| network | seed | epochs | test error after the last epoch % | best epoch % | paper % "
        "(60 epochs, spiking) | band | inside | training s/epoch | test s/epoch | wall time | "
        "mean load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    commands = set()
    for cond in ("h0", "h1", "h2"):
        for r in _task_rows(rate.get(cond, {}), log):
            paper, tol = PAPER_ERRORS[("fig6b", cond)]
            verdict = (
                "yes"
                if abs(r["final"] - paper) <= tol
                else "no, " + ("below" if r["final"] < paper else "above")
            )
            inside = verdict if r["epochs"] == 60 else f"— ({r['epochs']} of 60 epochs)"
            wall = f"{r['wall_s'] / 60:.1f} min" if r["wall_s"] else "—"
            lines.append(
                f"| {LABELS[cond]} | {r['seed']} | {r['epochs']} | {_fmt(r['final'])} | "
                f"{_fmt(r['best'])} | {paper} | {paper - tol:.1f}–{paper + tol:.1f} | {inside} | "
                f"{_fmt(r['train_s'], '.1f')} | {_fmt(r['test_s'], '.1f')} | {wall} | {r['load']} |"
            )
            commands.update(r["commands"])
    if len(lines) == 4:
        return lines[:2] + ["No rate-mode Fig. 6B results yet.", ""]
    lines += ["", "Made with:", "", "```"] + sorted(commands) + ["```", ""]
    lines += ["![Fig. 6B, rate mode](segdend_lite/results/figures/fig6b_rate.png)", ""]
    curves = []
    for cond in ("h0", "h1", "h2"):
        for r in _task_rows(rate.get(cond, {}), log):
            pts = {e: r["curve"][e - 1] for e in (1, 5, 10, 20, 40, 60) if e <= len(r["curve"])}
            curves.append(
                f"| {LABELS[cond]} | {r['seed']} | "
                + " | ".join(_fmt(pts.get(e)) for e in (1, 5, 10, 20, 40, 60))
                + " |"
            )
    lines += [
        "Test error (%) along the way:",
        "",
        "| network | seed | epoch 1 | 5 | 10 | 20 | 40 | 60 |",
        "|---|---|---|---|---|---|---|---|",
        *curves,
        "",
    ]
    return lines


def spiking_section(data, log) -> list[str]:
    spiking = data.get("fig6b", {}).get("spiking", {})
    lines = ["## Fig. 6B in spiking mode (the paper's model)", ""]
    rows = []
    for cond in ("h0", "h1", "h2"):
        for r in _task_rows(spiking.get(cond, {}), log):
            rows.append((cond, r))
    if not rows:
        return lines + ["No spiking results yet.", ""]
    for cond, r in rows:
        entry = spiking[cond][r["seed"]]
        info = entry["task"] or {}
        run0 = (info.get("runs") or [{}])[0]
        paper, tol = PAPER_ERRORS[("fig6b", cond)]
        h = entry["history"]
        lines += [
            f"**{LABELS[cond]}, seed {r['seed']}: {r['epochs']} of 60 epochs** "
            f"({info.get('status', '?')}). Test error after epoch {r['epochs']}: "
            f"{_fmt(r['final'])} % (paper, after 60 epochs: {paper} %, band "
            f"{paper - tol:.1f}–{paper + tol:.1f}).",
            "",
            f"Command: `{run0.get('command') or '?'}` at commit {run0.get('commit') or '?'}."
            + (f" {info['adopted']}" if info.get("adopted") else ""),
            "",
        ]
        for later in (info.get("runs") or [])[1:]:
            lines += [
                f"Continued from epoch {later.get('from_epoch', '?')} to "
                f"{later.get('to_epoch', '?')} by `{later.get('command') or '?'}` at commit "
                f"{(later.get('commit') or '?')[:10]} (started {later.get('started', '?')}).",
                "",
            ]
        lines += [
            "| epoch | " + " | ".join(str(e) for e in h["epoch"]) + " |",
            "|---|" + "---|" * len(h["epoch"]),
            "| test error % | " + " | ".join(_fmt(v) for v in h["test_error"]) + " |",
            "| training s | " + " | ".join(_fmt(v, ".0f") for v in h["seconds"]) + " |",
        ]
        for label, key, fmt in (
            ("hidden rate Hz", "hidden_rate_hz", ".0f"),
            ("angle to backprop °", "angle_to_bp", ".1f"),
        ):  # a network without a hidden layer has neither
            if any(v is not None for v in h.get(key, [])):
                lines.append(f"| {label} | " + " | ".join(_fmt(v, fmt) for v in h[key]) + " |")
        lines.append("")
    return lines


def paper_text_kernel_section(root: Path, log) -> list[str]:
    """The same one-hidden-layer spiking run made with the paper text's full PSP kernel (kept
    under ``paper_text_kernel/`` for comparison): its test error and angle per epoch."""
    folder = root / "paper_text_kernel"
    data = load_task_histories(folder) if folder.is_dir() else {}
    entry = data.get("fig6b", {}).get("spiking", {}).get("h1", {}).get(0)
    if entry is None:
        return []
    h = entry["history"]
    return [
        "### The same network with the paper text's PSP kernel (kept for comparison)",
        "",
        'Made before the default changed, with `kernel="full"` (the kernel integrates to 1, '
        "twice the PSPs of the code's 10 lags); everything else as above. Files: "
        "`segdend_lite/results/paper_text_kernel/fig6b/spiking/h1/seed0/`.",
        "",
        "| epoch | " + " | ".join(str(e) for e in h["epoch"]) + " |",
        "|---|" + "---|" * len(h["epoch"]),
        "| test error % | " + " | ".join(_fmt(v) for v in h["test_error"]) + " |",
        "| angle to backprop ° | "
        + " | ".join(_fmt(v, ".1f") for v in h.get("angle_to_bp", []))
        + " |",
        "",
    ]


def fig7a_section(data, root: Path) -> list[str]:
    """Fig. 7A beside the paper's values: the fig7a tasks (10 epochs, probes) where they exist,
    else the two-epoch stored runs of the same networks."""
    exp = EXPERIMENTS["fig7a"]
    bands = {b.condition: b for b in exp.bands}
    lines = [
        "## Fig. 7A: the angle to backprop, spiking and rate feedback (one hidden layer)",
        "",
        "The mean angle between the hidden layer's local update and backprop's, per image, "
        "averaged over blocks of training images; the paper's values are read from its figure "
        "(10 epochs).",
        "",
        "| feedback | source | images | lowest block ° | mean of each epoch ° | last block ° | "
        "paper | our band | last inside |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for cond in exp.conditions:
        band = bands[cond.name]
        task = data.get("fig7a", {}).get("spiking", {}).get(cond.name, {}).get(0)
        if task and task.get("probes"):
            probes = task["probes"]  # a history (dict of lists)
            pairs = [
                (n, a) for n, a in zip(probes["images"], probes["angle_to_bp"]) if a is not None
            ]
            source = f"`reproduce fig7a` task, {task['history']['epoch'][-1]} of 10 epochs"
            epoch = images_per_epoch(task["history"]) or 60000
        else:
            run = load_stored(cond.stored, root)
            c = run["curve"]
            pairs = [(n, a) for n, a in zip(c["images"], c["angle_to_bp"]) if a is not None]
            source = f"stored run `{cond.stored}` ({stored_epochs(run):.2g} epochs)"
            epoch = run["provenance"].get("train_size", 60000)
        if not pairs:
            continue
        angles, images = [a for _, a in pairs], pairs[-1][0]
        epoch_of = [(n - 1) // epoch for n, _ in pairs]  # a block ending at `epoch`: epoch 0
        means = [
            np.mean([a for e, a in zip(epoch_of, angles) if e == k]) for k in sorted(set(epoch_of))
        ]
        inside = "yes" if band.lo <= angles[-1] <= band.hi else "no"
        lines.append(
            f"| {cond.label} | {source} | {images:,} | {min(angles):.1f} | "
            f"{' / '.join(f'{m:.0f}' for m in means)} | {angles[-1]:.1f} | "
            f"{band.paper} | {band.lo:.0f}-{band.hi:.0f}° | {inside} |"
        )
    return lines + [
        "",
        "The 10-epoch tasks: `python -m segdend_lite reproduce fig7a --mode spiking --seeds 0 "
        "--out segdend_lite/results` (they resume where they stopped).",
        "",
    ]


def course_runs_section(root: Path) -> list[str]:
    """The short stored runs of notebooks 07-08 (``segdend_lite/results/NAME/``, made by
    ``scripts/course_runs.py``): one row each, from their history and provenance files."""
    names = stored_names(root)
    lines = [
        "## Short spiking runs of the other experiments (notebooks 07-08)",
        "",
        "Made by `python scripts/course_runs.py NAME` (seed 0, full MNIST, test error on the "
        "10,000 test images after every epoch); one or two epochs each, so they show the "
        "direction of each effect early in training, not the paper's 60-epoch values. The "
        "provenance of each (commit, date, machine, wall time, configuration) is in "
        "`segdend_lite/results/NAME/provenance.json`. (Until commit c4a6be4 the script recorded "
        "the commit checked out when each run started, not the one its process had imported; the "
        "model code is the same in 1ba4740, 1fa525d and c4a6be4.)",
        "",
    ]
    if not names:
        return lines + ["No short runs stored.", ""]
    lines += [
        "| run | network | epochs | test error % after each epoch | wall time | commit |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        run = load_stored(name, root)
        c, p = run["curve"], run["provenance"]
        epochs = stored_epochs(run)
        errors = " / ".join(_fmt(v) for v in c["test_error"] if v is not None) or "—"
        lines.append(
            f"| `{name}` | {p['network']} | {epochs:.2g} | {errors} | "
            f"{p['wall_seconds'] / 60:.0f} min | {p['commit'][:7]} |"
        )
    return lines + ["", f"One line per run, as the notebooks print it: e.g. {describe(run)}", ""]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--results", default="segdend_lite/results")
    p.add_argument("--out", default="REPRODUCTION.md")
    p.add_argument("--template", default=str(Path(__file__).with_name("reproduction_template.md")))
    args = p.parse_args()
    root = Path(args.results)
    data = load_task_histories(root)
    log = _load_log(root / "machine_load.log")
    text = Path(args.template).read_text()
    text = text.replace("{{FIG6B_RATE}}", "\n".join(fig6b_rate_section(data, log)))
    text = text.replace(
        "{{FIG6B_SPIKING}}",
        "\n".join(spiking_section(data, log) + paper_text_kernel_section(root, log)),
    )
    text = text.replace("{{FIG7A}}", "\n".join(fig7a_section(data, root)))
    text = text.replace("{{COURSE_RUNS}}", "\n".join(course_runs_section(root)))
    text = text.replace(
        "{{WRITTEN}}", dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    )
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
