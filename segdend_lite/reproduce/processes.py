"""Local worker processes (``--scheduler processes``): one per usable CPU, one BLAS thread
each, one task at a time. A worker that dies (killed, out of memory) fails only its own task,
whose task.json says so; a new worker takes its place for the tasks left. A worker also ends
by itself when its parent is gone."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Sequence

from threadpoolctl import threadpool_limits

from segdend_lite.reproduce.provenance import code_version, now
from segdend_lite.reproduce.run import mark_ended, run_task_safe
from segdend_lite.reproduce.stopping import signals_held
from segdend_lite.reproduce.tasks import Task

_BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def one_blas_thread_env():
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


def failed(task: Task, error: str, tb: str = "") -> dict:
    """The summary of a task that failed outside its own code (its worker died): ``error``, the
    traceback ``tb``."""
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


def run_local(tasks: Sequence[Task], n: int, finish, tick) -> None:
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
        with one_blas_thread_env():
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
                        finish(i, failed(tasks[i], error))
                tick(len(queue) + len(busy))
        interrupted = False
    finally:
        with signals_held():
            for w in list(busy) + idle:
                w.stop(at_once=interrupted)
            for i in busy.values():  # their workers are gone: no task stays "running"
                mark_ended(tasks[i], f"interrupted on {now()}: run the command again to resume")
