"""Where tasks run: local worker processes (one per usable CPU, one BLAS thread each), a Dask
``LocalCluster`` (``scheduler="local"``) or an existing Dask cluster (``"tcp://HOST:PORT"``;
the output folder must then be shared storage). Workers send back small summaries."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from threadpoolctl import threadpool_limits

from segdend_lite.model.threads import usable_cpus
from segdend_lite.reproduce.provenance import code_version, now
from segdend_lite.reproduce.run import run_task_safe
from segdend_lite.reproduce.tasks import Task
from segdend_lite.reproduce.train import epochs_done

_BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _one_blas_thread_env():
    """Set the BLAS thread variables to 1 while worker processes are started: a spawned
    worker inherits them before it imports numpy (the parent's own BLAS is already loaded
    and unaffected)."""
    saved = {k: os.environ.get(k) for k in _BLAS_VARS}
    os.environ.update(dict.fromkeys(_BLAS_VARS, "1"))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _worker_init() -> None:
    """Runs in each worker process. Ctrl-C ends the worker at once (its last finished epoch is
    safe on disk; the parent then cancels the tasks not started), and BLAS is limited to one
    thread also where the environment variables came too late (threadpoolctl)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    code_version()  # the commit of the code this worker has loaded
    threadpool_limits(1)


class _Pool:
    """The same small interface over a process pool and a Dask client."""

    def __init__(self, scheduler: str, workers: int | None):
        self.scheduler = scheduler
        self._stack = contextlib.ExitStack()
        if scheduler == "processes":
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.workers = workers or usable_cpus()
            self._stack.enter_context(_one_blas_thread_env())
            self._pool = self._stack.enter_context(
                ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_worker_init,
                )
            )
            self.where = f"{self.workers} local worker process" + "es" * (self.workers > 1)
            return
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise RuntimeError(
                f"--scheduler {scheduler} needs dask.distributed, which is not installed ({exc}). "
                "Install the optional extra: pip install 'segdend-lite[cluster]' "
                "(or pip install 'dask[distributed]'), or use --scheduler processes."
            ) from None
        if scheduler == "local":
            self.workers = workers or usable_cpus()
            with _one_blas_thread_env():
                cluster = self._stack.enter_context(
                    LocalCluster(
                        n_workers=self.workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                    )
                )
                self._client = self._stack.enter_context(Client(cluster))
            self.where = f"a Dask LocalCluster of {self.workers} worker processes"
        elif scheduler.startswith(("tcp://", "tls://")):
            try:
                self._client = self._stack.enter_context(Client(scheduler, timeout="30s"))
            except OSError as exc:
                raise RuntimeError(
                    f"could not reach a Dask scheduler at {scheduler} ({exc}). Start one "
                    "(`dask scheduler`, then `dask worker ADDRESS` on each machine) or check "
                    "the address; --scheduler local starts a cluster on this machine."
                ) from None
            n = len(self._client.scheduler_info().get("workers", {}))
            self.workers = n or 1
            self.where = f"the Dask cluster at {scheduler} ({n} workers when it started)"
        else:
            raise ValueError(f"--scheduler {scheduler!r}: use processes, local or tcp://HOST:PORT")

    def submit(self, task: Task):
        if self.scheduler == "processes":
            return self._pool.submit(run_task_safe, task)
        return self._client.submit(run_task_safe, task, pure=False, key=f"segdend-{task.key}")

    def close(self, cancel: bool = False) -> None:
        """Shut down; ``cancel``: drop the tasks not yet started (after an interruption)."""
        if cancel and self.scheduler == "processes":
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._stack.close()


def run_tasks(
    tasks: Sequence[Task],
    scheduler: str = "processes",
    workers: int | None = None,
    progress: bool = True,
    log=print,
) -> list[dict]:
    """Run ``tasks`` where ``scheduler`` says and return their summaries (in task order).

    A failing task is reported (``status`` "failed", ``error``, ``traceback``) and the others
    go on. Progress: one line with epochs done, tasks done / running / left / failed."""
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers={workers!r} must be a whole number >= 1")
    tasks = list(tasks)
    if not tasks:
        return []
    pool = _Pool(
        scheduler,
        workers if scheduler != "processes" else min(workers or usable_cpus(), len(tasks)),
    )
    log(f"running {len(tasks)} tasks on {pool.where}")
    results: dict[int, dict] = {}
    t0 = time.perf_counter()
    interrupted = True
    try:
        futures = {pool.submit(t): i for i, t in enumerate(tasks)}
        bar = _Progress(tasks, pool.workers, enabled=progress, log=log)
        pending = set(futures)
        while pending:
            for f in [f for f in pending if f.done()]:
                pending.discard(f)
                i = futures[f]
                try:
                    res = f.result()
                except BaseException as exc:  # a worker died (killed, out of memory ...)
                    res = {
                        "task": tasks[i].key,
                        "status": "failed",
                        "error": f"{type(exc).__name__}: {exc}",
                        "traceback": "".join(traceback.format_exception(exc)),
                    }
                results[i] = res
                bar.clear()
                if res["status"] == "failed":
                    log(f"FAILED {res['task']}: {res['error']}")
                else:
                    err = res.get("final_test_error")
                    err = f"{err:.2f} %" if err is not None else "n/a"
                    log(
                        f"{res['status']:>9} {res['task']}: {res['epochs']} epochs, test error "
                        f"{err}, {res['wall_seconds']:.0f} s"
                    )
            bar.update(results, len(pending))
            if pending:
                time.sleep(0.5)
        bar.close()
        interrupted = False
    finally:
        pool.close(cancel=interrupted)
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
