"""The dashboard's front-end, :class:`Dashboard`: widgets (progress bar, stop button, the
figure as an image, the last line) updated while the loop runs in a background thread, or
printed lines where widgets do not render (:func:`widgets_render`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from segdend_lite.course.dashboard.figure import draw, png
from segdend_lite.course.dashboard.measure import Probe, measure
from segdend_lite.course.dashboard.state import DashboardState
from segdend_lite.model.network import Network


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
    """The live dashboard (see the docstring of ``segdend_lite.course.dashboard``).

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
            ui["image"].value = png(draw(view, self.title))
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
