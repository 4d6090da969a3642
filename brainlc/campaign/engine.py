"""Fans tasks out on Dask distributed: every core of this machine, or a cluster.

By default an in-process ``LocalCluster`` with one single-threaded worker process per
core (the compiled networks are single-threaded; parallelism comes from processes). With
``scheduler="tcp://host:8786"`` the tasks go to an existing Dask cluster instead, e.g.
one started with ``dask scheduler`` and ``dask worker tcp://host:8786 --nthreads 1``
on each machine, or by ``dask-jobqueue`` on SLURM or PBS. Every worker must see the
same store folder (a shared filesystem) and have brainlc installed.

Tasks whose results are already in the store are skipped; a failed task is reported
with its error and the others go on.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from brainlc.errors import BrainlcError
from brainlc.machine import usable_cores
from brainlc.storage.store import Store

from .tasks import Task, cost, execute, execute_together, finished_results, groups_to_train_together, is_finished


class SchedulerError(BrainlcError, ConnectionError):
    """The Dask scheduler the user named cannot be reached."""


@dataclass
class EngineReport:
    """What one fan-out did."""

    total: int
    skipped: int
    done: list[Task] = field(default_factory=list)
    failed: list[tuple[Task, str]] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0
    dashboard: str | None = None


def default_workers() -> int:
    """One worker per core this process may use."""
    return usable_cores()


def _format_left(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def time_left(cost_left: float, measured: list[tuple[float, float]], workers: int, elapsed: float,
              cost_done: float) -> float:
    """Seconds until the tasks of ``cost_left`` are done, on ``workers`` workers.

    ``measured``: (cost, seconds of its own run) of the tasks this command ran, which give
    one worker's speed; without them, the fan-out's speed so far (``cost_done`` in
    ``elapsed`` seconds). Tasks still running count as not started, so early figures lean
    long, never 3 × long as ``elapsed × cost_left / cost_done`` is when one of two long tasks
    on two workers has just finished.
    """
    cost, seconds = sum(c for c, _ in measured), sum(s for _, s in measured)
    if cost > 0 and seconds > 0:
        return cost_left * seconds / cost / max(1, workers)
    return elapsed * cost_left / cost_done if cost_done else 0.0


def _client(scheduler: str | None, workers: int | None):
    """A Dask client: of the named cluster, or of a new LocalCluster (with the cluster)."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there "
                                 f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    dashboard = ":0" if importlib.util.find_spec("bokeh") else None
    # Dask's own log lines stay out of the user's terminal, ERROR included: a task's failure
    # reaches the user through its future (one FAILED line), and a cluster closed by Ctrl-C or
    # SIGTERM makes its workers log heartbeat errors that would follow the one line that says so.
    with _workers_ignore_ctrl_c():
        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                               dashboard_address=dashboard, silence_logs=logging.CRITICAL)
    return Client(cluster), cluster


@contextlib.contextmanager
def _workers_ignore_ctrl_c():
    """Worker processes started meanwhile ignore SIGINT (they inherit SIG_IGN; Python and
    asyncio then install no handler): Ctrl-C in a terminal reaches every process of its
    group, and this command, not each worker, stops the campaign and closes the cluster,
    in one line instead of each worker's KeyboardInterrupt traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _together(networks: int) -> str:
    """How a task's network was trained, for its line of progress."""
    if networks == 1:
        return ""
    return f", trained with {networks - 1} other{'s' * (networks > 2)} in one simulation"


def run_tasks(tasks: list[Task], store: Store, scheduler: str | None = None, workers: int | None = None,
              echo: Callable[[str], None] = print, function: Callable = execute, together: int = 1,
              group_function: Callable = execute_together) -> EngineReport:
    """Run the tasks not yet finished in the store; returns what was done and what failed.

    ``function(task, store_root)`` runs one task on a worker (default :func:`brainlc.campaign.tasks.execute`).
    ``together``: run tasks of one shape and protocol in groups of up to this many, trained
    at once on one worker (:func:`brainlc.campaign.tasks.groups_to_train_together`, run by
    ``group_function(tasks, store_root)``, default :func:`brainlc.campaign.tasks.execute_together`).
    """
    unique = list(dict.fromkeys(tasks))
    finished = finished_results(store)
    pending = [t for t in unique if not is_finished(t, finished)]
    report = EngineReport(total=len(unique), skipped=len(unique) - len(pending))
    if report.skipped:
        echo(f"{report.skipped} of {len(unique)} tasks already finished in {store.root}: skipped")
    if not pending:
        return report
    store.check_writable()
    # The longest first (cost model: tasks.cost), so that the last tasks to finish are short
    # ones and the campaign's wall time approaches its core time over the workers; a task's
    # evaluation takes the cores no other task uses (campaign.cores.RunningTask). Seeds in order
    # among tasks of one cost.
    costs = {t: cost(t) for t in pending}
    pending.sort(key=lambda t: (-costs[t], t.seed))
    start = time.perf_counter()
    client, cluster = _client(scheduler, workers)
    try:
        report.workers = len(client.nthreads())
        report.dashboard = client.dashboard_link if "dashboard" in client.scheduler_info().get("services", {}) \
            else None
        where = scheduler or "a local cluster"
        echo(f"running {len(pending)} tasks on {where} with {report.workers} worker{'s' * (report.workers != 1)}"
             + (f"; dashboard: {report.dashboard}" if report.dashboard else ""))
        from dask.distributed import as_completed

        root = str(store.root.absolute())
        groups = groups_to_train_together(pending, together)
        futures = {
            (client.submit(function, group[0], root, key=f"brainlc-{group[0].key}", pure=False, retries=0,
                           priority=-rank) if len(group) == 1 else
             client.submit(group_function, group, root, key=f"brainlc-together-{group[0].key}", pure=False,
                           retries=0, priority=-rank)): group
            for rank, group in enumerate(groups)}
        cost_done, measured, n = 0.0, [], 0
        for future in as_completed(futures):
            group = futures[future]
            results = None if future.status == "error" else future.result()
            if results is not None and len(group) == 1:
                results = [results]
            for k, task in enumerate(group):
                n += 1
                result = None if results is None else results[k]
                cost_done += costs[task]
                if result is not None and not result.get("by_another"):
                    measured.append((costs[task], result["seconds"]))
                elapsed = time.perf_counter() - start
                left = time_left(sum(costs.values()) - cost_done, measured, report.workers, elapsed, cost_done)
                progress = f"[{n}/{len(pending)}, about {_format_left(left)} left]" if n < len(pending) else \
                    f"[{n}/{len(pending)}]"
                if result is None:
                    error = future.exception()
                    report.failed.append((task, f"{type(error).__name__}: {error}"))
                    echo(f"{progress} {task.describe()}: FAILED: {type(error).__name__}: {error}")
                else:
                    acc = result["accuracy"]
                    report.done.append(task)
                    by = "finished by another command sharing the store" if result.get("by_another") else \
                        f"{result['seconds']:.0f} s" + _together(result.get("trained_together", 1))
                    echo(f"{progress} {task.describe()}: vote {100 * acc['vote']:.1f} %, linear "
                         f"{100 * acc['linear']:.1f} % ({by}, {result['id']})")
            future.release()
    finally:
        report.seconds = time.perf_counter() - start
        client.close()
        if cluster is not None:
            cluster.close()
    return report
