"""The compiled Brian2 model against the stored reference traces: same spikes, same step.

Each trace (tests/data, made by scripts/make_reference_traces.py) holds 20 MNIST images
with learning on, then 4 without. The compiled model presents them in chunks of 8 images
per binary invocation, so carrying the state between invocations and padding the last
chunk are exercised too.
"""

import numpy as np
import pytest

from brainlc.core.reference import ReferenceNetwork
from brainlc.core.state import NetworkState, normalise_xy
from brainlc.core.topology import build_connectivity
from brainlc.core.traces import dense_spikes, learning_phases, read_trace, trace_initial_state
from brainlc.sim.simulation import CompiledNetwork

TRACE_CASES = ["lc-fixed", "lc-trainable", "c-fixed", "c-trainable", "fc-fixed", "fc-trainable",
               "lc-original", "c-original", "fc-original"]

RTOL = 1e-9


def _assert_state_close(state, ds):
    np.testing.assert_allclose(state.w_xy, ds.w_xy_final.values, rtol=RTOL, atol=0)
    np.testing.assert_allclose(state.w_yy, ds.w_yy_final.values, rtol=RTOL, atol=0)
    np.testing.assert_allclose(state.theta, ds.theta_final.values, rtol=RTOL, atol=1e-12)


@pytest.fixture(scope="module", params=TRACE_CASES)
def case(request, trace_dir):
    ds, cfg = read_trace(trace_dir / f"trace-{request.param}.nc")
    return request.param, ds, cfg


def test_trace_is_a_real_learning_run(case):
    name, ds, cfg = case
    assert ds.sizes["image"] >= 24 and int(ds.learning.sum()) >= 20
    assert ds.sizes["output_spike"] > 500
    assert np.max(np.abs(ds.w_xy_final.values - ds.w_xy_initial.values)) > 1e-3
    if cfg.competition_trainable:
        assert np.mean(ds.w_yy_final.values != ds.w_yy_initial.values) > 0.3


def test_reference_reproduces_the_stored_trace(case):
    name, ds, cfg = case
    conn = build_connectivity(cfg)
    ref = ReferenceNetwork(cfg, conn, trace_initial_state(ds))
    inputs = dense_spikes(ds, "input", cfg.n_input)
    rasters = []
    for start, stop, learning in learning_phases(ds.learning.values):
        result = ref.run(inputs[start:stop], learning=learning, record=ds.recorded.values)
        rasters.append(result.spikes)
    assert np.array_equal(np.concatenate(rasters), dense_spikes(ds, "output", cfg.n_output))
    _assert_state_close(ref.state, ds)


def test_compiled_model_reproduces_the_reference_spike_for_spike(case):
    name, ds, cfg = case
    net = CompiledNetwork(cfg, images_per_run=8, input_mode="spikes",
                          record=tuple(int(r) for r in ds.recorded.values)).compile()
    inputs = dense_spikes(ds, "input", cfg.n_input)
    expected = dense_spikes(ds, "output", cfg.n_output)
    state = trace_initial_state(ds)
    for start, stop, learning in learning_phases(ds.learning.values):
        result = net.run(state, learning=learning, spikes=inputs[start:stop])
        raster = result.spike_raster()
        mismatch = np.argwhere(raster != expected[start:stop])
        assert mismatch.size == 0, f"{name}: first differing (image, step, neuron): {mismatch[:5] + [start, 0, 0]}"
        np.testing.assert_allclose(result.voltages, ds.voltage.values[start:stop], rtol=RTOL, atol=1e-12)
        np.testing.assert_allclose(result.thetas, ds.theta.values[start:stop], rtol=RTOL, atol=1e-12)
        assert np.array_equal(result.spike_counts, expected[start:stop].sum(axis=1))
        state = result.state
    _assert_state_close(state, ds)


def test_learning_off_changes_no_weight_and_no_theta(case):
    name, ds, cfg = case
    net = CompiledNetwork(cfg, images_per_run=8, input_mode="spikes",
                          record=tuple(int(r) for r in ds.recorded.values)).compile()
    state = NetworkState(ds.w_xy_final.values.copy(), ds.w_yy_final.values.copy(),
                         ds.theta_final.values.copy())
    inputs = dense_spikes(ds, "input", cfg.n_input)[:3]
    result = net.run(state, learning=False, spikes=inputs)
    assert result.spike_counts.sum() > 0
    assert np.array_equal(result.state.w_xy, state.w_xy)
    assert np.array_equal(result.state.w_yy, state.w_yy)
    assert np.array_equal(result.state.theta, state.theta)


def test_normalisation_sums_after_training(case):
    name, ds, cfg = case
    conn = build_connectivity(cfg)
    w = ds.w_xy_final.values
    if cfg.architecture == "C":
        sums = w.reshape(cfg.channels, -1).sum(axis=1)
    else:
        sums = np.bincount(conn.xy_post, weights=w, minlength=cfg.n_output)
    np.testing.assert_allclose(sums, cfg.mean_weight * cfg.kernel**2, rtol=1e-12)
    np.testing.assert_allclose(normalise_xy(cfg, conn, w), w, rtol=1e-12)


@pytest.mark.parametrize("name", ["lc-original", "c-original", "fc-original"])
def test_original_competition_learns_every_pair_and_lc_alone_masks_them(trace_dir, name):
    """The original's mode: all N² Y->Y entries learn within an image; after each training
    image LC sets those outside the competition pairs back to 0, C and FC keep them."""
    ds, cfg = read_trace(trace_dir / f"trace-{name}.nc")
    conn = build_connectivity(cfg)
    assert conn.yy_pre.size == cfg.n_output**2
    assert conn.yy_in_patch.sum() == cfg.synapse_counts()["parameters"] - conn.n_xy_weights
    outside = ~conn.yy_in_patch
    final = ds.w_yy_final.values
    if cfg.architecture == "LC":
        assert np.all(final[outside] == 0.0)
    else:
        assert np.mean(final[outside] != 0.0) > 0.1  # self and cross-position pairs learned and stay
