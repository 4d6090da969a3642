"""Running a compiled network: many phases, one binary, never recompiled.

:class:`CompiledNetwork` compiles once per network shape (see :mod:`brainlc.sim.compiler`)
and then presents any number of images, with learning on or off, from any weights and
thresholds, by invoking the binary with Brian2's run arguments (``name=file`` on its
command line). One invocation presents ``images_per_run`` images; longer phases are cut
into such chunks with the state carried over, and the last chunk is padded with blank
images that have learning off, which change nothing.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
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

from .compiler import compile_project
from .generated_code import PARENT_PID_VARIABLE
from .spec import BuildSpec, parameter_values
from .spike_lists import image_order, spike_counts


@dataclass
class RunResult:
    """What one phase produced.

    state : weights and theta after the phase.
    spike_counts : int32 (image, neuron), Y spikes per image.
    spike_image, spike_step, spike_neuron : int arrays, one entry per Y spike,
        sorted by time, then neuron (step within its image, 0..time_per_image-1).
    voltages, thetas : float (image, step, recorded neuron) in mV, or None.
    input_counts : int32 (image, input neuron) input spikes per image, or None.
    seconds : wall-clock seconds spent in the binary.
    images_learned : images the simulation itself counted as presented with learning on
        (the full model's ``images_learned``; 0 for the evaluation model).
    """

    state: NetworkState
    spike_counts: np.ndarray
    spike_image: np.ndarray
    spike_step: np.ndarray
    spike_neuron: np.ndarray
    voltages: np.ndarray | None = None
    thetas: np.ndarray | None = None
    input_counts: np.ndarray | None = None
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)
    images_learned: int = 0

    def spike_raster(self) -> np.ndarray:
        """Bool array (image, step, neuron) of Y spikes."""
        n_images, n_out = self.spike_counts.shape
        steps = int(self.extra["time_per_image"])
        raster = np.zeros((n_images, steps, n_out), dtype=bool)
        raster[self.spike_image, self.spike_step, self.spike_neuron] = True
        return raster


#: Recording slots compiled into a C++ binary: any set of up to this many neurons (or of
#: up to the next multiple of it) is recorded by the same binary.
RECORD_SLOTS = 32


def record_slots(n_recorded: int, n_neurons: int) -> int:
    """Slots compiled for recording ``n_recorded`` of ``n_neurons`` neurons."""
    return min(n_neurons, max(RECORD_SLOTS, -(-n_recorded // RECORD_SLOTS) * RECORD_SLOTS))


def _load_prctl():
    """libc's prctl, looked up here in the parent: a forked child must not import."""
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: the binary ends when its images are done
        return None


_PRCTL = _load_prctl()


def _die_with_parent() -> None:
    """In the binary's process: be killed with brainlc, also by kill -9 (Linux)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class BinaryError(BrainlcError, RuntimeError):
    """The compiled binary failed."""


@dataclass
class BinaryRun:
    """What one invocation of a compiled binary left: its result files and its duration."""

    manifest: dict
    results: Path
    seconds: float
    xy_order: np.ndarray | None = None

    def returns(self, key: str) -> bool:
        """Whether the binary returns the output ``key`` (the weights of a fixed competition,
        and the evaluation model's weights and θ, it does not: a run cannot change them)."""
        return key in self.manifest["outputs"]

    def read(self, key: str) -> np.ndarray:
        """The output ``key`` of the manifest (empty if Brian2 wrote no file for it); X->Y
        weights in the topology's synapse order."""
        out = self.manifest["outputs"][key]
        path = self.results / out["file"]
        if not path.exists():  # Brian2 writes no file for an empty dynamic array
            return np.zeros(0, dtype=out["dtype"])
        values = np.fromfile(path, dtype=out["dtype"])
        if key == "w_xy" and self.xy_order is not None:
            return from_model_order(values, self.xy_order)
        return values

    def images_learned(self, expected: int, project: Path) -> int:
        """The images the binary counted with learning on, checked to be ``expected``."""
        counted = images_learned(self.read("images_learned"))
        check_images_learned(counted, expected, project)
        return counted

    def profile(self) -> dict[str, float]:
        """Seconds spent in each code object (a binary compiled with profiling), else {}."""
        path = self.results / "profiling_info.txt"
        if not path.exists():
            return {}
        times: dict[str, float] = {}
        for line in path.read_text().splitlines():
            name, _, value = line.partition("\t")
            if value.strip():  # Brian2 numbers a second object of one name: XY_pre_codeobject_1
                name = re.sub(r"(codeobject|push_spikes)_\d+$", r"\1", name.strip())
                times[name] = times.get(name, 0.0) + float(value)
        return times

    def clean(self) -> None:
        for path in self.results.iterdir():
            path.unlink()


def xy_order(project: Path, manifest: dict) -> np.ndarray | None:
    """The compiled model's order of the X->Y weights (:data:`brainlc.sim.compiler.XY_ORDER`):
    of its synapses, or of a convolution's kernel elements; None where it is the topology's."""
    name = manifest.get("xy_order")
    return None if not name else np.fromfile(project / name, dtype=np.int32)


def to_model_order(weights: np.ndarray, order: np.ndarray) -> np.ndarray:
    """X->Y weights of one or more replicas (replica after replica) in the compiled model's order."""
    return np.asarray(weights).reshape(-1, order.size)[:, order].ravel()


def from_model_order(weights: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The inverse of :func:`to_model_order`: the topology's order."""
    out = np.empty(np.asarray(weights).size, dtype=np.asarray(weights).dtype)
    out.reshape(-1, order.size)[:, order] = np.asarray(weights).reshape(-1, order.size)
    return out


def exact_argument(value, dtype: str) -> str | None:
    """One run-time value as a command-line argument that the binary reads back exactly, or
    None (several values, or one that must go through a file). Brian2 reads an argument that
    starts with a digit or ``-`` with ``atof`` (C's ``strtod``), which takes a hexadecimal
    float (``float.hex``) to the same bits: no decimal round trip, and no file to write, open
    and remove at each invocation."""
    array = np.asarray(value)
    if array.size != 1:
        return None
    kind = np.dtype(dtype)
    if kind == np.float64 and np.isfinite(array):
        return float(array.reshape(-1)[0]).hex()
    if kind == np.int32:
        return str(int(array.reshape(-1)[0]))
    return None


def invoke_binary(project: Path, manifest: dict, folder: Path, arrays: dict[str, np.ndarray],
                  parameters: dict[str, float | int], env: dict[str, str],
                  written: dict[str, Path] | None = None) -> BinaryRun:
    """Run a compiled project's binary once, its results in ``folder/results``.

    ``arrays``: run-time inputs by manifest key (written to ``folder`` as float64, int32
    for ``record_indices``; empty arrays are left out; X->Y weights in the topology's
    order); ``written``: inputs already in files (manifest key -> path; X->Y weights
    already in the compiled model's order, :func:`to_model_order`); ``parameters``:
    run-time hyper-parameters (command-line name -> value: one value as an exact argument,
    :func:`exact_argument`, several in a file with the manifest's dtype; no decimal round
    trip either way); ``env``: added to the binary's environment.
    """
    folder.mkdir(parents=True, exist_ok=True)
    args = [f"{manifest['inputs'][key]}={path}" for key, path in (written or {}).items()]
    order = xy_order(project, manifest)
    for key, values in arrays.items():
        if values.size == 0:
            continue
        if key == "w_xy" and order is not None:
            values = to_model_order(values, order)
        path = folder / f"{key}.dat"
        dtype = np.int32 if key == "record_indices" else np.float64
        np.ascontiguousarray(values, dtype=dtype).tofile(path)
        args.append(f"{manifest['inputs'][key]}={path}")
    dtypes = {**manifest["parameters"], **manifest.get("keys", {})}
    for name, value in parameters.items():
        exact = exact_argument(value, dtypes[name])
        if exact is not None:
            args.append(f"{name}={exact}")
            continue
        path = folder / f"{name}.dat"
        np.asarray(value, dtype=dtypes[name]).reshape(-1).tofile(path)  # one value per element
        args.append(f"{name}={path}")
    results = folder / "results"
    results.mkdir(exist_ok=True)
    command = [str(project / manifest["binary"]), "--results_dir", f"{results}/", *args]
    # a binary that ends with its parent by itself (generated_code.die_with_parent) lets
    # Python start it with vfork; preexec_fn makes Python fork, copying its page tables
    dies_with_parent = manifest.get("dies_with_parent", False)
    env = {**env, PARENT_PID_VARIABLE: str(os.getpid())} if dies_with_parent else env
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, cwd=project, env=dict(os.environ, **env), capture_output=True,
                              text=True, errors="replace", preexec_fn=None if dies_with_parent else _die_with_parent)
    except OSError as exc:  # e.g. a damaged binary: "Exec format error"
        raise BinaryError(f"the compiled network in {project} could not start: {exc.strerror or exc}; "
                          "delete that folder and it is compiled again") from None
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip()[-2000:]
        if proc.returncode < 0:
            name = signal.Signals(-proc.returncode).name if -proc.returncode in signal.valid_signals() else "?"
            said = said or f"killed by {name}; its compiled project may be damaged"
        raise BinaryError(f"the compiled network in {project} failed (exit {proc.returncode}): "
                          f"{said or 'it printed nothing'}")
    unread = unread_inputs(proc.stderr)
    if unread:  # Brian2 leaves such a variable at its initial value and exits 0
        raise BinaryError(f"the compiled network in {project} did not take its input: {unread[0]}")
    return BinaryRun(manifest, results, seconds, order)


#: What Brian2's standalone binary prints when it cannot set a variable from its command line.
_UNREAD_INPUT = re.compile(r"^(Error reading '.*|Could not read '.*|.*does not match expected size.*)$", re.M)


def unread_inputs(stderr: str) -> list[str]:
    """The lines of a binary's stderr that say a command-line input was not read."""
    return [m.group(0).strip() for m in _UNREAD_INPUT.finditer(stderr or "")]


def images_learned(counts: np.ndarray) -> int:
    """The images a binary counted with learning on, from its per-neuron counts: -1 when they
    disagree or are missing (a damaged run)."""
    if counts.size == 0 or not np.all(counts == counts[0]):
        return -1
    return int(round(float(counts[0])))


def check_images_learned(counted: int, expected: int, project: Path) -> None:
    """Raise unless the simulation counted ``expected`` learning images (its own proof that it trained)."""
    if counted != expected:
        raise BinaryError(f"the compiled network in {project} counted {counted} images with learning on, "
                          f"where {expected} were given; nothing of this run is used")


def summed_profile(profiles) -> dict[str, float]:
    """Seconds per code object, summed over several invocations."""
    total: dict[str, float] = {}
    for profile in profiles:
        for name, seconds in profile.items():
            total[name] = total.get(name, 0.0) + seconds
    return total


def check_key(seed: int) -> None:
    """Raise ValueError unless ``seed`` can key the Poisson draws (brainlc.sim.image_random)."""
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be in 0..2**32-1, got {seed}")


def checked_input(config: NetworkConfig, input_mode: str, spikes: np.ndarray | None,
                  rates: np.ndarray | None) -> np.ndarray:
    """The images of a run, checked against the network: bool spike trains (image, step,
    input) for input mode "spikes", else float rates in Hz (image, input)."""
    if input_mode == "spikes":
        if spikes is None or rates is not None:
            raise ValueError("this network was compiled for host spike trains: pass spikes=")
        spikes = np.asarray(spikes, dtype=bool)
        expected = (config.time_per_image, config.n_input)
        if spikes.ndim != 3 or spikes.shape[1:] != expected:
            raise ValueError(f"spikes have shape {spikes.shape}, expected (images, {expected[0]}, {expected[1]})")
        return spikes
    if rates is None or spikes is not None:
        raise ValueError("this network was compiled for Poisson input: pass rates=")
    rates = np.asarray(rates, dtype=np.float64)
    if rates.ndim != 2 or rates.shape[1] != config.n_input:
        raise ValueError(f"rates have shape {rates.shape}, expected (images, {config.n_input})")
    return rates


class CompiledNetwork:
    """One network shape compiled with a Brian2 standalone device (C++ or CUDA).

    Parameters
    ----------
    config : the network.
    images_per_run : images per invocation of the binary (a compile-time size).
    input_mode : ``"poisson"`` (spikes drawn in C++ from pixel rates) or ``"spikes"``
        (host-made spike trains, as the parity tests use).
    record : Y neuron indices whose v and theta are recorded every step.
    record_input : also count the input spikes of every image.
    cache_dir : folder of compiled projects (default :func:`brainlc.sim.compiler.cache_root`).
    device : ``"cpp"`` (CPU, Brian2's C++ standalone) or ``"cuda"`` (GPU, brian2cuda;
        see :mod:`brainlc.sim.devices`).
    profile : compile with Brian2's profiling: seconds per code object in the result's
        ``extra["profile"]``.
    structured : structured X->Y propagation where it applies (:mod:`brainlc.sim.structured_code`);
        False: Brian2's own code (identical results, slower).
    """

    def __init__(self, config: NetworkConfig, images_per_run: int = 100,
                 input_mode: str = "poisson", record: tuple[int, ...] | list[int] = (),
                 record_input: bool = False, cache_dir: str | Path | None = None,
                 device: str = "cpp", profile: bool = False, structured: bool = True) -> None:
        self.config = config
        self.images_per_run = images_per_run
        self.structured = structured
        self.input_mode = input_mode
        self.record = tuple(int(r) for r in record)
        self.record_input = record_input
        self.cache_dir = cache_dir
        self.device = device
        self.profile = profile

    # ------------------------------------------------------------------ compile
    @property
    def spec(self) -> BuildSpec:
        if self.record and self.device == "cpp":  # neurons chosen at run time, in fixed slots
            slots = record_slots(len(self.record), self.config.n_output)
            return BuildSpec(self.config, self.images_per_run, self.input_mode, tuple(range(slots)),
                             self.record_input, self.device, record_runtime=True, profile=self.profile,
                             structured=self.structured)
        return BuildSpec(self.config, self.images_per_run, self.input_mode, self.record,
                         self.record_input, self.device, profile=self.profile, structured=self.structured)

    def compile(self) -> "CompiledNetwork":
        """Compile (or find in the cache); sets ``project_``, ``compile_seconds_``."""
        root = Path(self.cache_dir) if self.cache_dir is not None else None
        self.connectivity_: Connectivity = build_connectivity(self.config)
        self.project_, self.manifest_, self.compile_seconds_ = compile_project(self.spec, root, self.connectivity_)
        return self

    def _ensure_compiled(self) -> None:
        if not hasattr(self, "manifest_"):
            self.compile()

    # ------------------------------------------------------------------ run
    def run(self, state: NetworkState, *, learning: bool, spikes: np.ndarray | None = None,
            rates: np.ndarray | None = None, seed: int = 0,
            progress: Callable[[int], None] | None = None, first_image: int = 0) -> RunResult:
        """Present images; returns the new state and the Y activity.

        Give either ``spikes`` (bool, (image, step, input neuron); input mode
        "spikes") or ``rates`` (Hz, (image, input neuron); input mode "poisson").
        ``seed`` (0..2**32-1) keys the Bernoulli draws: image ``j`` of this call gets the
        input spikes of :func:`brainlc.sim.image_random.input_spikes` (seed, first_image + j),
        in any chunk. ``progress`` is
        called with the number of images done after each invocation of the binary.
        """
        self._ensure_compiled()
        cfg = self.config
        state.check(cfg, self.connectivity_)
        check_key(seed)
        data = checked_input(cfg, self.input_mode, spikes, rates)
        spikes, rates = (data, None) if self.input_mode == "spikes" else (None, data)
        n_images = len(data)
        current = state.copy()
        parts: list[RunResult] = []
        clean_orphan_run_folders()
        with tempfile.TemporaryDirectory(prefix=f"{RUN_FOLDER_PREFIX}{os.getpid()}-") as tmp:
            written = {}
            if "w_yy" not in self.manifest_["outputs"] and state.w_yy.size:
                # a run cannot change these weights: written once for every chunk (72 MB for lc-1000-k12)
                written["w_yy"] = Path(tmp) / "w_yy-of-every-chunk.dat"
                np.ascontiguousarray(state.w_yy, dtype=np.float64).tofile(written["w_yy"])
            for start in range(0, n_images, self.images_per_run):
                stop = min(start + self.images_per_run, n_images)
                data = spikes[start:stop] if spikes is not None else rates[start:stop]
                stopping.check()
                part = self._run_chunk(Path(tmp), current, data, learning, seed, first_image + start, written)
                current = part.state
                part.spike_image += start
                parts.append(part)
                if progress is not None:
                    progress(stop - start)
        return self._concatenate(parts, current, n_images)

    def _input_values(self, data: np.ndarray) -> np.ndarray:
        cfg, n_img = self.config, self.images_per_run
        if self.input_mode == "spikes":
            values = np.zeros((n_img * cfg.time_per_image + 1, cfg.n_input))
            values[: len(data) * cfg.time_per_image] = data.reshape(-1, cfg.n_input)
        else:
            values = np.zeros((n_img + 1, cfg.n_input))
            values[: len(data)] = spike_probabilities(data, cfg)
        return values

    def _run_chunk(self, tmp: Path, state: NetworkState, data: np.ndarray, learning: bool,
                   seed: int, first_image: int, written: dict[str, Path]) -> RunResult:
        cfg, manifest = self.config, self.manifest_
        n_real = len(data)
        flags = np.zeros(self.images_per_run + 1)
        flags[:n_real] = 1.0 if learning else 0.0
        arrays = {
            "w_xy": state.w_xy,
            "w_yy": state.w_yy,
            "theta": state.theta,
            "learning_flag": flags,
            "input": self._input_values(data),
        }
        for key in written:  # inputs already in files
            del arrays[key]
        slots = len(manifest["spec"]["record"])
        if "record_indices" in manifest["inputs"]:  # the recorded neurons, padded to the slots
            chosen = list(self.record) + [self.record[-1]] * (slots - len(self.record))
            arrays["record_indices"] = np.asarray(chosen, dtype=np.int32)
        parameters = parameter_values(cfg, manifest["parameters"])
        if self.input_mode == "poisson":  # the draws of image n depend on (seed, n) only
            parameters.update({"X.rng_key": float(seed), "X.first_image": float(first_image)})
        binary = invoke_binary(self.project_, manifest, tmp, arrays, parameters, {"BRAINLC_SEED": str(seed)},
                               written)
        read, seconds = binary.read, binary.seconds

        new_state = NetworkState(
            w_xy=read("w_xy"),
            w_yy=read("w_yy") if binary.returns("w_yy") and state.w_yy.size else state.w_yy.copy(),
            theta=read("theta"),
        )
        steps = cfg.time_per_image

        def spikes(prefix: str, n_neurons: int):
            step = np.rint(read(f"{prefix}spike_t") / (cfg.dt * 1e-3)).astype(np.int64)
            neuron = read(f"{prefix}spike_i").astype(np.int64)
            # a GPU records one step's spikes unordered
            order = image_order(step, neuron, step // steps, step % steps, neuron)
            step, neuron = step[order], neuron[order]
            image = step // steps
            keep = image < n_real
            image, step, neuron = image[keep], step[keep] % steps, neuron[keep]
            return image, step, neuron, spike_counts(image, neuron, n_real, n_neurons)

        image, step, neuron, counts = spikes("", cfg.n_output)
        input_counts = spikes("input_", cfg.n_input)[3] if self.record_input else None
        voltages = thetas = None
        if self.record:
            n_rec = len(self.record)
            total = self.images_per_run * steps + 1
            v = read("record_v").reshape(total, slots)[: n_real * steps, :n_rec]
            th = read("record_theta").reshape(total, slots)[: n_real * steps, :n_rec]
            voltages = v.reshape(n_real, steps, n_rec)
            thetas = th.reshape(n_real, steps, n_rec)
        learned = 0
        if "images_learned" in manifest["outputs"]:
            learned = binary.images_learned(n_real if learning else 0, self.project_)
        profile = binary.profile()
        binary.clean()
        return RunResult(new_state, counts, image, step, neuron, voltages, thetas, input_counts,
                         seconds, extra={"profile": profile}, images_learned=learned)

    def _concatenate(self, parts: list[RunResult], state: NetworkState, n_images: int) -> RunResult:
        cfg = self.config

        def cat(name: str, empty_shape: tuple) -> np.ndarray:
            arrays = [getattr(p, name) for p in parts]
            return np.concatenate(arrays) if arrays else np.zeros(empty_shape, dtype=np.int64)

        voltages = thetas = input_counts = None
        if self.record and parts:
            voltages = np.concatenate([p.voltages for p in parts])
            thetas = np.concatenate([p.thetas for p in parts])
        if self.record_input and parts:
            input_counts = np.concatenate([p.input_counts for p in parts])
        return RunResult(
            state=state,
            spike_counts=cat("spike_counts", (0, cfg.n_output)).astype(np.int32),
            spike_image=cat("spike_image", (0,)),
            spike_step=cat("spike_step", (0,)),
            spike_neuron=cat("spike_neuron", (0,)),
            voltages=voltages,
            thetas=thetas,
            input_counts=input_counts,
            seconds=sum(p.seconds for p in parts),
            extra={"time_per_image": cfg.time_per_image, "n_images": n_images,
                   "profile": summed_profile(p.extra.get("profile", {}) for p in parts)},
            images_learned=sum(p.images_learned for p in parts),
        )
