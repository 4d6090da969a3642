"""Stands in for ``make`` while Brian2 compiles a project, so that the compile dies with brainlc.

Brian2 runs its make command through ``os.system``. When brainlc is killed (kill -9 too),
that shell, make and the compilers under it (ccache, g++, cc1plus, nvcc) would go on for
as long as the compile takes, and write into a cache folder nobody will use. As
``python compile_guard.py OWNER_PID make ARGS...`` this script starts make in a process
group of its own and kills that whole group as soon as the brainlc process ``OWNER_PID``
is gone (checked every 0.1 s) or this script is told to stop (SIGINT, SIGTERM, SIGHUP;
it then leaves the signal's number in :data:`STOPPED`).
It imports nothing of brainlc, so it starts in a few milliseconds.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

POLL_SECONDS = 0.1
#: Written into make's folder (the project) when a signal stopped the compile: its number.
STOPPED = ".brainlc-stopped"


def command(owner_pid: int, make: str = "make") -> str:
    """The shell command that Brian2 runs instead of ``make`` (its make arguments follow)."""
    return " ".join(shlex.quote(part) for part in (sys.executable, "-I", str(Path(__file__)), str(owner_pid), make))


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, killed but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return state not in ("Z", "X")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def main(argv: list[str]) -> int:
    owner, make = int(argv[0]), argv[1:]
    proc = subprocess.Popen(make, start_new_session=True)

    def stop(signum, _frame) -> None:
        _kill_group(proc.pid)
        with open(STOPPED, "w") as marker:  # in the project folder: brainlc reads why make failed
            marker.write(str(signum))
        os._exit(128 + signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) != signal.SIG_IGN:  # a Dask worker's compile ignores Ctrl-C, as its worker
            signal.signal(signum, stop)
    while True:
        try:
            code = proc.wait(timeout=POLL_SECONDS)
        except subprocess.TimeoutExpired:
            if not alive(owner):
                _kill_group(proc.pid)
                return 1
            continue
        _kill_group(proc.pid)  # a compiler make left behind
        return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
