"""The ``brainlc`` command: run experiments, manage saved networks, inspect presets.

  brainlc run PRESET         train, calibrate, test and save a new network
  brainlc list               saved networks
  brainlc show ID            one saved network in detail
  brainlc train ID --images N   continue training (saves a new version)
  brainlc evaluate ID        recalibrate and retest (saves a new version)
  brainlc feed ID IMAGE.png  classify your own digit image
  brainlc delete ID          remove a saved network
  brainlc import FOLDER      add results that a failed save recovered
  brainlc record ID -o F.nc  record activity (spikes, voltages) as NetCDF
  brainlc plot ID|F.nc KIND -o F.png   draw one of the thesis's figures
  brainlc info PRESET        a preset's network as JSON
  brainlc presets            preset names
  brainlc reproduce -o DIR   the thesis's table: every row, several seeds, on every core
  brainlc sweep PRESET --param NAME=START:STOP:COUNT ... -o DIR   a grid search
  brainlc curve PRESET --every N --up-to M -o DIR   accuracy against training images

reproduce, sweep and curve run their networks as Dask tasks: on this machine's cores by
default, on a Dask cluster with --scheduler ADDRESS; run again, they skip what is done.

Environment: BRAINLC_HOME (store folder), BRAINLC_DATA (MNIST), BRAINLC_CACHE (compiled
networks). Everything that can be checked is checked before any simulation; an error is
one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import os
import signal
import sys
import tempfile
import traceback
from pathlib import Path

from brainlc import __version__, stopping
from brainlc.errors import BrainlcError
from brainlc.leftovers import clean_orphan_run_folders, remove_own_run_folders
from brainlc.storage.store import Store, StoreError

from . import campaigns, inspection, networks
from .common import Formatter, Parser, SharedOptions, check_workers


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="brainlc", description=__doc__, formatter_class=Formatter)
    parser.add_argument("--version", action="version", version=f"brainlc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, help, parents=(), func=None):
        p = sub.add_parser(name, parents=list(parents), help=help, description=help, formatter_class=Formatter)
        p.set_defaults(func=func)
        return p

    shared = SharedOptions.make()
    networks.add_commands(command, shared)
    inspection.add_commands(command, shared)
    campaigns.add_commands(command, shared)
    return parser


#: The commands that may compile a network (and so need a usable compile cache).
COMPILING_COMMANDS = ("run", "train", "evaluate", "feed", "record", "reproduce", "sweep", "curve")


def _crash_report() -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(tempfile.gettempdir()) / f"brainlc-crash-{stamp}-{os.getpid()}.txt"
    path.write_text(f"brainlc {__version__}, argv {sys.argv}\n{traceback.format_exc()}")
    return path


def _show_progress_messages() -> None:
    """brainlc's INFO messages (downloads, compiles, lock waits) as lines on stderr."""
    import logging

    logger = logging.getLogger("brainlc")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("brainlc: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _show_progress_messages()
    clean_orphan_run_folders()
    if hasattr(args, "store"):  # what killed commands left in this store
        with contextlib.suppress(OSError, StoreError):
            Store(args.store).clean_leftovers()
    stopping.reset()
    previous = {sig: signal.signal(sig, stopping.request) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if args.command in COMPILING_COMMANDS and not getattr(args, "report_only", False):
            from brainlc.experiment.mnist import check_data_dir
            from brainlc.sim.compiler import check_cache
            from brainlc.sim.replicas import default_workers

            check_cache()  # before MNIST is loaded or a task starts
            if args.command != "feed":
                check_data_dir()
            default_workers()  # $BRAINLC_EVAL_WORKERS
        check_workers(args)
        return args.func(args)
    except BrainlcError as exc:
        print(f"brainlc: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, stopping.Stopped) and exc.signum == signal.SIGTERM
        word = "terminated" if terminated else "interrupted"
        if args.command in ("reproduce", "sweep", "curve"):
            print(f"brainlc: {word}; the tasks that finished are saved: run the same command again to resume",
                  file=sys.stderr)
        else:
            print(f"brainlc: {word}; nothing was saved for this command", file=sys.stderr)
        return 143 if terminated else 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as exc:  # a file the user named: permissions, disk full, ...
        where = f": {exc.filename}" if exc.filename else ""
        print(f"brainlc: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line, the traceback in a file
        try:
            report = f"; full traceback in {_crash_report()}"
        except OSError:
            report = ""
        print(f"brainlc: internal error: {type(exc).__name__}: {exc}{report}", file=sys.stderr)
        return 1
    finally:
        remove_own_run_folders()  # normally gone already; not when a stop hit their clean-up
        if hasattr(args, "store"):
            Store(args.store).remove_own_staging()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
