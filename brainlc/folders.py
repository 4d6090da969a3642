"""Folders that brainlc writes into (compile cache, MNIST), checked before any work."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def writable_folder_problem(root: Path) -> str | None:
    """Why ``root`` cannot be used as a folder to write into (created if missing), or None."""
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return f"{existing} is a file, not a folder"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create it ({exc.strerror or exc})"
    try:  # a real write: permissions, a read-only filesystem, a full disk
        handle, probe = tempfile.mkstemp(prefix=".brainlc-probe-", dir=root)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        return f"not writable ({exc.strerror or exc})"
    return None


def named(root: Path, variable: str, what: str) -> str:
    """How to name ``root`` in a message: by its environment variable when that set it."""
    return f"${variable}={root}" if os.environ.get(variable) and Path(os.environ[variable]) == root else \
        f"{what} {root}"
