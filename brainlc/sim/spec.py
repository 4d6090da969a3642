"""What one compiled network is built from: its :class:`BuildSpec` (everything that shapes
the generated code), the run-time hyper-parameters it is given, and the
:class:`NetworkObjects` that the full model (:mod:`brainlc.sim.full_model`) and the
evaluation model (:mod:`brainlc.sim.evaluation_model`) both build."""

from __future__ import annotations

from dataclasses import dataclass

from brainlc.core.config import NetworkConfig

from .devices import DEVICES

INPUT_MODES = ("spikes", "poisson")


@dataclass(frozen=True)
class BuildSpec:
    """What determines the generated code of one compiled network.

    images_per_run : images presented by one invocation of the binary.
    input_mode : ``"spikes"`` (host-made trains) or ``"poisson"`` (drawn in C++).
    record : Y neurons whose v and theta are recorded every step (empty: none).
    record_runtime : ``record`` only gives the number of recording slots; the neurons are
        chosen at run time (``<monitor>._indices``), so any set of that size or smaller
        records without compiling again (C++ device).
    record_input : also record the input (X) spikes.
    device : ``"cpp"`` (Brian2's C++ standalone) or ``"cuda"`` (brian2cuda).
    learning : the full model (learning possible); False: the evaluation model of
        :mod:`brainlc.sim.evaluation_model` (learning off, no learning code at all).
    replicas : copies of the network side by side, each with its own image;
        ``images_per_run`` is then the images per replica. In the full model (training
        replicas) each replica has its own weights, θ, hyper-parameters, key and images.
    profile : time every code object (Brian2's profiling, ``profiling_info.txt``).
    structured : the C++ device's X->Y pathway runs as contiguous blocks
        (:mod:`brainlc.sim.structured_code`) where its index maps are regular; False:
        Brian2's own code everywhere. Both give identical results.
    """

    config: NetworkConfig
    images_per_run: int
    input_mode: str = "poisson"
    record: tuple[int, ...] = ()
    record_input: bool = False
    device: str = "cpp"
    record_runtime: bool = False
    learning: bool = True
    replicas: int = 1
    profile: bool = False
    structured: bool = True

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {self.device!r}")
        if self.input_mode not in INPUT_MODES:
            raise ValueError(f"input_mode must be one of {INPUT_MODES}, got {self.input_mode!r}")
        if self.images_per_run < 1:
            raise ValueError("images_per_run must be at least 1")
        if self.replicas < 1:
            raise ValueError(f"replicas must be at least 1, got {self.replicas}")
        if (not self.learning or self.replicas > 1) and (self.record or self.record_input):
            raise ValueError("replicas and the evaluation model record spike counts only: "
                             "record with learning=True and one replica")
        bad = [r for r in self.record if not 0 <= r < self.config.n_output]
        if bad:
            raise ValueError(f"recorded neurons {bad} are outside 0..{self.config.n_output - 1}")

    def code_shape(self) -> dict:
        """What of this spec shapes the generated code, as JSON values: of its config only the
        shape (:meth:`~brainlc.core.config.NetworkConfig.shape`), the hyper-parameters being
        run-time values."""
        return {"shape": self.config.shape(), "images_per_run": self.images_per_run, "input_mode": self.input_mode,
                "record": list(self.record), "record_input": self.record_input, "record_runtime": self.record_runtime,
                "device": self.device, "learning": self.learning, "replicas": self.replicas, "profile": self.profile,
                "structured": self.structured}

    @property
    def competition_learns(self) -> bool:
        """Whether a run can change the Y->Y weights: the full model with a trainable
        competition. Otherwise nothing writes them (the fixed competition only transmits,
        the evaluation model has no learning code), so the binary need not return them."""
        return self.learning and self.config.competition_trainable


def hyper_parameters(config: NetworkConfig) -> dict[str, float | int]:
    """The run-time hyper-parameters of :mod:`brainlc.sim.equations` for one config (mV, steps)."""
    return {
        "decay_x": config.decay(config.tau_input_trace),
        "decay_v": config.decay(config.tau_membrane),
        "decay_theta": config.decay(config.tau_theta),
        "decay_plus": config.decay(config.tau_plus),
        "decay_minus": config.decay(config.tau_minus),
        "v_rest": config.v_rest,
        "v_reset": config.v_reset,
        "v_threshold": config.v_threshold,
        "theta_plus": config.theta_plus,
        "refractory_steps": config.refractory,
        "nu_depression": config.nu_depression,
        "nu_potentiation": config.nu_potentiation,
        "a_plus": config.a_plus,
        "a_minus": config.a_minus,
        "weight_decay": config.weight_decay,
        "c_w_min": max(config.c_w_min, -1e300),
        "c_w_max": min(config.c_w_max, 1e300),
        "normalisation_target": config.normalisation_target,
    }


def parameter_values(config: NetworkConfig, arguments: dict[str, str]) -> dict[str, float | int]:
    """Value of each run-time argument (``"Group.name"``, as in a manifest) for ``config``."""
    values = hyper_parameters(config)
    return {argument: values[argument.partition(".")[2]] for argument in arguments}


@dataclass
class NetworkObjects:
    """The Brian2 objects of one network, by role.

    ``members`` are the objects of the Brian2 ``Network``, in the order they were created
    (Brian2 keeps that order between objects of the same slot and order, so it is part of
    the exact schedule); ``roles`` names every object (X, Y, XY, YY, spikes, and K, F, KF
    for C, input_spikes and state when recorded); ``inputs`` and ``learning_flag`` are the
    run-time arrays; ``w_xy_owner`` holds the X->Y weights (XY, or K for C); ``duration``
    is the simulated time of one invocation.
    """

    members: list
    roles: dict
    inputs: object
    learning_flag: object
    w_xy_owner: object
    duration: object

    def __getitem__(self, role: str):
        return self.roles[role]

    def __contains__(self, role: str) -> bool:
        return role in self.roles
