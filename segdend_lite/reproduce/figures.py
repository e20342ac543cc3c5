"""The report's figures: learning curves with the paper's values, or the probes (Fig. 7A's
angle with our bands, Fig. 5-S1's Jacobian condition), one PNG per experiment and mode."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import numpy as np

from segdend_lite.atomic import atomic_write_bytes
from segdend_lite.reproduce.registry import Experiment

_COLORS = {
    "h0": "0.5",
    "h1": "#0072B2",
    "h2": "#D55E00",
    "spiking-feedback": "#0072B2",
    "rate-feedback": "#D55E00",
}


def figure(exp: Experiment, mode: str, conds: dict, fig_dir: Path) -> Path | None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    drew = False
    for i, (cname, (cond, entries, _)) in enumerate(conds.items()):
        color = _COLORS.get(cname) if exp.name in ("fig6b", "fig7a") else f"C{i}"
        if cond.probe:
            key = "angle_to_bp" if cond.probe == "angle" else "jacobian_max_eig"
            for j, (seed, e) in enumerate(sorted(entries.items())):
                p = e["probes"] or {}
                ps = [
                    (im, v) for im, v in zip(p.get("images", []), p.get(key, [])) if v is not None
                ]
                if not ps:
                    continue
                ax.plot(
                    [im / 1000 for im, _ in ps],
                    [v for _, v in ps],
                    color=color,
                    lw=1,
                    alpha=0.8,
                    label=f"{cond.label}" if j == 0 else None,
                )
                drew = True
            continue
        curves = []
        for seed, e in sorted(entries.items()):
            h = e["history"]
            pts = [(ep, te) for ep, te in zip(h["epoch"], h["test_error"]) if ep and te is not None]
            if pts:
                curves.append(pts)
        if not curves:
            continue
        n = min(len(c) for c in curves)
        ep = [p[0] for p in curves[0][:n]]
        arr = np.array([[p[1] for p in c[:n]] for c in curves])
        ax.plot(ep, arr.mean(axis=0), color=color, lw=1.5, label=f"{cond.label} (n={len(curves)})")
        if len(curves) > 1:
            ax.fill_between(ep, arr.min(axis=0), arr.max(axis=0), color=color, alpha=0.2, lw=0)
        paper = cond.paper
        if paper:
            ax.errorbar(
                [exp.epochs], [paper[0]], yerr=[paper[1]], fmt="s", color=color, ms=4, capsize=3
            )
        drew = True
    if not drew:
        plt.close(fig)
        return None
    probe = next((c.probe for c, _, _ in conds.values() if c.probe), None)
    if probe == "angle":
        ax.set_xlabel("training images (thousands)")
        ax.set_ylabel("angle to backprop (degrees)")
        for b in exp.bands:
            ax.axhspan(b.lo, b.hi, color=_COLORS.get(b.condition), alpha=0.08, lw=0)
        ax.text(
            0.01,
            0.02,
            "shaded: our bands ("
            + ", ".join(f"{b.condition.split('-')[0]} {b.lo:g}-{b.hi:g}" for b in exp.bands)
            + ")",
            transform=ax.transAxes,
            fontsize=7,
        )
        ax.axhline(90, color="k", lw=0.5, ls=":")
    elif probe == "jacobian":
        ax.set_xlabel("training images (thousands)")
        ax.set_ylabel("max eig of (I - J)^T (I - J)")
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
    else:
        ax.set_xlabel("epoch")
        ax.set_ylabel("test error (%)")
        ax.set_yscale("log")
        lo, hi = ax.get_ylim()
        ax.set_yticks([t for t in (1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100) if lo <= t <= hi])
        ax.set_ylim(lo, hi)
        ax.yaxis.set_major_formatter(matplotlib_formatter())
        ax.yaxis.set_minor_formatter(matplotlib_formatter(minor=True))
        ax.text(
            0.01,
            0.02,
            "squares: the paper's value and band at its epoch count",
            transform=ax.transAxes,
            ha="left",
            va="bottom",
            fontsize=7,
        )
    ax.set_title("\n".join(textwrap.wrap(f"{exp.title} ({mode} mode)", 70)), fontsize=9)
    ax.grid(alpha=0.3)
    if probe is None:  # learning curves: between the flat no-hidden curve and the others
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.6, 0.8))
    else:
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    path = fig_dir / f"{exp.name}_{mode}.png"
    atomic_write_bytes(path, buf.getvalue())
    return path


def matplotlib_formatter(minor: bool = False):
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: "" if minor else f"{v:g}")
