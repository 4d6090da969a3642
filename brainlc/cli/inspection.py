"""``brainlc`` commands that look inside: record (a saved network's activity), plot (the
thesis's figures), info (a preset's network) and presets."""

from __future__ import annotations

import json

from brainlc.core.presets import load_preset, preset_names
from brainlc.experiment.protocol import ProtocolError, check_neurons
from brainlc.storage.store import SavedNetwork, Store

from .common import SharedOptions, check_output_path


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
    from brainlc.experiment.protocol import split_indices

    split_indices(args.split, args.images, saved.seed)
    from brainlc.experiment.runs import record
    from brainlc.storage.recording import write_recording

    ds = record(saved, args.split, args.images, neurons)
    write_recording(ds, args.output)
    print(f"recorded {args.images} {args.split} images of {saved.id} (version {saved.version}), "
          f"voltages of {len(neurons)} neurons, into {args.output}")
    return 0


def cmd_plot(args) -> int:
    from brainlc.analysis.plots import FIGURE_SUFFIXES, check_kind, make_figure, save_figure

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


def add_commands(command, shared: SharedOptions) -> None:
    """record, plot, info and presets, added to the parser through ``command``."""
    from brainlc.analysis.plots import FIGURES

    p = command("record", "record a saved network's activity as NetCDF", [shared.store], cmd_record)
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
    p = command("plot", "draw a figure from a saved network or a recording", [shared.store], cmd_plot)
    p.add_argument("source", help="a saved network id or a recording FILE.nc")
    p.add_argument("kind", help="; ".join(f"{k}: {v.description}" for k, v in FIGURES.items()))
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="figure file (.png, .pdf, .svg, ...)")
    p.add_argument("--image", type=int, default=0, help="image of the recording")
    p.add_argument("--neuron", type=int, default=None,
                   help="recorded neuron for 'voltage' (default: the first recorded)")
    p.add_argument("--channel", type=int, default=0, help="channel for 'competition-lines'")
    p.add_argument("--dpi", type=int, default=120, help="resolution of raster images")

    p = command("info", "print a preset's network as JSON", (), cmd_info)
    p.add_argument("preset", help=f"preset name ({shared.presets}) or a .toml file")
    command("presets", "list the preset names", (), cmd_presets)
