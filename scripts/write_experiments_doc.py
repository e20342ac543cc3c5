"""Write docs/experiments.md from the experiment registry (never by hand).

    python scripts/write_experiments_doc.py [--check]      # make docs

Every number on the page (the paper's values, our bands, the relations checked) comes from
``segdend_lite/reproduce/experiments.json``; ``--check`` exits 1 if the page is stale (tested).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from segdend_lite.reproduce.registry import ALL, EXPERIMENTS, QUESTIONS

OUT = Path(__file__).resolve().parents[1] / "docs" / "experiments.md"
KINDS = {
    "below": "a < b",
    "above": "a > b",
    "within": "|a - b| <= {amount:g} pp",
    "better_by": "b - a >= {amount:g} pp",
    "worse_by": "a - b >= {amount:g} pp",
}


def page() -> str:
    lines = [
        "# The experiments",
        "",
        "Written by `scripts/write_experiments_doc.py` from the one experiment registry,",
        "`segdend_lite/reproduce/experiments.json`, which `python -m segdend_lite reproduce`, its",
        "report and the course's notebooks 07-08 read. A condition is named",
        "`EXPERIMENT/CONDITION` (e.g. `python -m segdend_lite reproduce fig8/sparse`).",
        "Test errors are after the paper's epoch count; a band is the range we accept.",
        "",
    ]
    for e in EXPERIMENTS.values():
        where = "`reproduce all`" if e.name in ALL else "not in `reproduce all` (no paper result)"
        lines += [f"## `{e.name}`: {e.title}", "", f"{e.epochs} epochs; {where}.", ""]
        if e.note:
            lines += [e.note, ""]
        lines += [
            "| condition | network | options | epochs | modes | paper % | band % | stored run |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for c in e.conditions:
            net = "-".join(map(str, (784,) + c.hidden + (10,)))
            opts = ", ".join(f"`{k}={v!r}`" for k, v in c.options) or "—"
            if c.owner:
                opts += f" (trained as `{c.owner}`)"
            paper = f"{c.paper[0]:g}" if c.paper else "—"
            band = (
                f"{c.paper[0] - c.paper[1]:.1f}–{c.paper[0] + c.paper[1]:.1f}" if c.paper else "—"
            )
            epochs = c.fixed_epochs or c.epochs or e.epochs
            probe = f", probe: {c.probe}" if c.probe else ""
            lines.append(
                f"| `{c.name}` {c.label} | {net} | {opts} | {epochs}{probe} | "
                f"{', '.join(c.modes)} | {paper} | {band} | {c.stored or '—'} |"
            )
        lines.append("")
        if e.relations:
            lines += ["Relations the report checks (mean final test errors):", ""]
            for r in e.relations:
                rule = KINDS[r.kind].format(amount=r.amount)
                lines.append(f"- {r.claim}: a = `{r.a}`, b = `{r.b}`, {rule}")
            lines.append("")
        if e.bands:
            lines += ["Bands the report checks (the probe after epoch 1):", ""]
            for b in e.bands:
                lines.append(f"- `{b.condition}`: {b.lo:g}–{b.hi:g}° (paper: {b.paper})")
            lines.append("")
    lines += [
        "## The course's questions (notebook 08)",
        "",
        "| question | option | values → conditions | paper |",
        "|---|---|---|---|",
    ]
    for q in QUESTIONS.values():
        vals = ", ".join(f"`{v!r}` → `{k}`" for v, k in q.values)
        lines.append(f"| `{q.name}`: {q.question} | `{q.option}` | {vals} | {q.paper_text()} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="exit 1 if docs/experiments.md is stale")
    args = p.parse_args(argv)
    text = page()
    if args.check:
        stale = not OUT.exists() or OUT.read_text() != text
        print(f"{OUT.name} is {'stale: run make docs' if stale else 'up to date'}")
        return 1 if stale else 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
