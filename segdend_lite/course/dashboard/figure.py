"""The dashboard's figure: three panels (errors, angle to backprop, firing rates) from a
:class:`~segdend_lite.course.dashboard.state.View` (:func:`draw`), and as PNG bytes."""

from __future__ import annotations

import io

import numpy as np

from segdend_lite.course.dashboard.state import View


def draw(view: View, title: str = "", fig=None):
    """The dashboard's figure from a :class:`View`: error curves (train and test, %), the
    angle to backprop (degrees) and the firing rates (Hz), against epochs. Uses
    ``matplotlib.figure.Figure`` (no pyplot), so it can be drawn from a background thread."""
    from matplotlib.figure import Figure

    from segdend_lite.course.plots import HOUSE_STYLE, PALETTE

    import matplotlib

    with matplotlib.rc_context(HOUSE_STYLE):
        if fig is None:
            fig = Figure(figsize=(10, 2.9))
        fig.clear()
        ax_err, ax_ang, ax_rate = fig.subplots(1, 3)
        x = view.epochs
        ax_err.plot(x, view.train_error, marker=".", color=PALETTE["orange"], label="train")
        ax_err.plot(x, view.test_error, marker=".", color=PALETTE["blue"], label="test")
        ax_err.set_ylabel("error (%)")
        if np.any(np.isfinite(view.test_error)):
            from matplotlib.ticker import NullFormatter, ScalarFormatter

            ax_err.set_yscale("log")
            ax_err.yaxis.set_major_formatter(ScalarFormatter())
            ax_err.yaxis.set_minor_formatter(NullFormatter())
        ax_err.legend(frameon=False)
        ax_ang.plot(x, view.angle_to_bp, marker=".", color=PALETTE["vermillion"])
        ax_ang.axhline(90, ls=":", color="grey", lw=1)
        ax_ang.set_ylim(0, 100)
        ax_ang.set_ylabel("angle to backprop (deg)")
        if not np.any(np.isfinite(view.angle_to_bp)):
            ax_ang.text(
                0.5,
                0.5,
                "not measured\n(no hidden layer,\nor spiking mode)",
                ha="center",
                va="center",
                transform=ax_ang.transAxes,
                color="grey",
            )
        n = view.rates_hz.shape[1] if view.rates_hz.ndim == 2 else 0
        for k in range(n):
            name = "output" if k == n - 1 else f"hidden {k}"
            ax_rate.plot(x, view.rates_hz[:, k], marker=".", label=name)
        ax_rate.set_ylabel("mean rate (Hz)")
        if n:
            ax_rate.legend(frameon=False)
        for ax in (ax_err, ax_ang, ax_rate):
            ax.set_xlabel("epoch")
        status = "stopped" if view.stopped else f"{100 * view.fraction:.0f} % done"
        fig.suptitle(f"{title}  ({status})" if title else status, fontsize=10)
        fig.tight_layout()
    return fig


def png(fig) -> bytes:
    """The figure as PNG bytes (90 dpi), drawn without pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()
