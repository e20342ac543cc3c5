"""The one history format, in memory and on disk (``history.json``, ``probes.json``).

A history is a dict of lists, one list per key of ``model.loop.HISTORY_KEYS`` (``epoch``,
``images``, ``seconds``, ``loss``, ``train_error``, ``test_error``, ``hidden_rate_hz``,
``angle_to_bp``) plus any probe measured (e.g. ``jacobian_max_eig``), one entry per point and
None where not measured. ``epoch`` is the epochs of training done at the entry (images seen
over the training-set size): whole numbers in a per-epoch history (``fit``; epoch 0 = before
training), fractions in a per-chunk one (:func:`segdend_lite.runs.train_chunks`).

Two older formats are read once, by :func:`upgrade`: the course's curves (``angle`` and
``test_images``/``test_error`` lists) and reproduce's probe lists (``[{"epoch", "images",
"angle_deg" | "jacobian_max_eig"}]``). ``python scripts/convert_histories.py FOLDER`` rewrites
such files in the current format.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from segdend_lite.atomic import atomic_write_bytes
from segdend_lite.model.loop import HISTORY_KEYS, new_history

__all__ = ["HISTORY_KEYS", "add_entry", "is_current", "new_history", "read_history", "upgrade"]


def add_entry(history: dict, **entry) -> None:
    """Append one entry; keys not given get None, a new key is filled with None before."""
    n = len(history["epoch"])
    for k in entry:
        if k not in history:
            history[k] = [None] * n
    for k in history:
        history[k].append(entry.get(k))


def is_current(obj) -> bool:
    """Whether ``obj`` (parsed JSON) is a history in the current format (keys not measured may
    be left out)."""
    return isinstance(obj, dict) and "epoch" in obj and not {"angle", "test_images"} & set(obj)


def upgrade(obj, train_size: int | None = None) -> dict:
    """A history in the current format from any of the formats ever written (see the module
    docstring). ``train_size``: the training-set size, to put old entries in epochs (the
    course's curves: their provenance's ``train_size``; probe lists: their task's images per
    epoch; None: keep the old probes' whole epochs)."""
    if is_current(obj):
        n = len(obj["epoch"])
        return {**{k: [None] * n for k in HISTORY_KEYS}, **obj}
    history = new_history()
    if isinstance(obj, list):  # reproduce's probe list
        for p in obj:
            images = p["images"]
            epoch = images / train_size if train_size else p["epoch"]
            extra = {k: v for k, v in p.items() if k not in ("epoch", "images", "angle_deg")}
            add_entry(history, epoch=epoch, images=images, angle_to_bp=p.get("angle_deg"), **extra)
        return history
    if isinstance(obj, dict) and "angle" in obj and "test_images" in obj:  # a course curve
        n = train_size or 60000
        tests = dict(zip(obj["test_images"], obj["test_error"]))
        for i, images in enumerate(obj["images"]):
            add_entry(
                history,
                epoch=images / n,
                images=images,
                seconds=obj["seconds"][i],
                loss=obj["loss"][i],
                train_error=obj["train_error"][i],
                test_error=tests.pop(images, None),
                hidden_rate_hz=obj["hidden_rate_hz"][i],
                angle_to_bp=obj["angle"][i],
            )
        if tests:
            raise ValueError(f"test errors at {sorted(tests)} images match no curve point")
        return history
    raise ValueError(
        "not a history: expected a dict with the keys "
        f"{', '.join(HISTORY_KEYS)} (or an older course curve or probe list)"
    )


def read_history(path: str | os.PathLike, train_size: int | None = None) -> dict:
    """Read a ``history.json`` or ``probes.json`` in any format (see :func:`upgrade`); a
    ValueError naming the file if it is not JSON or not a history."""
    path = Path(path)
    with open(path, "rb") as f:
        text = f.read()
    try:
        obj = json.loads(text)
    except ValueError as exc:  # not JSON, or not UTF-8
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    try:
        return upgrade(obj, train_size)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def write_json(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=1) + "\n").encode())


def images_per_epoch(history: dict) -> int | None:
    """The training-set size of a per-epoch history: images of epoch 1 minus epoch 0's."""
    ep, im = history.get("epoch", []), history.get("images", [])
    if 0 in ep and 1 in ep:
        return im[ep.index(1)] - im[ep.index(0)]
    if 1 in ep:
        return im[ep.index(1)]
    return None
