"""The dashboard without widgets: :class:`DashboardState` (the rows reported so far, the
progress, the stop flag) and :class:`View`, what the front-end draws after a report; no widget
or figure in it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

#: The measurements of one report, in the order :meth:`DashboardState.line` prints them.
FIELDS = ("images", "epoch", "train_error", "test_error", "angle_to_bp", "rates_hz", "seconds")


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
