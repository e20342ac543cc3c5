"""A live training dashboard for notebook 06: learning curves, the angle to backprop, firing
rates, a progress bar and a stop button.

The training loop itself is written in the notebook; it calls ``dashboard.report(net, n_done)``
every few hundred images and asks ``dashboard.stop_requested()`` after every image. This package
splits the dashboard into plain, tested parts and a thin front-end, one module each:

- :mod:`.measure`, :class:`Probe` and :func:`measure`: what is measured at each report (error
  on fixed subsets of the training and test sets, the angle to backprop, mean firing rates);
- :mod:`.state`, :class:`DashboardState`: the rows measured so far, the progress, the stop
  flag, and what to draw (:meth:`DashboardState.view`), with no widget or figure in it;
- :mod:`.figure`, :func:`draw`: one matplotlib figure (three panels) from a view;
- :mod:`.widget`, :class:`Dashboard`: widgets (progress bar, stop button, the figure as an
  image, the last line) updated while the loop runs in a background thread, so that the stop
  button is heard; where widgets do not render (a terminal, quick mode, ``SEGDEND_WIDGETS=0``)
  it prints one line per report and runs the loop in the cell.

Stopping keeps the network as it is after the current image: run the loop again to continue.
"""

from __future__ import annotations

from segdend_lite.course.dashboard.figure import draw
from segdend_lite.course.dashboard.measure import Probe, measure
from segdend_lite.course.dashboard.state import FIELDS, DashboardState, View
from segdend_lite.course.dashboard.widget import Dashboard, widgets_render

__all__ = [
    "FIELDS",
    "Dashboard",
    "DashboardState",
    "Probe",
    "View",
    "draw",
    "measure",
    "widgets_render",
]
