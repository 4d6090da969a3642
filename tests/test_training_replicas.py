"""Training replicas: R networks of one shape, each with its own weights, θ, hyper-parameters,
seed and images, trained at once, each exactly as it trains alone."""

import numpy as np
import pytest

from brainlc.core.config import NetworkConfig
from brainlc.core.encoding import firing_rates
from brainlc.core.state import initial_state
from brainlc.core.topology import build_connectivity
from brainlc.core.traces import dense_spikes, learning_phases, read_trace, trace_initial_state
from brainlc.sim.simulation import CompiledNetwork
from brainlc.sim.training_replicas import ReplicaTrainer


def _other(cfg: NetworkConfig) -> NetworkConfig:
    """Other run-time hyper-parameters of the same shape."""
    return cfg.replace(nu_potentiation=cfg.nu_potentiation * 1.7, theta_plus=cfg.theta_plus * 0.8,
                       v_threshold=cfg.v_threshold - 0.5, tau_membrane=cfg.tau_membrane * 1.1)


# LC with competition weight decay, C with the original's all-pairs competition and decay, FC fixed
@pytest.mark.parametrize("name", ["lc-trainable", "c-original", "fc-fixed"])
def test_each_replica_trains_exactly_as_it_would_alone(name, trace_dir):
    ds, cfg = read_trace(trace_dir / f"trace-{name}.nc")
    other = _other(cfg)
    assert other.shape() == cfg.shape()
    inputs = dense_spikes(ds, "input", cfg.n_input)
    expected = dense_spikes(ds, "output", cfg.n_output)
    reversed_inputs = inputs[::-1].copy()
    trainer = ReplicaTrainer(cfg, replicas=2, images_per_run=8, input_mode="spikes").compile()
    # the parity tests' compiled project, for the second replica's own run
    alone = CompiledNetwork(other, images_per_run=8, input_mode="spikes",
                            record=tuple(int(r) for r in ds.recorded.values)).compile()
    first, second = trace_initial_state(ds), trace_initial_state(ds)
    for start, stop, learning in learning_phases(ds.learning.values):
        a, b = trainer.run([first, second], [cfg, other], learning=learning, seeds=[0, 0],
                           spikes=[inputs[start:stop], reversed_inputs[start:stop]])
        own = alone.run(second, learning=learning, spikes=reversed_inputs[start:stop])
        assert np.array_equal(a.spike_raster(), expected[start:stop]), "replica 0 against the reference trace"
        assert np.array_equal(b.spike_raster(), own.spike_raster()), "replica 1 against its own run"
        for key in ("w_xy", "w_yy", "theta"):
            assert np.array_equal(getattr(b.state, key), getattr(own.state, key)), key
        first, second = a.state, b.state
    for key in ("w_xy", "w_yy", "theta"):
        np.testing.assert_allclose(getattr(first, key), ds[f"{key}_final"].values, rtol=1e-9, atol=1e-12)
    assert not np.array_equal(first.w_xy, second.w_xy)  # two networks, not one


def test_poisson_replicas_draw_their_own_keyed_input():
    cfg = NetworkConfig("LC", 4, competition_trainable=True)
    configs = [cfg, cfg.replace(c_w=-60.0, a_plus=0.3), cfg.replace(mean_weight=0.3, intensity=100.0)]
    conn = build_connectivity(cfg)
    images = np.random.default_rng(2).integers(0, 256, size=(3, 7, 20, 20)).astype(np.uint8)
    states = [initial_state(c, conn, k) for k, c in enumerate(configs)]
    rates = [firing_rates(images[k], c) for k, c in enumerate(configs)]
    seeds, firsts = [11, 12, 3_000_000_000], [0, 5, 40]
    trained = ReplicaTrainer(cfg, replicas=3, images_per_run=3).run(
        states, configs, learning=True, rates=rates, seeds=seeds, first_images=firsts)
    for k in range(3):
        alone = CompiledNetwork(configs[k], images_per_run=3).compile()  # one project, its own values
        own = alone.run(states[k], learning=True, rates=rates[k], seed=seeds[k], first_image=firsts[k])
        assert trained[k].spike_counts.sum() > 50
        assert np.array_equal(trained[k].spike_raster(), own.spike_raster())
        assert np.array_equal(trained[k].state.w_xy, own.state.w_xy)
        assert np.array_equal(trained[k].state.theta, own.state.theta)


def test_bad_replica_inputs_are_refused():
    cfg = NetworkConfig("LC", 4)
    conn = build_connectivity(cfg)
    trainer = ReplicaTrainer(cfg, replicas=2, images_per_run=2)
    state = initial_state(cfg, conn, 0)
    rates = np.zeros((3, cfg.n_input))
    with pytest.raises(ValueError, match="one per replica"):
        trainer.run([state], [cfg], learning=True, rates=[rates], seeds=[0])
    with pytest.raises(ValueError, match="shape"):
        trainer.run([state, state], [cfg, NetworkConfig("LC", 5)], learning=True, rates=[rates, rates], seeds=[0, 1])
    with pytest.raises(ValueError, match="same number of images"):
        trainer.run([state, state], [cfg, cfg], learning=True, rates=[rates, rates[:2]], seeds=[0, 1])
    with pytest.raises(ValueError, match="replicas must be at least 1"):
        ReplicaTrainer(cfg, replicas=0)
