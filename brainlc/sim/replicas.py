"""Evaluation with replicas: many images at once, learning off, on one or several cores.

:class:`ReplicaEvaluator` compiles the evaluation model (:mod:`brainlc.sim.evaluation_model`)
with ``R`` replicas of a network and presents calibration or test images ``R`` at a time.
Its chunks of images are independent (the weights do not change), so they run as
separate invocations of the binary, ``workers`` of them at once (one process each).
Poisson input is keyed by image number (:mod:`brainlc.sim.image_random`): the spike counts do
not depend on ``R``, on the chunking or on the number of workers.
"""

from __future__ import annotations

import concurrent.futures
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from brainlc import stopping
from brainlc.core.config import NetworkConfig
from brainlc.core.encoding import spike_probabilities
from brainlc.core.state import NetworkState
from brainlc.core.topology import Connectivity, build_connectivity
from brainlc.errors import BrainlcError
from brainlc.leftovers import RUN_FOLDER_PREFIX, clean_orphan_run_folders
from brainlc.machine import usable_cores

from .compiler import compile_project
from .memory import check_fits
from .simulation import (
    BinaryRun,
    RunResult,
    check_key,
    checked_input,
    invoke_binary,
    summed_profile,
    to_model_order,
    xy_order,
)
from .spec import BuildSpec, parameter_values
from .spike_lists import image_order, spike_counts

#: Synapses (X->Y and Y->Y, all replicas together) that one GPU evaluation binary holds at
#: most when R is chosen automatically, and the most replicas chosen.
AUTO_SYNAPSES = {"cpp": 0, "cuda": 64_000_000}
MAX_AUTO_REPLICAS = {"cpp": 1, "cuda": 1024}
#: Images that one invocation presents (all replicas together), about: small enough that the
#: chunks of a calibration or test set share out evenly between worker processes.
IMAGES_PER_INVOCATION = {"cpp": 250, "cuda": 8192}


def default_replicas(config: NetworkConfig, device: str = "cpp", conn: Connectivity | None = None) -> int:
    """Replicas chosen from the device and the network's size: a power of two.

    CPU: 1. Brian2 gives every replica its own copy of every synapse, so R replicas walk R
    times the memory in each step; measured on one core (``scripts/benchmark.py``), that
    cost more than the per-step work it shares, at every size tried. GPU: as many as fit
    in :data:`AUTO_SYNAPSES` synapses, at most 1024 (one image at a time, a GPU is bound
    by kernel launches).
    """
    conn = build_connectivity(config) if conn is None else conn
    synapses = int(conn.xy_pre.size + conn.yy_pre.size)
    replicas = 1
    while replicas < MAX_AUTO_REPLICAS[device] and 2 * replicas * synapses <= AUTO_SYNAPSES[device]:
        replicas *= 2
    return replicas


class ReplicaError(BrainlcError, ValueError):
    """An evaluation that cannot be set up as asked (workers, replicas)."""


def default_workers() -> int:
    """Worker processes of one evaluation: ``$BRAINLC_EVAL_WORKERS``, else the usable cores."""
    env = os.environ.get("BRAINLC_EVAL_WORKERS")
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ReplicaError(f"BRAINLC_EVAL_WORKERS={env!r} must be a whole number >= 1")
        return int(env)
    return usable_cores()


class ReplicaEvaluator:
    """``replicas`` copies of one network, learning off, compiled once.

    Parameters
    ----------
    config : the network.
    replicas : copies simulated side by side (None: :func:`default_replicas`).
    images_per_run : images per replica per invocation (None: about
        :data:`IMAGES_PER_INVOCATION` images in all).
    input_mode : ``"poisson"`` (drawn in the binary, keyed by image) or ``"spikes"``.
    workers : invocations of the binary that run at once (None: :func:`default_workers` on
        the CPU, 1 on a GPU).
    device : ``"cpp"`` or ``"cuda"``.
    profile : compile with Brian2's profiling (seconds per code object in ``extra``).
    structured : structured X->Y propagation where it applies (False: Brian2's own code).
    """

    def __init__(self, config: NetworkConfig, replicas: int | None = None, images_per_run: int | None = None,
                 input_mode: str = "poisson", workers: int | None = None, cache_dir: str | Path | None = None,
                 device: str = "cpp", profile: bool = False, structured: bool = True) -> None:
        self.config = config
        self.structured = structured
        self.connectivity_ = build_connectivity(config)
        self.replicas = default_replicas(config, device, self.connectivity_) if replicas is None else int(replicas)
        if self.replicas < 1:
            raise ValueError(f"replicas must be at least 1, got {replicas}")
        check_fits(self.connectivity_.xy_pre.size + self.connectivity_.yy_pre.size, self.replicas,
                   f"--replicas {self.replicas}")
        if images_per_run is None:
            images_per_run = max(1, IMAGES_PER_INVOCATION[device] // self.replicas)
        self.images_per_run = int(images_per_run)
        self.input_mode = input_mode
        # a GPU runs one binary at a time: its replicas already fill it
        self.workers = (default_workers() if device == "cpp" else 1) if workers is None else int(workers)
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.cache_dir = cache_dir
        self.device = device
        self.profile = profile

    @property
    def spec(self) -> BuildSpec:
        return BuildSpec(self.config, self.images_per_run, self.input_mode, device=self.device, learning=False,
                         replicas=self.replicas, profile=self.profile, structured=self.structured)

    @property
    def images_per_invocation(self) -> int:
        return self.replicas * self.images_per_run

    def compile(self) -> "ReplicaEvaluator":
        """Compile (or find in the cache); sets ``project_``, ``manifest_``, ``compile_seconds_``."""
        root = Path(self.cache_dir) if self.cache_dir is not None else None
        self.project_, self.manifest_, self.compile_seconds_ = compile_project(self.spec, root, self.connectivity_)
        return self

    # ------------------------------------------------------------------ run
    def run(self, state: NetworkState, *, spikes: np.ndarray | None = None, rates: np.ndarray | None = None,
            seed: int = 0, progress: Callable[[int], None] | None = None) -> RunResult:
        """Present images with learning off; returns the Y activity (``state`` unchanged).

        ``spikes`` (bool, (image, step, input)) or ``rates`` (Hz, (image, input)) as for
        :meth:`brainlc.sim.simulation.CompiledNetwork.run`; ``seed`` (0..2**32-1) keys the
        Poisson draws of image ``j`` of this call, whichever replica or process draws them.
        """
        if not hasattr(self, "manifest_"):
            self.compile()
        cfg = self.config
        state.check(cfg, self.connectivity_)
        check_key(seed)
        data = checked_input(cfg, self.input_mode, spikes, rates)
        if self.input_mode == "poisson":
            data = spike_probabilities(data, cfg)
        size = self.images_per_invocation
        starts = list(range(0, len(data), size))
        parts: dict[int, RunResult] = {}
        clean_orphan_run_folders()
        with tempfile.TemporaryDirectory(prefix=f"{RUN_FOLDER_PREFIX}{os.getpid()}-") as tmp:
            written = self._write_state(Path(tmp), state)
            parameters = parameter_values(cfg, self.manifest_["parameters"])
            if self.input_mode == "poisson":
                parameters = {**parameters, "X.rng_key": float(seed)}

            def one(start: int) -> RunResult:
                stopping.check()
                chunk = data[start:start + size]
                return self._run_chunk(Path(tmp) / f"chunk-{start}", written, parameters, chunk, start)

            with concurrent.futures.ThreadPoolExecutor(max_workers=min(self.workers, max(1, len(starts)))) as pool:
                futures = {pool.submit(one, start): start for start in starts}
                try:
                    for future in concurrent.futures.as_completed(futures):
                        parts[futures[future]] = future.result()
                        if progress is not None:
                            progress(len(parts[futures[future]].spike_counts))
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
        return _concatenate([parts[start] for start in starts], state, cfg, len(data))

    def _write_state(self, folder: Path, state: NetworkState) -> dict[str, Path]:
        """The replicated weights and θ, written once for every chunk (the X->Y weights in the
        compiled model's synapse order)."""
        r = self.replicas
        shared_kernel = self.connectivity_.xy_kernel is not None
        order = xy_order(self.project_, self.manifest_)
        w_xy = state.w_xy if shared_kernel else np.tile(state.w_xy, r)
        arrays = {"w_xy": w_xy if order is None else to_model_order(w_xy, order),
                  "w_yy": np.tile(state.w_yy, r), "theta": np.tile(state.theta, r)}
        written = {}
        for key, values in arrays.items():
            if values.size:
                written[key] = folder / f"{key}.dat"
                np.ascontiguousarray(values, dtype=np.float64).tofile(written[key])
        return written

    def _input_values(self, chunk: np.ndarray) -> np.ndarray:
        """The input TimedArray's values: image ``j`` in replica ``j % R``, slot ``j // R``."""
        cfg, r, slots = self.config, self.replicas, self.images_per_run
        n_in = cfg.n_input
        if self.input_mode == "spikes":
            steps = cfg.time_per_image
            values = np.zeros((slots, steps, r, n_in))
            j = np.arange(len(chunk))
            values[j // r, :, j % r, :] = chunk
            return np.concatenate([values.reshape(slots * steps, r * n_in), np.zeros((1, r * n_in))])
        values = np.zeros((slots + 1, r, n_in))
        j = np.arange(len(chunk))
        values[j // r, j % r, :] = chunk
        return values.reshape(slots + 1, r * n_in)

    def _run_chunk(self, folder: Path, written: dict[str, Path], parameters: dict, chunk: np.ndarray,
                   first_image: int) -> RunResult:
        cfg, r = self.config, self.replicas
        if self.input_mode == "poisson":
            parameters = {**parameters, "X.first_image": float(first_image)}
        binary = invoke_binary(self.project_, self.manifest_, folder, {"input": self._input_values(chunk)},
                               parameters, {}, written)
        try:
            return _activity(binary, cfg, r, len(chunk))
        finally:
            binary.clean()


def _activity(binary: BinaryRun, cfg: NetworkConfig, replicas: int, n_images: int) -> RunResult:
    """Spike lists and counts of the images of one invocation, by image of the chunk."""
    steps, n_out = cfg.time_per_image, cfg.n_output
    monitor_step = np.rint(binary.read("spike_t") / (cfg.dt * 1e-3)).astype(np.int64)
    index = binary.read("spike_i").astype(np.int64)
    image = (monitor_step // steps) * replicas + index // n_out
    step, neuron = monitor_step % steps, index % n_out
    keep = image < n_images
    image, step, neuron = image[keep], step[keep], neuron[keep]
    order = image_order(monitor_step[keep], index[keep], image, step, neuron)
    image, step, neuron = image[order], step[order], neuron[order]
    counts = spike_counts(image, neuron, n_images, n_out)
    return RunResult(NetworkState(np.zeros(0), np.zeros(0), np.zeros(0)), counts, image, step, neuron,
                     seconds=binary.seconds, extra={"profile": binary.profile()})


def _concatenate(parts: list[RunResult], state: NetworkState, cfg: NetworkConfig, n_images: int) -> RunResult:
    offsets = np.cumsum([0] + [len(p.spike_counts) for p in parts])

    def cat(name: str, shift: bool = False) -> np.ndarray:
        arrays = [getattr(p, name) + (offset if shift else 0) for p, offset in zip(parts, offsets)]
        return np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)

    counts = np.concatenate([p.spike_counts for p in parts]) if parts else np.zeros((0, cfg.n_output), np.int32)
    return RunResult(state=state.copy(), spike_counts=counts, spike_image=cat("spike_image", shift=True),
                     spike_step=cat("spike_step"), spike_neuron=cat("spike_neuron"),
                     seconds=sum(p.seconds for p in parts),
                     extra={"time_per_image": cfg.time_per_image, "n_images": n_images,
                            "profile": summed_profile(p.extra.get("profile", {}) for p in parts)})
