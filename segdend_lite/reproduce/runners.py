"""Where tasks run: local worker processes (one per usable CPU, one BLAS thread each), a Dask
``LocalCluster`` (``scheduler="local"``) or an existing Dask cluster (``"tcp://HOST:PORT"``;
the output folder must then be shared storage). Workers send back small summaries.

Local workers are isolated: each runs one task at a time, and a worker that dies (killed, out
of memory) fails only its own task, whose task.json says so; a new worker takes its place for
the tasks left. SIGTERM (and SIGHUP) to the parent stop it like Ctrl-C: the workers are
stopped (every finished epoch is on disk), their tasks marked "interrupted", and no task is
left "running". A worker also ends by itself when its parent is gone.

Here: :func:`run_tasks` (checking where, running, the progress line); the local worker
processes are :mod:`.processes`, Dask is :mod:`.dask_cluster`, the signals :mod:`.stopping`."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from segdend_lite.threads import usable_cpus
from segdend_lite.reproduce.dask_cluster import run_dask
from segdend_lite.reproduce.processes import run_local
from segdend_lite.reproduce.provenance import now
from segdend_lite.reproduce.stopping import stop_on_signals
from segdend_lite.reproduce.tasks import Task
from segdend_lite.reproduce.train import epochs_done


def check_where(scheduler: str, workers: int | None) -> None:
    """A ValueError if ``scheduler`` or ``workers`` cannot be used (before anything runs)."""
    if workers is not None and (
        not isinstance(workers, int) or isinstance(workers, bool) or workers < 1
    ):
        raise ValueError(f"workers={workers!r} must be a whole number >= 1")
    if not isinstance(scheduler, str) or not (
        scheduler in ("processes", "local") or scheduler.startswith(("tcp://", "tls://"))
    ):
        raise ValueError(f"--scheduler {scheduler!r}: use processes, local or tcp://HOST:PORT")


def run_tasks(
    tasks: Sequence[Task],
    scheduler: str = "processes",
    workers: int | None = None,
    progress: bool = True,
    log=print,
) -> list[dict]:
    """Run ``tasks`` where ``scheduler`` says and return their summaries (in task order).

    A failing task is reported (``status`` "failed", ``error``, ``traceback``) and the others
    go on, also when a local worker process dies (it is replaced). Ctrl-C, SIGTERM or SIGHUP
    stop the workers (finished epochs are on disk) and raise KeyboardInterrupt (``Stopped``
    for the signals). Progress: one line with epochs done, tasks done / running / left /
    failed."""
    check_where(scheduler, workers)
    tasks = list(tasks)
    if not tasks:
        return []
    results: dict[int, dict] = {}
    t0 = time.perf_counter()
    n = min(workers or usable_cpus(), len(tasks)) if scheduler == "processes" else workers
    bar = _Progress(tasks, n or usable_cpus(), enabled=progress, log=log)

    def finish(i: int, res: dict) -> None:
        results[i] = res
        bar.clear()
        for note in res.get("notes") or ():
            log(f"note: {note}")
        if res["status"] == "failed":
            log(f"FAILED {res['task']}: {res['error']}")
        else:
            err = res.get("final_test_error")
            err = f"{err:.2f} %" if err is not None else "n/a"
            log(
                f"{res['status']:>9} {res['task']}: {res['epochs']} epochs, test error "
                f"{err}, {res['wall_seconds']:.0f} s"
            )

    def tick(pending: int, workers: int | None = None) -> None:
        if workers:
            bar.workers = workers
        bar.update(results, pending)

    with stop_on_signals():
        try:
            if scheduler == "processes":
                log(f"running {len(tasks)} tasks on {n} local worker process" + "es" * (n > 1))
                run_local(tasks, n, finish, tick)
            else:
                run_dask(tasks, scheduler, workers, finish, tick, log)
        finally:
            bar.close()
    failed = sum(r["status"] == "failed" for r in results.values())
    log(
        f"{len(tasks) - failed} of {len(tasks)} tasks done, {failed} failed, "
        f"{time.perf_counter() - t0:.0f} s"
    )
    return [results[i] for i in range(len(tasks))]


class _Progress:
    """Epochs trained so far (read from the task folders) and tasks done / running / left /
    failed: a bar in a terminal, else (a log file, a batch job) a line when epochs were added,
    at most every 30 s."""

    def __init__(self, tasks: Sequence[Task], workers: int, enabled: bool, log=print):
        self.tasks, self.workers, self.log = tasks, workers, log
        self.total = sum(t.epochs for t in tasks)
        self._last_poll = 0.0
        self._last_line = (-1, 0.0)
        self._bar = None
        self._lines = enabled and not sys.stderr.isatty()
        if enabled and not self._lines:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, unit="epoch", desc="reproduce", mininterval=1.0)

    def _epochs(self) -> int:
        n = 0
        for t in self.tasks:
            p = Path(t.folder) / "history.json"
            try:
                n += min(t.epochs, epochs_done(json.loads(p.read_text())))
            except (OSError, ValueError):
                pass
        return n

    def update(self, results: dict, pending: int) -> None:
        if not (self._bar or self._lines):
            return
        if time.perf_counter() - self._last_poll < 2.0 and pending:
            return
        self._last_poll = time.perf_counter()
        failed = sum(r["status"] == "failed" for r in results.values())
        running = min(self.workers, pending)
        status = (
            f"tasks: {len(results) - failed} done, {running} running, "
            f"{pending - running} left, {failed} failed"
        )
        epochs = self._epochs()
        if self._bar is not None:
            self._bar.n = epochs
            self._bar.set_postfix_str(status)
            self._bar.refresh()
        elif epochs != self._last_line[0] and time.perf_counter() - self._last_line[1] >= 30:
            self._last_line = (epochs, time.perf_counter())
            self.log(f"{now()}  epochs {epochs}/{self.total}  {status}")

    def clear(self) -> None:
        if self._bar is not None:
            self._bar.clear()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
