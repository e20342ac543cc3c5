"""Training runs as they are recorded: the one history format (:mod:`.history`), the one
training loop with probes (:mod:`.chunks`) and where stored runs are (:mod:`.store`)."""

from segdend_lite.runs.chunks import angle_probe, jacobian_probe, merge_chunks, train_chunks
from segdend_lite.runs.history import add_entry, read_history, upgrade
from segdend_lite.runs.store import ENV, load_stored, results_folder, stored_epochs, stored_names

__all__ = [
    "ENV",
    "add_entry",
    "angle_probe",
    "jacobian_probe",
    "load_stored",
    "merge_chunks",
    "read_history",
    "results_folder",
    "stored_epochs",
    "stored_names",
    "train_chunks",
    "upgrade",
]
