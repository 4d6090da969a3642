"""Hyper-parameters are run-time values: one compiled project serves every config of a shape.

The golden results (tests/data/runtime-golden.npz, scripts/make_runtime_golden.py) were
made when the hyper-parameters were compile-time constants, each config compiled on its
own. The shared project must give exactly those results, spike for spike and bit for bit.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from brainlc.core.config import SHAPE_FIELDS, NetworkConfig
from brainlc.core.encoding import firing_rates
from brainlc.core.state import initial_state
from brainlc.core.topology import build_connectivity
from brainlc.sim.compiler import project_key
from brainlc.sim.simulation import CompiledNetwork
from brainlc.sim.spec import BuildSpec

ROOT = Path(__file__).resolve().parents[1]


def _golden_module():
    spec = importlib.util.spec_from_file_location("make_runtime_golden", ROOT / "scripts" / "make_runtime_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configs_of_one_shape_share_one_project_and_match_their_own_compiles(tmp_path):
    golden_module = _golden_module()
    golden = np.load(ROOT / "tests" / "data" / "runtime-golden.npz")
    projects = set()
    for name, config in golden_module.CONFIGS.items():
        net = CompiledNetwork(config, images_per_run=4, cache_dir=tmp_path).compile()
        projects.add((net.project_, config.shape()["weight_decay_on"]))
        state = initial_state(config, build_connectivity(config), 3)
        rates = firing_rates(golden_module.IMAGES, config)
        trained = net.run(state, learning=True, rates=rates[:7], seed=11)
        tested = net.run(trained.state, learning=False, rates=rates[7:], seed=12)
        got = {"train_counts": trained.spike_counts, "test_counts": tested.spike_counts,
               "w_xy": trained.state.w_xy, "w_yy": trained.state.w_yy, "theta": trained.state.theta}
        for key, value in got.items():
            assert np.array_equal(value, golden[f"{name}_{key}"]), f"config {name}: {key} differs"
    # four configs, two shapes (with and without competition weight decay): two projects
    assert len({p for p, _ in projects}) == 2
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 2


def test_every_field_but_the_shape_is_a_run_time_value():
    base = NetworkConfig("LC", 4, competition_trainable=True, weight_decay=0.01)
    changed = dict(mean_weight=0.3, c_w=-50.0, c_w_min=-90.0, c_w_max=-2.0, a_plus=0.3, a_minus=-0.2,
                   tau_plus=10.0, tau_minus=30.0, weight_decay=0.02, refractory=4, intensity=50.0,
                   tau_membrane=25.0, v_rest=-60.0, v_reset=-70.0, v_threshold=-50.0, theta_plus=0.2,
                   tau_theta=1e5, tau_input_trace=10.0, nu_depression=1e-3, nu_potentiation=1e-3)
    import dataclasses

    names = {f.name for f in dataclasses.fields(NetworkConfig)}
    assert set(changed) | set(SHAPE_FIELDS) == names  # every field is either shape or run-time
    key = project_key(BuildSpec(base, 2))
    for field, value in changed.items():
        assert project_key(BuildSpec(base.replace(**{field: value}), 2)) == key, field
    for field, value in dict(channels=5, kernel=8, stride=2, crop=24, time_per_image=200,
                             competition_trainable=False, weight_decay=0.0).items():
        assert project_key(BuildSpec(base.replace(**{field: value}), 2)) != key, field


@pytest.mark.parametrize("architecture", ["C", "FC"])
def test_run_time_values_reach_the_other_architectures(tmp_path, architecture):
    """C normalises kernels in its channel group; FC has one position: both take the values."""
    base = NetworkConfig(architecture, 2, kernel=12)
    other = base.replace(mean_weight=0.25, nu_potentiation=3e-2, theta_plus=0.2, v_threshold=-54.0)
    images = np.random.default_rng(1).integers(0, 256, size=(4, 20, 20)).astype(np.uint8)
    results = []
    for config in (base, other):
        net = CompiledNetwork(config, images_per_run=4, cache_dir=tmp_path).compile()
        state = initial_state(config, build_connectivity(config), 0)
        results.append(net.run(state, learning=True, rates=firing_rates(images, config), seed=0))
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 1
    assert not np.array_equal(results[0].state.theta, results[1].state.theta)
    # the normalisation target is the run-time one: afferent sums are mean_weight * kernel²
    w = results[1].state.w_xy
    target = other.normalisation_target
    if architecture == "C":
        sums = w.reshape(other.channels, -1).sum(axis=1)
    else:
        sums = np.bincount(build_connectivity(other).xy_post, weights=w)
    np.testing.assert_allclose(sums, target, rtol=1e-9)
