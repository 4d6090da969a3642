"""What interrupted processes leave behind, and its removal by the next process.

A simulation writes the binary's inputs and results into ``<tmp>/brainlc-run-<pid>-*``
(removed when it ends, also on SIGINT and SIGTERM); after kill -9 the folder stays, and
the next brainlc command removes every such folder whose process no longer runs. The
store's staging folders follow the same rule (:meth:`brainlc.storage.store.Store.clean_leftovers`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

#: Prefix of the temporary folders of a running simulation: ``brainlc-run-<pid>-``.
RUN_FOLDER_PREFIX = "brainlc-run-"


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True


def clean_orphan_run_folders(root: str | Path | None = None) -> list[Path]:
    """Remove run folders whose process no longer runs; returns them."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    for path in root.glob(f"{RUN_FOLDER_PREFIX}*"):
        pid = path.name[len(RUN_FOLDER_PREFIX):].split("-")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def remove_own_run_folders(root: str | Path | None = None) -> None:
    """Remove this process's run folders (called when a command ends, however it ends)."""
    root = Path(root or tempfile.gettempdir())
    for path in root.glob(f"{RUN_FOLDER_PREFIX}{os.getpid()}-*"):
        shutil.rmtree(path, ignore_errors=True)
