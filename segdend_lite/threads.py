"""BLAS threads for the spiking engines and the online training loops, and the CPUs this
process may actually use.

The spiking engines multiply small matrices (a few hundred rows) many times per image, and the
online training loops (rate mode, one image per update; the textbook network's minibatches of
a few dozen images) are matrix-vector products. With more than one BLAS thread such products
get slower, much slower when another process holds the other cores: on a 2-core machine with
one core busy, a training image of 784-500-10 took 8.5 ms with OpenBLAS's default threads
against 1.0 ms with one thread, and one epoch of notebook 01's textbook network 18.7 s against
2.8 s. A notebook cannot set
``OPENBLAS_NUM_THREADS`` (numpy is imported before), and a Binder container sees all the
host's cores while its CPU quota is about one core. So the library limits the BLAS threads
itself, through threadpoolctl, while its spiking code runs:

- the entry points that run the spiking engines (``Network.output_voltage`` / ``predict`` /
  ``evaluate`` in spiking mode, the phase explorer widget, the command line) are wrapped in
  :func:`spiking_threads`; rate mode's batched read-out is not limited (its products are large
  and gain from threads);
- the online training loops, in both modes, are wrapped in :func:`loop_threads`
  (``Network.train_step``, the textbook network's ``mlp.train``, and the loops the notebooks
  write themselves) or :func:`training_threads` (``fit``: limited in spiking mode and for online
  training, ``batch_size=1``; not for large rate-mode batches);
- the limit is :data:`DEFAULT_BLAS_THREADS` (1) unless a block ``with blas_threads(n):`` says
  otherwise (``n = None``: leave the BLAS's own setting);
- the previous thread settings are restored when the entry point returns (or raises), so a
  user's own numpy work is not changed. Code run by the entry point itself (an ``on_epoch``
  callback of ``fit``) runs under the limit.

The setting is a scoped value (a context variable), not a field of :class:`Config`: it is a
property of the machine a run happens on, not of the model, so it must not enter checkpoints.

:func:`usable_cpus` counts the CPUs this process may use (CPU affinity and cgroup quota), for
sizing worker pools.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TypeVar

#: BLAS threads while the spiking engines run, unless ``blas_threads`` says otherwise.
DEFAULT_BLAS_THREADS = 1

_setting: ContextVar[int | None] = ContextVar("segdend_blas_threads", default=DEFAULT_BLAS_THREADS)
_applied: ContextVar[int | None] = ContextVar("segdend_blas_threads_applied", default=None)

F = TypeVar("F", bound=Callable)


@contextmanager
def blas_threads(n: int | None = DEFAULT_BLAS_THREADS) -> Iterator[None]:
    """Within this block, the library's spiking entry points run with ``n`` BLAS threads
    (``None``: the BLAS's own setting, no limit). Example::

        with blas_threads(2):
            net.fit(X, y)
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"blas_threads takes a whole number >= 1 or None; got {n!r}")
    token = _setting.set(n)
    try:
        yield
    finally:
        _setting.reset(token)


def _controller():
    """One threadpoolctl controller (finding the loaded BLAS libraries takes about 0.5 ms; a
    limit through the controller about 0.01 ms), found again when modules were imported since
    (scikit-learn's scipy, for example, brings a BLAS of its own)."""
    return _controller_for(len(sys.modules))


@functools.lru_cache(maxsize=1)
def _controller_for(n_modules: int):
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextmanager
def limited_blas() -> Iterator[None]:
    """Apply the current setting (see :func:`blas_threads`) to the BLAS thread pools for the
    block, and restore the previous settings afterwards. Nested blocks with the same setting
    cost nothing."""
    n = _setting.get()
    if n is None or _applied.get() == n:
        yield
        return
    token = _applied.set(n)
    try:
        with _controller().limit(limits=n, user_api="blas"):
            yield
    finally:
        _applied.reset(token)


def spiking_threads(func: F) -> F:
    """Decorator for a function whose first argument is a network: in spiking mode it runs
    under :func:`limited_blas`; in rate mode unchanged."""

    @functools.wraps(func)
    def wrapper(net, *args, **kwargs):
        if net.config.mode != "spiking":
            return func(net, *args, **kwargs)
        with limited_blas():
            return func(net, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def loop_threads(func: F) -> F:
    """Decorator for a training loop (or step) made of small products: it runs under
    :func:`limited_blas` (one BLAS thread by default), whatever the mode. Example::

        @loop_threads
        def train(net, X, y): ...
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with limited_blas():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def training_threads(func: F) -> F:
    """Decorator for ``fit(net, X, y, epochs, batch_size, ...)``: under :func:`limited_blas`
    in spiking mode and for online training (``batch_size`` 1); rate-mode batches unchanged."""
    import inspect

    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(net, *args, **kwargs):
        batch = signature.bind(net, *args, **kwargs).arguments.get("batch_size", 1)
        if net.config.mode != "spiking" and batch != 1:
            return func(net, *args, **kwargs)
        with limited_blas():
            return func(net, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


# ------------------------------------------------------------------------------ usable CPUs


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _ancestors(base: Path, rel: str) -> list[Path]:
    """``base/rel`` and its parents up to ``base``, those that exist."""
    parts = [p for p in rel.strip("/").split("/") if p]
    dirs = [base.joinpath(*parts[:k]) for k in range(len(parts), -1, -1)]
    return [d for d in dirs if d.is_dir()]


def cgroup_cpu_limit(
    root: str | os.PathLike = "/sys/fs/cgroup", self_cgroup: str | os.PathLike = "/proc/self/cgroup"
) -> float | None:
    """The CPU quota of this process's control group in CPUs (e.g. 1.5), or None if there is
    none: cgroup v2 ``cpu.max`` (``"quota period"`` or ``"max period"``), else cgroup v1
    ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (quota -1 = none). The group is read from
    ``self_cgroup``; it and every ancestor up to ``root`` count (the smallest quota wins), and
    inside a container, whose own group appears as ``root``, so does ``root`` itself."""
    root = Path(root)
    lines = (_read(Path(self_cgroup)) or "").splitlines()
    limits = []
    if (root / "cgroup.controllers").exists():  # cgroup v2 (unified)
        rel = next((ln.split(":", 2)[2] for ln in lines if ln.startswith("0::")), "/")
        for d in _ancestors(root, rel):
            text = _read(d / "cpu.max")
            if text and len(text.split()) == 2 and text.split()[0] != "max":
                quota, period = (float(v) for v in text.split())
                if quota > 0 and period > 0:
                    limits.append(quota / period)
    else:  # cgroup v1: the hierarchy with the cpu controller
        rel = "/"
        for ln in lines:
            fields = ln.split(":", 2)
            if len(fields) == 3 and "cpu" in fields[1].split(","):
                rel = fields[2]
        for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
            if (root / name).is_dir():
                for d in _ancestors(root / name, rel):
                    quota, period = _read(d / "cpu.cfs_quota_us"), _read(d / "cpu.cfs_period_us")
                    try:
                        q, p = float(quota or "-1"), float(period or "0")
                    except ValueError:
                        continue
                    if q > 0 and p > 0:
                        limits.append(q / p)
                break
    return min(limits) if limits else None


def usable_cpus(
    root: str | os.PathLike = "/sys/fs/cgroup", self_cgroup: str | os.PathLike = "/proc/self/cgroup"
) -> int:
    """The number of CPUs this process can actually use (>= 1): the CPUs it may run on
    (``os.sched_getaffinity`` where available, else ``os.cpu_count()``), capped by the cgroup
    CPU quota rounded down (:func:`cgroup_cpu_limit`; a Binder or CI container sees all the
    host's cores but may have a quota of one or two). Use it to size worker pools."""
    if hasattr(os, "sched_getaffinity"):
        n = len(os.sched_getaffinity(0))
    else:
        n = os.cpu_count() or 1
    quota = cgroup_cpu_limit(root, self_cgroup)
    if quota is not None:
        n = min(n, math.floor(quota))
    return max(1, n)
