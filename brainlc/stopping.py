"""Stopping on SIGINT or SIGTERM, also when the signal lands where Python ignores exceptions.

The CLI's handler records the signal and raises :class:`Stopped` at once. Python drops an
exception raised in some places (an at-fork callback while a subprocess starts, a
destructor), so long-running code also calls :func:`check` at safe points: between two
invocations of the compiled binary, and before a version is renamed into the store.
"""

from __future__ import annotations

import signal

_requested: list[int] = []


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM asked brainlc to stop; temporary files are cleaned up on the way out."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def request(signum: int, frame=None) -> None:
    """Signal handler: remember the request and stop now."""
    _requested.append(signum)
    raise Stopped(signum)


def check() -> None:
    """Raise :class:`Stopped` if a stop was requested (and perhaps swallowed)."""
    if _requested:
        raise Stopped(_requested[0])


def reset() -> None:
    _requested.clear()
