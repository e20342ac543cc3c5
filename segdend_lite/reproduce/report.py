"""The report: ``OUT/REPORT.md`` and ``OUT/figures/*.png`` from the task folders, with the
paper's values, our acceptance bands and the paper's relations, all from the registry."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from segdend_lite.atomic import atomic_write_bytes
from segdend_lite.reproduce.figures import figure
from segdend_lite.reproduce.folder import reference_setting
from segdend_lite.reproduce.provenance import code_version, machine, now
from segdend_lite.reproduce.registry import ALL, EXPERIMENTS, Experiment, owner_of
from segdend_lite.reproduce.results import load_task_histories
from segdend_lite.reproduce.settings import differences, setting_of
from segdend_lite.reproduce.tasks import experiment_names
from segdend_lite.reproduce.train import epochs_done


def final(entries: dict) -> dict:
    """Per seed: final test error and epochs done."""
    out = {}
    for seed, e in sorted(entries.items()):
        h = e["history"]
        if epochs_done(h):
            out[seed] = (h["test_error"][-1], epochs_done(h))
    return out


def _fmt_stats(vals: list[float]) -> str:
    if not vals:
        return "—"
    if len(vals) == 1:
        return f"{vals[0]:.2f}"
    return f"{np.mean(vals):.2f} (range {min(vals):.2f}–{max(vals):.2f}, n={len(vals)})"


def write_report(
    out: str | os.PathLike,
    experiments: Iterable[str] = ALL,
    modes: Sequence[str] = ("rate", "spiking"),
    command: str | None = None,
    results: Sequence[dict] = (),
    notes: Sequence[str] = (),
) -> Path:
    """Write ``OUT/REPORT.md`` and ``OUT/figures/*.png`` from the task folders under ``out``.

    Only tasks of one setting (the folder's, see ``folder``) are compared; tasks of another
    are listed apart, and result files that could not be read are listed with what to do."""
    import matplotlib

    matplotlib.use("Agg")
    out = Path(out)
    data = load_task_histories(out) if out.is_dir() else {}
    data, apart, problems, reference = _one_setting(out, data)
    names = experiment_names(experiments)
    lines = [
        "# Reproduction report",
        "",
        f"Written {now()} by `segdend_lite.reproduce` from the task folders under `{out}`.",
        "Test error = % of the test images misclassified after the last finished epoch "
        "(one test pass per epoch; the paper's error bars are 20 test passes of one run, "
        "ours are the range over training seeds).",
        "",
    ]
    if command:
        lines += ["Command of this invocation:", "", "```", command, "```", ""]
    m = machine()
    ver = code_version()
    lines += [
        f"Machine: {m['host']}, {m['processor']}, {m['usable_cpus']} usable CPUs, "
        f"{m['platform']}, Python {m['python']}, numpy {m['numpy']}.  ",
        f"Code: segdend_lite {ver['version']}, commit {ver['commit'] or 'unknown'}"
        + (" (with local modifications)" if ver["modified"] else "")
        + ".",
        "",
        f"Setting compared (data, image counts, --set values): {reference}.",
        "",
    ]
    failed = [r for r in results if r.get("status") == "failed"]
    if failed:
        lines += ["## Failed tasks of this invocation", ""]
        lines += [f"- `{r['task']}`: {r['error']}" for r in failed]
        lines.append("")
    if notes:
        lines += ["## Not run", ""] + [f"- {n}" for n in notes] + [""]
    if problems:
        lines += ["## Result files that could not be read", ""]
        lines += [f"- {p}" for p in problems] + [""]
    if apart:
        lines += [
            "## Tasks of another setting (not compared)",
            "",
            f"This report compares the tasks of one setting ({reference}); these were made "
            "with another:",
            "",
        ]
        lines += [f"- `{task}`: {diff}" for task, diff in apart] + [""]
    fig_dir = out / "figures"
    timing_rows = []
    for name in names:
        exp = EXPERIMENTS[name]
        for mode in modes:
            conds = {}
            for cond in exp.conditions:
                oe, oc = owner_of(exp, cond)
                entries = data.get(oe, {}).get(mode, {}).get(oc, {})
                if entries:
                    conds[cond.name] = (cond, entries, f"{oe}/{mode}/{oc}")
            if not conds:
                continue
            lines += [f"## {exp.title} — {mode} mode", ""]
            if exp.note:
                lines += [exp.note, ""]
            lines += _result_table(exp, conds)
            lines += _checks(exp, conds)
            png = figure(exp, mode, conds, fig_dir)
            if png is not None:
                lines += ["", f"![{exp.title}, {mode} mode]({png.relative_to(out).as_posix()})", ""]
            for cond, entries, where in conds.values():
                for seed, e in sorted(entries.items()):
                    timing_rows.append((f"{where}/seed{seed}", e))
    lines += ["## Tasks: time and provenance", ""]
    lines += [
        "Training s/epoch from the history; wall s = all invocations of the task, per epoch "
        "training + test on the test images + checkpoint; test s/epoch = wall - training.",
        "",
        "| task | epochs | training s/epoch | wall s | test s/epoch | commit | command |",
        "|---|---|---|---|---|---|---|",
    ]
    seen, commands = set(), []
    for where, e in timing_rows:
        if where in seen:
            continue
        seen.add(where)
        h, t = e["history"], e["task"] or {}
        train = [s for ep, s in zip(h["epoch"], h["seconds"]) if ep and s is not None]
        runs = t.get("runs", [])
        walls = [w for r in runs for w in r.get("epoch_wall_seconds", [])]
        tests = [w - s for w, s in zip(walls, train[-len(walls) :])] if walls else []
        commits = sorted({(r.get("commit") or "?")[:10] for r in runs}) or ["?"]
        refs = []
        for c in sorted({r.get("command") or "" for r in runs} - {""}):
            if c not in commands:
                commands.append(c)
            refs.append(f"[{commands.index(c) + 1}]")
        lines.append(
            f"| {where} | {epochs_done(h)} | {np.mean(train) if train else float('nan'):.1f} | "
            f"{f'{sum(walls):.0f}' if walls else '—'} | "
            f"{f'{np.mean(tests):.1f}' if tests else '—'} | {', '.join(commits)} | "
            f"{' '.join(refs) or '—'} |"
        )
    lines.append("")
    lines += [f"[{i + 1}] `{c}`  " for i, c in enumerate(commands)]
    lines.append("")
    path = out / "REPORT.md"
    atomic_write_bytes(path, "\n".join(lines).encode())
    return path


def _one_setting(out: Path, data: dict) -> tuple[dict, list, list, str]:
    """``data`` without the tasks of another setting than the folder's; those tasks (path,
    difference); the problems with result files; the setting compared, in words."""
    entries = [
        (f"{exp}/{mode}/{cond}/seed{seed}", e)
        for exp, modes in data.items()
        for mode, conds in modes.items()
        for cond, seeds in conds.items()
        for seed, e in seeds.items()
    ]
    problems = [p for _, e in entries for p in e.get("problems", ())]
    settings = {where: setting_of(e["task"]) for where, e in entries}
    reference, source = reference_setting(out, [s for s in settings.values() if s is not None])
    apart = []
    for where, setting in settings.items():
        if reference is None or setting is None:
            continue
        diff = differences(setting, reference, "this task", "compared")
        if diff:
            apart.append((where, "; ".join(diff)))
            exp, mode, cond, seed = where.split("/")
            del data[exp][mode][cond][int(seed[4:])]
    if reference is None:
        words = "not recorded"
    else:
        given = [f"--data {reference['data']}"] + [
            f"{flag} {reference[k]}"
            for k, flag in (("train_images", "--train-images"), ("test_images", "--test-images"))
            if reference.get(k) is not None
        ]
        given += [f"--set {k}={v}" for k, v in (reference.get("set") or {}).items()]
        words = f"{' '.join(given)}; {source}"
    return data, apart, problems, words


def _result_table(exp: Experiment, conds: dict) -> list[str]:
    lines = [
        "| condition | epochs (paper) | seeds | test error % after last epoch | paper | band | "
        "inside |",
        "|---|---|---|---|---|---|---|",
    ]
    for cname, (cond, entries, where) in conds.items():
        fin = final(entries)
        vals = [v for v, _ in fin.values()]
        epochs = sorted({n for _, n in fin.values()})
        paper_epochs = cond.fixed_epochs or cond.epochs or exp.epochs
        paper = exp.condition(cname).paper
        if paper and vals:
            lo, hi = paper[0] - paper[1], paper[0] + paper[1]
            if epochs != [paper_epochs]:
                inside = f"not comparable ({'/'.join(map(str, epochs))} of {paper_epochs} epochs)"
            else:
                n_in = sum(lo <= v <= hi for v in vals)
                inside = "yes" if n_in == len(vals) else f"no ({n_in} of {len(vals)} seeds inside)"
            ptxt, btxt = f"{paper[0]:.1f}", f"{lo:.1f}–{hi:.1f}"
        else:
            ptxt, btxt, inside = "—", "—", "—"
        lines.append(
            f"| {cond.label} (`{where}`) | {'/'.join(map(str, epochs)) or 0} ({paper_epochs}) | "
            f"{', '.join(map(str, sorted(fin))) or '—'} | {_fmt_stats(vals)} | {ptxt} | {btxt} | "
            f"{inside} |"
        )
    return lines + [""]


def _means(conds: dict, epochs_needed: int | None = None) -> dict[str, float]:
    out = {}
    for cname, (cond, entries, _) in conds.items():
        fin = final(entries)
        if fin and (epochs_needed is None or all(n == epochs_needed for _, n in fin.values())):
            out[cname] = float(np.mean([v for v, _ in fin.values()]))
    return out


def _checks(exp: Experiment, conds: dict) -> list[str]:
    """The registry's relations (orderings of final test errors) and probe bands."""
    rows: list[tuple[str, str, str]] = []  # (claim, ours, verdict)
    full = _means(conds, exp.epochs)
    anyep = _means(conds)
    for r in exp.relations:
        src = full if r.a in full and r.b in full else anyep
        if r.a in src and r.b in src:
            label = "" if src is full else " (not at the paper's epoch count)"
            verdict = ("yes" if r.holds(src[r.a], src[r.b]) else "no") + label
            rows.append((r.claim, f"{r.a} vs {r.b}: {src[r.a]:.2f} vs {src[r.b]:.2f}", verdict))
    bands = {b.condition: b for b in exp.bands}
    for cname, (cond, entries, _) in conds.items():
        if cname in bands:
            rows += _band_rows(cond.label, bands[cname], entries)
        if cond.probe == "jacobian":
            rows += _jacobian_rows(entries)
    if not rows:
        return []
    lines = ["| check (the paper's orderings) | ours | holds |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return lines + [""]


def _probe_values(entries: dict, key: str, lo: float, hi: float) -> list[float]:
    """``key`` of every probe entry with lo < epoch <= hi, over all seeds."""
    return [
        v
        for e in entries.values()
        for ep, v in zip((e["probes"] or {}).get("epoch", []), (e["probes"] or {}).get(key, []))
        if lo < ep <= hi and v is not None
    ]


def _band_rows(label: str, band, entries: dict) -> list[tuple[str, str, str]]:
    rows = []
    ep1 = _probe_values(entries, "angle_to_bp", 0, 1)
    after1 = _probe_values(entries, "angle_to_bp", 1, float("inf"))
    if ep1:
        rows.append(
            (
                f"{label}: angle during epoch 1",
                f"{min(ep1):.1f}–{max(ep1):.1f}°, last {ep1[-1]:.1f}°",
                "—",
            )
        )
    if after1:
        inside = sum(band.lo <= a <= band.hi for a in after1)
        rows.append(
            (
                f"{label}: angle after epoch 1 in {band.lo:.0f}–{band.hi:.0f}° "
                f"(paper: {band.paper})",
                f"{np.mean(after1):.1f}° mean, {min(after1):.1f}–{max(after1):.1f}°",
                "yes" if inside == len(after1) else f"no ({inside} of {len(after1)} probes inside)",
            )
        )
    return rows


def _jacobian_rows(entries: dict) -> list[tuple[str, str, str]]:
    rows = []
    for seed, e in sorted(entries.items()):
        p = e["probes"] or {}
        pts = [
            (im, v)
            for ep, im, v in zip(
                p.get("epoch", []), p.get("images", []), p.get("jacobian_max_eig", [])
            )
            if ep <= 1 and v is not None
        ]
        if not pts:
            continue
        vals = [v for _, v in pts]
        below = [im for im, v in pts if v < 1.0]
        rows.append(
            (
                f"seed {seed}: max eigenvalue crosses below 1 within epoch 1",
                f"{vals[0]:.3f} at start, min {min(vals):.3f}, last {vals[-1]:.3f}",
                f"yes (first after {below[0]} images)" if below else "no",
            )
        )
    return rows
