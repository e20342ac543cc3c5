"""Notebook 06, training on MNIST: the exercises, their known mistakes and the reference of the
epoch loop, :func:`train_epoch` (only the course uses it).

The epoch loop is checked on a stand-in for a network (:class:`EpochRecorder`) that records
which images ``train_step`` receives, so the check sees the order, the reports and the stop
without training anything.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from segdend_lite.course.checks import Exercise, Prediction, register

NB = "06_training_on_mnist"


def train_epoch(
    net,
    X: np.ndarray,
    y: np.ndarray,
    order: np.ndarray,
    every: int,
    report: Callable[[object, int], object],
    stop: Callable[[], bool],
) -> list:
    """One pass over the images ``X[order]``, one online update per image: the reference of
    the exercise (the notebook writes its own; the library's training loop is ``fit``).

    ``X`` (N, 784) uint8 or pixels / 255, ``y`` (N,) labels, ``order`` (M,) indices into them.
    After every ``every`` images, and after the last one, calls ``report(net, n_done)`` with
    the number of images trained so far in this pass; after each image, asks ``stop()`` and,
    if it is true, reports (unless it just did) and returns early: the network keeps the
    updates made so far. Returns the list of what ``report`` returned.
    """
    rows = []
    n_done = 0
    for i in order:
        net.train_step(X[i], y[i])
        n_done += 1
        last = n_done == len(order)
        stopping = stop()
        if n_done % every == 0 or last or stopping:
            rows.append(report(net, n_done))
        if stopping:
            break
    return rows


class EpochRecorder:
    """Stands in for a network in the check of ``train_epoch``: ``train_step(x, label)`` records
    the image (``x[0]`` holds its index); ``report(net, n_done)`` returns ``[n_done, images
    since the last report, sum of their indices, sum of their labels]`` and starts a new
    record; ``stop()`` is true right after the image ``stop_after`` was trained."""

    def __init__(self, stop_after: int | None = None):
        self.stop_after = stop_after
        self.log: list[tuple[int, int]] = []
        self.last: int | None = None

    def train_step(self, x, label) -> None:
        self.last = int(np.asarray(x)[0])
        self.log.append((self.last, int(label)))

    def report(self, net, n_done) -> np.ndarray:
        row = np.array(
            [n_done, len(net.log), sum(i for i, _ in net.log), sum(c for _, c in net.log)],
            dtype=float,
        )
        net.log.clear()
        return row

    def stop(self) -> bool:
        return self.stop_after is not None and self.last == self.stop_after


def _case(rng, n: int, m: int, every: int, stop_at: int | None = None):
    X = np.repeat(np.arange(n)[:, None], 3, axis=1).astype(float)
    y = rng.integers(0, 10, n)
    order = rng.permutation(n)[:m]
    rec = EpochRecorder(None if stop_at is None else int(order[stop_at]))
    return (rec, X, y, order, every, rec.report, rec.stop)


def _cases(rng):
    return [
        _case(rng, 25, 25, 10),  # reports at 10, 20 and 25 (the last, partial chunk)
        _case(rng, 30, 17, 5),  # a part of the data (e.g. continuing after a stop)
        _case(rng, 20, 20, 5, stop_at=7),  # stop after the 8th image: reports at 5 and 8
        _case(rng, 6, 6, 1),
    ]


def _no_final_report(net, X, y, order, every, report, stop):
    net.log.clear()
    rows = []
    for n, i in enumerate(order, start=1):
        net.train_step(X[i], y[i])
        if n % every == 0:
            rows.append(report(net, n))
        if stop():
            break
    return rows


def _reports_before_training(net, X, y, order, every, report, stop):
    net.log.clear()
    rows = []
    for n, i in enumerate(order, start=1):
        stopping = stop()
        if n % every == 0 or n == len(order) or stopping:
            rows.append(report(net, n))
        net.train_step(X[i], y[i])
        if stopping:
            break
    return rows


def _ignores_order(net, X, y, order, every, report, stop):
    net.log.clear()
    return train_epoch(net, X, y, np.arange(len(order)), every, report, stop)


def _ignores_stop(net, X, y, order, every, report, stop):
    net.log.clear()
    return train_epoch(net, X, y, order, every, report, lambda: False)


def _counts_from_zero(net, X, y, order, every, report, stop):
    net.log.clear()
    rows = []
    for n, i in enumerate(order):
        net.train_step(X[i], y[i])
        stopping = stop()
        if n % every == 0 or n == len(order) - 1 or stopping:
            rows.append(report(net, n))
        if stopping:
            break
    return rows


register(
    Exercise(
        name="train_epoch",
        notebook=NB,
        title="the epoch loop: one online update per image, reports, a clean stop",
        reference=train_epoch,
        cases=_cases,
        mistakes=[
            (
                _ignores_order,
                "Train the images in the order given: image order[k] at step k, not image k.",
            ),
            (
                _no_final_report,
                "Report after the last image too, even when it does not complete a chunk of "
                "`every` images (and when you stop early).",
            ),
            (
                _ignores_stop,
                "Ask stop() after every image and leave the loop when it is true (after "
                "reporting), so that the stop button is heard.",
            ),
            (
                _reports_before_training,
                "Train the image first, then report: a report must include the image just "
                "trained (and ask stop() after the image, not before it).",
            ),
            (
                _counts_from_zero,
                "n_done is the number of images trained so far: 1 after the first image "
                "(enumerate(order, start=1)), so reports fall at every, 2 every, ...",
            ),
        ],
        hints=(
            "Loop over `order`; for each index i call net.train_step(X[i], y[i]) and count the "
            "images done. Report when the count is a multiple of `every`, at the last image, "
            "and when stop() says so; collect what report returns.",
            "for i in order: train; n += 1; stopping = stop(); if n % every == 0 or n == "
            "len(order) or stopping: rows.append(report(net, n)); if stopping: break. "
            "Then return rows.",
        ),
    )
)

DEPTHS = ("no hidden layer", "one hidden layer", "two hidden layers")


def _ahead(errors) -> str:
    """The depth with the lowest test error; ``errors``: {number of hidden layers: error %}."""
    return DEPTHS[min(errors, key=lambda k: errors[k])]


register(
    Prediction(
        name="ahead_after_one_epoch",
        notebook=NB,
        title="which depth has the lowest test error after one epoch of full MNIST?",
        options=DEPTHS,
        outcome=_ahead,
        explanation=(
            "After one epoch (rate mode, the paper's learning rates) both networks with hidden "
            "layers are ahead of the one without, and the two-hidden-layer network leads: its "
            "extra layer of learned features is usable early. The margin between the two deep "
            "networks is small (a few tenths of a point with this library's current code); the "
            "paper's Fig. 6B also shows the two-hidden-layer network learning fastest."
        ),
        hints=(
            "Deeper networks have more to learn, but each layer learns at once from its own "
            "plateau potentials.",
            "The paper's Fig. 6B says the two-hidden-layer network 'learns faster'.",
        ),
    )
)

GAPS = ("less than 1 point", "1 to 3 points", "more than 3 points")


def _gap(errors) -> str:
    """How far the network without a hidden layer is behind the best one, in points of test
    error; ``errors``: {number of hidden layers: error %}."""
    gap = errors[0] - min(errors.values())
    return GAPS[0] if gap < 1 else GAPS[1] if gap <= 3 else GAPS[2]


register(
    Prediction(
        name="gap_after_five_epochs",
        notebook=NB,
        title="after five epochs, how far behind the best network is the one without a hidden "
        "layer?",
        options=GAPS,
        outcome=_gap,
        explanation=(
            "After five epochs (rate mode) the network without a hidden layer has stopped near "
            "8.5 % while both deep networks are near 3.5 %: more than 5 points behind. A "
            "linear read-out of the pixels cannot do better (about 8 %, however long it "
            "trains); the hidden layers learned features that the local rule made useful. "
            "Between the two deep networks the race is close after five epochs; in the paper's "
            "60-epoch spiking runs the two-hidden-layer network ends ahead (3.2 against 4.1 %)."
        ),
        hints=(
            "The network without a hidden layer is a linear classifier: how far can it go on "
            "MNIST?",
            "After one epoch it was about 9.5 % wrong; it hardly improves after that.",
        ),
    )
)
