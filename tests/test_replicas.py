"""Evaluation with replicas: R images at once, learning off, exactly as one at a time.

The evaluation model (brainlc.sim.evaluation_model) leaves out every learning pathway; its
spikes must be those of the full model with learning off, and those of the reference
traces, whatever the number of replicas, the chunking and the number of worker processes.
Its Poisson input is keyed by image (brainlc.sim.image_random), so it draws what the full
model draws for the same seed.
"""

import numpy as np
import pytest

from brainlc.core.config import NetworkConfig
from brainlc.core.encoding import firing_rates, spike_probabilities
from brainlc.core.state import NetworkState, initial_state
from brainlc.core.topology import build_connectivity
from brainlc.core.traces import dense_spikes, read_trace
from brainlc.sim import image_random
from brainlc.sim.replicas import ReplicaEvaluator, default_replicas
from brainlc.sim.simulation import CompiledNetwork
from brainlc.sim.spec import BuildSpec

# one per architecture in the default suite (every competition kind among them); the rest: -m slow
DEFAULT_CASES = ["lc-original", "c-trainable", "fc-fixed"]
TRACE_CASES = [name if name in DEFAULT_CASES else pytest.param(name, marks=pytest.mark.slow)
               for name in ("lc-fixed", "lc-trainable", "c-fixed", "c-trainable", "fc-fixed", "fc-trainable",
                            "lc-original", "c-original", "fc-original")]


@pytest.mark.parametrize("name", TRACE_CASES)
def test_replicas_reproduce_one_at_a_time_evaluation_spike_for_spike(name, trace_dir):
    ds, cfg = read_trace(trace_dir / f"trace-{name}.nc")
    state = NetworkState(ds.w_xy_final.values.copy(), ds.w_yy_final.values.copy(), ds.theta_final.values.copy())
    inputs = dense_spikes(ds, "input", cfg.n_input)
    # the parity tests' compiled project: one image at a time, learning off
    full = CompiledNetwork(cfg, images_per_run=8, input_mode="spikes",
                           record=tuple(int(r) for r in ds.recorded.values)).compile()
    expected = full.run(state, learning=False, spikes=inputs)
    # 3 replicas x 3 images per invocation: 24 images in 3 chunks (the last one padded), 2 processes
    replicas = ReplicaEvaluator(cfg, replicas=3, images_per_run=3, input_mode="spikes", workers=2).compile()
    got = replicas.run(state, spikes=inputs)
    assert expected.spike_counts.sum() > 100
    mismatch = np.argwhere(got.spike_raster() != expected.spike_raster())
    assert mismatch.size == 0, f"{name}: first differing (image, step, neuron): {mismatch[:5]}"
    assert np.array_equal(got.spike_counts, expected.spike_counts)
    for key in ("spike_image", "spike_step", "spike_neuron"):
        assert np.array_equal(getattr(got, key), getattr(expected, key)), key
    # the trace's last images were presented with learning off, from the final state
    learned_off = np.flatnonzero(ds.learning.values == 0)
    assert learned_off.size >= 4
    assert np.array_equal(got.spike_raster()[learned_off], dense_spikes(ds, "output", cfg.n_output)[learned_off])
    # the state is not touched
    assert np.array_equal(got.state.w_xy, state.w_xy) and np.array_equal(got.state.theta, state.theta)


@pytest.fixture(scope="module")
def small():
    config = NetworkConfig("LC", 4, competition_trainable=True)
    images = np.random.default_rng(5).integers(0, 256, size=(11, 20, 20)).astype(np.uint8)
    state = initial_state(config, build_connectivity(config), 1)
    return config, state, firing_rates(images, config)


def test_poisson_input_is_the_keyed_draws_in_training_and_evaluation(small):
    config, state, rates = small
    seed = 3_000_000_001  # above 2**31: the whole uint32 range is a key
    trains = image_random.input_spikes(seed, 0, spike_probabilities(rates, config), config.time_per_image)
    poisson = CompiledNetwork(config, images_per_run=4).compile()
    spikes = CompiledNetwork(config, images_per_run=4, input_mode="spikes").compile()
    a = poisson.run(state, learning=True, rates=rates, seed=seed)
    b = spikes.run(state, learning=True, spikes=trains)
    assert a.spike_counts.sum() > 100
    assert np.array_equal(a.spike_raster(), b.spike_raster())
    assert np.array_equal(a.state.w_xy, b.state.w_xy) and np.array_equal(a.state.w_yy, b.state.w_yy)
    # the chunking does not matter: image n always gets the draws of (seed, n)
    c = CompiledNetwork(config, images_per_run=3).compile().run(state, learning=True, rates=rates, seed=seed)
    assert np.array_equal(c.spike_raster(), a.spike_raster())
    assert np.array_equal(c.state.w_xy, a.state.w_xy)


@pytest.mark.parametrize("replicas, images_per_run, workers", [(1, 4, 1), (4, 2, 1), (4, 2, 3), (16, 1, 2)])
def test_poisson_evaluation_is_the_same_for_any_replicas_chunks_and_workers(small, replicas, images_per_run,
                                                                            workers):
    config, state, rates = small
    expected = CompiledNetwork(config, images_per_run=4).compile().run(state, learning=False, rates=rates, seed=7)
    evaluator = ReplicaEvaluator(config, replicas=replicas, images_per_run=images_per_run, workers=workers)
    got = evaluator.run(state, rates=rates, seed=7)
    assert expected.spike_counts.sum() > 100
    assert np.array_equal(got.spike_raster(), expected.spike_raster())
    other_seed = evaluator.run(state, rates=rates, seed=8)
    assert not np.array_equal(other_seed.spike_counts, got.spike_counts)


def test_keyed_draws_are_uniform_and_independent():
    u = image_random.uniform(17, np.arange(200)[:, None], np.arange(250)[None, :], 3)
    assert 0 <= u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01
    assert abs(np.corrcoef(u[:-1].ravel(), u[1:].ravel())[0, 1]) < 0.02  # neighbouring images
    assert abs(np.corrcoef(u[:, :-1].ravel(), u[:, 1:].ravel())[0, 1]) < 0.02  # neighbouring steps
    assert not np.array_equal(u, image_random.uniform(18, np.arange(200)[:, None], np.arange(250)[None, :], 3))
    p = np.full((50, 10), 0.05)
    rate = image_random.input_spikes(1, 0, p, 250).mean()
    assert abs(rate - 0.05) < 0.003
    with pytest.raises(ValueError, match="key"):
        image_random.uniform(2**32, 0, 0, 0)


def test_bad_replica_settings_are_refused_before_compiling(small):
    config, state, rates = small
    with pytest.raises(ValueError, match="replicas must be at least 1"):
        ReplicaEvaluator(config, replicas=0)
    with pytest.raises(ValueError, match="workers must be at least 1"):
        ReplicaEvaluator(config, workers=0)
    with pytest.raises(ValueError, match="record spike counts only"):
        BuildSpec(config, 4, learning=False, record=(1,))
    with pytest.raises(ValueError, match="record spike counts only"):
        BuildSpec(config, 4, replicas=2, record_input=True)
    with pytest.raises(ValueError, match="replicas must be at least 1"):
        BuildSpec(config, 4, replicas=0)
    evaluator = ReplicaEvaluator(config, replicas=2, images_per_run=2)
    with pytest.raises(ValueError, match="rates have shape"):
        evaluator.run(state, rates=rates[:, :10])
    with pytest.raises(ValueError, match="seed"):
        evaluator.run(state, rates=rates, seed=-1)


def test_default_replicas_are_one_on_the_cpu_and_many_on_a_gpu():
    small_net, big_net = NetworkConfig("LC", 25), NetworkConfig("LC", 1000)
    assert default_replicas(small_net, "cpp") == default_replicas(big_net, "cpp") == 1
    assert default_replicas(small_net, "cuda") == 1024
    assert 1 < default_replicas(big_net, "cuda") < default_replicas(small_net, "cuda")
    assert ReplicaEvaluator(small_net, device="cuda").workers == 1  # the GPU's replicas fill it
    assert ReplicaEvaluator(small_net, device="cpp").workers >= 1


def test_profiling_reports_seconds_per_code_object(small):
    config, state, rates = small
    net = CompiledNetwork(config, images_per_run=4, profile=True).compile()
    profile = net.run(state, learning=False, rates=rates[:4], seed=1).extra["profile"]
    assert profile["XY_pre_codeobject"] > 0
    assert set(profile) >= {"Y_update_codeobject", "X_spike_thresholder_codeobject"}
    evaluator = ReplicaEvaluator(config, replicas=2, images_per_run=2, profile=True)
    assert "XY_pre_codeobject" in evaluator.run(state, rates=rates[:4], seed=1).extra["profile"]
