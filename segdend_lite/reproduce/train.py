"""Training a task's epochs: plainly (``fit``) or with a probe every ``probe_every`` images
(``runs.train_chunks``, one call per epoch, so the weights equal those of an uninterrupted
``fit``).

After every epoch, in this order: every array of the network is checked (weights, biases,
feedback weights, spiking state: a NaN or infinite value stops the task with
``TrainingDiverged`` and leaves the last good checkpoint as it was); the epoch's probes are
written (``probes.json``); the checkpoint, which marks the epoch done; the history and
task.json. A crash between two of these writes loses nothing: a resumed task drops probes of
epochs its checkpoint does not have and trains those epochs again."""

from __future__ import annotations

import time
from pathlib import Path


from segdend_lite.model import divergence
from segdend_lite.model.divergence import TrainingDiverged
from segdend_lite.model.network import Network
from segdend_lite.model.training import fit, save_checkpoint
from segdend_lite.runs import angle_probe, jacobian_probe, merge_chunks, train_chunks
from segdend_lite.reproduce.results import read_probes
from segdend_lite.runs.history import add_entry, new_history, write_json

#: The probe of each kind of probed condition (rate mode's angle: on the last 100 images of
#: each interval, the registry's note for Fig. 7A).
PROBES = {"angle": angle_probe(last=100), "jacobian": jacobian_probe(last=100)}


def epochs_done(history: dict) -> int:
    return len([e for e in history.get("epoch", []) if e and e > 0])


def check_finite(net: Network, epoch: int) -> None:
    """Raise TrainingDiverged if an array of ``net`` holds NaN or infinite values after
    ``epoch`` (the model's own check, :func:`segdend_lite.model.divergence.problems`)."""
    found = divergence.problems(net, full=True)
    if found:
        raise TrainingDiverged(
            f"training diverged in epoch {epoch} ({divergence.describe(found)}): "
            f"{divergence.ADVICE}",
            epoch=epoch,
            problems=found,
        )


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

    def on_epoch(net, history):
        check_finite(net, history["epoch"][-1])
        save_checkpoint(net, Path(task.folder) / "checkpoint.npz")
        epoch_done(task, net, run, info, t_last)

    fit(net, x, y, epochs=todo, X_test=xt, y_test=yt, progress=False, on_epoch=on_epoch)


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
        check_finite(net, epoch)
        add_entry(net.history, **entry, test_error=net.evaluate(xt, yt))
        write_json(folder / "probes.json", probes)  # before the checkpoint marks the epoch done
        save_checkpoint(net, folder / "checkpoint.npz")
        epoch_done(task, net, run, info, t_last)


__all__ = [
    "PROBES",
    "check_finite",
    "epochs_done",
    "read_probes",
    "train_plain",
    "train_probed",
]
