"""Model presets: the networks of the paper's table, one readable TOML file each.

A preset file (``models/NAME.toml``, installed as ``brainlc.models``) has a ``[model]``
table with :class:`~brainlc.core.config.NetworkConfig` fields, a ``[protocol]`` table with
the default image counts, a ``[paper]`` table with the reported accuracies (percent)
and a ``[provenance]`` table saying where the hyper-parameters come from.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from brainlc.errors import BrainlcError

from .config import ConfigError, NetworkConfig


class PresetError(BrainlcError, ValueError):
    """An unknown preset or a malformed preset file."""


#: The image counts a preset's ``[protocol]`` table may give.
PROTOCOL_KEYS = ("train_images", "calibration_images", "test_images")


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
    for key, value in protocol.items():
        if key not in PROTOCOL_KEYS:
            raise PresetError(f"preset file {where}: [protocol] {key} is not one of {', '.join(PROTOCOL_KEYS)}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise PresetError(f"preset file {where}: [protocol] {key} = {value!r} is not a number of images")
    for key, value in paper.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not (0 <= value <= 100 or key == "row" and value >= 0):
            raise PresetError(f"preset file {where}: [paper] {key} = {value!r} is not an accuracy in percent "
                              "(a number from 0 to 100)")
    provenance = data.get("provenance", {})
    if not isinstance(provenance, dict):
        raise PresetError(f"preset file {where}: [provenance] must be a table")
    return Preset(
        name=name,
        config=config,
        description=str(data.get("description", "")),
        protocol=dict(protocol),
        paper=dict(paper),
        provenance=str(provenance.get("source", "")),
    )


def load_preset(name: str) -> Preset:
    """Load a preset by name (e.g. ``"lc-100-k12"``) or from a path to a TOML file."""
    path = Path(name)
    if name.endswith(".toml"):
        if not path.is_file():
            raise PresetError(f"preset file {name}: no such file" if not path.exists() else
                              f"preset file {name} is not a file")
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PresetError(f"preset file {name} is not UTF-8 text (byte {exc.start}); "
                              "save it as UTF-8") from None
        except OSError as exc:
            raise PresetError(f"preset file {name}: {exc.strerror or exc}") from None
        return parse_preset(path.stem, text, str(path))
    files = _preset_files()
    if name not in files:
        raise PresetError(f"unknown preset {name!r}; known presets: {', '.join(sorted(files))}")
    return parse_preset(name, files[name].read_text(), str(files[name]))
