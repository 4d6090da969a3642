"""The ``brainlc`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .presets import PresetError, load_preset, preset_names
from .topology import build_connectivity


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brainlc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_info = sub.add_parser("info", help="print a preset's network as JSON")
    p_info.add_argument("preset", help=f"preset name ({', '.join(preset_names())}) or a .toml file")
    sub.add_parser("presets", help="list the preset names")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "info":
            print(json.dumps(info(args.preset), indent=2))
        elif args.command == "presets":
            print("\n".join(preset_names()))
    except PresetError as exc:
        print(f"brainlc: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stdout = open(os.devnull, "w")
    return 0
