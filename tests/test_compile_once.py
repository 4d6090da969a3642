"""One compile per network shape; later phases and later processes reuse the binary."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from brainlc.core.config import NetworkConfig
from brainlc.core.state import initial_state
from brainlc.core.topology import build_connectivity
from brainlc.sim.compiler import project_key
from brainlc.sim.simulation import CompiledNetwork

CFG = NetworkConfig("FC", 3, mean_weight=0.3)

CHILD = """
import json, sys, time
import numpy as np
from brainlc.core.config import NetworkConfig
from brainlc.sim.simulation import CompiledNetwork
from brainlc.core.state import initial_state
from brainlc.core.topology import build_connectivity
cfg = NetworkConfig("FC", 3, mean_weight=0.3)
start = time.perf_counter()
net = CompiledNetwork(cfg, images_per_run=2, cache_dir=sys.argv[1]).compile()
res = net.run(initial_state(cfg, build_connectivity(cfg), 0), learning=True,
              rates=np.full((3, 400), 30.0), seed=0)
print(json.dumps({"compile_s": net.compile_seconds_, "wall_s": time.perf_counter() - start,
                  "brian2_imported": "brian2" in sys.modules, "theta": res.state.theta.tolist()}))
"""


def test_phases_and_new_processes_never_recompile(tmp_path):
    cache = tmp_path / "cache"
    net = CompiledNetwork(CFG, images_per_run=2, cache_dir=cache).compile()
    assert net.compile_seconds_ > 0
    binary = net.project_ / "main"
    stamp = binary.stat().st_mtime_ns
    state = initial_state(CFG, build_connectivity(CFG), 0)
    rates = np.full((3, 400), 30.0)
    trained = net.run(state, learning=True, rates=rates, seed=0)
    net.run(trained.state, learning=False, rates=rates[:1], seed=1)
    net.run(state, learning=True, rates=rates[:2], seed=2)  # new weights and theta
    assert binary.stat().st_mtime_ns == stamp

    out = subprocess.run([sys.executable, "-c", CHILD, str(cache)], capture_output=True, text=True,
                         check=True, env=dict(os.environ)).stdout
    child = json.loads(out)
    assert child["compile_s"] == 0.0
    assert not child["brian2_imported"]  # a cached project runs without Brian2 code generation
    assert child["theta"] == trained.state.theta.tolist()  # same seed, same result
    assert binary.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in cache.iterdir() if p.is_dir()) == [net.project_.name]


def test_the_cache_key_changes_with_what_changes_the_code():
    from brainlc.sim.spec import BuildSpec

    base = BuildSpec(CFG, 2)
    assert project_key(base) == project_key(BuildSpec(NetworkConfig("FC", 3, mean_weight=0.3), 2))
    assert project_key(base) != project_key(BuildSpec(CFG, 3))
    assert project_key(base) == project_key(BuildSpec(CFG.replace(mean_weight=0.4), 2))  # a run-time value
    assert project_key(base) != project_key(BuildSpec(CFG.replace(channels=4), 2))
    assert project_key(base) != project_key(BuildSpec(CFG, 2, input_mode="spikes"))
    evaluation = BuildSpec(CFG, 2, learning=False)
    assert len({project_key(base), project_key(evaluation), project_key(BuildSpec(CFG, 2, learning=False, replicas=4)),
                project_key(BuildSpec(CFG, 2, profile=True))}) == 4


def test_the_cache_key_covers_version_sources_index_maps_flags_and_cpu(monkeypatch):
    """Each thing that shapes the generated code or the binary, changed in turn, gives a new key."""
    from pathlib import Path

    from brainlc.sim import compiler, devices
    from brainlc.sim.spec import BuildSpec

    spec = BuildSpec(CFG, 2)
    keys = {"base": project_key(spec)}
    changes = {}

    def version(m):
        m.setattr(compiler, "__version__", "9.9.9")

    def source(name):
        def change(m):
            real = Path.read_bytes

            def edited(path):
                data = real(path)
                return data + b"\n# edited" if path.as_posix().endswith("brainlc/" + name) else data

            m.setattr(Path, "read_bytes", edited)
        return change

    def index_maps(m):
        real = compiler.build_connectivity

        def permuted(config):
            import dataclasses

            conn = real(config)  # the same pairs in another order: other code
            return dataclasses.replace(conn, yy_pre=conn.yy_pre[::-1].copy(), yy_post=conn.yy_post[::-1].copy())

        m.setattr(compiler, "build_connectivity", permuted)

    def flags(m):
        m.setattr(devices, "GCC_FLAGS", [*devices.GCC_FLAGS, "-fno-tree-vectorize"])

    here = dict(compiler.cpu_model())

    def cpu_model(m):
        m.setattr(compiler, "cpu_model", lambda: {**here, "model": "Another CPU"})

    def cpu_flags(m):
        m.setattr(compiler, "cpu_model", lambda: {**here, "flags": "0123456789abcdef"})

    changes.update(version=version, index_maps=index_maps, flags=flags, cpu_model=cpu_model, cpu_flags=cpu_flags)
    for name in compiler.CODE_SOURCES:
        changes[f"source {name}"] = source(name)
    for name, change in changes.items():
        with monkeypatch.context() as m:
            change(m)
            keys[name] = project_key(spec)
    assert len(set(keys.values())) == len(keys), keys
    assert project_key(spec) == keys["base"]  # and back


def test_wrong_inputs_are_refused(tmp_path):
    net = CompiledNetwork(CFG, images_per_run=2, cache_dir=tmp_path)
    state = initial_state(CFG, build_connectivity(CFG), 0)
    with pytest.raises(ValueError, match="rates have shape"):
        net.run(state, learning=True, rates=np.zeros((2, 399)))
    with pytest.raises(ValueError, match="pass rates="):
        net.run(state, learning=True, spikes=np.zeros((1, 250, 400), bool))
    state.w_xy = state.w_xy[:-1]
    with pytest.raises(ValueError, match="w_xy has shape"):
        net.run(state, learning=True, rates=np.zeros((2, 400)))


def test_an_interrupted_build_is_rebuilt_not_used(tmp_path):
    net = CompiledNetwork(CFG, images_per_run=2, cache_dir=tmp_path).compile()
    (net.project_ / "manifest.json").unlink()  # as if the build had been interrupted
    again = CompiledNetwork(CFG, images_per_run=2, cache_dir=tmp_path).compile()
    assert again.compile_seconds_ > 0 and (again.project_ / "manifest.json").is_file()
    (again.project_ / "manifest.json").write_text("{not json")
    third = CompiledNetwork(CFG, images_per_run=2, cache_dir=tmp_path).compile()
    assert third.compile_seconds_ > 0
    state = initial_state(CFG, build_connectivity(CFG), 0)
    assert third.run(state, learning=False, rates=np.full((1, 400), 30.0)).spike_counts.shape == (1, 3)


def test_recorded_neurons_are_chosen_at_run_time_without_compiling_again(tmp_path):
    cfg = NetworkConfig("LC", 4, kernel=12, stride=4, mean_weight=0.3)  # 36 neurons: 32 slots
    state = initial_state(cfg, build_connectivity(cfg), 0)
    rates = np.random.default_rng(0).uniform(0, 60, size=(3, cfg.n_input))
    runs = {}
    for neurons in [(5,), (30, 5, 2), tuple(range(33))]:
        net = CompiledNetwork(cfg, images_per_run=2, record=neurons, cache_dir=tmp_path).compile()
        runs[neurons] = (net, net.run(state, learning=False, rates=rates, seed=1))
    (a, ra), (b, rb), (c, rc) = runs.values()
    assert a.project_ == b.project_ and b.compile_seconds_ == 0  # 1 and 3 neurons: one binary
    assert c.project_ != a.project_  # 33 neurons need more slots than were compiled
    assert rb.voltages.shape == (3, cfg.time_per_image, 3)
    np.testing.assert_array_equal(rb.voltages[..., 1], ra.voltages[..., 0])  # neuron 5 both times
    np.testing.assert_array_equal(rb.voltages[..., 0], rc.voltages[..., 30])
    np.testing.assert_array_equal(rb.thetas[..., 2], rc.thetas[..., 2])
    assert not np.array_equal(rb.voltages[..., 0], rb.voltages[..., 1])


def test_a_compile_says_what_it_does_and_a_waiting_process_says_how_long_it_waited(tmp_path):
    import fcntl
    import time

    cfg = NetworkConfig("FC", 2, mean_weight=0.25)
    net = CompiledNetwork(cfg, images_per_run=1, cache_dir=tmp_path)
    lock = tmp_path / f"{project_key(net.spec)}.lock"
    child = ("import sys\nfrom brainlc.cli import _show_progress_messages\n_show_progress_messages()\n"
             "from brainlc.core.config import NetworkConfig\nfrom brainlc.sim.simulation import CompiledNetwork\n"
             "net = CompiledNetwork(NetworkConfig('FC', 2, mean_weight=0.25), images_per_run=1,"
             " cache_dir=sys.argv[1])\n"
             "print(net.compile().compile_seconds_)")
    with open(lock, "a") as held:  # another process compiling the same shape
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = subprocess.Popen([sys.executable, "-c", child, str(tmp_path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(4.0)  # the child starts (imports) in up to 2 s on a loaded machine
        assert proc.poll() is None  # it waits for the lock
        fcntl.flock(held, fcntl.LOCK_UN)
        out, err = proc.communicate(timeout=600)
    lines = err.strip().splitlines()
    assert lines[0].startswith("brainlc: waiting for another process that compiles FC 2x20x20"), err
    assert lines[1].startswith("brainlc: waited ") and float(lines[1].split()[2]) >= 1.0, err
    assert lines[2].startswith("brainlc: compiling the FC 2x20x20 network for cpp into"), err
    assert "once per network shape" in lines[2] and float(out) > 0


def test_a_generated_project_is_code_only_and_not_cached(tmp_path, monkeypatch):
    """generate_project writes the project's code (to read) without compiling or caching it."""
    from brainlc.sim.compiler import generate_project
    from brainlc.sim.spec import BuildSpec

    cache = tmp_path / "cache"
    monkeypatch.setenv("BRAINLC_CACHE", str(cache))
    project = generate_project(BuildSpec(CFG, 2, learning=False), tmp_path / "generated")
    sources = sorted(p.name for p in (project / "code_objects").glob("*.cpp"))
    assert any(name.startswith("Y_update_codeobject") for name in sources), sources
    assert (project / "main.cpp").is_file() and not (project / "main").exists()
    assert not list(project.rglob("*.o")) and not cache.exists()
