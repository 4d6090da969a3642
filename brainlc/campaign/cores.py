"""The cores that a campaign's running tasks share.

A task trains on one core (one network is one process). Its evaluation can use more: each
evaluation chunk is an independent binary (:mod:`brainlc.sim.replicas`). While a task runs
it is listed in the store's ``.running`` folder, one file per task named by its key and
process id. When it evaluates, it takes the cores that no other listed task is using, so the
last tasks of a campaign, when the others are done, evaluate on every core. A file whose
process is gone (killed) is not counted and is removed.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from brainlc.machine import usable_cores

RUNNING = ".running"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class RunningTask:
    """One task listed as running in ``store_root/.running`` while the ``with`` block runs.

    Calling it gives the cores its evaluation may use: the machine's cores less one for
    each other running task, at least 1.
    """

    def __init__(self, store_root: str | Path, key: str, cores: int | None = None) -> None:
        self.folder = Path(store_root) / RUNNING
        self.path = self.folder / f"{key}.{os.getpid()}"
        self.cores = usable_cores() if cores is None else cores

    def __enter__(self) -> "RunningTask":
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        return self

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()

    def others(self) -> int:
        """Other tasks running now (files of live processes; a dead process's file is removed)."""
        count = 0
        with contextlib.suppress(OSError):
            for entry in self.folder.iterdir():
                if entry == self.path:
                    continue
                pid = entry.name.rpartition(".")[2]
                if pid.isdigit() and _alive(int(pid)):
                    count += 1
                elif pid.isdigit():
                    with contextlib.suppress(OSError):
                        entry.unlink()
        return count

    def __call__(self) -> int:
        return max(1, self.cores - self.others())
