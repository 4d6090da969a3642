"""Training replicas: R networks of one shape, each with its own weights, θ, run-time
hyper-parameters, seed and images, trained at once in one compiled simulation.

:class:`ReplicaTrainer` compiles the full model (:mod:`brainlc.sim.full_model`) with
``replicas=R``: neuron ``r * n + k`` of a group is neuron ``k`` of network ``r``, and every
run-time hyper-parameter is one value per element, so each replica runs its own config.
Each replica trains exactly as it would alone: same spikes, same weights
(``tests/test_training_replicas.py``). Poisson input is keyed per replica by its own seed
and image numbers (:mod:`brainlc.sim.image_random`), as in a network of its own.

On a CPU this is slower than training the networks one after the other: Brian2 replicates
every synapse array, and R networks walk R times the memory in every step
(``benchmarks/speed.json``). It is meant for a GPU, where one network is launch-bound.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from brainlc import stopping
from brainlc.core.config import NetworkConfig
from brainlc.core.encoding import spike_probabilities
from brainlc.core.state import NetworkState
from brainlc.core.topology import build_connectivity
from brainlc.leftovers import RUN_FOLDER_PREFIX, clean_orphan_run_folders

from .compiler import compile_project
from .memory import check_fits
from .simulation import RunResult, check_key, checked_input, invoke_binary
from .spec import BuildSpec, parameter_values
from .spike_lists import image_order, spike_counts


class ReplicaTrainer:
    """``replicas`` networks of ``config``'s shape in one compiled simulation.

    Parameters
    ----------
    config : any config of the shape (the replicas' own configs are given to :meth:`run`).
    replicas : networks simulated at once.
    images_per_run : images per network per invocation of the binary.
    input_mode : ``"poisson"`` or ``"spikes"`` (host-made trains).
    device : ``"cpp"`` or ``"cuda"``.
    structured : structured X->Y propagation where it applies (False: Brian2's own code).
    """

    def __init__(self, config: NetworkConfig, replicas: int, images_per_run: int = 100, input_mode: str = "poisson",
                 cache_dir: str | Path | None = None, device: str = "cpp", structured: bool = True) -> None:
        if replicas < 1:
            raise ValueError(f"replicas must be at least 1, got {replicas}")
        self.config = config
        self.replicas = int(replicas)
        self.images_per_run = int(images_per_run)
        self.input_mode = input_mode
        self.cache_dir = cache_dir
        self.device = device
        self.structured = structured
        self.connectivity_ = build_connectivity(config)
        check_fits(self.connectivity_.xy_pre.size + self.connectivity_.yy_pre.size, self.replicas,
                   f"{self.replicas} networks trained together")

    @property
    def spec(self) -> BuildSpec:
        return BuildSpec(self.config, self.images_per_run, self.input_mode, device=self.device,
                         replicas=self.replicas, structured=self.structured)

    def compile(self) -> "ReplicaTrainer":
        """Compile (or find in the cache); sets ``project_``, ``manifest_``, ``compile_seconds_``."""
        root = Path(self.cache_dir) if self.cache_dir is not None else None
        self.project_, self.manifest_, self.compile_seconds_ = compile_project(self.spec, root, self.connectivity_)
        return self

    # ------------------------------------------------------------------ run
    def run(self, states: Sequence[NetworkState], configs: Sequence[NetworkConfig], *, learning: bool,
            spikes: Sequence[np.ndarray] | None = None, rates: Sequence[np.ndarray] | None = None,
            seeds: Sequence[int] = (), first_images: Sequence[int] | None = None) -> list[RunResult]:
        """Present each replica its own images; returns one result per replica.

        ``states``, ``configs``, ``seeds`` and ``spikes`` or ``rates``: one per replica, every
        replica the same number of images; ``seeds`` key the Poisson draws and
        ``first_images`` (default 0) number the replicas' first images, as ``seed`` and the
        image's position do in :meth:`brainlc.sim.simulation.CompiledNetwork.run`.
        """
        if not hasattr(self, "manifest_"):
            self.compile()
        r = self.replicas
        images = spikes if self.input_mode == "spikes" else rates
        first_images = [0] * r if first_images is None else list(first_images)
        self._check(states, configs, seeds, first_images, images)
        data = [checked_input(c, self.input_mode, s if self.input_mode == "spikes" else None,
                              x if self.input_mode == "poisson" else None)
                for c, s, x in zip(configs, images, images)]
        if self.input_mode == "poisson":
            data = [spike_probabilities(d, c) for d, c in zip(data, configs)]
        n_images = len(data[0])
        current = [s.copy() for s in states]
        parts: list[list[RunResult]] = [[] for _ in range(r)]
        clean_orphan_run_folders()
        with tempfile.TemporaryDirectory(prefix=f"{RUN_FOLDER_PREFIX}{os.getpid()}-") as tmp:
            for start in range(0, n_images, self.images_per_run):
                stopping.check()
                chunk = [d[start:start + self.images_per_run] for d in data]
                results = self._run_chunk(Path(tmp), current, configs, chunk, learning, seeds,
                                          [f + start for f in first_images])
                for k, result in enumerate(results):
                    result.spike_image += start
                    parts[k].append(result)
                    current[k] = result.state
        return [_concatenate(p, state, self.config, n_images) for p, state in zip(parts, current)]

    def _check(self, states, configs, seeds, first_images, images) -> None:
        r = self.replicas
        for name, values in (("states", states), ("configs", configs), ("seeds", seeds),
                             ("first_images", first_images), ("images", images)):
            if values is None or len(values) != r:
                raise ValueError(f"{name}: one per replica ({r}) needed, got {0 if values is None else len(values)}")
        shape = self.config.shape()
        for k, (state, config) in enumerate(zip(states, configs)):
            if config.shape() != shape:
                raise ValueError(f"replica {k}: its config's shape {config.shape()} is not the compiled {shape}")
            state.check(config, self.connectivity_)
        if len({len(x) for x in images}) != 1:
            raise ValueError("every replica needs the same number of images")
        for seed in seeds:
            check_key(seed)

    def _parameters(self, configs: Sequence[NetworkConfig], seeds, first_images) -> dict[str, np.ndarray]:
        """Each run-time value as one entry per element of its group, replica by replica."""
        conn, cfg = self.connectivity_, self.config
        per_replica = {"X": cfg.n_input, "Y": cfg.n_output, "F": cfg.channels,
                       "XY": conn.xy_pre.size, "YY": conn.yy_pre.size}
        names = self.manifest_["parameters"]
        if self.replicas == 1:  # compiled as one network: its hyper-parameters and key are shared
            out = parameter_values(configs[0], names)
            if self.input_mode == "poisson":
                out.update({"X.rng_key": float(seeds[0]), "X.first_image": float(first_images[0])})
            return out
        values = [parameter_values(c, names) for c in configs]
        out = {name: np.repeat([v[name] for v in values], per_replica[name.partition(".")[0]]) for name in names}
        if self.input_mode == "poisson":
            out["X.rng_key"] = np.repeat(np.asarray(seeds, dtype=np.float64), cfg.n_input)
            out["X.first_image"] = np.repeat(np.asarray(first_images, dtype=np.float64), cfg.n_input)
        return out

    def _input_values(self, chunk: list[np.ndarray]) -> np.ndarray:
        cfg, n_img = self.config, self.images_per_run
        n_in, steps = cfg.n_input, cfg.time_per_image
        if self.input_mode == "spikes":
            values = np.zeros((n_img * steps + 1, self.replicas, n_in))
            for k, spikes in enumerate(chunk):
                values[: len(spikes) * steps, k] = spikes.reshape(-1, n_in)
            return values.reshape(n_img * steps + 1, -1)
        values = np.zeros((n_img + 1, self.replicas, n_in))
        for k, probabilities in enumerate(chunk):
            values[: len(probabilities), k] = probabilities
        return values.reshape(n_img + 1, -1)

    def _run_chunk(self, tmp: Path, states: list[NetworkState], configs, chunk: list[np.ndarray], learning: bool,
                   seeds, first_images) -> list[RunResult]:
        cfg, r = self.config, self.replicas
        n_real = len(chunk[0])
        flags = np.zeros(self.images_per_run + 1)
        flags[:n_real] = 1.0 if learning else 0.0
        arrays = {"w_xy": np.concatenate([s.w_xy for s in states]),
                  "w_yy": np.concatenate([s.w_yy for s in states]),
                  "theta": np.concatenate([s.theta for s in states]),
                  "learning_flag": flags, "input": self._input_values(chunk)}
        binary = invoke_binary(self.project_, self.manifest_, tmp, arrays,
                               self._parameters(configs, seeds, first_images), {})
        try:
            learned = binary.images_learned(n_real if learning else 0, self.project_)
            w_xy = np.split(binary.read("w_xy"), r)
            w_yy = (np.split(binary.read("w_yy"), r) if binary.returns("w_yy") and states[0].w_yy.size
                    else [s.w_yy.copy() for s in states])
            theta = np.split(binary.read("theta"), r)
            steps, n_out = cfg.time_per_image, cfg.n_output
            step = np.rint(binary.read("spike_t") / (cfg.dt * 1e-3)).astype(np.int64)
            index = binary.read("spike_i").astype(np.int64)
            results = []
            for k in range(r):
                mine = (index // n_out == k) & (step // steps < n_real)
                image, neuron, at = step[mine] // steps, index[mine] % n_out, step[mine] % steps
                order = image_order(step[mine], index[mine], image, at, neuron)
                image, at, neuron = image[order], at[order], neuron[order]
                counts = spike_counts(image, neuron, n_real, n_out)
                results.append(RunResult(NetworkState(w_xy[k], w_yy[k], theta[k]), counts, image, at, neuron,
                                         seconds=binary.seconds, images_learned=learned))
            return results
        finally:
            binary.clean()


def _concatenate(parts: list[RunResult], state: NetworkState, cfg: NetworkConfig, n_images: int) -> RunResult:
    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts]) if parts else np.zeros(0, dtype=np.int64)

    counts = np.concatenate([p.spike_counts for p in parts]) if parts else np.zeros((0, cfg.n_output), np.int32)
    return RunResult(state=state, spike_counts=counts, spike_image=cat("spike_image"), spike_step=cat("spike_step"),
                     spike_neuron=cat("spike_neuron"), seconds=sum(p.seconds for p in parts),
                     images_learned=sum(p.images_learned for p in parts),
                     extra={"time_per_image": cfg.time_per_image, "n_images": n_images})
