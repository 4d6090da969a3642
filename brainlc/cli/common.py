"""What the command groups of ``brainlc`` share: the parsers' look and checks, the
hyper-parameter options, output files checked before any work, and how a saved network's
scores are printed."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from brainlc.core.presets import PresetError, load_preset, preset_names
from brainlc.experiment.protocol import SCORE_SPLITS, ProtocolError
from brainlc.storage.store import SavedNetwork, Store

DEVICES = ("cpp", "cuda")  # brainlc.sim.devices.DEVICES, without importing it for --help

#: --score-on of run, sweep and curve: where the --test images come from.
SCORE_ON_ARGS = ("--score-on",)
SCORE_ON_KWARGS = {"default": "test", "choices": list(SCORE_SPLITS),
                   "help": "score the readouts on the test set (the paper's protocol) or on 'validation' "
                           "images: --test held-out calibration images after the --calibrate ones, to "
                           "choose hyper-parameters without looking at the test set"}


def check_output_path(path: str | None, suffixes: tuple[str, ...], option: str) -> None:
    """Refuse an output file that could not be written, before any work."""
    if path is None:
        return
    target = Path(path)
    if target.suffix.lower() not in suffixes:
        raise ProtocolError(f"{option} {path}: unknown file type {target.suffix or '(none)'!r}; "
                            f"use {', '.join(suffixes)}")
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise ProtocolError(f"{option} {path} is a folder")
    if not folder.is_dir():
        raise ProtocolError(f"{option} {path}: {folder} is not a folder" if folder.exists() else
                            f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise ProtocolError(f"{option} {path}: not writable")


def percent(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def format_scores(saved: SavedNetwork, paper: dict | None = None) -> str:
    """A table of every readout's test accuracy, beside the paper's numbers."""
    rec = saved.record
    paper = paper or {}
    lines = [f"{'readout':<26}{'accuracy %':>14}   {'paper %':>12}"]
    methods = [m for m in ("patch_voting", "all_voting", "spikes_first") if m in rec["accuracy"]]
    for m in methods:
        lines.append(f"{m:<26}{percent(rec['accuracy'][m]):>8} ± {percent(rec['error'][m]):<5}")
    vote_method = rec["scores"]["vote"]["method"]
    rows = [(f"vote ({vote_method})", "vote", "method1"), ("linear", "linear", "method2")]
    for label, key, paper_key in rows:
        ref = (f"{paper[paper_key]:.1f} ± {paper.get(paper_key + '_std', 0):.1f}"
               if paper_key in paper else "")
        lines.append(f"{label:<26}{percent(rec['accuracy'][key]):>8} ± "
                     f"{percent(rec['error'][key]):<5}   {ref:>12}")
    t = rec.get("timings", {})

    def ms(v):
        return "-" if v is None else f"{v:.2f} ms/image"

    lines.append(f"compile {t.get('compile_s', 0):.1f} s · training {ms(t.get('train_ms_per_image'))} · "
                 f"evaluation {ms(t.get('eval_ms_per_image'))} · total {t.get('total_s', 0):.1f} s")
    return "\n".join(lines)


def header_line(saved: SavedNetwork) -> str:
    rec = saved.record
    lineage = ""
    if rec.get("parent") is not None:
        lineage = f" (from version {rec['parent']}{', a branch' if rec.get('branch') else ''})"
    return (f"{saved.preset}: network {saved.id} version {saved.version}{lineage}, seed {saved.seed}; "
            f"{rec.get('images_trained', 0)} training, {rec.get('calibration_images', 0)} calibration, "
            f"{rec.get('test_images', 0)} test images")


def paper_of(preset: str) -> dict:
    try:
        return load_preset(preset).paper
    except PresetError:
        return {}


# ------------------------------------------------------------------ commands
def parse_settings(settings: list[str]) -> dict:
    """``--set NAME=VALUE`` options as a dict; a name given twice is refused."""
    from brainlc.core.overrides import OverrideError, parse_override

    overrides: dict = {}
    for text in settings:
        name, value = parse_override(text)
        if name in overrides:
            raise OverrideError(f"--set {name} is given twice ({overrides[name]} and {value})")
        overrides[name] = value
    return overrides


def config_with(preset, settings: list[str], competition: str | None):
    """The preset's configuration with ``--set NAME=VALUE`` and ``--competition`` applied."""
    from brainlc.core.overrides import check_overrides

    overrides = parse_settings(settings)
    if competition is not None:
        overrides["competition"] = competition
    return check_overrides(preset.config, overrides)


def warn_unusual(configs) -> None:
    """One warning line for each legal but unusual value of the networks about to be made."""
    for note in dict.fromkeys(note for config in configs for note in config.unusual()):
        print(f"brainlc: warning: {note}; going on", file=sys.stderr)


def mention_recovered(store: Store) -> None:
    """One line on stderr when the store holds results whose save failed (``recovered/``)."""
    from brainlc.storage.store import recovered_results

    found = recovered_results(store.root)
    if found:
        count = "1 result whose save failed is" if len(found) == 1 else f"{len(found)} results whose save failed are"
        print(f"brainlc: {count} in {found[0].parent}: add each with 'brainlc import FOLDER' (e.g. {found[0]})",
              file=sys.stderr)


#: Most processes per core that --workers and --eval-workers may start on this machine.
MAX_PROCESSES_PER_CORE = 4


def check_workers(args) -> None:
    """--workers and --eval-workers: at least 1, at most a few processes per core of this machine."""
    from brainlc.campaign.engine import default_workers as cores

    most = MAX_PROCESSES_PER_CORE * cores()
    for option, value in (("--workers", getattr(args, "workers", None)),
                          ("--eval-workers", getattr(args, "eval_workers", None))):
        if value is not None and not 1 <= value <= most:
            raise ProtocolError(f"{option} {value}: must be 1 .. {most} ({MAX_PROCESSES_PER_CORE} processes per "
                                f"core of this machine's {cores()})")


class Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the description's layout and shows every option's default (but None)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def at_least_one(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class Parser(argparse.ArgumentParser):
    """argparse, with a mistake on the command line said in one line (not the usage too)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


@dataclass(frozen=True)
class SharedOptions:
    """Options that several commands take, as argparse parent parsers, and the preset names
    for their help."""

    store: argparse.ArgumentParser
    device: argparse.ArgumentParser
    evaluation: argparse.ArgumentParser
    version: argparse.ArgumentParser
    presets: str

    @classmethod
    def make(cls) -> SharedOptions:
        store = argparse.ArgumentParser(add_help=False)
        store.add_argument("--store", default=None, metavar="FOLDER",
                           help="store folder (default: $BRAINLC_HOME, else ./networks)")
        device = argparse.ArgumentParser(add_help=False)
        device.add_argument("--device", default="cpp", choices=list(DEVICES),
                            help="cpp: CPU; cuda: NVIDIA GPU through brian2cuda "
                                 "(Python >= 3.12, pip install 'brainlc[cuda]', the CUDA toolkit)")
        evaluation = argparse.ArgumentParser(add_help=False)
        evaluation.add_argument("--replicas", type=at_least_one, default=None, metavar="R",
                            help="replicas of the network in the evaluation binary, each with its own image "
                                 "(default: 1 on the CPU, from the network's size on a GPU)")
        evaluation.add_argument("--eval-workers", type=at_least_one, default=None, metavar="N",
                            help="evaluation binaries run at once, one process each "
                                 "(default: $BRAINLC_EVAL_WORKERS, else one per usable core)")
        version = argparse.ArgumentParser(add_help=False)
        version.add_argument("--version", type=int, default=None,
                             help="start from this version (default: the latest)")
        return cls(store=store, device=device, evaluation=evaluation, version=version,
                   presets=", ".join(preset_names()))
