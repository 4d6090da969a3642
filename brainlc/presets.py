"""Model presets: the networks of the paper's table, one readable TOML file each.

A preset file (``models/NAME.toml``, installed as ``brainlc.models``) has a ``[model]``
table with :class:`~brainlc.config.NetworkConfig` fields, a ``[protocol]`` table with
the default image counts, a ``[paper]`` table with the reported accuracies (percent)
and a ``[provenance]`` table saying where the hyper-parameters come from.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .config import ConfigError, NetworkConfig
from .errors import BrainlcError


class PresetError(BrainlcError, ValueError):
    """An unknown preset or a malformed preset file."""


@dataclass(frozen=True)
class Preset:
    """A named network with its protocol and the paper's numbers."""

    name: str
    config: NetworkConfig
    description: str = ""
    protocol: dict[str, int] = field(default_factory=dict)
    paper: dict[str, float] = field(default_factory=dict)
    provenance: str = ""


def _preset_files() -> dict[str, Path]:
    folder = resources.files("brainlc.models")
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".toml")}


def preset_names() -> list[str]:
    """Names of all installed presets, sorted."""
    return sorted(_preset_files())


def parse_preset(name: str, text: str, source: str = "") -> Preset:
    """Parse the TOML text of a preset; errors name the file and the problem."""
    where = source or name
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"preset file {where} is not valid TOML: {exc}") from exc
    if not isinstance(data.get("model"), dict):
        raise PresetError(f"preset file {where} has no [model] table")
    try:
        config = NetworkConfig.from_dict(data["model"])
    except ConfigError as exc:
        raise PresetError(f"preset file {where}: {exc}") from exc
    protocol = data.get("protocol", {})
    paper = data.get("paper", {})
    if not isinstance(protocol, dict) or not isinstance(paper, dict):
        raise PresetError(f"preset file {where}: [protocol] and [paper] must be tables")
    return Preset(
        name=name,
        config=config,
        description=str(data.get("description", "")),
        protocol=dict(protocol),
        paper=dict(paper),
        provenance=str(data.get("provenance", {}).get("source", "")),
    )


def load_preset(name: str) -> Preset:
    """Load a preset by name (e.g. ``"lc-100-k12"``) or from a path to a TOML file."""
    path = Path(name)
    if name.endswith(".toml") and path.is_file():
        return parse_preset(path.stem, path.read_text(), str(path))
    files = _preset_files()
    if name not in files:
        raise PresetError(f"unknown preset {name!r}; known presets: {', '.join(sorted(files))}")
    return parse_preset(name, files[name].read_text(), str(files[name]))
