"""Tasks on Dask: a new ``LocalCluster`` (``--scheduler local``) or an existing cluster
(``tcp://HOST:PORT``; the output folder must then be shared storage)."""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Sequence

from segdend_lite.threads import usable_cpus
from segdend_lite.reproduce.processes import failed, one_blas_thread_env
from segdend_lite.reproduce.provenance import now
from segdend_lite.reproduce.run import mark_ended, run_task_safe
from segdend_lite.reproduce.stopping import signals_held
from segdend_lite.reproduce.tasks import Task


def run_dask(tasks: Sequence[Task], scheduler: str, workers: int | None, finish, tick, log):
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
            with one_blas_thread_env():
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
                        res = failed(tasks[i], error, "".join(traceback.format_exception(exc)))
                    finish(i, res)
                tick(len(pending))
                if pending:
                    time.sleep(0.5)
        finally:
            if pending:
                with signals_held():
                    client.cancel(list(pending))
                    if scheduler == "local":  # its workers end with the cluster
                        stack.close()
                        for f in pending:
                            mark_ended(
                                tasks[futures[f]],
                                f"interrupted on {now()}: run the command again to resume",
                            )
