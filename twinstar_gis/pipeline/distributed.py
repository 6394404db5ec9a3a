"""Run independent tasks serially, on a local cluster of processes, or on an existing Dask cluster.

``twinstar compare`` evaluates its alternatives with :func:`run_tasks`.  Three engines, one result:

* ``workers=0``: serial, in this process, in task order.
* ``workers=N`` (default 2): a :class:`dask.distributed.LocalCluster` of ``N`` worker
  *processes* with one thread each (scipy's Dijkstra holds the GIL, so threads would not help),
  started for the call and closed after it.
* ``scheduler="tcp://host:8786"``: the workers of an existing cluster (``dask scheduler`` on one
  machine, ``dask worker tcp://host:8786`` on each machine; see README "Comparing alternatives").

Tasks receive paths, not data: every worker reads the run's inputs from a folder all of them
see at the same path (checked before anything is submitted).  A task function must be a
module-level function of an installed package (workers import it by name) and return something
small (tables, not models): that is what travels back.  The results come back in task order
whatever the engine, and each task computes exactly what it would compute serially, so the
engines give identical results (``tests/test_compare.py`` compares them byte for byte).

Memory is estimated before anything starts (:func:`twinstar_gis.resources.check_memory`: one
task per worker at a time) and bounded while it runs: a local worker gets
``memory_limit = budget / workers`` and Dask's nanny restarts a worker that exceeds it; a
remote worker whose own limit is below the estimate is refused before submitting.

Dask is imported here only inside functions: the rest of the package works without it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

from ..errors import ResourceError, SettingsError
from ..resources import check_memory, memory_budget_bytes

__all__ = ["CONNECT_TIMEOUT_S", "DEFAULT_WORKERS", "check_task_memory", "engine_label", "run_tasks"]

log = logging.getLogger(__name__)

#: Worker processes of the local cluster when none are asked for.
DEFAULT_WORKERS = 2
#: Seconds to wait for an existing scheduler before giving up with a message.
CONNECT_TIMEOUT_S = 15
_GIB = 2**30


def engine_label(workers: int, scheduler: str | None) -> str:
    """How a run's tasks are executed, in words (recorded in the manifest).

    Parameters
    ----------
    workers : int
        Local worker processes (0 = serial).
    scheduler : str or None
        Address of an existing scheduler (wins over ``workers``).

    Returns
    -------
    str

    Examples
    --------
    >>> engine_label(0, None), engine_label(2, None)
    ('serial (in process)', 'dask.distributed LocalCluster (2 processes)')
    """
    if scheduler:
        return f"dask.distributed scheduler {scheduler}"
    if workers <= 0:
        return "serial (in process)"
    return f"dask.distributed LocalCluster ({workers} process{'es' if workers != 1 else ''})"


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise SettingsError("running on several processes needs dask.distributed, which is not installed: "
                            "pip install \"dask[distributed]\" (or use --workers 0 to run serially)") from None
    return distributed


def run_tasks(fn, common, tasks: list, *, workers: int = DEFAULT_WORKERS, scheduler: str | None = None,
              task_bytes: float = 0.0, settings=None, shared_paths=(), worker_memory_bytes: float = 0.0,
              what: str = "a task") -> tuple[list, dict]:
    """``[fn(common, t) for t in tasks]`` on the chosen engine; results in task order.

    Parameters
    ----------
    fn : callable
        A module-level function ``fn(common, task)`` (workers import it by its module path).
    common : object
        Small, picklable, the same for every task (paths and settings, not data).
    tasks : list
        One picklable item per task.
    workers : int
        Local worker processes; 0 runs serially in this process.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``); ``workers`` is then ignored.
    task_bytes : float
        Estimated peak memory of one task, bytes (see :func:`twinstar_gis.resources.check_memory`).
    settings : Settings, optional
        Where the memory budget comes from (``memory_budget_gib``).
    shared_paths : sequence of path-like
        Files every worker must be able to read (checked on each worker before submitting).
    worker_memory_bytes : float
        Memory limit of each local worker; 0: the budget divided by ``workers``.
    what : str
        What one task is, for messages ("alternative").

    Returns
    -------
    (list, dict)
        The results in task order, and a description of the engine (``engine``, ``workers``:
        their addresses, ``memory_limit_gib``, ``dask_version``, ``seconds``).

    Raises
    ------
    ResourceError
        The estimate exceeds the budget or a worker's limit, or a worker was killed for memory.
    SettingsError
        dask.distributed missing, the scheduler unreachable or without workers, or a worker
        that cannot read the shared inputs.

    Examples
    --------
    >>> run_tasks(divmod, 7, [2, 3], workers=0)[0]
    [(3, 1), (2, 1)]
    """
    t0 = time.perf_counter()
    workers = int(workers)
    limit = check_task_memory(task_bytes, workers=workers, scheduler=scheduler, n_tasks=len(tasks), settings=settings,
                              worker_memory_bytes=worker_memory_bytes, what=what)
    with _warnings_once():
        if scheduler is None and workers <= 0:
            out = [fn(common, t) for t in tasks]
            return out, {"engine": engine_label(0, None), "workers": [], "seconds": round(time.perf_counter() - t0, 2)}
        _import_distributed()
        if scheduler:
            return _on_existing(fn, common, tasks, scheduler, task_bytes, shared_paths, what, t0)
        return _on_local(fn, common, tasks, workers, limit, shared_paths, what, t0)


def check_task_memory(task_bytes: float, *, workers: int, scheduler: str | None = None, n_tasks: int = 1, settings=None,
                      worker_memory_bytes: float = 0.0, what: str = "task") -> float:
    """Refuse, before anything starts, tasks whose memory the budget (or a local worker's limit) cannot hold.

    Parameters
    ----------
    task_bytes : float
        Estimated peak memory of one task, bytes.
    workers : int
        Local worker processes (0 = serial: one task at a time in this process).
    scheduler : str, optional
        An existing cluster: its workers' own limits are checked when connecting (:func:`run_tasks`).
    n_tasks : int
        Tasks to run (fewer tasks than workers run fewer at once).
    settings : Settings, optional
        Where the budget comes from (``memory_budget_gib``).
    worker_memory_bytes : float
        Memory limit of each local worker; 0: the budget divided by ``workers``.
    what : str
        What one task is, for messages.

    Returns
    -------
    float
        The memory limit of each local worker, bytes (the budget when serial).

    Raises
    ------
    ResourceError
    """
    budget = memory_budget_bytes(settings)
    if scheduler:
        return float(budget)
    if workers <= 0:
        check_memory(task_bytes, f"one {what} at a time", "access.resolution_m", settings=settings)
        return float(budget)
    limit = float(worker_memory_bytes) if worker_memory_bytes else budget / workers
    n_par = min(workers, max(n_tasks, 1))
    check_memory(n_par * task_bytes, f"{n_par} {what}s at once ({n_par} worker processes)",
                 "--workers (fewer processes) or access.resolution_m", settings=settings)
    if task_bytes > limit:
        raise ResourceError(f"one {what} needs about {task_bytes / _GIB:.1f} GiB, more than the memory limit of a worker "
                            f"({limit / _GIB:.1f} GiB); use fewer --workers or a coarser access.resolution_m")
    return limit


def _on_local(fn, common, tasks, workers, limit, shared_paths, what, t0):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=int(limit),
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        info = _submit(client, fn, common, tasks, shared_paths, what)
    info.update(engine=engine_label(workers, None), memory_limit_gib=round(limit / _GIB, 2),
                seconds=round(time.perf_counter() - t0, 2))
    return info.pop("results"), info


def _on_existing(fn, common, tasks, scheduler, task_bytes, shared_paths, what, t0):
    from distributed import Client

    try:
        client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise SettingsError(f"--scheduler {scheduler}: cannot connect ({exc}); start it with `dask scheduler` and "
                            "workers with `dask worker " + scheduler + "`, or leave --scheduler out for a local "
                            "cluster") from None
    with client:
        limits = {a: w.get("memory_limit") or 0 for a, w in client.scheduler_info()["workers"].items()}
        if not limits:
            raise SettingsError(f"--scheduler {scheduler}: no workers are connected; start them with "
                                f"`dask worker {scheduler}`")
        small = {a: v for a, v in limits.items() if 0 < v < task_bytes}
        if small:
            a, v = min(small.items())
            raise ResourceError(f"one {what} needs about {task_bytes / _GIB:.1f} GiB; worker {a} has a memory limit of "
                                f"{v / _GIB:.1f} GiB ({len(small)} of {len(limits)} workers too small); start workers "
                                "with a larger --memory-limit or use a coarser access.resolution_m")
        info = _submit(client, fn, common, tasks, shared_paths, what)
    info.update(engine=engine_label(0, scheduler), seconds=round(time.perf_counter() - t0, 2),
                memory_limit_gib={a: round(v / _GIB, 2) for a, v in sorted(limits.items())})
    return info.pop("results"), info


class _Once(logging.Filter):
    """Let each distinct warning through once (every alternative builds its network and repeats the base's)."""

    def __init__(self):
        super().__init__()
        self.seen = set()

    def filter(self, record):
        key = (record.name, record.levelno, record.getMessage())
        if record.levelno < logging.WARNING or key not in self.seen:
            self.seen.add(key)
            return True
        return False


@contextlib.contextmanager
def _warnings_once():
    """While tasks run, the package's repeated warnings are shown once (on the handlers that show them)."""
    handlers = logging.getLogger("twinstar_gis").handlers + logging.getLogger().handlers
    f = _Once()
    for h in handlers:
        h.addFilter(f)
    try:
        yield
    finally:
        for h in handlers:
            h.removeFilter(f)


def _readable(paths) -> list[str]:
    """The paths this process cannot read (run on each worker)."""
    return [str(p) for p in paths if not os.access(p, os.R_OK)]


def _submit(client, fn, common, tasks, shared_paths, what) -> dict:
    import dask
    from distributed import KilledWorker

    paths = [str(Path(p).absolute()) for p in shared_paths]
    if paths:
        missing = {a: m for a, m in client.run(_readable, paths).items() if m}
        if missing:
            a, m = min(missing.items())
            raise SettingsError(f"worker {a} cannot read {m[0]} ({len(missing)} worker(s) affected): the workers must see "
                                "the run folder at the same path; put --out on a file system every worker mounts there")
    client.forward_logging("twinstar_gis", level=logging.WARNING)  # the workers' warnings are shown here
    futures = [client.submit(fn, common, t, pure=False, key=f"{what}-{i}-{time.time_ns()}") for i, t in enumerate(tasks)]
    try:
        results = client.gather(futures)
    except KilledWorker as exc:
        raise ResourceError(f"a worker was stopped while evaluating an {what} ({exc}); it most likely exceeded its "
                            "memory limit: use fewer --workers, a coarser access.resolution_m, or more memory") from None
    return {"results": results, "workers": sorted(client.scheduler_info()["workers"]), "dask_version": dask.__version__}
