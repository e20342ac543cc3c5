"""Where tasks run: local worker processes (one per usable CPU, one BLAS thread each), a Dask
``LocalCluster`` (``scheduler="local"``) or an existing Dask cluster (``"tcp://HOST:PORT"``;
the output folder must then be shared storage). Workers send back small summaries.

Local workers are isolated: each runs one task at a time, and a worker that dies (killed, out
of memory) fails only its own task, whose task.json says so; a new worker takes its place for
the tasks left. SIGTERM (and SIGHUP) to the parent stop it like Ctrl-C: the workers are
stopped (every finished epoch is on disk), their tasks marked "interrupted", and no task is
left "running". A worker also ends by itself when its parent is gone."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from threadpoolctl import threadpool_limits

from segdend_lite.threads import usable_cpus
from segdend_lite.reproduce.provenance import code_version, now
from segdend_lite.reproduce.run import mark_ended, run_task_safe
from segdend_lite.reproduce.tasks import Task
from segdend_lite.reproduce.train import epochs_done

_BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class Stopped(KeyboardInterrupt):
    """The parent was asked to stop by a signal other than Ctrl-C (``signum``: which)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _handlers(names: tuple[str, ...], handler):
    """While the block runs, the signals ``names`` (those this platform has) go to
    ``handler``; the previous handlers come back afterwards. Outside the main thread, where
    Python cannot set handlers, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    present = [n for n in names if hasattr(signal, n)]
    saved = {n: signal.signal(getattr(signal, n), handler) for n in present}
    try:
        yield
    finally:
        for n, previous in saved.items():
            signal.signal(getattr(signal, n), previous)


def _stop(signum, frame):
    raise Stopped(signum)


def _stop_on_signals():
    """While the block runs (in the main thread), SIGTERM and SIGHUP raise :class:`Stopped`
    (as Ctrl-C raises KeyboardInterrupt), so the workers are stopped and statuses written."""
    return _handlers(("SIGTERM", "SIGHUP"), _stop)


def _signals_held():
    """Ignore Ctrl-C, SIGTERM and SIGHUP while the workers are being stopped (a second
    signal must not cut the clean-up short)."""
    return _handlers(("SIGINT", "SIGTERM", "SIGHUP"), signal.SIG_IGN)


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
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    code_version()  # the commit of the code this worker has loaded
    threadpool_limits(1)


def _exit_with_parent(parent: int) -> None:
    """In a worker: end the process as soon as its parent is gone (killed with SIGKILL, say),
    so no worker trains on as an orphan."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            signal.raise_signal(signal.SIGTERM)  # the default action: the process ends


def _worker_main(conn, parent: int) -> None:
    """A local worker: run the tasks the parent sends, one at a time, until it sends None."""
    _worker_init()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        conn.send(run_task_safe(task))


def _death(exitcode: int | None) -> str:
    """How a worker process ended, in words."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        oom = " (the out-of-memory killer sends it)" if name == "SIGKILL" else ""
        return f"killed by {name}{oom}"
    return f"ended with exit code {exitcode}"


def _failed(task: Task, error: str, tb: str = "") -> dict:
    return {"task": task.key, "status": "failed", "error": error, "traceback": tb}


class _LocalWorker:
    """One worker process and the pipe to it."""

    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_worker_main,
            args=(child, os.getpid()),
            daemon=True,
            name="segdend-reproduce-worker",
        )
        self.proc.start()
        child.close()

    def stop(self, at_once: bool) -> None:
        """End the worker: ``at_once`` (an interruption) with SIGTERM, else by asking it."""
        if self.proc.is_alive():
            if at_once:
                self.proc.terminate()
            else:
                with contextlib.suppress(OSError):
                    self.conn.send(None)
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
        self.conn.close()


def _run_local(tasks: Sequence[Task], n: int, finish, tick) -> None:
    """Run ``tasks`` on ``n`` local worker processes, calling ``finish(i, summary)`` as each
    ends and ``tick(pending)`` about every half second."""
    import multiprocessing
    from multiprocessing.connection import wait

    ctx = multiprocessing.get_context("spawn")
    queue = deque(range(len(tasks)))
    idle: list[_LocalWorker] = []
    busy: dict[_LocalWorker, int] = {}
    interrupted = True
    try:
        with _one_blas_thread_env():
            while queue or busy:
                while queue and (idle or len(busy) < n):
                    w = idle.pop() if idle else _LocalWorker(ctx)
                    i = queue.popleft()
                    try:
                        w.conn.send(tasks[i])
                    except OSError:  # the worker died before its first task: replace it
                        queue.appendleft(i)
                        w.stop(at_once=True)
                        continue
                    busy[w] = i
                ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], 0.5)
                for w, i in list(busy.items()):
                    if w.conn not in ready and w.proc.sentinel not in ready:
                        continue
                    res = None
                    if w.conn.poll():
                        with contextlib.suppress(EOFError, OSError):
                            res = w.conn.recv()
                    if res is not None:
                        del busy[w]
                        idle.append(w)
                        finish(i, res)
                    elif not w.proc.is_alive():
                        del busy[w]
                        w.stop(at_once=True)
                        how = _death(w.proc.exitcode)
                        error = (
                            f"WorkerDied: the worker process training this task {how}; its "
                            "finished epochs are saved: run the command again to resume it"
                        )
                        mark_ended(tasks[i], f"failed: {error}")
                        finish(i, _failed(tasks[i], error))
                tick(len(queue) + len(busy))
        interrupted = False
    finally:
        with _signals_held():
            for w in list(busy) + idle:
                w.stop(at_once=interrupted)
            for i in busy.values():  # their workers are gone: no task stays "running"
                mark_ended(tasks[i], f"interrupted on {now()}: run the command again to resume")


def _run_dask(tasks: Sequence[Task], scheduler: str, workers: int | None, finish, tick, log):
    """Run ``tasks`` on a Dask cluster (a new LocalCluster for ``"local"``)."""
    stack = contextlib.ExitStack()
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise RuntimeError(
            f"--scheduler {scheduler} needs dask.distributed, which is not installed ({exc}). "
            "Install the optional extra: pip install 'segdend-lite[cluster]' "
            "(or pip install 'dask[distributed]'), or use --scheduler processes."
        ) from None
    with stack:
        if scheduler == "local":
            n = workers or usable_cpus()
            with _one_blas_thread_env():
                cluster = stack.enter_context(
                    LocalCluster(
                        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
                    )
                )
                client = stack.enter_context(Client(cluster))
            where = f"a Dask LocalCluster of {n} worker processes"
        elif scheduler.startswith(("tcp://", "tls://")):
            try:
                client = stack.enter_context(Client(scheduler, timeout="30s"))
            except OSError as exc:
                raise RuntimeError(
                    f"could not reach a Dask scheduler at {scheduler} ({exc}). Start one "
                    "(`dask scheduler`, then `dask worker ADDRESS` on each machine) or check "
                    "the address; --scheduler local starts a cluster on this machine."
                ) from None
            n = len(client.scheduler_info().get("workers", {})) or 1
            where = f"the Dask cluster at {scheduler} ({n} workers when it started)"
        else:
            raise ValueError(f"--scheduler {scheduler!r}: use processes, local or tcp://HOST:PORT")
        log(f"running {len(tasks)} tasks on {where}")
        tick(len(tasks), n)
        futures = {
            client.submit(run_task_safe, t, pure=False, key=f"segdend-{t.key}"): i
            for i, t in enumerate(tasks)
        }
        pending = set(futures)
        try:
            while pending:
                for f in [f for f in pending if f.done()]:
                    pending.discard(f)
                    i = futures[f]
                    try:
                        res = f.result()
                    except BaseException as exc:  # a worker died (killed, out of memory ...)
                        error = f"{type(exc).__name__}: {exc}"
                        mark_ended(tasks[i], f"failed: {error}")
                        res = _failed(tasks[i], error, "".join(traceback.format_exception(exc)))
                    finish(i, res)
                tick(len(pending))
                if pending:
                    time.sleep(0.5)
        finally:
            if pending:
                with _signals_held():
                    client.cancel(list(pending))
                    if scheduler == "local":  # its workers end with the cluster
                        stack.close()
                        for f in pending:
                            mark_ended(
                                tasks[futures[f]],
                                f"interrupted on {now()}: run the command again to resume",
                            )


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

    with _stop_on_signals():
        try:
            if scheduler == "processes":
                log(f"running {len(tasks)} tasks on {n} local worker process" + "es" * (n > 1))
                _run_local(tasks, n, finish, tick)
            else:
                _run_dask(tasks, scheduler, workers, finish, tick, log)
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
