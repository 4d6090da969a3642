"""The ``brainlc`` command: run experiments, manage saved networks, inspect presets.

  brainlc run PRESET         train, calibrate, test and save a new network
  brainlc list               saved networks
  brainlc show ID            one saved network in detail
  brainlc train ID --images N   continue training (saves a new version)
  brainlc evaluate ID        recalibrate and retest (saves a new version)
  brainlc feed ID IMAGE.png  classify your own digit image
  brainlc delete ID          remove a saved network
  brainlc record ID -o F.nc  record activity (spikes, voltages) as NetCDF
  brainlc plot ID|F.nc KIND -o F.png   draw one of the thesis's figures
  brainlc info PRESET        a preset's network as JSON
  brainlc presets            preset names
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from .config import ConfigError
from .data import MnistError
from .devices import DEVICES, DeviceError
from .presets import PresetError, load_preset, preset_names
from .protocol import DEFAULT_SIZES, ProtocolError
from .store import SavedNetwork, Store, StoreError
from .topology import build_connectivity


class ImageError(ValueError):
    """A user image that cannot be read."""


def info(preset_name: str) -> dict:
    """A preset's description as a JSON-ready dictionary."""
    preset = load_preset(preset_name)
    cfg = preset.config
    conn = build_connectivity(cfg)
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
        "xy_synapses": int(conn.xy_pre.size),
        "xy_weights": conn.n_xy_weights,
        "yy_synapses": int(conn.yy_pre.size),
        "parameters": conn.parameter_count,
        "competition_trainable": cfg.competition_trainable,
        "config": cfg.to_dict(),
        "protocol": preset.protocol,
        "paper": preset.paper,
        "provenance": preset.provenance,
    }


def read_digit_image(path: str | Path) -> np.ndarray:
    """A user's digit image prepared like MNIST: uint8 (1, 28, 28), bright ink on black.

    The image is turned to grey levels and inverted when its border is brighter than
    mid-grey (dark ink on light paper). As MNIST was made: the ink's bounding box is scaled
    to fit a 20 x 20 box (aspect kept) and placed in a 28 x 28 frame with its centre of
    mass at the centre. The usual centre crop and intensity scaling then apply.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            grey = np.asarray(img.convert("L"), dtype=np.float64)
    except (OSError, UnidentifiedImageError) as exc:
        raise ImageError(f"cannot read image {path}: {exc}") from exc
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.mean() > 127.5:
        grey = 255.0 - grey
    ink = grey > 0.2 * grey.max() if grey.max() > 0 else np.zeros_like(grey, dtype=bool)
    if not ink.any():
        raise ImageError(f"image {path} has no visible ink")
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    box = grey[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = 20.0 / max(box.shape)
    size = (max(1, round(box.shape[1] * scale)), max(1, round(box.shape[0] * scale)))
    small = np.asarray(Image.fromarray(box.astype(np.uint8)).resize(size, Image.Resampling.LANCZOS),
                       dtype=np.float64)
    frame = np.zeros((28, 28))
    mass = small.sum()
    cy = (small.sum(axis=1) @ np.arange(small.shape[0])) / mass
    cx = (small.sum(axis=0) @ np.arange(small.shape[1])) / mass
    top = int(np.clip(round(13.5 - cy), 0, 28 - small.shape[0]))
    left = int(np.clip(round(13.5 - cx), 0, 28 - small.shape[1]))
    frame[top : top + small.shape[0], left : left + small.shape[1]] = small
    return np.clip(np.rint(frame), 0, 255).astype(np.uint8)[None]


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


def _summary_json(saved: SavedNetwork) -> dict:
    rec = saved.record
    return {"id": saved.id, "version": saved.version, "preset": saved.preset,
            "accuracy": rec["accuracy"], "error": rec["error"], "timings": rec["timings"]}


def _header(saved: SavedNetwork) -> str:
    rec = saved.record
    return (f"{saved.preset}: network {saved.id} version {saved.version}, seed {saved.seed}; "
            f"{rec['images_trained']} training, {rec['calibration_images']} calibration, "
            f"{rec['test_images']} test images")


def _paper(preset: str) -> dict:
    try:
        return load_preset(preset).paper
    except PresetError:
        return {}


# ------------------------------------------------------------------ commands
def cmd_run(args) -> int:
    from .experiment import run_new

    preset = load_preset(args.preset)
    saved = run_new(preset.name, preset.config, Store(args.store), seed=args.seed,
                    train=args.train, calibrate=args.calibrate, test=args.test, device=args.device)
    print(_header(saved))
    print(format_scores(saved, preset.paper))
    print(f"saved as {saved.id} in {Path(args.store or Store().root)}")
    if args.json:
        Path(args.json).write_text(json.dumps(_summary_json(saved), indent=2) + "\n")
    return 0


def cmd_list(args) -> int:
    store = Store(args.store)
    ids = store.ids()
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
        except (StoreError, KeyError) as exc:
            print(f"{network_id:<30}  unreadable: {exc}")
            continue
        comp = "train" if c.get("competition_trainable") else "fixed"
        print(f"{network_id:<30}{version:>4}{c['architecture']:>5}{c['channels']:>6}{c['kernel']:>4}"
              f"{c['mean_weight']:>8.3g}{c['c_w']:>9.4g}{comp:>6}"
              f"{r.get('images_trained', 0):>9}{_percent(r['accuracy'].get('vote')):>9}"
              f"{_percent(r['accuracy'].get('linear')):>10}  {r.get('saved', '')}")
    return 0


def cmd_show(args) -> int:
    store = Store(args.store)
    saved = store.load(args.id, args.version)
    print(_header(saved))
    print(f"versions: {store.versions(saved.id)}; folder {saved.path}")
    cfg = saved.config
    print(f"{cfg.architecture}, {cfg.channels} channels, kernel {cfg.kernel}, stride {cfg.stride}, "
          f"mean_weight {cfg.mean_weight}, c_w {cfg.c_w}, trainable competition {cfg.competition_trainable}")
    print(f"theta: mean {saved.state.theta.mean():.3f} mV, max {saved.state.theta.max():.3f} mV")
    print(format_scores(saved, _paper(saved.preset)))
    vote = saved.record["scores"]["vote"]
    per_class = " ".join(f"{k}:{100 * a:.1f}" for k, a in enumerate(vote["per_class_accuracy"]))
    print(f"per-class accuracy of the vote (%): {per_class}")
    print(f"images without any output spike: {vote['no_prediction']} of {vote['n']}")
    print("history:")
    for event in saved.record.get("history", []):
        print("  " + json.dumps(event))
    return 0


def cmd_delete(args) -> int:
    store = Store(args.store)
    network_id = store.resolve(args.id)
    if not args.yes:
        if not sys.stdin.isatty():
            raise StoreError(f"not deleting {network_id} without confirmation: pass --yes")
        answer = input(f"delete {network_id} and all its versions? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    store.delete(network_id)
    print(f"deleted {network_id}")
    return 0


def cmd_train(args) -> int:
    from .experiment import train_more

    saved = train_more(Store(args.store), args.id, args.images, device=args.device)
    print(_header(saved))
    print(format_scores(saved, _paper(saved.preset)))
    return 0


def cmd_evaluate(args) -> int:
    from .experiment import evaluate

    saved = evaluate(Store(args.store), args.id, args.calibrate, args.test, device=args.device)
    print(_header(saved))
    print(format_scores(saved, _paper(saved.preset)))
    return 0


def cmd_feed(args) -> int:
    from .experiment import predict

    saved = Store(args.store).load(args.id)
    image = read_digit_image(args.image)
    result = predict(saved, image, seed=args.seed)
    print(f"{args.image}: {result['spikes'][0]} output spikes")
    for method in [*saved.voting.methods, "vote", "linear"]:
        label = result[method][0]
        name = f"vote ({saved.voting.method_})" if method == "vote" else method
        print(f"  {name:<26}{'no prediction (no spikes)' if label < 0 else label}")
    return 0


def cmd_record(args) -> int:
    from .experiment import record
    from .recording import write_recording

    saved = Store(args.store).load(args.id)
    if args.neurons:
        try:
            neurons = tuple(int(n) for n in args.neurons.split(","))
        except ValueError as exc:
            raise ProtocolError(f"--neurons must be a comma-separated list of integers: {args.neurons!r}") from exc
    else:  # the K neurons with the highest adaptive threshold: the most active in training
        neurons = tuple(sorted(np.argsort(-saved.state.theta, kind="stable")[: args.voltages].tolist()))
    try:
        ds = record(saved, args.split, args.images, neurons)
    except ValueError as exc:
        raise ProtocolError(str(exc)) from exc
    write_recording(ds, args.output)
    print(f"recorded {args.images} {args.split} images of {saved.id} (version {saved.version}), "
          f"voltages of {len(neurons)} neurons, into {args.output}")
    return 0


PLOT_KINDS = ("weights-xy", "weights-yy", "competition-hist", "competition-lines", "raster",
              "best-spikes", "best-voters", "voltage", "confusion", "per-class",
              "votes-distribution", "stdp", "learning-curve")
RECORDING_ONLY = {"raster", "best-spikes", "best-voters", "voltage"}


def make_figure(source: str, kind: str, store: Store, image: int = 0, neuron: int | None = None,
                channel: int = 0):
    """A figure of ``kind`` from a saved network id or a recording file."""
    from . import analysis, figures
    from .recording import read_recording, recording_config

    if kind not in PLOT_KINDS:
        raise ProtocolError(f"unknown figure kind {kind!r}; kinds: {', '.join(PLOT_KINDS)}")
    if source.endswith(".nc"):
        ds = read_recording(source)
        config, w_xy, w_yy = recording_config(ds), ds["w_xy"].values, ds["w_yy"].values
        if not 0 <= image < ds.sizes["image"]:
            raise ProtocolError(f"image {image} is not in the recording (0..{ds.sizes['image'] - 1})")
        report = None
        if kind in ("confusion", "per-class", "votes-distribution"):
            report = analysis.scores(ds)
    else:
        saved = store.load(source)
        if kind in RECORDING_ONLY:
            raise ProtocolError(f"figure {kind!r} needs a recording: make one with "
                                f"'brainlc record {saved.id} -o FILE.nc'")
        config, w_xy, w_yy, report = saved.config, saved.state.w_xy, saved.state.w_yy, saved.record["scores"]
    if kind == "weights-xy":
        return figures.weights_xy(config, w_xy)
    if kind == "weights-yy":
        return figures.weights_yy(config, w_yy)
    if kind == "competition-hist":
        return figures.competition_histogram(w_yy)
    if kind == "competition-lines":
        return figures.competition_lines(config, w_xy, w_yy, channel)
    if kind == "raster":
        return figures.raster(ds, image)
    if kind == "best-spikes":
        return figures.best_spiking(ds, image)
    if kind == "best-voters":
        return figures.best_voters(ds, image)
    if kind == "voltage":
        if neuron is None:
            neuron = int(ds["recorded"].values[0]) if "recorded" in ds.coords else 0
        try:
            return figures.neuron_voltage(ds, neuron, image)
        except ValueError as exc:
            raise ProtocolError(str(exc)) from exc
    if kind == "confusion":
        return figures.confusion(report["vote"])
    if kind == "per-class":
        return figures.per_class_accuracy(report["vote"])
    if kind == "votes-distribution":
        return figures.votes_distribution(report["votes_distribution"])
    if kind == "stdp":
        return figures.stdp_window(config)
    # learning curve: one point per saved version
    if source.endswith(".nc"):
        raise ProtocolError("the learning curve needs a saved network id (its versions), not a recording")
    records = [record for _, record in store.records(saved.id)]
    images = [r["images_trained"] for r in records]
    curves = {m: [r["accuracy"][m] for r in records] for m in ("vote", "linear")}
    return figures.learning_curve(images, curves)


def cmd_plot(args) -> int:
    fig = make_figure(args.source, args.kind, Store(args.store), args.image, args.neuron, args.channel)
    import matplotlib.pyplot as plt

    fig.savefig(args.output, dpi=args.dpi, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {args.output}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brainlc", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--store", default=None, help="store folder (default $BRAINLC_HOME or ./networks)")
    device = argparse.ArgumentParser(add_help=False)
    device.add_argument("--device", default="cpp", choices=list(DEVICES),
                        help="cpp: CPU (default); cuda: NVIDIA GPU through brian2cuda "
                             "(Python >= 3.12, pip install 'brainlc[cuda]', the CUDA toolkit)")

    p = sub.add_parser("run", parents=[store, device], help="train, calibrate, test and save a network")
    p.add_argument("preset", help=f"preset name ({', '.join(preset_names())}) or a .toml file")
    p.add_argument("--train", type=int, default=DEFAULT_SIZES["train"])
    p.add_argument("--calibrate", type=int, default=DEFAULT_SIZES["calibration"])
    p.add_argument("--test", type=int, default=DEFAULT_SIZES["test"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="also write the results as JSON to this file")
    p.set_defaults(func=cmd_run)

    sub.add_parser("list", parents=[store], help="list saved networks").set_defaults(func=cmd_list)
    p = sub.add_parser("show", parents=[store], help="show a saved network")
    p.add_argument("id")
    p.add_argument("--version", type=int, default=None)
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("delete", parents=[store], help="delete a saved network")
    p.add_argument("id")
    p.add_argument("--yes", action="store_true", help="do not ask")
    p.set_defaults(func=cmd_delete)
    p = sub.add_parser("train", parents=[store, device], help="continue training (new version)")
    p.add_argument("id")
    p.add_argument("--images", type=int, required=True)
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("evaluate", parents=[store, device], help="recalibrate and retest (new version)")
    p.add_argument("id")
    p.add_argument("--calibrate", type=int, default=None)
    p.add_argument("--test", type=int, default=None)
    p.set_defaults(func=cmd_evaluate)
    p = sub.add_parser("feed", parents=[store], help="classify a digit image (PNG, JPEG, ...)")
    p.add_argument("id")
    p.add_argument("image")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_feed)

    p = sub.add_parser("record", parents=[store], help="record a saved network's activity as NetCDF")
    p.add_argument("id")
    p.add_argument("--split", default="test", choices=["train", "calibration", "test"])
    p.add_argument("--images", type=int, default=100)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--voltages", type=int, default=5,
                       help="record v and theta of the K neurons with the highest theta (default 5)")
    group.add_argument("--neurons", default=None, help="record v and theta of these neurons, e.g. 0,5,17")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_record)
    p = sub.add_parser("plot", parents=[store], help="draw a figure from a saved network or a recording")
    p.add_argument("source", help="a saved network id or a recording FILE.nc")
    p.add_argument("kind", help=", ".join(PLOT_KINDS))
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--image", type=int, default=0, help="image of the recording (default 0)")
    p.add_argument("--neuron", type=int, default=None, help="recorded neuron for 'voltage'")
    p.add_argument("--channel", type=int, default=0, help="channel for 'competition-lines'")
    p.add_argument("--dpi", type=int, default=120)
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("info", help="print a preset's network as JSON")
    p.add_argument("preset", help=f"preset name ({', '.join(preset_names())}) or a .toml file")
    p.set_defaults(func=lambda a: print(json.dumps(info(a.preset), indent=2)) or 0)
    sub.add_parser("presets", help="list the preset names").set_defaults(
        func=lambda a: print("\n".join(preset_names())) or 0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .recording import RecordingError

    try:
        return args.func(args)
    except (PresetError, StoreError, ProtocolError, DeviceError, MnistError, ImageError,
            ConfigError, RecordingError) as exc:
        print(f"brainlc: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("brainlc: interrupted; nothing was saved for this command", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stdout = open(os.devnull, "w")
        return 0
