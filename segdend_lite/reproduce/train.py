"""Training a task's epochs: plainly (``fit``) or with a probe every ``probe_every`` images
(``runs.train_chunks``, one call per epoch, so the weights equal those of an uninterrupted
``fit``); the history, checkpoint and task.json are written after every epoch."""

from __future__ import annotations

import time
from pathlib import Path

from segdend_lite.model.network import Network
from segdend_lite.model.training import fit, save_checkpoint
from segdend_lite.runs import angle_probe, jacobian_probe, merge_chunks, train_chunks
from segdend_lite.runs.history import add_entry, images_per_epoch, new_history, read_history
from segdend_lite.runs.history import write_json

#: The probe of each kind of probed condition (rate mode's angle: on the last 100 images of
#: each interval, the registry's note for Fig. 7A).
PROBES = {"angle": angle_probe(last=100), "jacobian": jacobian_probe(last=100)}


def epochs_done(history: dict) -> int:
    return len([e for e in history.get("epoch", []) if e and e > 0])


def epoch_done(task, net: Network, run: dict, info: dict, t_last: list) -> None:
    t = time.perf_counter()
    run["epoch_wall_seconds"].append(round(t - t_last[0], 2))
    t_last[0] = t
    run["to_epoch"] = epochs_done(net.history)
    folder = Path(task.folder)
    write_json(folder / "history.json", net.history)
    write_json(folder / "task.json", info)


def train_plain(task, net, x, y, xt, yt, todo, run, info) -> None:
    t_last = [time.perf_counter()]
    if not net.history["epoch"]:  # fit records the test error before training first
        run["initial_test"] = True
    fit(
        net,
        x,
        y,
        epochs=todo,
        X_test=xt,
        y_test=yt,
        progress=False,
        checkpoint=Path(task.folder) / "checkpoint.npz",
        on_epoch=lambda n, h: epoch_done(task, n, run, info, t_last),
    )


def read_probes(folder: Path, history: dict) -> dict | None:
    """The folder's probes (any format ever written; see ``runs.history``), or None."""
    path = Path(folder) / "probes.json"
    if not path.exists():
        return None
    return read_history(path, images_per_epoch(history))


def train_probed(task, net, x, y, xt, yt, todo, run, info) -> None:
    """Epochs of ``len(x)`` images in chunks of ``probe_every``, a probe after each chunk (and
    one before training, on the last 100 training images); the chunk entries go to
    probes.json, their merge (one entry per epoch) to the history."""
    folder = Path(task.folder)
    probe = PROBES[task.probe]
    done = epochs_done(net.history)
    old = read_probes(folder, net.history)
    probes = new_history() if old is None else old
    keep = [i for i, e in enumerate(probes["epoch"]) if e <= done]  # drop unfinished epochs
    probes = {k: [v[i] for i in keep] for k, v in probes.items()}
    t_last = [time.perf_counter()]
    if not net.history["epoch"]:
        test_error = net.evaluate(xt, yt)
        add_entry(net.history, epoch=0, images=net.images_seen, seconds=0.0, test_error=test_error)
        entry = {"epoch": 0, "images": net.images_seen}
        add_entry(probes, **entry, **probe(net, x[-100:], y[-100:], entry))
    for epoch in range(done + 1, done + todo + 1):
        start, before = len(probes["epoch"]), net.images_seen
        train_chunks(net, x, y, len(x), chunk=task.probe_every, probe=probe, history=probes)
        entry = merge_chunks(probes, start, before, epoch)
        add_entry(net.history, **entry, test_error=net.evaluate(xt, yt))
        save_checkpoint(net, folder / "checkpoint.npz")
        write_json(folder / "probes.json", probes)
        epoch_done(task, net, run, info, t_last)


__all__ = ["PROBES", "epochs_done", "read_probes", "train_plain", "train_probed"]
