"""Analytic checks of the compiled model on a one-neuron network with hand-made inputs.

One Y neuron (FC, 1 channel, refractory 5) receives 400 inputs of weight 0.5 mV each
(their sum is the normalisation target, so normalisation keeps them).
"""

import math

import numpy as np
import pytest

from brainlc.core.config import NetworkConfig
from brainlc.core.state import NetworkState
from brainlc.sim.simulation import CompiledNetwork

CFG = NetworkConfig("FC", 1, mean_weight=0.5)
STEPS = CFG.time_per_image


@pytest.fixture(scope="module")
def net():
    return CompiledNetwork(CFG, images_per_run=2, input_mode="spikes", record=(0,)).compile()


def fresh_state():
    return NetworkState(np.full(400, 0.5), np.zeros(0), np.zeros(1))


def spikes(n_images=1, events=()):
    """events: (image, step, list of input neurons)."""
    out = np.zeros((n_images, STEPS, 400), dtype=bool)
    for image, step, neurons in events:
        out[image, step, neurons] = True
    return out


def test_membrane_decays_exponentially_to_rest(net):
    res = net.run(fresh_state(), learning=False, spikes=spikes(events=[(0, 10, [0])]))
    v = res.voltages[0, :, 0]
    assert np.all(v[:11] == CFG.v_rest)  # input arrives one step after the spike
    n = np.arange(STEPS - 11)
    expected = CFG.v_rest + 0.5 * np.exp(-n / CFG.tau_membrane)
    np.testing.assert_allclose(v[11:], expected, rtol=1e-12)
    assert res.spike_counts.sum() == 0


def test_refractory_period_and_theta_growth(net):
    drive = [(0, t, list(range(1, 61))) for t in range(20, 61)]
    res = net.run(fresh_state(), learning=True, spikes=spikes(events=drive))
    times = res.spike_step[res.spike_image == 0]
    assert times[0] == 21  # 30 mV arrive at step 21
    assert np.all(np.diff(times) == CFG.refractory + 1)
    assert times[-1] <= 61
    theta = 0.05 * np.sum(math.exp(-1 / CFG.tau_theta) ** (STEPS - 1 - times))
    assert res.state.theta[0] == pytest.approx(theta, rel=1e-12)
    # theta is frozen when learning is off
    res_off = net.run(res.state, learning=False, spikes=spikes(events=drive))
    assert res_off.state.theta[0] == res.state.theta[0]


@pytest.mark.parametrize("delta_t", [-15, -5, -1, 0, 1, 5, 15])
def test_stdp_pair_window(net, delta_t):
    """One pre spike of input 0 at t_pre, one post spike forced at t_post = t_pre + delta_t."""
    t_post = 100
    t_pre = t_post - delta_t
    drive = [(0, t_post - 1, list(range(1, 41))), (0, t_pre, [0])]
    res = net.run(fresh_state(), learning=True, spikes=spikes(events=drive))
    assert list(res.spike_step) == [t_post]
    w = res.state.w_xy
    # normalisation scaled every weight by one factor; input 399 never spiked
    before_normalisation = 0.5 * w[0] / w[399]
    dw = before_normalisation - 0.5
    if delta_t > 0:
        expected = CFG.nu_potentiation * math.exp(-delta_t / CFG.tau_input_trace)
    elif delta_t < 0:
        expected = -CFG.nu_depression * math.exp(delta_t / CFG.tau_minus)
    else:
        expected = CFG.nu_potentiation - CFG.nu_depression
    assert dw == pytest.approx(expected, rel=1e-8)
    np.testing.assert_allclose(w.sum(), CFG.normalisation_target, rtol=1e-12)


def test_state_is_reset_between_images(net):
    events = [(0, 240, list(range(1, 11))), (0, STEPS - 1, list(range(1, 41)))]
    res = net.run(fresh_state(), learning=False, spikes=spikes(2, events))
    v0, v1 = res.voltages[0, :, 0], res.voltages[1, :, 0]
    assert v0[241] == CFG.v_rest + 5.0
    assert v0[-1] < CFG.v_threshold  # the input of the last step never arrives
    assert np.all(v1 == CFG.v_rest)  # next image starts at rest, with no pending input
    assert res.spike_counts.sum() == 0


def test_clamp_and_normalisation_with_learning(net):
    state = fresh_state()
    state.w_xy[:] = 0.0
    state.w_xy[:100] = 2.0  # sum 200 = target, but above the [0, 1] bound
    drive = [(0, t, list(range(0, 60))) for t in range(20, 30)]
    res = net.run(state, learning=True, spikes=spikes(events=drive))
    w = res.state.w_xy
    # weights were clamped to 1 at the first learning step, then normalised
    np.testing.assert_allclose(w.sum(), CFG.normalisation_target, rtol=1e-12)
    assert w[:100].min() > 1.0 and w[100:].max() == 0.0


def test_same_seed_same_result_and_different_seed_differs():
    net = CompiledNetwork(CFG, images_per_run=2, input_mode="poisson").compile()
    rates = np.full((3, 400), 40.0)
    a = net.run(fresh_state(), learning=True, rates=rates, seed=1)
    b = net.run(fresh_state(), learning=True, rates=rates, seed=1)
    c = net.run(fresh_state(), learning=True, rates=rates, seed=2)
    assert np.array_equal(a.spike_step, b.spike_step) and np.array_equal(a.state.w_xy, b.state.w_xy)
    assert not np.array_equal(a.state.w_xy, c.state.w_xy)


def test_poisson_input_rate_is_the_given_rate():
    net = CompiledNetwork(CFG, images_per_run=2, input_mode="poisson").compile()
    state = fresh_state()
    state.w_xy[:] = 0.0
    state.w_xy[0] = 200.0  # input 0 alone makes Y spike, so Y spikes count input 0 spikes
    rate = 60.0
    rates = np.zeros((2, 400))
    rates[:, 0] = rate
    res = net.run(state, learning=False, rates=rates, seed=3)
    # Y is refractory after each spike, so it can only miss input spikes: compare loosely
    n = res.spike_counts.sum()
    expected = 2 * rate * STEPS / 1000
    assert 0.6 * expected < n <= 1.4 * expected
