"""Compiles a network once with a Brian2 standalone device and caches the project.

The device is the spec's: Brian2's C++ standalone (``cpp``) or brian2cuda's CUDA
standalone (``cuda``); :mod:`brainlc.sim.devices` holds what differs between them.
A compiled project lives in ``<cache>/<key>/`` where ``key`` hashes everything that
shapes the generated code and the binary: the :class:`~brainlc.sim.spec.BuildSpec`
(of its config only the shape, :meth:`~brainlc.core.config.NetworkConfig.shape`: the
hyper-parameters are run-time values),
the index maps themselves, the device's toolchain and flags, the Brian2 and brainlc
versions, the source of every module that generates code, and the CPU model and its
instruction-set flags (the binaries are built with ``-march=native``). Next to
Brian2's project it stores ``manifest.json``: the binary's command-line names of the
run-time inputs and the result file of each output. With that file, any later process
runs the binary without importing Brian2 or generating code at all.

Cache folder: ``$BRAINLC_CACHE`` or ``~/.cache/brainlc/compiled``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import logging
import os
import platform
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from brainlc import __version__, stopping
from brainlc.core.topology import Connectivity, build_connectivity
from brainlc.errors import BrainlcError
from brainlc.machine import usable_cores

from . import compile_guard, devices, evaluation_model, generated_code, propagation_blocks, structured_code
from . import equations as eq
from .full_model import build_full_objects
from .spec import BuildSpec

MANIFEST = "manifest.json"
BUILD_LOG = "build.log"  # Brian2's and the compiler's output while building
#: The compiled model's order of the X->Y weights (int32): its synapse k is the topology's
#: synapse XY_ORDER[k], or for a convolution its kernel element k the topology's element
#: XY_ORDER[k] (structured propagation); absent when the orders are the same.
XY_ORDER = "xy_order.int32"


def cache_root() -> Path:
    """Folder that holds compiled projects."""
    env = os.environ.get("BRAINLC_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "brainlc" / "compiled"


class CacheError(BrainlcError, OSError):
    """The folder of compiled projects cannot be used."""


def check_cache(root: Path | None = None) -> Path:
    """The cache folder, created if missing; refused in one line when it is not a folder or
    cannot be written (compiling writes there), before any work."""
    from brainlc.folders import named, writable_folder_problem

    root = cache_root() if root is None else Path(root)
    problem = writable_folder_problem(root)
    if problem:
        where = named(root, "BRAINLC_CACHE", "the compile cache")
        raise CacheError(f"{where}: {problem}; compiled networks are kept there")
    return root


#: The modules whose source shapes the generated code or the binary's inputs.
CODE_SOURCES = ("sim/equations.py", "sim/spec.py", "sim/full_model.py", "sim/evaluation_model.py",
                "sim/image_random.py", "sim/compiler.py", "sim/devices.py", "sim/generated_code.py",
                "sim/propagation_blocks.py", "sim/structured_code.py", "sim/synapse_creation.py",
                "core/topology.py", "core/config.py", "core/state.py")
log = logging.getLogger("brainlc")


def _model_source_digest() -> str:
    package = Path(__file__).parents[1]  # brainlc/
    digest = hashlib.sha256()
    for name in CODE_SOURCES:
        digest.update(name.encode())
        digest.update((package / name).read_bytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def cpu_model() -> dict:
    """The CPU's model name and instruction-set flags (what ``-march=native`` compiles for)."""
    model = flags = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "model name" and not model:
                model = value
            elif key in ("flags", "Features") and not flags:
                flags = value
    return {"machine": platform.machine(), "model": model or platform.processor(),
            "flags": hashlib.sha256(" ".join(sorted(flags.split())).encode()).hexdigest()[:16]}


def index_maps_digest(spec: BuildSpec, conn: Connectivity | None = None) -> str:
    """Hash of the connectivity arrays the network is built from (``conn``, if built already)."""
    conn = build_connectivity(spec.config) if conn is None else conn
    digest = hashlib.sha256()
    for name in ("xy_pre", "xy_post", "xy_kernel", "yy_pre", "yy_post", "yy_in_patch"):
        array = getattr(conn, name, None)
        digest.update(name.encode())
        if array is not None:
            array = np.ascontiguousarray(array)
            digest.update(str(array.dtype).encode() + str(array.shape).encode())
            digest.update(array.tobytes())
    return digest.hexdigest()


def project_key(spec: BuildSpec, toolchain: dict | None = None, conn: Connectivity | None = None) -> str:
    """Hash of everything that determines the compiled code of ``spec``.

    ``toolchain``: :func:`brainlc.sim.devices.toolchain` of the spec's device, if known.
    """
    if toolchain is None:
        toolchain = devices.toolchain(spec.device)
    payload = {
        **spec.code_shape(),
        "index_maps": index_maps_digest(spec, conn),
        "toolchain": toolchain,
        "brainlc": __version__,
        "source": _model_source_digest(),
        "cpu": cpu_model(),
    }
    text = json.dumps(payload, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@contextlib.contextmanager
def _locked(path: Path, what: str):
    """Hold an exclusive lock on ``path``; says how long it waited for another process."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process that compiles %s ...", what)
            start = time.perf_counter()
            fcntl.flock(handle, fcntl.LOCK_EX)
            log.info("waited %.1f s for the other process's compile of %s", time.perf_counter() - start, what)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def make_jobs() -> int:
    """Parallel compiler jobs: the cores this process may use."""
    return usable_cores()


def runtime_files(project: Path, binary: str = "main") -> list[Path]:
    """The files a compiled project's binary reads when it runs, besides its command line:
    the binary and the static arrays (the index maps, and every other array fixed at
    compile time), sorted."""
    files = [project / binary] if (project / binary).is_file() else []
    if (project / XY_ORDER).is_file():
        files.append(project / XY_ORDER)
    static = project / "static_arrays"
    if static.is_dir():
        files += sorted(path for path in static.iterdir() if path.is_file())
    return files


def checksums(project: Path, binary: str = "main") -> dict[str, str]:
    """SHA-256 of each of :func:`runtime_files`, by path relative to the project."""
    out = {}
    for path in runtime_files(project, binary):
        with open(path, "rb") as handle:
            out[str(path.relative_to(project))] = hashlib.file_digest(handle, "sha256").hexdigest()
    return out


def damage(project: Path, manifest: dict) -> str | None:
    """What is wrong with a compiled project's files, or None when they are as built."""
    recorded = manifest.get("checksums")
    if not isinstance(recorded, dict) or manifest.get("binary", "main") not in recorded:
        return "it records no checksums"
    found = checksums(project, manifest.get("binary", "main"))
    for name in sorted(set(recorded) | set(found)):
        if name not in found:
            return f"{name} is missing"
        if name not in recorded:
            return f"{name} was added"
        if found[name] != recorded[name]:
            return f"{name} changed since it was built"
    return None


def load_manifest(project: Path) -> dict | None:
    """The manifest of a complete compiled project, or None (not built, or interrupted while
    building: the manifest is written last)."""
    path = project / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(manifest, dict) or not (project / manifest.get("binary", "main")).is_file():
        return None
    return manifest


def intact_manifest(project: Path) -> dict | None:
    """:func:`load_manifest`, if the project's files are exactly as built; a damaged project
    is said so in one line (it is then built again)."""
    manifest = load_manifest(project)
    if manifest is None:
        return None
    problem = damage(project, manifest)
    if problem is not None:
        log.warning("the compiled project %s is damaged (%s): compiling it again", project, problem)
        return None
    return manifest


def compile_project(spec: BuildSpec, root: Path | None = None,
                    conn: Connectivity | None = None) -> tuple[Path, dict, float]:
    """Compile ``spec`` unless cached; returns (project folder, manifest, seconds spent).

    ``conn``: the network's index maps, if the caller built them already. Seconds spent is
    0 when the project came from the cache. A cached project is used only when its binary
    and static arrays have the checksums recorded when it was built.
    """
    root = cache_root() if root is None else root
    conn = build_connectivity(spec.config) if conn is None else conn
    toolchain = devices.toolchain(spec.device)
    project = root / project_key(spec, toolchain, conn)
    manifest = intact_manifest(project)
    if manifest is not None:
        return project, manifest, 0.0
    cfg = spec.config
    what = f"{cfg.architecture} {cfg.channels}x{cfg.kernel}x{cfg.kernel} network for {spec.device}"
    with _locked(root / f"{project.name}.lock", what):
        manifest = load_manifest(project)  # another process may have built it meanwhile
        if manifest is not None and damage(project, manifest) is None:
            return project, manifest, 0.0
        log.info("compiling the %s into %s (once per network shape; %s)", what, project,
                 "about 10-60 s on the CPU" if spec.device == "cpp" else "minutes")
        start = time.perf_counter()
        if project.exists():
            shutil.rmtree(project)  # an interrupted or damaged build: start again
        manifest = _build_with_brian(spec, project, toolchain, conn)
        manifest["checksums"] = checksums(project, manifest["binary"])
        (project / f"{MANIFEST}.tmp").write_text(json.dumps(manifest, indent=1))
        os.replace(project / f"{MANIFEST}.tmp", project / MANIFEST)
        return project, manifest, time.perf_counter() - start


def _import_brian2() -> None:
    """Import Brian2, also outside the main thread (a Dask worker runs tasks in a thread).

    Brian2 installs a Ctrl-C handler when imported, which Python allows only in the main
    thread; a compiled (standalone) build never uses that handler, so elsewhere it is skipped.
    """
    if "brian2" in sys.modules or threading.current_thread() is threading.main_thread():
        import brian2  # noqa: F401

        return
    with _IMPORT_LOCK:
        original = signal.signal
        signal.signal = lambda signalnum, handler: signal.getsignal(signalnum)
        try:
            import brian2  # noqa: F401
        finally:
            signal.signal = original


_IMPORT_LOCK = threading.Lock()


class CompileError(BrainlcError, RuntimeError):
    """Brian2 or the compiler could not build a project; the message names its log."""


@contextlib.contextmanager
def _output_to(path: Path):
    """This process's stdout and stderr (file descriptors 1 and 2, so the compiler's too) go to ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with open(path, "ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        os.close(saved[0])
        os.close(saved[1])


def _build_with_brian(spec: BuildSpec, project: Path, toolchain: dict, conn: Connectivity) -> dict:
    """Build ``spec`` into ``project``; Brian2's and the compiler's output go to its build log."""
    project.mkdir(parents=True, exist_ok=True)
    log_path = project / BUILD_LOG
    try:
        with _output_to(log_path):
            return _build(spec, project, toolchain, conn)
    except BrainlcError:  # a device that cannot be used here, a stop: said as it is
        raise
    except RuntimeError as exc:
        stopped = project / compile_guard.STOPPED
        if stopped.is_file():  # Ctrl-C or SIGTERM stopped make
            raise stopping.Stopped(int(stopped.read_text() or signal.SIGINT)) from None
        stopping.check()
        lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
        said = lines[-1].strip()[:300] if lines else str(exc)
        raise CompileError(f"compiling {project.name} failed ({said}); the whole output is in {log_path}") from exc


def _build(spec: BuildSpec, project: Path, toolchain: dict, conn: Connectivity, compile_binary: bool = True) -> dict:
    _import_brian2()
    from brian2 import Network, device

    previous_cxx = os.environ.get("CXX")
    # ccache for g++; nvcc takes CXX as its host compiler (-ccbin), which must be one word.
    if previous_cxx is None and spec.device == "cpp" and shutil.which("ccache"):
        os.environ["CXX"] = "ccache g++"
    blocks = structured_blocks(spec, conn)
    kernel_order, contiguous = None, ()
    if blocks is not None:  # the X->Y synapses listed block by block
        order = blocks.synapse_order
        conn = dataclasses.replace(conn, xy_pre=conn.xy_pre[order], xy_post=conn.xy_post[order],
                                   xy_kernel=None if conn.xy_kernel is None else conn.xy_kernel[order])
        kernel_order = blocks.kernel_order  # a convolution's blocks run through its kernel elements
        contiguous = () if kernel_order is None else ("kernel_index",)
    try:
        with devices.building_for(spec.device, project, make_jobs(), toolchain.get("compute_capability")):
            device.reinit()
            device.activate(build_on_run=False, directory=str(project))
            if spec.learning:
                objects = build_full_objects(spec, conn, devices.summing_codeobj_class(spec.device), kernel_order)
            else:
                objects = evaluation_model.build_evaluation_objects(spec, conn, kernel_order)
            device.insert_code("main", devices.SEED_CODE[spec.device])
            net = Network(*objects.members)
            net.run(objects.duration, profile=spec.profile)
            manifest = _describe(spec, objects, device, toolchain)  # names only: needs no build
            manifest["structured"] = {}
            if spec.device == "cpp":
                from brian2.codegen.cpp_prefs import get_compiler_and_args

                device.build(directory=str(project), compile=False, run=False, with_output=False)
                edits = generated_code.streamline(project, {out["file"] for out in manifest["outputs"].values()})
                manifest["dies_with_parent"] = edits["dies_with_parent"]
                manifest["structured"] = {
                    **structured_code.structure(project, blocks, spec.replicas, contiguous=contiguous),
                    **structured_code.structure_synapse_loops(project, blocks, spec.replicas),
                    **structure_competition(project, spec, conn, objects.roles["YY"])}
                if compile_binary:
                    device.compile_source(str(project), get_compiler_and_args()[0], debug=False, clean=False)
            else:
                device.build(directory=str(project), compile=compile_binary, run=False, with_output=False)
            # the X->Y weights' order in the model: the synapses' (LC, FC) or the kernel's (C)
            weight_order = None if blocks is None else blocks.synapse_order if conn.xy_kernel is None else kernel_order
            if weight_order is not None and not np.array_equal(weight_order, np.arange(weight_order.size)):
                weight_order.astype(np.int32).tofile(project / XY_ORDER)
                manifest["xy_order"] = XY_ORDER
    finally:
        if previous_cxx is None:
            os.environ.pop("CXX", None)
    return manifest


def structure_competition(project: Path, spec: BuildSpec, conn: Connectivity, yy) -> dict[str, bool]:
    """Structure the presynaptic pathways of the Y->Y synapses ``yy`` (Brian2's object) in
    ``project``, where ``spec`` asks for structured code and the map gives blocks in the
    topology's order (:func:`brainlc.sim.propagation_blocks.yy_blocks`); which changed."""
    if spec.device != "cpp" or not spec.structured or conn.yy_pre.size == 0:
        return {}
    blocks = propagation_blocks.yy_blocks(spec.config, conn)
    presynaptic = [pathway.name for pathway in yy._pathways if pathway.prepost == "pre"]
    return structured_code.structure(project, blocks, spec.replicas, synapses="YY", source="Y", target="Y",
                                     pathways=presynaptic, unwritten=() if spec.competition_learns else ("w",))


def structured_blocks(spec: BuildSpec, conn: Connectivity) -> propagation_blocks.XYBlocks | None:
    """The X->Y blocks ``spec`` is built with: C++ device, ``spec.structured`` and a
    regular map (:mod:`brainlc.sim.propagation_blocks`), else None (Brian2's own code)."""
    if spec.device != "cpp" or not spec.structured:
        return None
    return propagation_blocks.xy_blocks(spec.config, conn)


def generate_project(spec: BuildSpec, directory: Path) -> Path:
    """Generate the code of ``spec``'s project into ``directory`` without compiling it or
    caching it: code to read (e.g. a CUDA project on a machine without a GPU, where nvcc
    would take minutes for a binary that cannot run). Returns ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with _output_to(directory / BUILD_LOG):
        _build(spec, directory, devices.toolchain(spec.device), build_connectivity(spec.config), compile_binary=False)
    return directory


def _describe(spec: BuildSpec, objects: dict, device, toolchain: dict) -> dict:
    """Command-line names of inputs and file names of outputs of the built binary."""

    def result(owner, name):
        var = owner.variables[name]
        return {"file": device.get_array_filename(var), "dtype": np.dtype(var.dtype).str}

    owner = objects.w_xy_owner
    declared = eq.PARAMETERS if spec.learning else evaluation_model.PARAMETERS
    parameters = {  # run-time hyper-parameters: command-line name -> dtype
        f"{group}.{name}": np.dtype(objects[group].variables[name].dtype).str
        for group, names in declared.items() if group in objects for name in names
    }
    # the binary returns only what a run can change: the evaluation model's weights and θ
    # are constant, and so are the weights of a fixed competition (BuildSpec.competition_learns)
    outputs = {"spike_i": result(objects["spikes"], "i"), "spike_t": result(objects["spikes"], "t")}
    if spec.learning:
        outputs.update(w_xy=result(owner, "w"), theta=result(objects["Y"], "theta"),
                       images_learned=result(objects["Y"], "images_learned"))
    if spec.competition_learns:
        outputs["w_yy"] = result(objects["YY"], "w")
    if "input_spikes" in objects:
        outputs["input_spike_i"] = result(objects["input_spikes"], "i")
        outputs["input_spike_t"] = result(objects["input_spikes"], "t")
    if "state" in objects:
        outputs["record_v"] = result(objects["state"], "v")
        outputs["record_theta"] = result(objects["state"], "theta")
    return {
        "binary": "main",
        "spec": spec.code_shape(),
        "toolchain": toolchain,
        "inputs": {
            "w_xy": f"{owner.name}.w",
            "w_yy": "YY.w",
            "theta": "Y.theta",
            "input": f"{objects.inputs.name}.values",
            **({"learning_flag": f"{objects.learning_flag.name}.values"} if spec.learning else {}),

            **({"record_indices": "Y_state._indices"} if spec.record_runtime else {}),
        },
        "parameters": parameters,
        # the evaluation model's Poisson key and first image number (command-line name -> dtype)
        "keys": {name: np.dtype(objects["X"].variables[name.partition(".")[2]].dtype).str
                 for name in ("X.rng_key", "X.first_image")
                 if spec.input_mode == "poisson"},
        "outputs": outputs,
    }
