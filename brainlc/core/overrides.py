"""Configuration overrides from the command line: ``name=value`` and sweep ranges."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from brainlc.errors import BrainlcError

from .config import NetworkConfig

FIELDS = {f.name: f.type for f in dataclasses.fields(NetworkConfig)}


class OverrideError(BrainlcError, ValueError):
    """A ``name=value`` that names no hyper-parameter or has a value of the wrong type."""


def coerce(name: str, text: str | Any) -> Any:
    """``text`` as the type of configuration field ``name``."""
    if name not in FIELDS:
        raise OverrideError(f"unknown hyper-parameter {name!r}; known: {', '.join(sorted(FIELDS))}")
    kind = str(FIELDS[name])
    if not isinstance(text, str):
        return text
    try:
        if kind.startswith("int"):
            return int(text)
        if kind == "bool":
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return text.lower() in ("true", "1")
        if kind == "str":
            return text
        return float(text)
    except ValueError:
        raise OverrideError(f"{name}={text}: not a valid {kind.split(' ')[0]}") from None


def parse_override(text: str) -> tuple[str, Any]:
    """``"c_w=-80"`` -> ("c_w", -80.0)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise OverrideError(f"{text!r}: expected NAME=VALUE")
    return name.strip(), coerce(name.strip(), value.strip())


def parse_range(text: str) -> tuple[str, list]:
    """A sweep axis: ``name=start:stop:count`` (inclusive, evenly spaced) or ``name=a,b,c``."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not name or not spec:
        raise OverrideError(f"--param {text!r}: expected NAME=START:STOP:COUNT or NAME=A,B,C")
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) != 3:
            raise OverrideError(f"--param {text!r}: a range is START:STOP:COUNT")
        try:
            start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise OverrideError(f"--param {text!r}: START and STOP are numbers, COUNT an integer") from None
        if count < 1:
            raise OverrideError(f"--param {text!r}: COUNT must be at least 1")
        values = [round(float(v), 12) for v in np.linspace(start, stop, count)]
        values = [coerce(name, repr(v) if not str(FIELDS.get(name, "")).startswith("int") else str(int(v)))
                  for v in values]
    else:
        values = [coerce(name, v.strip()) for v in spec.split(",") if v.strip()]
    if not values:
        raise OverrideError(f"--param {text!r}: no values")
    if len(set(values)) != len(values):
        raise OverrideError(f"--param {text!r}: repeated values")
    return name, values


def check_overrides(base: NetworkConfig, overrides: dict[str, Any]) -> NetworkConfig:
    """The configuration with the overrides (checked: a bad value fails here, before work)."""
    from .config import ConfigError

    try:
        return NetworkConfig.from_dict({**base.to_dict(), **overrides})
    except ConfigError as exc:
        if any(str(exc).startswith(f"{name}=") for name in overrides):  # it names the value already
            raise OverrideError(str(exc)) from exc
        raise OverrideError(f"{', '.join(f'{k}={v}' for k, v in overrides.items())}: {exc}") from exc
