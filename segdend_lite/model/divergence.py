"""Training that goes numerically wrong stops loudly; training that cannot learn says so.

With learning rates or an apical conductance ``g_A`` that are too large, weights, biases or
somatic voltages become NaN or infinite. In spiking mode this is easy to miss: a NaN hidden
voltage fires no spikes, so the output stays finite and the loss looks normal. So training checks
the network as it goes (:class:`Watch`): after every image the loss, and in spiking mode the
biases and somatic voltages (a few microseconds against milliseconds per image); every
:data:`FULL_EVERY` images and at the end of every epoch every array (weights ``W``, biases
``b``, feedback weights ``Y``, the spiking state). The first non-finite value stops training
with :class:`TrainingDiverged`, before the epoch's checkpoint is written, so the last good
checkpoint stays as it was. ``predict`` and ``evaluate`` refuse a network whose weights are not
finite (:func:`require_finite`).

Saturation is the other way learning fails at huge learning rates: the weights stay finite but
every unit sits at 0 or ``phi_max``, and the network gives one class for every image.
:func:`saturation` recognises it from an epoch's results and ``fit`` warns with
:class:`SaturationWarning`.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np

#: What to do about a diverged run.
ADVICE = "lower the learning rates or g_A"
#: Images between checks of every array of the network during training.
FULL_EVERY = 1000
#: Fewest training images in an epoch for :func:`saturation` to judge it.
MIN_IMAGES = 500
#: Share of the test predictions in one class that :func:`saturation` calls "one class".
TOP_SHARE = 0.98


class TrainingDiverged(RuntimeError):
    """Training (or the network it left) holds NaN or infinite weights, biases or voltages.

    ``image``: the image (counted from 1 within ``epoch``; for ``train_step``, the network's
    count of images trained) after which it was found; ``epoch``: the epoch (None outside
    ``fit``); ``problems``: ``(layer, array, "NaN" | "inf" | "NaN/inf")`` for every array
    found, layer 0 the first hidden layer (or the output if there is none), ``"input"`` for the
    input's PSP state, None where no array was (the loss alone was not finite).
    """

    def __init__(self, message: str, image=None, epoch=None, problems=()):
        super().__init__(message)
        self.image = image
        self.epoch = epoch
        self.problems = list(problems)

    def __reduce__(self):  # keep the details when sent back from a worker process
        return type(self), (str(self), self.image, self.epoch, self.problems)


class SaturationWarning(RuntimeWarning):
    """Training ran but does not learn: one class for (nearly) every image after an epoch."""


def _kind(a: np.ndarray) -> str | None:
    if np.isfinite(a).all():
        return None
    nan, inf = bool(np.isnan(a).any()), bool(np.isinf(a).any())
    return "NaN/inf" if nan and inf else "NaN" if nan else "inf"


def _state_layer(name: str):
    """The layer of a spiking-state array named as in checkpoints: ``V{l}`` (layer l) or
    ``psp{k}_...`` (population k: 0 the input, then the layers)."""
    m = re.fullmatch(r"V(\d+)", name)
    if m:
        return int(m.group(1))
    m = re.match(r"psp(\d+)_", name)
    if m:
        return int(m.group(1)) - 1 if int(m.group(1)) else "input"
    return None


def arrays(net, full: bool = True):
    """``(layer, name, array)`` for the arrays to check: every array if ``full``, else the
    biases and (spiking mode) the somatic voltages, small arrays that turn NaN within one image
    of a divergence."""
    for l in range(len(net.layer_sizes)):
        if full:
            yield l, f"W{l}", net.W[l]
        yield l, f"b{l}", net.b[l]
        if full and l < net.n_hidden:
            yield l, f"Y{l}", net.Y[l]
    state = getattr(net, "spiking", None)
    if state is not None:
        if full:
            for name, a in state.arrays().items():
                yield _state_layer(name), name, a
        else:
            for l, v in enumerate(state.V):
                yield l, f"V{l}", v


def problems(net, full: bool = True) -> list[tuple]:
    """``(layer, array name, "NaN" | "inf" | "NaN/inf")`` for every non-finite array."""
    found = []
    for layer, name, a in arrays(net, full):
        kind = _kind(np.asarray(a))
        if kind:
            found.append((layer, name, kind))
    return found


def describe(found: list[tuple]) -> str:
    """``"layer 0, NaN in b0, V0; layer 1, inf in W1"`` for :func:`problems`' list."""
    if not found:
        return "the output loss is not finite"
    by_layer: dict = {}
    for layer, name, kind in found:
        by_layer.setdefault(layer, {}).setdefault(kind, []).append(name)
    parts = []
    for layer, kinds in by_layer.items():
        what = "; ".join(f"{kind} in {', '.join(names)}" for kind, names in kinds.items())
        parts.append(what if layer is None else f"layer {layer}, {what}")
    return "; ".join(parts)


def diverged(net, image, epoch=None) -> TrainingDiverged:
    """The exception for a network found non-finite after ``image`` of ``epoch``, naming every
    non-finite array."""
    found = problems(net, full=True)
    where = f"image {image}" + (f" of epoch {epoch}" if epoch is not None else "")
    return TrainingDiverged(
        f"training diverged at {where} ({describe(found)}): {ADVICE}",
        image=image,
        epoch=epoch,
        problems=found,
    )


def check(net, image, epoch=None, full: bool = True) -> None:
    """Raise :class:`TrainingDiverged` if any array of ``net`` (every one if ``full``, else
    the cheap ones of :func:`arrays`) is not finite."""
    if problems(net, full):
        raise diverged(net, image, epoch)


class Watch:
    """The checks of a training run: call :meth:`after` with each image's (or minibatch's)
    loss and the number of images trained so far; :meth:`epoch_end` after the epoch."""

    def __init__(self, net, epoch=None, full_every: int = FULL_EVERY):
        self.net, self.epoch, self.full_every = net, epoch, full_every
        self.cheap_each = net.config.mode == "spiking"
        self.last_full = 0

    def after(self, loss: float, image: int) -> None:
        if not math.isfinite(loss) or (self.cheap_each and problems(self.net, full=False)):
            raise diverged(self.net, image, self.epoch)
        if image - self.last_full >= self.full_every:
            self.last_full = image
            check(self.net, image, self.epoch)

    def epoch_end(self, image: int) -> None:
        check(self.net, image, self.epoch)


def after_step(net, loss: float) -> None:
    """The checks after one ``train_step``/``train_batch`` outside ``fit``: the loss and the
    cheap arrays every call, every array every :data:`FULL_EVERY` images."""
    n = net.images_seen
    if not math.isfinite(loss) or problems(net, full=False):
        raise diverged(net, n)
    if n % FULL_EVERY == 0:
        check(net, n)


def require_finite(net, use: str = "predict") -> None:
    """Refuse to ``use`` a network whose weights or biases are not finite."""
    found = [p for p in problems(net, full=True) if p[1][0] in "WbY"]
    if found:
        raise TrainingDiverged(
            f"cannot {use}: the network's weights are not finite ({describe(found)}), so its "
            f"training diverged and its outputs mean nothing; {ADVICE} and train again, or "
            "load the last good checkpoint",
            problems=found,
        )


def saturation(
    count_by_label: np.ndarray,
    correct_by_label: np.ndarray | None,
    test_predictions: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
) -> int | None:
    """The class a network that is not learning gave for (nearly) every image of an epoch, or
    None if it is learning (or the epoch is too short to judge).

    Judged on epochs of at least :data:`MIN_IMAGES` training images of at least two labels.
    With a test set (at least 20 images of at least two labels): one class for at least
    :data:`TOP_SHARE` of the test predictions and, in online training, a training error no
    better than always answering the commonest label (1 percentage point of slack). Without a
    test set (online training only): every training image of one label right and every other
    wrong, i.e. one class for every image. ``count_by_label``: the epoch's training images per
    label; ``correct_by_label``: how many of them the forward phase got right (None for
    minibatch training)."""
    if count_by_label.sum() < MIN_IMAGES or np.count_nonzero(count_by_label) < 2:
        return None  # too short an epoch to judge
    train = correct_by_label is not None
    if test_predictions is not None and test_labels is not None:
        if len(test_labels) < 20 or len(np.unique(test_labels)) < 2:
            return None
        values, counts = np.unique(test_predictions, return_counts=True)
        if counts.max() < TOP_SHARE * len(test_predictions):
            return None
        if train:
            slack = 0.01 * count_by_label.sum()
            if correct_by_label.sum() > count_by_label.max() + slack:
                return None  # better than chance in training: it learns something
        return int(values[np.argmax(counts)])
    if train:
        right = np.flatnonzero(correct_by_label)
        if len(right) == 1 and correct_by_label[right[0]] == count_by_label[right[0]]:
            return int(right[0])
    return None


def warn_saturated(c: int, epoch: int, train_error, test_error) -> None:
    """Warn (:class:`SaturationWarning`) that after epoch ``epoch`` the network gives class
    ``c`` for (nearly) every image."""
    errors = ", ".join(
        f"{what} error {value:.1f} %"
        for what, value in (("train", train_error), ("test", test_error))
        if value is not None
    )
    warnings.warn(
        f"epoch {epoch}: the network gives class {c} for (nearly) every image ({errors}), so it "
        "is not learning; with large learning rates or g_A its units saturate and it never "
        f"will: {ADVICE}",
        SaturationWarning,
        stacklevel=3,
    )
