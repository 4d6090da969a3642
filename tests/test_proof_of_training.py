"""A saved network carries proof that it trained, and no group of networks trained together
saves one that did not (issue 18, item 1)."""

import numpy as np
import pytest

from brainlc.core.presets import load_preset
from brainlc.core.state import NetworkState, initial_state
from brainlc.core.topology import build_connectivity
from brainlc.experiment.runs import NewRun, TrainingError, prove_trained, run_new, run_new_together
from brainlc.sim.simulation import BinaryError, CompiledNetwork, invoke_binary, unread_inputs
from brainlc.storage.store import Store

SIZES = {"train": 20, "calibrate": 100, "test": 20}
CONFIG = load_preset("lc-25-k12").config


def _same(a, b) -> None:
    for key in ("w_xy", "w_yy", "theta"):
        assert np.array_equal(getattr(a.state, key), getattr(b.state, key)), key
    assert a.record["accuracy"] == b.record["accuracy"]


def test_a_group_of_one_trains_exactly_as_a_network_alone(tmp_path):
    (together,) = run_new_together([NewRun("lc-25-k12", CONFIG, 3)], Store(tmp_path / "a"), **SIZES)
    alone = run_new("lc-25-k12", CONFIG, Store(tmp_path / "b"), 3, **SIZES, show_progress=False)
    _same(together, alone)
    assert together.state.theta.max() > 0 and np.abs(together.state.w_xy).max() > 0
    proof = together.record["history"][-1]["trained"]
    assert proof["images_counted"] == 20 and proof["xy_weights_changed"] > 0
    assert alone.record["history"][-1]["trained"]["images_counted"] == 20


def test_prove_trained_refuses_a_miscounted_or_unchanged_training():
    state = initial_state(CONFIG, build_connectivity(CONFIG), 0)
    changed = NetworkState(state.w_xy * 0.5, state.w_yy, state.theta)
    assert prove_trained(state, changed, 10, 10)["xy_weights_changed"] == state.w_xy.size
    with pytest.raises(TrainingError, match="counted 9 training images where 10"):
        prove_trained(state, changed, 10, 9)
    with pytest.raises(TrainingError, match="left every X->Y weight as it was"):
        prove_trained(state, state.copy(), 10, 10)
    assert prove_trained(state, state.copy(), 0, 0)["images_counted"] == 0  # evaluation only


def test_an_input_the_binary_did_not_take_is_an_error(tmp_path):
    line = "Error reading '/tmp/x/Y.theta_plus.dat': file size 800 does not match expected size 8"
    assert unread_inputs(f"warming up\n{line}\n") == [line]
    assert unread_inputs("") == []
    net = CompiledNetwork(CONFIG, images_per_run=100).compile()  # the experiments' project
    state = initial_state(CONFIG, net.connectivity_, 0)
    arrays = {"w_xy": state.w_xy, "w_yy": state.w_yy, "theta": state.theta, "learning_flag": np.ones(101),
              "input": np.zeros((101, CONFIG.n_input))}
    parameters = {name: np.full(7, 0.5) for name in net.manifest_["parameters"]}  # 7 values for a scalar
    with pytest.raises(BinaryError, match="did not take its input: Error reading"):
        invoke_binary(net.project_, net.manifest_, tmp_path, arrays, parameters, {})


def test_the_per_neuron_counts_must_agree():
    from brainlc.sim.simulation import images_learned

    assert images_learned(np.full(225, 20.0)) == 20
    assert images_learned(np.array([20.0, 20.0, 19.0])) == -1  # a damaged or racing count
    assert images_learned(np.zeros(0)) == -1
