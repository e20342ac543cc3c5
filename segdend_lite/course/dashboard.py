"""A live training dashboard for notebook 06: learning curves, the angle to backprop, firing
rates, a progress bar and a stop button.

The training loop itself is written in the notebook; it calls ``dashboard.report(net, n_done)``
every few hundred images and asks ``dashboard.stop_requested()`` after every image. This module
splits the dashboard into plain, tested parts and a thin front-end:

- :class:`Probe` and :func:`measure`: what is measured at each report (error on fixed subsets
  of the training and test sets, the angle to backprop, mean firing rates);
- :class:`DashboardState`: the rows measured so far, the progress, the stop flag, and what to
  draw (:meth:`DashboardState.view`), with no widget or figure in it;
- :func:`draw`: one matplotlib figure (three panels) from a view;
- :class:`Dashboard`: widgets (progress bar, stop button, the figure as an image, the last
  line) updated while the loop runs in a background thread, so that the stop button is heard;
  where widgets do not render (a terminal, quick mode, ``SEGDEND_WIDGETS=0``) it prints one
  line per report and runs the loop in the cell.

Stopping keeps the network as it is after the current image: run the loop again to continue.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from segdend_lite.model.network import Network
from segdend_lite.runs.chunks import angle_to_backprop  # the probe of every chunked run

#: The measurements of one report, in the order :meth:`DashboardState.line` prints them.
FIELDS = ("images", "epoch", "train_error", "test_error", "angle_to_bp", "rates_hz", "seconds")


# --------------------------------------------------------------------------- measurements


@dataclass
class Probe:
    """Fixed images the dashboard measures on: a subset of the training set (train error), of
    the test set (test error) and a few test images for the angle to backprop and the rates."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_angle: int = 200

    @classmethod
    def from_data(
        cls, data, n_train: int = 2000, n_test: int = 2000, n_angle: int = 200, seed: int = 0
    ) -> Probe:
        """Random subsets (fixed by ``seed``) of ``data.x_train`` and ``data.x_test``."""
        rng = np.random.default_rng(seed)
        n_train = min(n_train, len(data.x_train))
        n_test = min(n_test, len(data.x_test))
        i = rng.choice(len(data.x_train), n_train, replace=False)
        j = rng.choice(len(data.x_test), n_test, replace=False)
        return cls(data.x_train[i], data.y_train[i], data.x_test[j], data.y_test[j], n_angle)


def measure(net: Network, probe: Probe) -> dict:
    """The measurements of one report.

    ``train_error`` and ``test_error``: % wrong on the probe's images (``net.evaluate``).
    ``angle_to_bp``: mean angle (degrees) between the first hidden layer's local update and
    backprop's for the same image (paper Fig. 7A), over the first ``probe.n_angle`` probe test
    images; rate mode with a hidden layer only (None otherwise). ``rates_hz``: mean firing rate
    of each layer (hidden layers, then output) in Hz: in rate mode ``1000 phi_max sigma(C)`` on
    the same images (forward phase); in spiking mode the spikes counted in training since the
    last report (the counters are then reset).
    """
    row = {
        "train_error": net.evaluate(probe.x_train, probe.y_train),
        "test_error": net.evaluate(probe.x_test, probe.y_test),
        "angle_to_bp": None,
    }
    if net.config.mode == "rate":
        xa, ya = probe.x_test[: probe.n_angle], probe.y_test[: probe.n_angle]
        p = net.phases(xa, ya)
        row["rates_hz"] = tuple(1000.0 * float(np.mean(r)) for r in p.r[1:] + [p.r_f])
        row["angle_to_bp"] = angle_to_backprop(net, xa, ya)
    else:
        row["rates_hz"] = tuple(float(r) for r in net.firing_rates())
        net.reset_stats()
    return row


# --------------------------------------------------------------------------- the state


@dataclass
class View:
    """What the front-end draws after a report: progress, the last line, the curves."""

    done: int
    total: int
    fraction: float
    line: str
    epochs: np.ndarray  # (R,) position of each report in epochs
    train_error: np.ndarray  # (R,) %, NaN where not measured
    test_error: np.ndarray  # (R,) %
    angle_to_bp: np.ndarray  # (R,) degrees, NaN where not measured
    rates_hz: np.ndarray  # (R, n_layers) Hz
    stopped: bool


@dataclass
class DashboardState:
    """The dashboard without widgets: the rows reported so far, the progress and the stop flag.

    ``total``: images this run will train (for the progress bar); ``n_train``: images per
    epoch (to put the curves in epochs); ``start``: images the network had seen when the run
    began. Rows are placed by the images the network has seen in all (``net.images_seen``), so
    a new epoch, or a run continued after a stop, simply carries on.
    """

    total: int
    n_train: int
    start: int = 0
    rows: list[dict] = field(default_factory=list)
    stopped: bool = False
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _t0: float = field(default_factory=time.perf_counter, repr=False)

    def __post_init__(self) -> None:
        if self.total < 1 or self.n_train < 1:
            raise ValueError(f"total={self.total} and n_train={self.n_train} must be >= 1")

    # -- the stop button
    def request_stop(self) -> None:
        """Ask the loop to stop after the image it is training (thread-safe)."""
        self._stop.set()

    def stop_requested(self) -> bool:
        """True once a stop was requested; the loop checks this after every image."""
        return self._stop.is_set()

    def clear_stop(self) -> None:
        """Forget a stop request, to continue a stopped run."""
        self._stop.clear()
        self.stopped = False

    # -- progress
    @property
    def done(self) -> int:
        """Images trained in this run so far (as last reported)."""
        return self.rows[-1]["images"] - self.start if self.rows else 0

    def add(self, images: int, measurements: dict) -> View:
        """Record one report: the network has seen ``images`` images in all; ``measurements``
        as returned by :func:`measure`. Returns what to draw."""
        images = int(images)
        if images < self.start or (self.rows and images < self.rows[-1]["images"]):
            last = self.rows[-1]["images"] if self.rows else self.start
            raise ValueError(
                f"a report at {images} images seen, after {last}: reports must follow the "
                "network's images_seen"
            )
        row = {"images": images, "epoch": images / self.n_train}
        row.update(measurements)
        row["seconds"] = time.perf_counter() - self._t0
        self.rows.append(row)
        if self.stop_requested():
            self.stopped = True
        return self.view()

    def view(self) -> View:
        """The curves and the progress as arrays (NaN where a value was not measured)."""

        def col(key):
            return np.array(
                [np.nan if r.get(key) is None else float(r[key]) for r in self.rows], float
            )

        n_layers = max((len(r.get("rates_hz") or ()) for r in self.rows), default=0)
        rates = np.full((len(self.rows), n_layers), np.nan)
        for i, r in enumerate(self.rows):
            v = r.get("rates_hz") or ()
            rates[i, : len(v)] = v
        done = min(self.done, self.total)
        return View(
            done=done,
            total=self.total,
            fraction=done / self.total,
            line=self.line(self.rows[-1]) if self.rows else "no report yet",
            epochs=col("epoch"),
            train_error=col("train_error"),
            test_error=col("test_error"),
            angle_to_bp=col("angle_to_bp"),
            rates_hz=rates,
            stopped=self.stopped,
        )

    def line(self, row: dict) -> str:
        """One printed line for a report, e.g. ``epoch 0.50 (30000/60000 images)  train 9.1 %
        test 9.3 %  angle 41 deg  rates 52, 31 Hz  12 s``."""

        def pct(v):
            return "  -   " if v is None else f"{v:5.2f} %"

        parts = [
            f"epoch {row['epoch']:5.2f} ({row['images'] - self.start}/{self.total} images)",
            f"train {pct(row.get('train_error'))}",
            f"test {pct(row.get('test_error'))}",
        ]
        if row.get("angle_to_bp") is not None:
            parts.append(f"angle to backprop {row['angle_to_bp']:4.1f} deg")
        if row.get("rates_hz"):
            parts.append("rates " + ", ".join(f"{r:.0f}" for r in row["rates_hz"]) + " Hz")
        parts.append(f"{row.get('seconds', 0.0):.0f} s")
        return "  ".join(parts)


# --------------------------------------------------------------------------- drawing


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


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


# --------------------------------------------------------------------------- the front-end


def widgets_render() -> bool:
    """Whether to use widgets: ipywidgets is installed, this runs in a Jupyter kernel, quick
    mode is off and ``$SEGDEND_WIDGETS`` is not ``0``."""
    from segdend_lite.course.environment import quick_mode

    if os.environ.get("SEGDEND_WIDGETS", "").strip() == "0" or quick_mode():
        return False
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class Dashboard:
    """The live dashboard (see the module docstring).

    Args:
        net: the network being trained (measured at each report).
        probe: the images measured on (:class:`Probe`).
        total: images the run will train (for the progress bar).
        n_train: images per epoch.
        title: shown above the figure.
        use_widgets: None = :func:`widgets_render`; False = printed lines.

    Use: ``dash.start(fn)`` runs ``fn()`` (the notebook's loop, which calls ``dash.report`` and
    ``dash.stop_requested``) in a background thread when widgets are used, or at once
    otherwise; ``dash.wait()`` waits for it to end and re-raises its error, if any.
    """

    def __init__(
        self,
        net: Network,
        probe: Probe,
        total: int,
        n_train: int,
        title: str = "",
        use_widgets: bool | None = None,
    ):
        self.net = net
        self.probe = probe
        self.title = title or repr(net)
        self.state = DashboardState(
            total=int(total), n_train=int(n_train), start=int(net.images_seen)
        )
        self.use_widgets = widgets_render() if use_widgets is None else bool(use_widgets)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._ui = self._build() if self.use_widgets else None

    # -- widgets
    def _build(self):
        import ipywidgets as w

        bar = w.IntProgress(value=0, min=0, max=self.state.total, description="training")
        stop = w.Button(
            description="stop",
            button_style="warning",
            icon="stop",
            tooltip="stop after the current image; the network keeps what it learned",
        )
        stop.on_click(lambda _: self.state.request_stop())
        label = w.HTML(value="")
        image = w.Image(format="png")
        line = w.HTML(value="<code>waiting for the first report</code>")
        box = w.VBox([w.HBox([bar, label, stop]), image, line])
        return {"bar": bar, "stop": stop, "label": label, "image": image, "line": line, "box": box}

    def _ipython_display_(self):
        from IPython.display import display

        if self._ui is not None:
            display(self._ui["box"])
        else:
            print(f"{self.title}: live dashboard as printed lines (widgets off)")

    # -- the two calls the loop makes
    def stop_requested(self) -> bool:
        """True once the stop button was pressed: the loop stops after the current image."""
        return self.state.stop_requested()

    def report(self, net: Network, n_done: int) -> dict:
        """Measure ``net``, record the row, redraw; returns the row. ``n_done`` (images done in
        the current call of the loop) is kept in the row; the curves use ``net.images_seen``."""
        row = measure(net, self.probe)
        row["n_done"] = int(n_done)
        view = self.state.add(net.images_seen, row)
        if self._ui is not None:
            ui = self._ui
            ui["bar"].value = view.done
            ui["label"].value = f"{view.done}/{view.total} images"
            ui["line"].value = f"<code>{view.line}</code>"
            ui["image"].value = _png(draw(view, self.title))
            if view.stopped:
                ui["bar"].bar_style = "warning"
        else:
            print(view.line, flush=True)
        return self.state.rows[-1]

    # -- running
    def start(self, fn: Callable[[], object]) -> None:
        """Run ``fn()`` (the training loop): in a background thread with widgets, else now."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the previous run is still going: press stop or dash.wait()")
        self.state.clear_stop()
        self._error = None
        if self._ui is None:
            fn()
            return

        def target():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - handed to wait()
                self._error = exc
            finally:
                self._ui["stop"].disabled = True

        self._ui["stop"].disabled = False
        self._ui["bar"].bar_style = ""
        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def wait(self) -> DashboardState:
        """Wait for the running loop (if any) to end; re-raise its error. Returns the state."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            err, self._error = self._error, None
            raise err
        return self.state

    def figure(self):
        """The dashboard's figure as a static matplotlib figure (shows in saved notebooks)."""
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(10, 2.9))
        return draw(self.state.view(), self.title, fig=fig)
