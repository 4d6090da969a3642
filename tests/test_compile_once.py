"""One compile per network shape; later phases and later processes reuse the binary."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from brainlc.compiler import project_key
from brainlc.config import NetworkConfig
from brainlc.simulation import CompiledNetwork
from brainlc.state import initial_state
from brainlc.topology import build_connectivity

CFG = NetworkConfig("FC", 3, mean_weight=0.3)

CHILD = """
import json, sys, time
import numpy as np
from brainlc.config import NetworkConfig
from brainlc.simulation import CompiledNetwork
from brainlc.state import initial_state
from brainlc.topology import build_connectivity
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
    from brainlc.brian_model import BuildSpec

    base = BuildSpec(CFG, 2)
    assert project_key(base) == project_key(BuildSpec(NetworkConfig("FC", 3, mean_weight=0.3), 2))
    assert project_key(base) != project_key(BuildSpec(CFG, 3))
    assert project_key(base) != project_key(BuildSpec(CFG.replace(mean_weight=0.4), 2))
    assert project_key(base) != project_key(BuildSpec(CFG, 2, input_mode="spikes"))


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
