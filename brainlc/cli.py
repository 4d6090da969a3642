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
import json
import os
import signal
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

from . import __version__, stopping
from .errors import BrainlcError
from .leftovers import clean_orphan_run_folders, remove_own_run_folders
from .presets import PresetError, load_preset, preset_names
from .protocol import DEFAULT_SIZES, MAX_SEED, SCORE_SPLITS, ProtocolError, check_neurons, check_seed
from .store import SavedNetwork, Store, StoreError

DEVICES = ("cpp", "cuda")  # brainlc.devices.DEVICES, without importing it for --help
#: --score-on of run, sweep and curve: where the --test images come from.
SCORE_ON_ARGS = ("--score-on",)
SCORE_ON_KWARGS = {"default": "test", "choices": list(SCORE_SPLITS),
                   "help": "score the readouts on the test set (the paper's protocol) or on 'validation' "
                           "images: --test held-out calibration images after the --calibrate ones, to "
                           "choose hyper-parameters without looking at the test set"}


def info(preset_name: str) -> dict:
    """A preset's description as a JSON-ready dictionary."""
    preset = load_preset(preset_name)
    cfg = preset.config
    counts = cfg.synapse_counts()  # arithmetic: no index maps, no numpy, a quick answer
    return {
        "preset": preset.name,
        "description": preset.description,
        "architecture": cfg.architecture,
        "channels": cfg.channels,
        "kernel": cfg.kernel,
        "stride": cfg.stride,
        "positions": cfg.conv * cfg.conv,
        "neurons": cfg.n_output,
        "input_neurons": cfg.n_input,
        **counts,
        "competition_trainable": cfg.competition_trainable,
        "config": cfg.to_dict(),
        "protocol": preset.protocol,
        "paper": preset.paper,
        "provenance": preset.provenance,
    }


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


def _percent(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def format_scores(saved: SavedNetwork, paper: dict | None = None) -> str:
    """A table of every readout's test accuracy, beside the paper's numbers."""
    rec = saved.record
    paper = paper or {}
    lines = [f"{'readout':<26}{'accuracy %':>14}   {'paper %':>12}"]
    methods = [m for m in ("patch_voting", "all_voting", "spikes_first") if m in rec["accuracy"]]
    for m in methods:
        lines.append(f"{m:<26}{_percent(rec['accuracy'][m]):>8} ± {_percent(rec['error'][m]):<5}")
    vote_method = rec["scores"]["vote"]["method"]
    rows = [(f"vote ({vote_method})", "vote", "method1"), ("linear", "linear", "method2")]
    for label, key, paper_key in rows:
        ref = (f"{paper[paper_key]:.1f} ± {paper.get(paper_key + '_std', 0):.1f}"
               if paper_key in paper else "")
        lines.append(f"{label:<26}{_percent(rec['accuracy'][key]):>8} ± "
                     f"{_percent(rec['error'][key]):<5}   {ref:>12}")
    t = rec.get("timings", {})

    def ms(v):
        return "-" if v is None else f"{v:.2f} ms/image"

    lines.append(f"compile {t.get('compile_s', 0):.1f} s · training {ms(t.get('train_ms_per_image'))} · "
                 f"evaluation {ms(t.get('eval_ms_per_image'))} · total {t.get('total_s', 0):.1f} s")
    return "\n".join(lines)


@dataclass
class _SavedSummary:
    """What ``show`` prints of a version: read from JSON alone."""

    id: str
    version: int
    preset: str
    seed: int
    record: dict


def _summary_json(saved: SavedNetwork) -> dict:
    rec = saved.record
    return {"id": saved.id, "version": saved.version, "preset": saved.preset,
            "parent": rec.get("parent"), "branch": rec.get("branch", False),
            "accuracy": rec["accuracy"], "error": rec["error"], "timings": rec["timings"]}


def _header(saved: SavedNetwork) -> str:
    rec = saved.record
    lineage = ""
    if rec.get("parent") is not None:
        lineage = f" (from version {rec['parent']}{', a branch' if rec.get('branch') else ''})"
    return (f"{saved.preset}: network {saved.id} version {saved.version}{lineage}, seed {saved.seed}; "
            f"{rec.get('images_trained', 0)} training, {rec.get('calibration_images', 0)} calibration, "
            f"{rec.get('test_images', 0)} test images")


def _paper(preset: str) -> dict:
    try:
        return load_preset(preset).paper
    except PresetError:
        return {}


# ------------------------------------------------------------------ commands
def _settings(settings: list[str]) -> dict:
    """``--set NAME=VALUE`` options as a dict; a name given twice is refused."""
    from .overrides import OverrideError, parse_override

    overrides: dict = {}
    for text in settings:
        name, value = parse_override(text)
        if name in overrides:
            raise OverrideError(f"--set {name} is given twice ({overrides[name]} and {value})")
        overrides[name] = value
    return overrides


def _config_with(preset, settings: list[str], competition: str | None):
    """The preset's configuration with ``--set NAME=VALUE`` and ``--competition`` applied."""
    from .overrides import check_overrides

    overrides = _settings(settings)
    if competition is not None:
        overrides["competition"] = competition
    return check_overrides(preset.config, overrides)


def _warn_unusual(configs) -> None:
    """One warning line for each legal but unusual value of the networks about to be made."""
    for note in dict.fromkeys(note for config in configs for note in config.unusual()):
        print(f"brainlc: warning: {note}; going on", file=sys.stderr)


def cmd_run(args) -> int:
    preset = load_preset(args.preset)
    config = _config_with(preset, args.set, args.competition)
    _warn_unusual([config])
    check_output_path(args.json, (".json",), "--json")
    store = Store(args.store)
    from .experiment import run_new  # checks sizes, seed, store and device before any work

    saved = run_new(preset.name, config, store, seed=args.seed, train=args.train, calibrate=args.calibrate,
                    test=args.test, device=args.device, score_on=args.score_on, replicas=args.replicas,
                    eval_workers=args.eval_workers)
    print(_header(saved))
    if args.score_on == "validation":
        print(f"scored on {args.test} validation images (held-out calibration images), not the test set")
    print(format_scores(saved, preset.paper if args.score_on == "test" else None))
    print(f"saved as {saved.id} in {store.root}")
    if args.json:
        Path(args.json).write_text(json.dumps(_summary_json(saved), indent=2) + "\n")
    return 0


def _mention_recovered(store: Store) -> None:
    """One line on stderr when the store holds results whose save failed (``recovered/``)."""
    from .store import recovered_results

    found = recovered_results(store.root)
    if found:
        count = "1 result whose save failed is" if len(found) == 1 else f"{len(found)} results whose save failed are"
        print(f"brainlc: {count} in {found[0].parent}: add each with 'brainlc import FOLDER' (e.g. {found[0]})",
              file=sys.stderr)


def cmd_list(args) -> int:
    store = Store(args.store)
    ids = store.ids()
    _mention_recovered(store)
    if not ids:
        print(f"no saved networks in {store.root}")
        return 0
    print(f"{'id':<30}{'ver':>4}{'arch':>5}{'ch':>6}{'k':>4}{'mean_w':>8}{'c_w':>9}{'comp':>6}"
          f"{'trained':>9}{'vote %':>9}{'linear %':>10}  saved")
    for network_id in ids:
        try:
            header = store.header(network_id)
            version, r = store.records(network_id)[-1]
            c = header["config"]
            comp = "train" if c.get("competition_trainable") else "fixed"
            accuracy = r.get("accuracy", {})
            line = (f"{network_id:<30}{version:>4}{c['architecture']:>5}{c['channels']:>6}{c['kernel']:>4}"
                    f"{c['mean_weight']:>8.3g}{c['c_w']:>9.4g}{comp:>6}"
                    f"{r.get('images_trained', 0):>9}{_percent(accuracy.get('vote')):>9}"
                    f"{_percent(accuracy.get('linear')):>10}  {r.get('saved', '')}")
        except (StoreError, KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = str(exc) if isinstance(exc, StoreError) else f"malformed entry ({type(exc).__name__}: {exc})"
            line = f"{network_id:<30}  unreadable: {reason}"
        print(line)
    return 0


def cmd_show(args) -> int:
    store = Store(args.store)
    header, version, rec, vdir = store.summary(args.id, args.version)
    network_id = header.get("id") or vdir.parent.name
    theta = rec.get("theta_mV")
    if theta is None:  # saved by brainlc 0.1: read the weights
        state = store.load(network_id, version).state
        theta = {"mean": float(state.theta.mean()), "max": float(state.theta.max())}
    saved = _SavedSummary(id=vdir.parent.name, version=version, preset=header["preset"],
                          seed=header["seed"], record=rec)
    print(_header(saved))
    print(f"versions: {store.versions(saved.id)}; folder {vdir}")
    cfg = header["config"]
    print(f"{cfg.get('architecture')}, {cfg.get('channels')} channels, kernel {cfg.get('kernel')}, "
          f"stride {cfg.get('stride')}, mean_weight {cfg.get('mean_weight')}, c_w {cfg.get('c_w')}, "
          f"trainable competition {cfg.get('competition_trainable', False)}")
    print(f"theta: mean {theta['mean']:.3f} mV, max {theta['max']:.3f} mV")
    if not (vdir / "readout.nc").is_file() or "vote" not in rec.get("scores", {}):
        print(f"readout: none (calibrate it with 'brainlc evaluate {saved.id}')")
    else:
        print(format_scores(saved, _paper(saved.preset)))
        vote = rec["scores"]["vote"]
        per_class = " ".join(f"{k}:{100 * a:.1f}" for k, a in enumerate(vote["per_class_accuracy"]))
        print(f"per-class accuracy of the vote (%): {per_class}")
        print(f"images without any output spike: {vote['no_prediction']} of {vote['n']}")
    print("history:")
    for event in rec.get("history", []):
        print("  " + json.dumps(event))
    return 0


def cmd_delete(args) -> int:
    store = Store(args.store)
    network_id = store.resolve(args.id)
    if not args.yes:
        try:
            interactive = sys.stdin is not None and sys.stdin.isatty()
        except (ValueError, OSError):  # stdin closed
            interactive = False
        if not interactive:
            raise StoreError(f"not deleting {network_id} without confirmation: pass --yes")
        try:
            answer = input(f"delete {network_id} and all its versions? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    store.check_writable()
    store.delete(network_id)
    print(f"deleted {network_id}")
    return 0


def cmd_import(args) -> int:
    store = Store(args.store)
    saved = store.import_recovered(args.folder)
    print(f"imported {args.folder} as {saved.id} version {saved.version} in {store.root}")
    return 0


def cmd_train(args) -> int:
    from .experiment import train_more  # checks sizes, store and device before any work

    saved = train_more(Store(args.store), args.id, args.images, device=args.device, version=args.version,
                       replicas=args.replicas, eval_workers=args.eval_workers)
    print(_header(saved))
    print(format_scores(saved, _paper(saved.preset)))
    return 0


def cmd_evaluate(args) -> int:
    from .experiment import evaluate  # checks sizes, store and device before any work

    saved = evaluate(Store(args.store), args.id, args.calibrate, args.test, device=args.device,
                     version=args.version, replicas=args.replicas, eval_workers=args.eval_workers)
    print(_header(saved))
    print(format_scores(saved, _paper(saved.preset)))
    return 0


def cmd_feed(args) -> int:
    check_seed(args.seed)
    saved = Store(args.store).load(args.id)
    saved.require_readout("classifying an image")  # before reading the image
    from .images import read_digit_image

    image = read_digit_image(args.image)
    from .experiment import predict

    result = predict(saved, image, seed=args.seed)
    print(f"{args.image}: {result['spikes'][0]} output spikes")
    for method in [*saved.voting.methods, "vote", "linear"]:
        label = result[method][0]
        name = f"vote ({saved.voting.method_})" if method == "vote" else method
        print(f"  {name:<26}{'no prediction (no spikes)' if label < 0 else label}")
    return 0


def _recorded_neurons(args, saved: SavedNetwork) -> tuple[int, ...]:
    n = saved.config.n_output
    if args.neurons:
        try:
            neurons = tuple(int(x) for x in args.neurons.split(","))
        except ValueError as exc:
            raise ProtocolError(f"--neurons must be a comma-separated list of integers: {args.neurons!r}") from exc
        check_neurons(neurons, n)
        return neurons
    if not 0 <= args.voltages <= n:
        raise ProtocolError(f"--voltages {args.voltages}: the network has {n} neurons (0..{n})")
    import numpy as np

    # the K neurons with the highest adaptive threshold: the most active in training
    return tuple(sorted(np.argsort(-saved.state.theta, kind="stable")[: args.voltages].tolist()))


def cmd_record(args) -> int:
    check_output_path(args.output, (".nc",), "-o")
    saved = Store(args.store).load(args.id)
    neurons = _recorded_neurons(args, saved)
    if args.images < 1:
        raise ProtocolError(f"--images must be at least 1 (got {args.images})")
    from .protocol import split_indices

    split_indices(args.split, args.images, saved.seed)
    from .experiment import record
    from .recording import write_recording

    ds = record(saved, args.split, args.images, neurons)
    write_recording(ds, args.output)
    print(f"recorded {args.images} {args.split} images of {saved.id} (version {saved.version}), "
          f"voltages of {len(neurons)} neurons, into {args.output}")
    return 0


def cmd_plot(args) -> int:
    from .plots import FIGURE_SUFFIXES, check_kind, make_figure, save_figure

    check_kind(args.kind)
    if not 10 <= args.dpi <= 2400:
        raise ProtocolError(f"--dpi {args.dpi}: must be 10 .. 2400 dots per inch")
    check_output_path(args.output, FIGURE_SUFFIXES, "-o")
    fig = make_figure(args.source, args.kind, Store(args.store), args.image, args.neuron, args.channel)
    save_figure(fig, args.output, dpi=args.dpi)
    print(f"wrote {args.output}")
    return 0


def cmd_info(args) -> int:
    print(json.dumps(info(args.preset), indent=2))
    return 0


def cmd_presets(args) -> int:
    print("\n".join(preset_names()))
    return 0

def _campaign_setup(args, output_files: tuple[str, ...]):
    """Checks shared by reproduce, sweep and curve, before any work: sizes, seeds, the
    output folder and the store. Returns (output folder, store, seeds)."""
    from .protocol import check_sizes

    if args.seeds < 1:
        raise ProtocolError(f"--seeds must be at least 1 (got {args.seeds})")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    check_seed(seeds[0])
    check_seed(seeds[-1])
    check_sizes(getattr(args, "train", 0), args.calibrate, args.test, seeds[0],
                score_on=getattr(args, "score_on", "test"))
    _check_scheduler(args.scheduler)
    from .folders import writable_folder_problem

    out = Path(args.output)
    problem = writable_folder_problem(out)  # creates it
    if problem:
        raise ProtocolError(f"-o {out}: {problem}")
    for name in output_files:
        check_output_path(str(out / name), (Path(name).suffix,), "-o")
    store = Store(args.store if args.store else out / "networks")
    store.check_writable()
    return out, store, seeds


#: Most processes per core that --workers and --eval-workers may start on this machine.
MAX_PROCESSES_PER_CORE = 4


def _check_workers(args) -> None:
    """--workers and --eval-workers: at least 1, at most a few processes per core of this machine."""
    from .engine import default_workers as cores

    most = MAX_PROCESSES_PER_CORE * cores()
    for option, value in (("--workers", getattr(args, "workers", None)),
                          ("--eval-workers", getattr(args, "eval_workers", None))):
        if value is not None and not 1 <= value <= most:
            raise ProtocolError(f"{option} {value}: must be 1 .. {most} ({MAX_PROCESSES_PER_CORE} processes per "
                                f"core of this machine's {cores()})")


def _check_scheduler(address: str | None) -> None:
    """--scheduler: the address of a Dask scheduler (tcp://host:port, host:port, tls://, ...)."""
    if address is None:
        return
    import re

    if not re.fullmatch(r"((tcp|tls|ucx|ws|wss|inproc)://)?[\w.\-\[\]:]+:\d{1,5}(/\S*)?|inproc://\S+", address):
        raise ProtocolError(f"--scheduler {address!r}: not the address of a Dask scheduler, "
                            "such as tcp://host:8786")


def _check_train_together(args, configs) -> None:
    """--train-together R: R networks of the largest shape must fit in memory together."""
    from .memory import check_fits

    together = getattr(args, "train_together", 1)
    if together > 1 and configs:
        synapses = max(sum(c.synapse_counts()[k] for k in ("xy_synapses", "yy_synapses")) for c in configs)
        check_fits(synapses, together, f"--train-together {together}")


def _run_or_report(tasks, store, args):
    """Run the unfinished tasks, or with --report-only none (the results so far)."""
    from .engine import EngineReport, run_tasks
    from .tasks import finished_results, is_finished

    if not args.report_only:
        return run_tasks(tasks, store, args.scheduler, args.workers, echo=_echo, together=args.train_together)
    finished = finished_results(store)
    done = sum(is_finished(t, finished) for t in set(tasks))
    print(f"--report-only: {done} of {len(set(tasks))} tasks finished in {store.root}; running none")
    return EngineReport(total=len(set(tasks)), skipped=done)


def _finish_campaign(report, store: Store) -> int:
    _mention_recovered(store)
    if report.failed:
        print(f"brainlc: {len(report.failed)} task(s) failed (the others' results are saved); "
              "run the same command again to retry them:", file=sys.stderr)
        for task, error in report.failed:
            print(f"  {task.describe()}: {error}", file=sys.stderr)
        return 1
    return 0


def _write_dataset(ds, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    ds.to_netcdf(tmp)
    os.replace(tmp, path)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def cmd_reproduce(args) -> int:
    from .reproduce import collect, table_markdown, table_rows, table_tasks

    rows = table_rows()
    chosen = args.rows or rows
    unknown = [r for r in chosen if r not in rows]
    if unknown:
        raise PresetError(f"--rows: {', '.join(unknown)} not in the paper's table ({', '.join(rows)})")
    repeated = sorted({r for r in chosen if chosen.count(r) > 1})
    if repeated:
        raise PresetError(f"--rows: {', '.join(repeated)} given more than once (each row is one set of networks)")
    out, store, seeds = _campaign_setup(args, ("runs.nc", "table.md"))
    tasks = table_tasks(chosen, seeds, args.train, args.calibrate, args.test, args.device)
    _check_train_together(args, [t.config for t in tasks])

    report = _run_or_report(tasks, store, args)
    ds = collect(tasks, store)
    ds.attrs.update(tasks=len(tasks), tasks_run_by_this_command=len(report.done),
                    wall_s_of_this_command=round(report.seconds, 1), workers=report.workers)
    _write_dataset(ds, out / "runs.nc")
    text = table_markdown(ds, chosen, report.seconds if report.done else None, report.workers)
    _write_text(out / "table.md", text)
    print(text)
    print(f"written: {out / 'table.md'}, {out / 'runs.nc'} (networks in {store.root})")
    return _finish_campaign(report, store)


def cmd_sweep(args) -> int:
    from .overrides import OverrideError, check_overrides, parse_range
    from .sweep import collect_grid, grid_tasks, original_runs, sweep_figure

    preset = load_preset(args.preset)
    axes = dict(parse_range(text) for text in args.param)
    if len(axes) != len(args.param):
        raise OverrideError("--param: a parameter is given twice")
    base = _settings(args.set)
    both = sorted(set(axes) & set(base))
    if both:
        raise OverrideError(f"{', '.join(both)}: both swept (--param) and fixed (--set)")
    configs = [check_overrides(preset.config, base)]
    for name, values in axes.items():  # every value must make a valid network, before any work
        for value in values:
            configs.append(check_overrides(preset.config, {**base, name: value}))
    _warn_unusual(configs)
    readouts = ("vote", "linear")
    csv_path = Path(args.original_runs) if args.original_runs else _original_runs_csv()
    if not csv_path.is_file():
        raise ProtocolError(f"--original-runs {csv_path}: no such file")
    out, store, seeds = _campaign_setup(args, ("sweep.nc", *(f"sweep-{m}.png" for m in readouts)))
    tasks = grid_tasks(preset.name, axes, seeds, args.train, args.calibrate, args.test, base, args.device,
                       args.score_on)
    _check_train_together(args, configs)

    report = _run_or_report(tasks, store, args)
    ds = collect_grid(tasks, axes, seeds, store, readouts)
    _write_dataset(ds, out / "sweep.nc")
    if len(axes) <= 2:
        original = original_runs(csv_path, configs[0], list(axes), args.train)
        from .plots import save_figure

        for m in readouts:
            save_figure(sweep_figure(ds, m, original), out / f"sweep-{m}.png")
    for m in readouts:
        mean = ds[f"accuracy_{m}"].mean("seed", skipna=True)
        if mean.notnull().any():
            best = mean.where(mean == mean.max(), drop=True)
            where = ", ".join(f"{d}={best[d].values[0]}" for d in best.dims)
            print(f"best {m} ({args.score_on}): {float(mean.max()):.2f} % at {where}")
    print(f"written: {out / 'sweep.nc'} and the figures in {out} (networks in {store.root})")
    return _finish_campaign(report, store)


def _original_runs_csv() -> Path:
    """The original's saved runs: ``$BRAINLC_ORIGINAL_RUNS``, else the table packaged with brainlc."""
    env = os.environ.get("BRAINLC_ORIGINAL_RUNS")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ProtocolError(f"BRAINLC_ORIGINAL_RUNS={env}: no such file")
        return path
    from .sweep import packaged_original_runs

    return packaged_original_runs()


def cmd_curve(args) -> int:
    from .curve import collect_curve, curve_figure, curve_tasks
    from .overrides import check_overrides

    preset = load_preset(args.preset)
    if args.every < 1 or args.up_to < args.every or args.up_to % args.every:
        raise ProtocolError(f"--up-to ({args.up_to}) must be a positive multiple of --every ({args.every})")
    base = _settings(args.set)
    _warn_unusual([check_overrides(preset.config, base)])
    args.train = args.up_to
    out, store, seeds = _campaign_setup(args, ("curve.nc", "curve.png"))
    tasks = curve_tasks(preset.name, args.every, args.up_to, seeds, args.calibrate, args.test, base, args.device,
                        args.score_on)

    report = _run_or_report(tasks, store, args)
    ds = collect_curve(tasks, store)
    _write_dataset(ds, out / "curve.nc")
    from .plots import save_figure

    save_figure(curve_figure(ds), out / "curve.png")
    for m in ("vote", "linear"):
        values = ds[f"accuracy_{m}"].mean("seed").values
        print(f"{m}: " + ", ".join(f"{int(i)}: {v:.1f}" for i, v in zip(ds.images.values, values)))
    print(f"written: {out / 'curve.nc'}, {out / 'curve.png'} (networks in {store.root})")
    return _finish_campaign(report, store)


def _echo(line: str) -> None:
    print(line, flush=True)


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the description's layout and shows every option's default (but None)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _at_least_one(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, with a mistake on the command line said in one line (not the usage too)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    from .plots import FIGURES

    parser = _Parser(prog="brainlc", description=__doc__, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"brainlc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--store", default=None, metavar="FOLDER",
                       help="store folder (default: $BRAINLC_HOME, else ./networks)")
    device = argparse.ArgumentParser(add_help=False)
    device.add_argument("--device", default="cpp", choices=list(DEVICES),
                        help="cpp: CPU; cuda: NVIDIA GPU through brian2cuda "
                             "(Python >= 3.12, pip install 'brainlc[cuda]', the CUDA toolkit)")
    evaluation = argparse.ArgumentParser(add_help=False)
    evaluation.add_argument("--replicas", type=_at_least_one, default=None, metavar="R",
                        help="replicas of the network in the evaluation binary, each with its own image "
                             "(default: 1 on the CPU, from the network's size on a GPU)")
    evaluation.add_argument("--eval-workers", type=_at_least_one, default=None, metavar="N",
                        help="evaluation binaries run at once, one process each "
                             "(default: $BRAINLC_EVAL_WORKERS, else one per usable core)")
    version = argparse.ArgumentParser(add_help=False)
    version.add_argument("--version", type=int, default=None,
                         help="start from this version (default: the latest)")
    presets = ", ".join(preset_names())

    def command(name, help, parents=(), func=None):
        p = sub.add_parser(name, parents=list(parents), help=help, description=help, formatter_class=_Formatter)
        p.set_defaults(func=func)
        return p

    p = command("run", "train, calibrate, test and save a new network", [store, device, evaluation], cmd_run)
    p.add_argument("preset", help=f"preset name ({presets}) or a .toml file")
    p.add_argument("--train", type=int, default=DEFAULT_SIZES["train"], metavar="N",
                   help="training images (0: an untrained network)")
    p.add_argument("--calibrate", type=int, default=DEFAULT_SIZES["calibration"], metavar="N",
                   help="calibration images, at least 100")
    p.add_argument("--test", type=int, default=DEFAULT_SIZES["test"], metavar="N", help="test images")
    p.add_argument("--seed", type=int, default=0, help=f"seed of everything random, 0..{MAX_SEED}")
    p.add_argument("--json", default=None, metavar="FILE.json",
                   help="also write the results as JSON to this file (default: none)")
    p.add_argument("--competition", default=None, choices=["patch", "original"],
                   help="trainable competition: patch (Y->Y synapses only between channels at one "
                        "position) or original (all N² Y->Y entries learn; LC masks them after each "
                        "image) (default: the preset's, patch unless it says otherwise)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="change a hyper-parameter of the preset, e.g. --set c_w=-80 (repeatable)")
    p.add_argument(*SCORE_ON_ARGS, **SCORE_ON_KWARGS)

    command("list", "list saved networks", [store], cmd_list)
    p = command("show", "show a saved network", [store], cmd_show)
    p.add_argument("id", help="network id or a unique prefix of one")
    p.add_argument("--version", type=int, default=None, help="version to show (default: the latest)")
    p = command("delete", "delete a saved network and all its versions", [store], cmd_delete)
    p.add_argument("id", help="network id or a unique prefix of one")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p = command("import", "add results that a failed save wrote to a recovery folder", [store], cmd_import)
    p.add_argument("folder", help="the folder that the error message named")
    p = command("train", "continue training on unseen images (saves a new version)",
                [store, device, evaluation, version], cmd_train)
    p.add_argument("id", help="network id or a unique prefix of one")
    p.add_argument("--images", type=int, required=True, metavar="N", help="training images to add, at least 1")
    p = command("evaluate", "recalibrate and retest (saves a new version)", [store, device, evaluation, version],
                cmd_evaluate)
    p.add_argument("id", help="network id or a unique prefix of one")
    p.add_argument("--calibrate", type=int, default=None, metavar="N",
                   help="calibration images, at least 100 (default: as last time)")
    p.add_argument("--test", type=int, default=None, metavar="N", help="test images (default: as last time)")
    p = command("feed", "classify a digit image (PNG, JPEG, ...)", [store], cmd_feed)
    p.add_argument("id", help="network id or a unique prefix of one")
    p.add_argument("image", help="image file of one digit, any size, dark or light background")
    p.add_argument("--seed", type=int, default=0, help=f"seed of the Poisson input, 0..{MAX_SEED}")

    p = command("record", "record a saved network's activity as NetCDF", [store], cmd_record)
    p.add_argument("id", help="network id or a unique prefix of one")
    p.add_argument("--split", default="test", choices=["train", "calibration", "test"],
                   help="images of this split, as the evaluation draws them")
    p.add_argument("--images", type=int, default=100, metavar="N", help="images to record")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--voltages", type=int, default=5, metavar="K",
                       help="record v and theta of the K neurons with the highest theta")
    group.add_argument("--neurons", default=None, metavar="LIST",
                       help="record v and theta of these neurons, e.g. 0,5,17 (default: see --voltages)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.nc", help="the recording to write")
    p = command("plot", "draw a figure from a saved network or a recording", [store], cmd_plot)
    p.add_argument("source", help="a saved network id or a recording FILE.nc")
    p.add_argument("kind", help="; ".join(f"{k}: {v.description}" for k, v in FIGURES.items()))
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="figure file (.png, .pdf, .svg, ...)")
    p.add_argument("--image", type=int, default=0, help="image of the recording")
    p.add_argument("--neuron", type=int, default=None,
                   help="recorded neuron for 'voltage' (default: the first recorded)")
    p.add_argument("--channel", type=int, default=0, help="channel for 'competition-lines'")
    p.add_argument("--dpi", type=int, default=120, help="resolution of raster images")

    campaign = argparse.ArgumentParser(add_help=False)
    campaign.add_argument("-o", "--output", required=True, metavar="DIR",
                          help="folder for the results (NetCDF, Markdown, figures); created if missing")
    campaign.add_argument("--seeds", type=int, default=5, metavar="N", help="seeds per network (see --first-seed)")
    campaign.add_argument("--first-seed", type=int, default=0, metavar="S", help="seeds S .. S+N-1")
    campaign.add_argument("--calibrate", type=int, default=DEFAULT_SIZES["calibration"], metavar="N",
                          help="calibration images, at least 100")
    campaign.add_argument("--test", type=int, default=DEFAULT_SIZES["test"], metavar="N", help="test images")
    campaign.add_argument("--scheduler", default=None, metavar="ADDRESS",
                          help="a running Dask scheduler, e.g. tcp://host:8786 (default: a local cluster "
                               "with one worker per core)")
    campaign.add_argument("--workers", type=int, default=None, metavar="N",
                          help="workers of the local cluster (default: one per core)")
    campaign.add_argument("--train-together", type=_at_least_one, default=1, metavar="R",
                          help="train up to R networks of one shape at once in one simulation (training "
                               "replicas, the same networks; pays on a GPU, not on a CPU)")
    campaign.add_argument("--store", default=None, metavar="FOLDER",
                          help="store of the networks (default: DIR/networks); finished networks are reused")
    campaign.add_argument("--report-only", action="store_true",
                          help="run nothing: write the results of the tasks finished so far (e.g. while "
                               "another process or a cluster runs the rest)")
    scoring = argparse.ArgumentParser(add_help=False)
    scoring.add_argument(*SCORE_ON_ARGS, **SCORE_ON_KWARGS)
    train = argparse.ArgumentParser(add_help=False)
    train.add_argument("--train", type=int, default=DEFAULT_SIZES["train"], metavar="N", help="training images")

    p = command("reproduce", "reproduce the thesis's table (several seeds per row) beside the paper's",
                [campaign, train, device], cmd_reproduce)
    p.add_argument("--rows", nargs="+", default=None, metavar="PRESET",
                   help="only these rows of the table (default: all twelve)")
    p = command("sweep", "grid search over hyper-parameters, with a heatmap per readout",
                [campaign, train, scoring, device], cmd_sweep)
    p.add_argument("preset", help=f"preset name ({presets}) or a .toml file")
    p.add_argument("--param", action="append", required=True, metavar="NAME=START:STOP:COUNT",
                   help="a swept hyper-parameter: evenly spaced values, ends included, or NAME=A,B,C "
                        "(repeatable: the grid is their product)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a fixed change to the preset for every point (repeatable)")
    p.add_argument("--original-runs", default=None, metavar="FILE.csv",
                   help="the original's saved runs to draw beside (default: $BRAINLC_ORIGINAL_RUNS, else "
                        "the table of its 680 saved runs packaged with brainlc)")
    p = command("curve", "accuracy against training images (calibrated and tested at every step)",
                [campaign, scoring, device], cmd_curve)
    p.add_argument("preset", help=f"preset name ({presets}) or a .toml file")
    p.add_argument("--every", type=int, default=250, metavar="N", help="training images between points")
    p.add_argument("--up-to", type=int, default=5000, metavar="N", help="training images of the last point")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a change to the preset (repeatable)")

    p = command("info", "print a preset's network as JSON", (), cmd_info)
    p.add_argument("preset", help=f"preset name ({presets}) or a .toml file")
    command("presets", "list the preset names", (), cmd_presets)
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
            from .compiler import check_cache
            from .data import check_data_dir
            from .replicas import default_workers

            check_cache()  # before MNIST is loaded or a task starts
            if args.command != "feed":
                check_data_dir()
            default_workers()  # $BRAINLC_EVAL_WORKERS
        _check_workers(args)
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
