"""Network configuration: every hyper-parameter of one LC, C or FC network.

All quantities follow the original thesis code (danielgafni/Bachelor) and are plain
numbers in fixed units, so that the Brian2 model and the numpy reference compute
with identical constants:

- voltages (``v_rest``, ``v_reset``, ``v_threshold``, ``theta_plus``, weights) in mV,
- times (``tau_*``, ``time_per_image``, ``dt``) in ms, ``refractory`` in time steps,
- ``intensity`` in Hz (the rate of a pixel of value 255).

Competition-plasticity names follow the paper, not the original code, whose names are
swapped (see ``docs/model.md``)::

    paper / brainlc        original code
    a_plus                 A_neg
    a_minus                -A_pos
    tau_plus               tau_pos
    tau_minus              tau_neg

so that for a pair of spikes with ``dt = t_post - t_pre`` the weight change is
``a_plus * exp(-dt / tau_plus)`` for ``dt >= 0`` and ``a_minus * exp(dt / tau_minus)``
for ``dt < 0``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from brainlc.errors import BrainlcError

ARCHITECTURES = ("LC", "C", "FC")

#: Fields that shape the generated code: one compiled project serves every config that
#: agrees on these (and on whether ``weight_decay`` is zero). Every other field is a
#: run-time value: passed to the binary with each run, or used on the host only
#: (``intensity``; ``mean_weight`` and ``c_w`` also set the initial weights).
SHAPE_FIELDS = ("architecture", "channels", "kernel", "stride", "crop", "competition_trainable",
                "competition", "time_per_image", "dt")

#: Trainable-competition modes. ``patch`` (brainlc's choice): Y->Y synapses exist, act and
#: learn only between different channels at one position. ``original``: as the original
#: code, all N² Y->Y entries (self and cross-position pairs too) learn and act within an
#: image, and LC alone masks them back to the same-position pairs after each training
#: image. With fixed competition both modes are the same network.
COMPETITION_MODES = ("patch", "original")

#: Refractory period (time steps) that the original code used by accident of defaults.
DEFAULT_REFRACTORY = {"LC": 2, "C": 5, "FC": 5}


class ConfigError(BrainlcError, ValueError):
    """A network configuration that cannot describe a network."""


@dataclass(frozen=True)
class Bound:
    """The valid range of one numeric hyper-parameter, in its unit, and why.

    ``low`` and ``high`` are included unless ``low_open`` / ``high_open``; NaN is never
    valid, and an infinity only where a bound is that infinity.
    """

    low: float
    high: float
    unit: str
    reason: str
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return bool(above and below)  # False for NaN

    def describe(self) -> str:
        def number(x: float) -> str:
            return {math.inf: "inf", -math.inf: "-inf"}.get(x, f"{x:g}")

        unit = f" {self.unit}" if self.unit else ""
        return (f"{'(' if self.low_open else '['}{number(self.low)}, {number(self.high)}"
                f"{')' if self.high_open else ']'}{unit}")


_TAU = Bound(0.1, 1e12, "ms", "under 0.1 ms a trace decays by e^-10 within one 1 ms step; a finite time constant")
_VOLTAGE = Bound(-1000.0, 1000.0, "mV", "a finite membrane potential within ±1 V")
_LEARNING_RATE = Bound(0.0, 1.0, "mV", "X->Y weights live in [0, 1] mV: a step above 1 crosses the whole range "
                       "in one spike, a negative one inverts the rule")
_COMPETITION_STEP = Bound(-1e3, 1e3, "mV", "a finite competition learning step; beyond ±10³ mV per spike pair one "
                          "pair swamps every input")

#: The valid range of every numeric hyper-parameter (``time_per_image`` and ``refractory``
#: are also bounded by each other, ``kernel`` by ``crop``, and the voltages by the threshold).
VALID_RANGES: dict[str, Bound] = {
    "channels": Bound(1, 100_000, "", "at least one channel"),
    "kernel": Bound(1, 28, "pixels", "a receptive field within the 28 x 28 MNIST image"),
    "stride": Bound(1, 28, "pixels", "a step between receptive fields within the 28 x 28 image"),
    "crop": Bound(1, 28, "pixels", "MNIST images are 28 x 28 pixels"),
    "time_per_image": Bound(1, 100_000, "steps", "at least one 1 ms step per image"),
    "mean_weight": Bound(0.0, 1.0, "mV", "X->Y weights live in [0, 1] mV, so does their mean", low_open=True),
    "c_w": Bound(-1e4, 1e4, "mV", "a finite competition weight; beyond ±10⁴ mV it swamps every other input"),
    "c_w_min": Bound(-math.inf, 1e4, "mV", "a lower clamp of the trained competition weights (-inf: none)"),
    "c_w_max": Bound(-1e4, math.inf, "mV", "an upper clamp of the trained competition weights (inf: none)"),
    "a_plus": _COMPETITION_STEP,
    "a_minus": _COMPETITION_STEP,
    "tau_plus": _TAU,
    "tau_minus": _TAU,
    "weight_decay": Bound(-1e3, 1e3, "mV", "a finite change of every competition weight per learning step"),
    "refractory": Bound(0, 100_000, "steps", "a non-negative number of steps"),
    "intensity": Bound(0.0, 1000.0, "Hz", "a white pixel fires at most once per 1 ms step (probability rate x dt "
                       "<= 1), and at 0 Hz no input reaches the network", low_open=True),
    "tau_membrane": _TAU,
    "v_rest": _VOLTAGE,
    "v_reset": _VOLTAGE,
    "v_threshold": _VOLTAGE,
    "theta_plus": Bound(0.0, 100.0, "mV", "θ grows with each spike (a negative step lowers the threshold without "
                        "end); above 100 mV one spike silences a neuron for good"),
    "tau_theta": Bound(0.1, math.inf, "ms", "under 0.1 ms θ is gone within one step (inf: θ never decays)"),
    "tau_input_trace": _TAU,
    "nu_depression": _LEARNING_RATE,
    "nu_potentiation": _LEARNING_RATE,
}


@dataclass(frozen=True)
class NetworkConfig:
    """Hyper-parameters of one network (units in the module docstring).

    Only ``architecture`` and ``channels`` are required; every other field defaults to
    the original code's default for that architecture.
    """

    architecture: str
    channels: int
    kernel: int = 12
    stride: int = 4
    crop: int = 20
    mean_weight: float = 0.4
    c_w: float = -100.0
    competition_trainable: bool = False
    competition: str = "patch"
    c_w_min: float = -math.inf
    c_w_max: float = 0.0
    a_plus: float = 0.0
    a_minus: float = 0.0
    tau_plus: float = 20.0
    tau_minus: float = 20.0
    weight_decay: float = 0.0
    refractory: int | None = None
    intensity: float = 127.5
    time_per_image: int = 250
    dt: float = 1.0
    tau_membrane: float = 20.0
    v_rest: float = -65.0
    v_reset: float = -65.0
    v_threshold: float = -52.0
    theta_plus: float = 0.05
    tau_theta: float = 1e6
    tau_input_trace: float = 20.0
    nu_depression: float = 1e-4
    nu_potentiation: float = 1e-2

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(
                f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}"
            )
        if self.competition not in COMPETITION_MODES:
            raise ConfigError(f"competition must be one of {COMPETITION_MODES}, got {self.competition!r}")
        if self.architecture == "FC":
            # A fully connected layer is a local connection whose kernel is the image.
            object.__setattr__(self, "kernel", self.crop)
            object.__setattr__(self, "stride", 1)
        if self.refractory is None:
            object.__setattr__(self, "refractory", DEFAULT_REFRACTORY[self.architecture])
        if not isinstance(self.competition_trainable, bool):
            raise ConfigError(f"competition_trainable must be true or false, got {self.competition_trainable!r}")
        for name in ("channels", "kernel", "stride", "crop", "time_per_image", "refractory"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(f"{name} must be an integer, got {value!r}")
        if not isinstance(self.dt, (int, float)) or isinstance(self.dt, bool) or self.dt != 1.0:
            raise ConfigError(f"only dt = 1 ms is supported (the original's time step), got {self.dt!r}")
        for name, bound in VALID_RANGES.items():
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ConfigError(f"{name} must be a number, got {value!r}")
            if not bound.contains(value):
                shown = f"{value:g}" if isinstance(value, float) else str(value)
                raise ConfigError(f"{name}={shown} is outside its valid range {bound.describe()}: {bound.reason}")
        if self.kernel > self.crop:
            raise ConfigError(f"kernel {self.kernel} is larger than the crop {self.crop}")
        if self.refractory > self.time_per_image:
            raise ConfigError(f"refractory={self.refractory} steps is longer than an image "
                              f"(time_per_image={self.time_per_image})")
        for name in ("v_rest", "v_reset"):
            if not getattr(self, name) < self.v_threshold:
                raise ConfigError(f"{name}={getattr(self, name)!r} mV must be below v_threshold={self.v_threshold!r} "
                                  "mV (at or above it a neuron fires at every step)")
        if not self.c_w_min <= self.c_w_max:
            raise ConfigError(f"c_w_min {self.c_w_min} is above c_w_max {self.c_w_max}")

    def unusual(self) -> list[str]:
        """Legal values that change what kind of network this is, one sentence each."""
        notes = []
        if self.c_w > 0:
            notes.append(f"c_w={self.c_w:g} mV > 0 makes the competition excitatory")
        if self.competition_trainable and self.c_w_max > 0:
            notes.append(f"c_w_max={self.c_w_max:g} mV > 0 lets the trained competition become excitatory")
        if self.competition_trainable and self.weight_decay < 0:
            notes.append(f"weight_decay={self.weight_decay:g} < 0 makes the competition weights grow at every step")
        if self.nu_depression == 0 and self.nu_potentiation == 0:
            notes.append("nu_depression = nu_potentiation = 0: the X->Y weights do not learn")
        return notes

    # ----------------------------------------------------------------- derived sizes
    @property
    def conv(self) -> int:
        """Number of receptive-field positions along one side."""
        return (self.crop - self.kernel) // self.stride + 1

    @property
    def n_input(self) -> int:
        """Number of input (X) neurons: the pixels of the cropped image."""
        return self.crop * self.crop

    @property
    def n_output(self) -> int:
        """Number of output (Y) neurons: channels x positions."""
        return self.channels * self.conv * self.conv

    def synapse_counts(self) -> dict[str, int]:
        """X->Y synapses, independent X->Y weights, Y->Y synapses and the paper's parameter
        count, by arithmetic (the index maps of :mod:`brainlc.core.topology` have these sizes)."""
        positions = self.conv * self.conv
        xy = self.channels * positions * self.kernel * self.kernel
        weights = self.channels * self.kernel * self.kernel if self.architecture == "C" else xy
        yy = positions * self.channels * (self.channels - 1)
        yy_synapses = self.n_output**2 if self.all_pairs_compete else yy
        return {"xy_synapses": xy, "xy_weights": weights, "yy_synapses": yy_synapses, "parameters": weights + yy}

    @property
    def all_pairs_compete(self) -> bool:
        """Whether all N² Y->Y entries exist and learn (trainable, original mode)."""
        return self.competition_trainable and self.competition == "original"

    @property
    def normalisation_target(self) -> float:
        """Sum of the afferent X->Y weights of one Y neuron (C: of one kernel), mV."""
        return self.mean_weight * self.kernel * self.kernel

    def shape(self) -> dict[str, Any]:
        """What the generated code depends on (:data:`SHAPE_FIELDS`, and whether the
        competition weights decay); configs with equal shapes share one compiled project."""
        out = {name: getattr(self, name) for name in SHAPE_FIELDS}
        out["weight_decay_on"] = self.competition_trainable and self.weight_decay != 0
        return out

    # ----------------------------------------------------------------- decay factors
    def decay(self, tau: float) -> float:
        """Per-step decay factor exp(-dt/tau) (dimensionless)."""
        return math.exp(-self.dt / tau)

    # ----------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dictionary of every field (``-inf`` as the string ``"-inf"``)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and math.isinf(value):
                value = "-inf" if value < 0 else "inf"
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "NetworkConfig":
        """Build a config from :meth:`to_dict` output (unknown keys are an error)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown configuration keys: {', '.join(unknown)}")
        values = dict(data)
        for name in ("c_w_min", "c_w_max"):
            if isinstance(values.get(name), str):
                values[name] = float(values[name])
        if "architecture" not in values or "channels" not in values:
            raise ConfigError("a configuration needs 'architecture' and 'channels'")
        try:
            return cls(**values)
        except TypeError as exc:  # wrong argument types
            raise ConfigError(str(exc)) from exc

    def replace(self, **changes: Any) -> "NetworkConfig":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def digest(self) -> str:
        """Stable hash of every field (hex)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()
