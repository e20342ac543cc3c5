"""What the dashboard measures at each report: on the fixed images of a :class:`Probe`, the
errors, the angle to backprop and the mean firing rates (:func:`measure`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segdend_lite.model.network import Network
from segdend_lite.runs.chunks import angle_to_backprop  # the probe of every chunked run


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
