"""``brainlc`` campaigns, many networks as Dask tasks: reproduce (the thesis's table), sweep
(a grid search) and curve (accuracy against training images)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from brainlc.core.presets import PresetError, load_preset
from brainlc.experiment.protocol import DEFAULT_SIZES, ProtocolError, check_seed
from brainlc.storage.store import Store

from .common import (
    SCORE_ON_ARGS,
    SCORE_ON_KWARGS,
    SharedOptions,
    at_least_one,
    check_output_path,
    mention_recovered,
    parse_settings,
    warn_unusual,
)


def _campaign_setup(args, output_files: tuple[str, ...]):
    """Checks shared by reproduce, sweep and curve, before any work: sizes, seeds, the
    output folder and the store. Returns (output folder, store, seeds)."""
    from brainlc.experiment.protocol import check_sizes

    if args.seeds < 1:
        raise ProtocolError(f"--seeds must be at least 1 (got {args.seeds})")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    check_seed(seeds[0])
    check_seed(seeds[-1])
    check_sizes(getattr(args, "train", 0), args.calibrate, args.test, seeds[0],
                score_on=getattr(args, "score_on", "test"))
    _check_scheduler(args.scheduler)
    from brainlc.folders import writable_folder_problem

    out = Path(args.output)
    problem = writable_folder_problem(out)  # creates it
    if problem:
        raise ProtocolError(f"-o {out}: {problem}")
    for name in output_files:
        check_output_path(str(out / name), (Path(name).suffix,), "-o")
    store = Store(args.store if args.store else out / "networks")
    store.check_writable()
    return out, store, seeds


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
    from brainlc.sim.memory import check_fits

    together = getattr(args, "train_together", 1)
    if together > 1 and configs:
        synapses = max(sum(c.synapse_counts()[k] for k in ("xy_synapses", "yy_synapses")) for c in configs)
        check_fits(synapses, together, f"--train-together {together}")


def _run_or_report(tasks, store, args):
    """Run the unfinished tasks, or with --report-only none (the results so far)."""
    from brainlc.campaign.engine import EngineReport, run_tasks
    from brainlc.campaign.tasks import finished_results, is_finished

    if not args.report_only:
        return run_tasks(tasks, store, args.scheduler, args.workers, echo=_echo, together=args.train_together)
    finished = finished_results(store)
    done = sum(is_finished(t, finished) for t in set(tasks))
    print(f"--report-only: {done} of {len(set(tasks))} tasks finished in {store.root}; running none")
    return EngineReport(total=len(set(tasks)), skipped=done)


def _finish_campaign(report, store: Store) -> int:
    mention_recovered(store)
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
    from brainlc.campaign.reproduce import collect, table_markdown, table_rows, table_tasks

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
    from brainlc.campaign.sweep import collect_grid, grid_tasks, original_runs, sweep_figure
    from brainlc.core.overrides import OverrideError, check_overrides, parse_range

    preset = load_preset(args.preset)
    axes = dict(parse_range(text) for text in args.param)
    if len(axes) != len(args.param):
        raise OverrideError("--param: a parameter is given twice")
    base = parse_settings(args.set)
    both = sorted(set(axes) & set(base))
    if both:
        raise OverrideError(f"{', '.join(both)}: both swept (--param) and fixed (--set)")
    configs = [check_overrides(preset.config, base)]
    for name, values in axes.items():  # every value must make a valid network, before any work
        for value in values:
            configs.append(check_overrides(preset.config, {**base, name: value}))
    warn_unusual(configs)
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
        from brainlc.analysis.plots import save_figure

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
    from brainlc.campaign.sweep import packaged_original_runs

    return packaged_original_runs()


def cmd_curve(args) -> int:
    from brainlc.campaign.curve import collect_curve, curve_figure, curve_tasks
    from brainlc.core.overrides import check_overrides

    preset = load_preset(args.preset)
    if args.every < 1 or args.up_to < args.every or args.up_to % args.every:
        raise ProtocolError(f"--up-to ({args.up_to}) must be a positive multiple of --every ({args.every})")
    base = parse_settings(args.set)
    warn_unusual([check_overrides(preset.config, base)])
    args.train = args.up_to
    out, store, seeds = _campaign_setup(args, ("curve.nc", "curve.png"))
    tasks = curve_tasks(preset.name, args.every, args.up_to, seeds, args.calibrate, args.test, base, args.device,
                        args.score_on)

    report = _run_or_report(tasks, store, args)
    ds = collect_curve(tasks, store)
    _write_dataset(ds, out / "curve.nc")
    from brainlc.analysis.plots import save_figure

    save_figure(curve_figure(ds), out / "curve.png")
    for m in ("vote", "linear"):
        values = ds[f"accuracy_{m}"].mean("seed").values
        print(f"{m}: " + ", ".join(f"{int(i)}: {v:.1f}" for i, v in zip(ds.images.values, values)))
    print(f"written: {out / 'curve.nc'}, {out / 'curve.png'} (networks in {store.root})")
    return _finish_campaign(report, store)


def _echo(line: str) -> None:
    print(line, flush=True)


def add_commands(command, shared: SharedOptions) -> None:
    """reproduce, sweep and curve, added to the parser through ``command``."""
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
    campaign.add_argument("--train-together", type=at_least_one, default=1, metavar="R",
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
                [campaign, train, shared.device], cmd_reproduce)
    p.add_argument("--rows", nargs="+", default=None, metavar="PRESET",
                   help="only these rows of the table (default: all twelve)")
    p = command("sweep", "grid search over hyper-parameters, with a heatmap per readout",
                [campaign, train, scoring, shared.device], cmd_sweep)
    p.add_argument("preset", help=f"preset name ({shared.presets}) or a .toml file")
    p.add_argument("--param", action="append", required=True, metavar="NAME=START:STOP:COUNT",
                   help="a swept hyper-parameter: evenly spaced values, ends included, or NAME=A,B,C "
                        "(repeatable: the grid is their product)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a fixed change to the preset for every point (repeatable)")
    p.add_argument("--original-runs", default=None, metavar="FILE.csv",
                   help="the original's saved runs to draw beside (default: $BRAINLC_ORIGINAL_RUNS, else "
                        "the table of its 680 saved runs packaged with brainlc)")
    p = command("curve", "accuracy against training images (calibrated and tested at every step)",
                [campaign, scoring, shared.device], cmd_curve)
    p.add_argument("preset", help=f"preset name ({shared.presets}) or a .toml file")
    p.add_argument("--every", type=int, default=250, metavar="N", help="training images between points")
    p.add_argument("--up-to", type=int, default=5000, metavar="N", help="training images of the last point")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a change to the preset (repeatable)")
