"""Reproduce the paper's experiments with one command, resumable, on a laptop or a Dask cluster.

``python -m segdend_lite reproduce fig6b --mode rate --epochs 60`` trains every (condition,
seed) of the experiment as one *task* (``fig6b/h1`` names one condition). Each task has its
own folder::

    OUT/<experiment>/<mode>/<condition>/seed<k>/
        checkpoint.npz   the network after its last finished epoch (``save_checkpoint``)
        history.json     test error etc. per epoch (``runs.history``; epoch 0 = before training)
        task.json        identity (configuration, data), status, and one record per invocation
                         (command, commit, host, start/end, wall time per epoch)
        probes.json      fig7a / fig5s1 only: an entry every ``probe_every`` images

Running the command again skips finished tasks and resumes unfinished ones from their
checkpoint; the result equals an uninterrupted run (weights and history, except wall times).
A folder whose checkpoint or task.json was made with another configuration is refused, and so
is a run with another data, image counts or ``--set`` values than the output folder's
(``OUT/reproduce.json``; the mode may differ). A task whose training diverges (NaN or infinite
values) fails and keeps its last good checkpoint; a worker that dies fails only its task.
``--estimate`` measures what the tasks will cost on this machine and trains nothing.

The modules, one concern each: :mod:`.registry` (the experiments as data), :mod:`.tasks`,
:mod:`.run` and :mod:`.train` (running one task), :mod:`.runners` (where tasks run: local
:mod:`.processes` or :mod:`.dask_cluster`; :mod:`.stopping` on signals),
:mod:`.provenance`, :mod:`.results` (reading task folders), :mod:`.settings` and :mod:`.folder`
(one setting per output folder, one ``reproduce`` at a time in it), :mod:`.report` and
:mod:`.figures`, :mod:`.estimate`, :mod:`.command`. They use only the model's public API and
:mod:`segdend_lite.runs` (the history format and the training loop with probes).
"""

from segdend_lite.reproduce.command import main
from segdend_lite.reproduce.provenance import code_version, machine
from segdend_lite.reproduce.registry import (
    ALL,
    EXPERIMENTS,
    PAPER_ERRORS,
    QUESTIONS,
    Condition,
    Experiment,
)
from segdend_lite.reproduce.results import load_task_histories
from segdend_lite.reproduce.report import write_report
from segdend_lite.reproduce.run import adopt, run_task
from segdend_lite.reproduce.runners import run_tasks
from segdend_lite.reproduce.tasks import Task, TaskConflict, make_tasks
from segdend_lite.runs.store import results_folder

__all__ = [
    "ALL",
    "EXPERIMENTS",
    "PAPER_ERRORS",
    "QUESTIONS",
    "Condition",
    "Experiment",
    "Task",
    "TaskConflict",
    "adopt",
    "code_version",
    "load_task_histories",
    "machine",
    "main",
    "make_tasks",
    "results_folder",
    "run_task",
    "run_tasks",
    "write_report",
]
