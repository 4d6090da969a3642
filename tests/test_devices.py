"""Device selection: what each device needs, the errors when it is missing, cache keys.

These run anywhere. The CUDA build and run themselves are in test_cuda.py (marker
``cuda``), which needs Python >= 3.12, brian2cuda and nvcc, and a GPU for the runs.
"""

import os
import stat
import sys

import pytest

from brainlc.core.config import NetworkConfig
from brainlc.sim import devices
from brainlc.sim.compiler import project_key
from brainlc.sim.devices import DeviceError
from brainlc.sim.spec import BuildSpec


def _small_config() -> NetworkConfig:
    return NetworkConfig(architecture="LC", channels=4, kernel=12, stride=4)


def test_unknown_device_is_refused():
    with pytest.raises(DeviceError, match="unknown device 'tpu'; devices: cpp, cuda"):
        devices.check_runnable("tpu")
    with pytest.raises(ValueError, match="device must be one of"):
        BuildSpec(_small_config(), 10, device="tpu")


def test_cpu_and_gpu_projects_have_different_cache_keys():
    cfg = _small_config()
    cpu, gpu = BuildSpec(cfg, 10, device="cpp"), BuildSpec(cfg, 10, device="cuda")
    assert project_key(cpu) != project_key(gpu)
    assert project_key(cpu) == project_key(BuildSpec(cfg, 10))
    cuda = devices.toolchain("cuda")
    assert "-std=c++17" in cuda["gcc_flags"] and "-std=c++17" in cuda["nvcc_flags"]
    assert "-use_fast_math" not in cuda["nvcc_flags"] and "--fmad=false" in cuda["nvcc_flags"]
    assert "-std=c++11" in devices.toolchain("cpp")["gcc_flags"]


def _fake_nvidia_smi(folder, output, monkeypatch):
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\nprintf '{output}'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_gpus_and_compute_capability_come_from_nvidia_smi(tmp_path, monkeypatch):
    monkeypatch.delenv("BRAINLC_CUDA_COMPUTE_CAPABILITY", raising=False)
    _fake_nvidia_smi(tmp_path, "NVIDIA H200, 9.0\\nTesla T4, 7.5\\n", monkeypatch)
    assert devices.visible_gpus() == [{"name": "NVIDIA H200", "compute_capability": 9.0},
                                      {"name": "Tesla T4", "compute_capability": 7.5}]
    assert devices.compute_capability() == 9.0
    monkeypatch.setenv("BRAINLC_CUDA_COMPUTE_CAPABILITY", "8.6")
    assert devices.compute_capability() == 8.6
    monkeypatch.setenv("BRAINLC_CUDA_COMPUTE_CAPABILITY", "hopper")
    with pytest.raises(DeviceError, match="not a number"):
        devices.compute_capability()


def test_without_a_gpu_the_default_compute_capability_is_hopper(tmp_path, monkeypatch):
    monkeypatch.delenv("BRAINLC_CUDA_COMPUTE_CAPABILITY", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi
    assert devices.visible_gpus() == []
    assert devices.compute_capability() == devices.DEFAULT_COMPUTE_CAPABILITY == 9.0


def test_each_missing_cuda_requirement_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "version_info", (3, 11, 7))
    assert "needs Python >= 3.12" in devices.cuda_build_problem()
    monkeypatch.setattr(sys, "version_info", (3, 12, 1))
    monkeypatch.setattr(devices, "brian2cuda_version", lambda: None)
    assert "pip install 'brainlc[cuda]'" in devices.cuda_build_problem()
    monkeypatch.setattr(devices, "brian2cuda_version", lambda: "1.0b1")
    monkeypatch.setattr(devices, "nvcc_path", lambda: None)
    assert "needs the CUDA toolkit" in devices.cuda_build_problem()
    monkeypatch.setattr(devices, "nvcc_path", lambda: tmp_path / "cuda" / "bin" / "nvcc")
    monkeypatch.setattr(devices, "curand_dirs", lambda: None)
    assert "needs cuRAND" in devices.cuda_build_problem()
    monkeypatch.setattr(devices, "curand_dirs", lambda: (tmp_path, tmp_path))
    assert devices.cuda_build_problem() is None
    monkeypatch.setattr(devices, "visible_gpus", lambda: [])
    assert "needs an NVIDIA GPU to run" in devices.cuda_run_problem()
    with pytest.raises(DeviceError, match="needs an NVIDIA GPU to run"):
        devices.check_runnable("cuda")
    monkeypatch.setattr(devices, "visible_gpus", lambda: [{"name": "G", "compute_capability": 9.0}])
    devices.check_runnable("cuda")
    devices.check_runnable("cpp")


def test_curand_is_found_in_the_toolkit_or_in_the_nvidia_curand_wheel(tmp_path, monkeypatch):
    toolkit = tmp_path / "cuda"
    (toolkit / "bin").mkdir(parents=True)
    monkeypatch.setattr(devices, "cuda_root", lambda: toolkit)
    monkeypatch.setattr(sys, "path", [str(tmp_path / "site")])
    assert devices.curand_dirs() is None
    wheel = tmp_path / "site" / "nvidia" / "cu13"
    (wheel / "include").mkdir(parents=True)
    (wheel / "lib").mkdir()
    (wheel / "include" / "curand.h").write_text("")
    (wheel / "lib" / "libcurand.so.10").write_text("")
    assert devices.curand_dirs() == (wheel / "include", wheel / "lib")
    (toolkit / "include").mkdir()
    (toolkit / "lib64").mkdir()
    (toolkit / "include" / "curand.h").write_text("")
    (toolkit / "lib64" / "libcurand.so").write_text("")
    assert devices.curand_dirs() == (toolkit / "include", toolkit / "lib64")


def test_activating_a_device_leaves_brian2_preferences_as_they_were(tmp_path):
    from brian2 import get_device, prefs

    names = ["codegen.cpp.extra_compile_args_gcc", "codegen.cpp.library_dirs",
             "devices.cpp_standalone.extra_make_args_unix", "devices.cpp_standalone.openmp_threads"]
    before = {name: prefs[name] for name in names}
    devices.activate("cpp", tmp_path, jobs=3)
    try:
        assert get_device().__class__.__name__ == "CPPStandaloneDevice"
        assert prefs["devices.cpp_standalone.extra_make_args_unix"] == ["-j3"]
        assert "-ffp-contract=off" in prefs["codegen.cpp.extra_compile_args_gcc"]
    finally:
        devices.deactivate()
    assert {name: prefs[name] for name in names} == before
    assert get_device().__class__.__name__ == "RuntimeDevice"


@pytest.mark.skipif(devices.cuda_run_problem() is None, reason="this machine can run CUDA")
def test_the_cli_names_what_the_cuda_device_lacks_here(tmp_path, capsys):
    from brainlc.cli import main

    assert main(["run", "lc-25-k12", "--device", "cuda", "--store", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"brainlc: error: {devices.cuda_run_problem()}"
    assert not any(tmp_path.iterdir())


@pytest.mark.skipif(devices.cuda_build_problem() is None, reason="this machine can compile CUDA")
def test_a_cuda_build_that_cannot_happen_here_says_why_and_changes_nothing(tmp_path):
    import re

    from brian2 import get_device, prefs

    from brainlc.sim.simulation import CompiledNetwork

    flags, cxx = prefs["codegen.cpp.extra_compile_args_gcc"], os.environ.get("CXX")
    with pytest.raises(DeviceError, match=re.escape(devices.cuda_build_problem())):
        CompiledNetwork(_small_config(), 2, device="cuda", cache_dir=tmp_path).compile()
    assert get_device().__class__.__name__ == "RuntimeDevice"
    assert prefs["codegen.cpp.extra_compile_args_gcc"] == flags and os.environ.get("CXX") == cxx
    assert not list(tmp_path.glob("*/main"))

