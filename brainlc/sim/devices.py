"""Simulation devices: Brian2's C++ standalone (CPU) and brian2cuda's CUDA standalone (GPU).

The model (:mod:`brainlc.sim.full_model`) is device independent; this module holds what
differs per device: whether it can be used here, the Brian2 preferences that make its
generated code exact and bounded in its compiler jobs, the code that seeds its random
generators from ``$BRAINLC_SEED``, and the facts about the toolchain that go into the
cache key of a compiled project.

``cpp``
    Brian2's ``cpp_standalone``: g++ (ccache when present), ``-O3 -march=native`` without
    fast math or fused multiply-adds, one thread (parallelism comes from processes);
    :mod:`brainlc.sim.generated_code` trims the per-step work of the generated project.
``cuda``
    brian2cuda's ``cuda_standalone`` (``pip install 'brainlc[cuda]'``, Python >= 3.12, the
    CUDA toolkit). nvcc compiles with C++17 (CUDA 13 needs it), without fast math and
    without fused multiply-adds, for one compute capability:
    ``$BRAINLC_CUDA_COMPUTE_CAPABILITY``, else the first visible GPU's, else 9.0
    (H100/H200), so that a project can be compiled on a machine without a GPU. Several
    synapses that add to one neuron in the same step do so with atomic additions, in an
    order that varies from run to run: results agree with the CPU's to rounding, not bit
    for bit (docs/gpu.md).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

from brainlc.errors import BrainlcError

from . import compile_guard

DEVICES = ("cpp", "cuda")

#: g++ flags: Brian2's defaults without -ffast-math, and without contracting a*b+c into
#: fused multiply-adds, so that the C++ rounds like the numpy reference. The last two let
#: g++ vectorise the neuron updates (``Y_update`` runs about 2.7x faster with AVX2)
#: without changing any result: ``-fno-trapping-math`` allows computing both sides of a
#: select (no program here reads floating-point exception flags), and the larger alias
#: check budget lets g++ version a loop over Brian2's many state arrays (its default, 10,
#: is below what a neuron group with six variables needs). Vectorised element-wise
#: arithmetic rounds exactly as the scalar code; nothing is reassociated.
GCC_FLAGS = ["-w", "-O3", "-march=native", "-fno-fast-math", "-ffp-contract=off", "-fno-trapping-math",
             "--param=vect-max-version-for-alias-checks=100"]
CPP_STANDARD = {"cpp": "-std=c++11", "cuda": "-std=c++17"}

#: nvcc flags: brian2cuda's defaults without -use_fast_math, no fused multiply-adds,
#: IEEE division and square root, C++17 (needed by CUDA 13).
NVCC_FLAGS = ["-w", "-O3", "-std=c++17", "--fmad=false", "--prec-div=true", "--prec-sqrt=true"]

DEFAULT_COMPUTE_CAPABILITY = 9.0

#: Seeds the random generators from $BRAINLC_SEED at the start of each run.
SEED_CODE = {
    "cpp": """
{
    const char* _brainlc_seed = std::getenv("BRAINLC_SEED");
    if (_brainlc_seed != NULL)
        for (size_t _i = 0; _i < brian::_random_generators.size(); _i++)
            brian::_random_generators[_i].seed(std::strtoul(_brainlc_seed, NULL, 10) + _i);
}
""",
    "cuda": """
{
    const char* _brainlc_seed = std::getenv("BRAINLC_SEED");
    if (_brainlc_seed != NULL)
        random_number_buffer.set_seed(std::strtoull(_brainlc_seed, NULL, 10));
}
""",
}


#: Brian2 preferences that :func:`activate` sets and :func:`deactivate` restores.
_CHANGED_PREFS = (
    "codegen.cpp.extra_compile_args_gcc",
    "codegen.cpp.library_dirs",
    "codegen.cpp.runtime_library_dirs",
    "devices.cpp_standalone.extra_make_args_unix",
    "devices.cpp_standalone.make_cmd_unix",
    "devices.cpp_standalone.openmp_threads",
)
_saved_prefs: dict = {}


class DeviceError(BrainlcError, RuntimeError):
    """The requested simulation device is unknown or cannot be used here."""


def check_known(device: str) -> None:
    """Raise DeviceError unless ``device`` is one of :data:`DEVICES`."""
    if device not in DEVICES:
        raise DeviceError(f"unknown device {device!r}; devices: {', '.join(DEVICES)}")


def nvcc_path() -> Path | None:
    """The CUDA compiler: ``$CUDA_PATH/bin/nvcc``, /usr/local/cuda's, or ``nvcc`` on PATH."""
    candidates = []
    if os.environ.get("CUDA_PATH"):
        candidates.append(Path(os.environ["CUDA_PATH"]) / "bin" / "nvcc")
    candidates.append(Path("/usr/local/cuda/bin/nvcc"))
    on_path = shutil.which("nvcc")
    if on_path:
        candidates.append(Path(on_path))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def cuda_root() -> Path | None:
    """The CUDA installation folder (the one above ``bin/nvcc``)."""
    nvcc = nvcc_path()
    return nvcc.resolve().parent.parent if nvcc is not None else None


def brian2cuda_version() -> str | None:
    try:
        return importlib.metadata.version("brian2cuda")
    except importlib.metadata.PackageNotFoundError:
        return None


def curand_dirs() -> tuple[Path, Path] | None:
    """Include and library folders of cuRAND, which brian2cuda's random numbers need.

    The CUDA toolkit's own, else those of the ``nvidia-curand`` wheel (``nvidia/cu*``
    beside the installed Python packages), else None.
    """
    root = cuda_root()
    if root is not None and (root / "include" / "curand.h").is_file():
        for lib in ("lib64", "lib"):
            if any((root / lib).glob("libcurand.so*")):
                return root / "include", root / lib
    for entry in map(Path, sys.path):
        for base in sorted((entry / "nvidia").glob("cu*")) + [entry / "nvidia" / "curand"]:
            if (base / "include" / "curand.h").is_file() and any((base / "lib").glob("libcurand.so*")):
                return base / "include", base / "lib"
    return None


def cuda_build_problem() -> str | None:
    """Why a CUDA project cannot be compiled here, or None if it can."""
    if tuple(sys.version_info[:2]) < (3, 12):
        return ("device 'cuda' needs brian2cuda, which needs Python >= 3.12 "
                f"(this is Python {sys.version_info[0]}.{sys.version_info[1]}); "
                "use --device cpp, or install brainlc[cuda] under Python 3.12")
    if brian2cuda_version() is None:
        return "device 'cuda' needs brian2cuda: pip install 'brainlc[cuda]'"
    if nvcc_path() is None:
        return ("device 'cuda' needs the CUDA toolkit: no nvcc in $CUDA_PATH/bin, "
                "/usr/local/cuda/bin or on PATH")
    if curand_dirs() is None:
        return (f"device 'cuda' needs cuRAND, and the CUDA toolkit in {cuda_root()} has none: "
                "install it with the toolkit or pip install nvidia-curand")
    return None


def visible_gpus() -> list[dict]:
    """The GPUs that ``nvidia-smi`` lists: name and compute capability of each."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "--query-gpu=name,compute_cap", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return []
    if out.returncode != 0:
        return []
    gpus = []
    for line in out.stdout.strip().splitlines():
        name, _, cap = line.rpartition(",")
        try:
            gpus.append({"name": name.strip(), "compute_capability": float(cap)})
        except ValueError:
            continue
    return gpus


def compute_capability() -> float:
    """Compute capability the CUDA code is compiled for.

    ``$BRAINLC_CUDA_COMPUTE_CAPABILITY`` if set, else the first visible GPU's, else 9.0.
    """
    env = os.environ.get("BRAINLC_CUDA_COMPUTE_CAPABILITY")
    if env:
        try:
            return float(env)
        except ValueError:
            raise DeviceError(f"BRAINLC_CUDA_COMPUTE_CAPABILITY={env!r} is not a number such as 9.0") from None
    gpus = visible_gpus()
    return gpus[0]["compute_capability"] if gpus else DEFAULT_COMPUTE_CAPABILITY


def cuda_run_problem() -> str | None:
    """Why a compiled CUDA project cannot run here, or None if it can."""
    problem = cuda_build_problem()
    if problem:
        return problem
    if not visible_gpus():
        return ("device 'cuda' needs an NVIDIA GPU to run, and nvidia-smi lists none here; "
                "use --device cpp")
    return None


def check_runnable(device: str) -> None:
    """Raise DeviceError unless a network can be compiled and run on ``device`` here."""
    check_known(device)
    if device == "cuda":
        problem = cuda_run_problem()
        if problem:
            raise DeviceError(problem)


def toolchain(device: str) -> dict:
    """What of the toolchain determines a compiled project (part of its cache key)."""
    check_known(device)
    facts = {"device": device, "brian2": importlib.metadata.version("brian2"),
             "gcc_flags": [*GCC_FLAGS, CPP_STANDARD[device]]}
    if device == "cuda":
        curand = curand_dirs()
        facts.update(brian2cuda=brian2cuda_version(), nvcc_flags=NVCC_FLAGS,
                     compute_capability=compute_capability(), cuda=str(cuda_root()),
                     curand=str(curand[1]) if curand else None)  # the binary's rpath
    return facts


def activate(device: str, project: Path, jobs: int, cuda_capability: float | None = None) -> None:
    """Make ``device`` Brian2's current device, building into ``project``.

    Sets the preferences of exact arithmetic and at most ``jobs`` compiler jobs; CUDA code
    is compiled for ``cuda_capability`` (default :func:`compute_capability`). Must be
    followed by :func:`deactivate`.
    """
    from brian2 import prefs, set_device

    check_known(device)
    problem = cuda_build_problem() if device == "cuda" else None
    if problem:
        raise DeviceError(problem)
    _saved_prefs.update({name: prefs[name] for name in _CHANGED_PREFS})
    # make and its compilers die with this process, also after kill -9 (brainlc.sim.compile_guard)
    prefs.devices.cpp_standalone.make_cmd_unix = compile_guard.command(os.getpid())
    prefs.codegen.cpp.extra_compile_args_gcc = [*GCC_FLAGS, CPP_STANDARD[device]]
    if device == "cpp":
        set_device("cpp_standalone", build_on_run=False, directory=str(project))
        prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{jobs}"]
        prefs.devices.cpp_standalone.openmp_threads = 0
        return
    importlib.import_module("brian2cuda")  # registers the cuda_standalone device

    backend = prefs.devices.cuda_standalone.cuda_backend
    backend.cuda_path = str(cuda_root())
    include, lib = curand_dirs()
    backend.extra_compile_args_nvcc = [*NVCC_FLAGS, f"-I{include}"]
    # brian2cuda links with -lcurand: a wheel's cuRAND has only libcurand.so.<major>.
    links = project / "cuda_libs"
    links.mkdir(parents=True, exist_ok=True)
    if not (links / "libcurand.so").exists():
        target = lib / "libcurand.so"
        if not target.exists():
            target = sorted(lib.glob("libcurand.so.*"))[0]
        (links / "libcurand.so").symlink_to(target)
    prefs.codegen.cpp.library_dirs = [str(links), str(lib)]
    prefs.codegen.cpp.runtime_library_dirs = [str(lib)]
    backend.compute_capability = cuda_capability or compute_capability()
    # brian2cuda's own detection needs nvidia-smi -L and CUDA's deviceQuery sample, and
    # fails without a GPU: the binary uses the first visible GPU (CUDA_VISIBLE_DEVICES).
    backend.detect_gpus = False
    backend.gpu_id = 0
    prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{jobs}"]
    set_device("cuda_standalone", build_on_run=False, directory=str(project))


@contextlib.contextmanager
def building_for(device: str, project: Path, jobs: int, cuda_capability: float | None = None):
    """Brian2 set up to build ``device``'s project (see :func:`activate`), restored afterwards."""
    try:
        activate(device, project, jobs, cuda_capability)
        yield
    finally:
        deactivate()


def deactivate() -> None:
    """Back to Brian2's runtime device and the preferences from before :func:`activate`."""
    from brian2 import device, prefs, set_device

    device.reinit()
    set_device("runtime")
    for name, value in _saved_prefs.items():
        prefs[name] = value
    _saved_prefs.clear()


def summing_codeobj_class(device: str):
    """Code object class for a run_regularly that sums synapses into their target neurons.

    None (the device's default) on the CPU, whose loops run in order; on the GPU, the
    class that turns ``x_post += ...`` into atomic additions.
    """
    if device != "cuda":
        return None
    from brian2cuda.codeobject import CUDAStandaloneAtomicsCodeObject

    return CUDAStandaloneAtomicsCodeObject


def zero_delays(device: str, on_pre: str | dict, on_post: str | dict | None = None) -> dict:
    """Keyword arguments that give every pathway of a Synapses (``on_pre``/``on_post`` as
    given to it) one shared delay of 0 ms, on the CPU: Brian2 then keeps no per-synapse delay
    array, which each invocation of the binary allocated and zeroed (72 MB for the 9 M Y->Y
    synapses of ``lc-1000-k12``). Brian2's spike queue already treats a per-synapse delay
    that is 0 everywhere as one shared delay, so the effects come in the same order. Empty
    on the GPU, whose code (verified on a GPU) keeps Brian2's default."""
    if device != "cpp":
        return {}
    from brian2 import ms

    pathways = [*(on_pre if isinstance(on_pre, dict) else ["pre"]),
                *(() if on_post is None else on_post if isinstance(on_post, dict) else ["post"])]
    return {"delay": {name: 0 * ms for name in pathways}}
