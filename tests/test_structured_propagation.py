"""Structured X->Y propagation (brainlc.sim.propagation_blocks, brainlc.sim.structured_code).

The blocks are derived from the index maps and cover every synapse once. The build gives,
bit for bit, the results of the build before it (tests/data/build-golden.npz, made with
Brian2's own X->Y code by scripts/make_build_golden.py): every parity trace through the
full model (LC, C, FC; fixed, trainable and the original's competition) and evaluation
replicas of LC and C. A deliberately reordered sum is caught by that comparison. The
slow tests compare with a build of Brian2's own code made now (``structured=False``),
training replicas too. A binary whose synapses are not those its blocks describe stops.
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from brainlc.core.config import NetworkConfig
from brainlc.core.presets import load_preset, preset_names
from brainlc.core.state import initial_state
from brainlc.core.topology import build_connectivity
from brainlc.core.traces import dense_spikes, learning_phases, read_trace, trace_initial_state
from brainlc.sim import generated_code, structured_code
from brainlc.sim.propagation_blocks import (
    derive_blocks,
    kernel_runs_with_blocks,
    model_numbering,
    offset_major_kernel,
    position_major,
    xy_blocks,
    yy_blocks,
)
from brainlc.sim.replicas import ReplicaEvaluator
from brainlc.sim.simulation import BinaryError, CompiledNetwork, from_model_order, to_model_order
from brainlc.sim.training_replicas import ReplicaTrainer

GOLDEN = np.load(Path(__file__).parent / "data" / "build-golden.npz")
TRACE_CASES = ["lc-fixed", "lc-trainable", "c-fixed", "c-trainable", "fc-fixed", "fc-trainable",
               "lc-original", "c-original", "fc-original"]


def _check_blocks(blocks, pre, post):
    order = blocks.synapse_order
    assert np.array_equal(np.sort(order), np.arange(pre.size))  # a permutation of the synapses
    assert blocks.block_length.sum() == pre.size
    pre_o, post_o = pre[order], post[order]
    for pixel in range(blocks.n_input):
        for b in range(blocks.first_block[pixel], blocks.first_block[pixel + 1]):
            s, q, n = blocks.block_synapse[b], blocks.block_slot[b], blocks.block_length[b]
            assert np.all(pre_o[s:s + n] == pixel)
            assert np.array_equal(post_o[s:s + n], blocks.neuron_of_slot[q:q + n * blocks.stride:blocks.stride])
    # each pixel's synapses in ascending slot order, so a target gets one addition per pixel
    assert np.all(np.diff(blocks.block_synapse) == blocks.block_length[:-1])


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_has_regular_blocks_that_cover_each_synapse_once(name):
    cfg = load_preset(name).config
    conn = build_connectivity(cfg)
    blocks = xy_blocks(cfg, conn)
    assert blocks is not None and blocks.mean_block_length >= cfg.channels
    _check_blocks(blocks, conn.xy_pre.astype(np.int64), conn.xy_post.astype(np.int64))
    assert blocks.slots_are_neurons == (cfg.architecture == "FC")


@pytest.mark.parametrize("name", preset_names())
def test_every_presets_competition_has_blocks_in_the_topologys_order(name):
    cfg = load_preset(name).config
    conn = build_connectivity(cfg)
    blocks = yy_blocks(cfg, conn)
    assert blocks is not None and blocks.slots_are_neurons
    assert np.array_equal(blocks.synapse_order, np.arange(conn.yy_pre.size))  # w_yy keeps its order
    # patch competition: a neuron's rivals, every positions-th neuron, before and after it
    positions = cfg.conv * cfg.conv
    assert blocks.stride == (1 if cfg.all_pairs_compete else positions)
    assert blocks.block_length.size <= (1 if cfg.all_pairs_compete else 2) * cfg.n_output
    _check_blocks(blocks, conn.yy_pre.astype(np.int64), conn.yy_post.astype(np.int64))


def test_a_competition_of_few_channels_keeps_brian2s_code():
    # 9 channels: blocks of 4 rivals on average, too short to pay
    cfg = NetworkConfig("LC", 9, kernel=12, stride=4)
    assert yy_blocks(cfg, build_connectivity(cfg)) is None
    with pytest.raises(ValueError, match="stride"):
        derive_blocks(np.zeros(4), np.arange(4), 1, position_major(2, 2), stride=2)


def test_slots_are_position_major():
    # neuron f * positions + p sits in slot p * channels + f
    assert position_major(3, 2).tolist() == [0, 2, 4, 1, 3, 5]


def test_irregular_maps_get_no_blocks():
    # one channel: a pixel's targets are a few positions, in runs of 1 to 3
    cfg = NetworkConfig("LC", 1, kernel=12, stride=4)
    assert xy_blocks(cfg, build_connectivity(cfg)) is None
    # two synapses joining one pair
    pre = np.repeat(np.arange(4), 16)
    post = np.tile(np.arange(16), 4)
    post[1] = post[0]
    assert derive_blocks(pre, post, 4, np.arange(16, dtype=np.int32)) is None
    # the same map without the duplicate is one block per pixel, in any listed order
    post[1] = 1
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(pre.size)
    blocks = derive_blocks(pre[shuffled], post[shuffled], 4, np.arange(16, dtype=np.int32))
    assert blocks is not None and blocks.block_length.tolist() == [16] * 4
    _check_blocks(blocks, pre[shuffled], post[shuffled])


def test_weights_go_to_the_model_order_and_back():
    order = np.array([2, 0, 3, 1])
    weights = np.arange(8.0)  # two replicas
    model = to_model_order(weights, order)
    assert model.tolist() == [2, 0, 3, 1, 6, 4, 7, 5]
    assert np.array_equal(from_model_order(model, order), weights)


def test_an_irregular_network_keeps_brian2s_code(tmp_path):
    cfg = NetworkConfig("LC", 1, kernel=12, stride=4)
    net = CompiledNetwork(cfg, images_per_run=1, cache_dir=tmp_path).compile()
    assert net.manifest_["structured"] == {} and "xy_order" not in net.manifest_
    code = "".join(p.read_text() for p in (net.project_ / "code_objects").glob("*.cpp"))
    assert "brainlc: structured propagation" not in code and ".peek()" in code


# ---------------------------------------------------------------- identical to Brian2's code

#: What the full model of LC and FC structures: transmission (with the pre-spike STDP) and
#: the normalisation's weight sums and scaling (C normalises its kernel, not XY).
TRAINING_LC_FC = {"XY_pre": True, "XY_sum": True, "XY_scale": True}
#: ... and of Y->Y, where its blocks are long enough: the trace cases' FC, and every pair
#: competing (the original's mode); their LC and C have 9 channels, too few.
COMPETITION = {"fc-fixed": {"YY_pre": True}, "fc-trainable": {"YY_pre": True}, "fc-original": {"YY_pre": True},
               "lc-original": {"YY_pre": True}, "c-original": {"YY_pre": True, "YY_transmit": True}}


def _structured(case, cfg):
    xy = {"LC": TRAINING_LC_FC, "FC": TRAINING_LC_FC, "C": {"XY_pre": True, "XY_transmit": True}}
    return {**xy[cfg.architecture], **COMPETITION.get(case, {})}


def _run_trace(ds, cfg, structured, cache_dir=None):
    """The trace's images through a build like test_parity's (the default cache: the
    structured builds are test_parity's own)."""
    net = CompiledNetwork(cfg, images_per_run=8, input_mode="spikes", record=tuple(int(r) for r in ds.recorded.values),
                          cache_dir=cache_dir, structured=structured).compile()
    inputs = dense_spikes(ds, "input", cfg.n_input)
    state, results = trace_initial_state(ds), []
    for start, stop, learning in learning_phases(ds.learning.values):
        result = net.run(state, learning=learning, spikes=inputs[start:stop])
        results.append(result)
        state = result.state
    return net, state, results


def _assert_as_before(case, run):
    """``run`` (net, final state, results by phase) against the golden results of ``case``."""
    _, state, results = run
    for name in ("w_xy", "w_yy", "theta"):
        assert np.array_equal(getattr(state, name), GOLDEN[f"{case}_{name}"]), f"{case}: {name} differs"
    for phase, result in enumerate(results):
        for name in ("spike_image", "spike_step", "spike_neuron", "voltages", "thetas"):
            assert np.array_equal(getattr(result, name), GOLDEN[f"{case}_{phase}_{name}"]), f"{case}: {name} differs"


@pytest.mark.parametrize("case", TRACE_CASES)
def test_the_full_model_gives_bit_for_bit_the_results_of_the_build_before(case, trace_dir):
    ds, cfg = read_trace(trace_dir / f"trace-{case}.nc")
    run = _run_trace(ds, cfg, True)
    assert run[0].manifest_["structured"] == _structured(case, cfg)
    _assert_as_before(case, run)


@pytest.mark.parametrize("architecture", ["LC", "C"])
def test_evaluation_replicas_give_bit_for_bit_the_results_of_the_build_before(architecture):
    cfg = NetworkConfig(architecture, 9, kernel=12, stride=4, mean_weight=0.5)
    state = initial_state(cfg, build_connectivity(cfg), 1)
    ev = _evaluator(cfg, True)
    result = ev.run(state, rates=_rates(cfg, 7), seed=5)
    assert ev.manifest_["structured"] == {"XY_pre": True}
    assert result.spike_neuron.size > 50
    for name in ("spike_counts", "spike_image", "spike_step", "spike_neuron"):
        assert np.array_equal(getattr(result, name), GOLDEN[f"{architecture.lower()}-eval_{name}"]), name


def _assert_identical(a, b):
    (_, state_a, runs_a), (_, state_b, runs_b) = a, b
    for name in ("w_xy", "w_yy", "theta"):
        assert np.array_equal(getattr(state_a, name), getattr(state_b, name)), name
    for run_a, run_b in zip(runs_a, runs_b, strict=True):
        for name in ("spike_image", "spike_step", "spike_neuron", "voltages", "thetas"):
            assert np.array_equal(getattr(run_a, name), getattr(run_b, name)), name


@pytest.mark.slow
@pytest.mark.parametrize("case", ["lc-trainable", "c-trainable", "fc-original"])
def test_the_full_model_is_identical_to_brian2s_code(case, trace_dir):
    ds, cfg = read_trace(trace_dir / f"trace-{case}.nc")
    structured = _run_trace(ds, cfg, True)
    assert structured[0].manifest_["structured"] == _structured(case, cfg)
    brian = _run_trace(ds, cfg, False)
    assert brian[0].manifest_["structured"] == {}
    _assert_identical(structured, brian)


def _rates(cfg, n, seed=0):
    rng = np.random.default_rng(seed)
    rates = rng.uniform(0, 64, (n, cfg.n_input))
    rates[rng.random(rates.shape) < 0.6] = 0.0  # mostly dark, as MNIST
    return rates


def _evaluator(cfg, structured, cache_dir=None):
    return ReplicaEvaluator(cfg, replicas=3, images_per_run=2, workers=1, cache_dir=cache_dir, structured=structured)


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["LC", "C"])
def test_evaluation_replicas_are_identical_to_brian2s_code(architecture):
    cfg = NetworkConfig(architecture, 9, kernel=12, stride=4, mean_weight=0.5)
    conn = build_connectivity(cfg)
    state = initial_state(cfg, conn, 1)
    rates = _rates(cfg, 7)
    out = {}
    for structured in (True, False):
        ev = _evaluator(cfg, structured)
        out[structured] = ev.run(state, rates=rates, seed=5)
        assert bool(ev.manifest_["structured"]) == structured
    assert out[True].spike_neuron.size > 50
    for name in ("spike_counts", "spike_image", "spike_step", "spike_neuron"):
        assert np.array_equal(getattr(out[True], name), getattr(out[False], name)), name


@pytest.mark.slow
def test_training_replicas_are_identical_to_brian2s_code(tmp_path):
    cfg = NetworkConfig("LC", 9, kernel=12, stride=4, mean_weight=0.5)
    conn = build_connectivity(cfg)
    configs = [cfg, cfg.replace(nu_depression=2 * cfg.nu_depression)]
    states = [initial_state(c, conn, seed) for seed, c in enumerate(configs)]
    rates = [_rates(cfg, 5, seed) for seed in range(2)]
    out = {}
    for structured in (True, False):
        trainer = ReplicaTrainer(cfg, replicas=2, images_per_run=5, cache_dir=tmp_path, structured=structured)
        out[structured] = trainer.run(states, configs, learning=True, rates=rates, seeds=[3, 4])
    for a, b in zip(out[True], out[False], strict=True):
        assert np.array_equal(a.state.w_xy, b.state.w_xy) and np.array_equal(a.state.theta, b.state.theta)
        assert np.array_equal(a.spike_neuron, b.spike_neuron) and np.array_equal(a.spike_step, b.spike_step)
    assert not np.array_equal(out[True][0].state.w_xy, states[0].w_xy)


def test_a_reordered_sum_is_caught(trace_dir, tmp_path):
    """The same build with the input spikes (and the weight sums' source neurons) walked in
    descending order: each target's additions come in another order, and the comparison
    with Brian2's code sees it."""
    ds, cfg = read_trace(trace_dir / "trace-lc-trainable.nc")
    net = _run_trace(ds, cfg, True)[0]
    shutil.copytree(net.project_, tmp_path / "reordered")  # the cached build stays as it is
    net.project_ = tmp_path / "reordered"
    for path in (net.project_ / "code_objects").glob("*codeobject*.cpp"):
        text = path.read_text()
        loop = "for (int32_t _source = 0; _source < _brainlc_n_sources; _source++)"
        backwards = "for (int32_t _source = _brainlc_n_sources - 1; _source >= 0; _source--)"
        if loop in text:
            path.write_text(text.replace(loop, backwards))
    subprocess.run(["make", "-C", str(net.project_)], check=True, capture_output=True)
    inputs = dense_spikes(ds, "input", cfg.n_input)
    state, runs = trace_initial_state(ds), []
    for start, stop, learning in learning_phases(ds.learning.values):
        runs.append(net.run(state, learning=learning, spikes=inputs[start:stop]))
        state = runs[-1].state
    with pytest.raises(AssertionError, match="differs"):
        _assert_as_before("lc-trainable", (net, state, runs))
    # close to the last bits, as a reordered sum is: only an exact comparison sees it
    np.testing.assert_allclose(state.w_xy, GOLDEN["lc-trainable_w_xy"], rtol=1e-9)


def test_a_binary_whose_synapses_differ_from_its_blocks_stops(tmp_path):
    cfg = NetworkConfig("LC", 9, kernel=12, stride=4, mean_weight=0.5)
    ev = _evaluator(cfg, True).compile()  # the build of the evaluation test above
    copy = tmp_path / "copy"
    shutil.copytree(ev.project_, copy)
    targets = copy / "static_arrays" / "_static_array__array_XY_targets"
    values = np.fromfile(targets, dtype=np.int32)
    values[[0, 1]] = values[[1, 0]]
    values.tofile(targets)
    ev.project_ = copy
    conn = build_connectivity(cfg)
    with pytest.raises(BinaryError, match="not those its structured code was built for"):
        ev.run(initial_state(cfg, conn, 0), rates=_rates(cfg, 1))


def test_a_binary_whose_kernel_elements_do_not_run_with_its_blocks_stops(tmp_path):
    cfg = NetworkConfig("C", 9, kernel=12, stride=4, mean_weight=0.5)
    ev = _evaluator(cfg, True).compile()  # the build of the evaluation test above
    assert ev.manifest_["xy_order"]  # the kernel, offset-major
    copy = tmp_path / "copy"
    shutil.copytree(ev.project_, copy)
    elements = copy / "static_arrays" / "_static_array__dynamic_array_XY_kernel_index"
    values = np.fromfile(elements, dtype=np.int64)  # as Brian2 stores a numpy array it was given
    values[[0, 1]] = values[[1, 0]]
    values.tofile(elements)
    ev.project_ = copy
    with pytest.raises(BinaryError, match="not those its structured code was built for"):
        ev.run(initial_state(cfg, build_connectivity(cfg), 0), rates=_rates(cfg, 1))


@pytest.mark.parametrize("name", [name for name in preset_names() if name.startswith("c-")])
def test_a_convolutions_blocks_read_consecutive_kernel_elements(name):
    cfg = load_preset(name).config
    conn = build_connectivity(cfg)
    blocks = xy_blocks(cfg, conn)
    order = offset_major_kernel(cfg.channels, cfg.kernel)
    assert np.array_equal(blocks.kernel_order, order)  # what the compiled model numbers its kernel by
    assert sorted(order) == list(range(conn.n_kernel_elements))
    numbering = model_numbering(order, order.size)
    assert np.array_equal(order[numbering], np.arange(order.size))
    # element offset * channels + channel is the topology's channel * kernel**2 + offset
    assert numbering[3 * cfg.kernel**2 + 5] == 5 * cfg.channels + 3
    in_blocks = numbering[conn.xy_kernel[blocks.synapse_order]]
    assert kernel_runs_with_blocks(blocks, in_blocks)
    assert not kernel_runs_with_blocks(blocks, conn.xy_kernel[blocks.synapse_order])  # the topology's
    assert blocks.mean_block_length == cfg.channels  # one position, one offset, every channel


def test_unrecognised_code_is_left_as_it_is(tmp_path):
    folder = tmp_path / "code_objects"
    folder.mkdir()
    (folder / "XY_pre_push_spikes.cpp").write_text(
        "XY_pre.advance();\nXY_pre.push(_ptr_array_X__spikespace, _ptr_array_X__spikespace[_num_spikespace-1]);\n")
    (folder / "XY_pre_codeobject.cpp").write_text("void _run_XY_pre_codeobject()\n{\n  something_else();\n}\n")
    cfg = load_preset("fc-100").config
    before = {p.name: p.read_text() for p in folder.iterdir()}
    assert structured_code.structure(tmp_path, xy_blocks(cfg, build_connectivity(cfg)), 1) == {}
    assert {p.name: p.read_text() for p in folder.iterdir()} == before
    assert structured_code.structure(tmp_path, None, 1) == {}


_BRIAN_SYNAPSE_LOOP = """void _run_XY_sum_codeobject()
{
    const int _N = _array_XY_N[0];
    for(int _idx=0; _idx<_N; _idx++)
    {
        // vector code
        const size_t _vectorisation_idx = _idx;
        const int32_t _postsynaptic_idx = _ptr_array_XY__synaptic_post[_idx];
        BODY
    }
}
"""


@pytest.mark.parametrize("body, changed", [
    ("double s = _ptr_array_Y_s[_postsynaptic_idx];\n s += w;\n _ptr_array_Y_s[_postsynaptic_idx] = s;", True),
    # the source neuron's index: not a statement the blocks can run
    ("const int32_t _presynaptic_idx = _ptr_array_XY__synaptic_pre[_idx];\n"
     " _ptr_array_Y_s[_postsynaptic_idx] += _ptr_array_X_a[_presynaptic_idx];", False)])
def test_a_loop_over_every_synapse_walks_the_blocks_or_stays(tmp_path, body, changed):
    folder = tmp_path / "code_objects"
    folder.mkdir()
    source = folder / "XY_sum_codeobject.cpp"
    source.write_text("double* __restrict  _ptr_array_Y_s = _array_Y_s;\n"
                      + _BRIAN_SYNAPSE_LOOP.replace("BODY", body))
    cfg = load_preset("fc-100").config
    before = source.read_text()
    blocks = xy_blocks(cfg, build_connectivity(cfg))
    assert structured_code.structure_synapse_loops(tmp_path, blocks, 1) == {"XY_sum": changed}
    text = source.read_text()
    assert (text != before) == changed
    if changed:
        assert "_ptr_array_Y_s[_slot]" in text and "_postsynaptic_idx" not in text.split("_run_XY_sum")[1]
        assert f"_brainlc_n_sources = {cfg.n_input};" in text  # every source neuron, in order
    assert structured_code.structure_synapse_loops(tmp_path, None, 1) == {}


# ---------------------------------------------------------------- the threshold split

def test_conjuncts_and_the_mask():
    assert generated_code.conjuncts("(p > 0) && (f(a && b) < p)") == ["(p > 0)", "(f(a && b) < p)"]
    assert generated_code.conjuncts("v >= (v_threshold + theta)") == ["v >= (v_threshold + theta)"]
    assert generated_code.mask_condition("(p > 0) && (f(a && b) < p)") == "((p > 0)) & ((f(a && b) < p))"


_BRIAN_THRESHOLD = """    long _count = 0;
    for(size_t _idx=0; _idx<N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        const double p = _ptr_array_X_p[_idx];
        const char _cond = (p > 0) && (CONDITION < p);
        if(_cond) {
            _ptr_array_X__spikespace[_count++] = _idx;
        }
    }
    _ptr_array_X__spikespace[N] = _count;
"""


@pytest.mark.parametrize("draw, split", [("brainlc_image_uniform(k, i, s, _idx)", True),
                                         ("_rand(_vectorisation_idx)", False)])
def test_a_threshold_that_draws_from_brians_stream_keeps_brians_loop(tmp_path, draw, split):
    """Evaluating every conjunct for every neuron is exact for pure conditions only: a rand()
    call in the mask pass would consume the random stream for neurons that Brian2 skips."""
    (tmp_path / "code_objects").mkdir()
    source = tmp_path / "code_objects" / "X_spike_thresholder_codeobject.cpp"
    source.write_text(_BRIAN_THRESHOLD.replace("CONDITION", draw))
    assert generated_code.vectorised_thresholds(tmp_path) == (["X"] if split else [])
    text = source.read_text()
    assert ("_brainlc_spiking" in text) == split
    if split:
        assert f"= ((p > 0)) & (({draw} < p));" in text and "const char _cond" not in text


@pytest.mark.parametrize("trainable", [True, False])
def test_patch_competition_of_many_channels_is_identical_to_brian2s_code(tmp_path, trainable):
    # 20 channels: the Y->Y blocks are structured (stride 9, by position); trainable: its
    # pre-spike update runs in them too; fixed: its equal weights are taken as one value,
    # also in evaluation, where weights that differ (half of them 0) are read one by one
    learns = {"a_minus": 0.05, "a_plus": -1.6, "c_w": -100.0, "c_w_max": 0.0} if trainable else {}
    cfg = NetworkConfig("LC", 20, kernel=12, stride=4, mean_weight=0.5, competition_trainable=trainable, **learns)
    conn = build_connectivity(cfg)
    state = initial_state(cfg, conn, 2)
    assert (np.unique(state.w_yy).size == 1) == (not trainable)
    rates = _rates(cfg, 6, seed=3) * 2
    out = {}
    for structured in (True, False):
        net = CompiledNetwork(cfg, images_per_run=3, cache_dir=tmp_path, structured=structured).compile()
        assert ("YY_pre" in net.manifest_["structured"]) == structured
        trained = net.run(state, learning=True, rates=rates[:3], seed=7)
        tested = net.run(trained.state, learning=False, rates=rates[3:], seed=8)
        ev = ReplicaEvaluator(cfg, replicas=2, images_per_run=2, workers=1, cache_dir=tmp_path, structured=structured)
        evaluated = ev.run(trained.state, rates=rates, seed=9)
        half = trained.state.copy()
        half.w_yy[half.w_yy.size // 2:] = 0.0
        evaluated_half = ev.run(half, rates=rates, seed=9)
        assert ev.manifest_["structured"] == ({"XY_pre": True, "YY_pre": True} if structured else {})
        out[structured] = (trained, tested, evaluated, evaluated_half)
    trained = out[True][0]
    assert np.array_equal(trained.state.w_yy, state.w_yy) != trainable  # competition learned, or not
    assert min(r.spike_neuron.size for r in out[True]) > 50
    assert not np.array_equal(out[True][2].spike_counts, out[True][3].spike_counts)  # the zeros matter
    # the evaluation model's weights are constant: its structured Y->Y code can take one value
    competition = [p.read_text() for p in tmp_path.glob("*/code_objects/YY_pre_codeobject*.cpp")]
    assert any("by position" in text and "_brainlc_same_w ?" in text for text in competition)
    for name in ("w_xy", "w_yy", "theta"):
        assert np.array_equal(getattr(trained.state, name), getattr(out[False][0].state, name)), name
    for a, b in zip(out[True], out[False], strict=True):
        for name in ("spike_counts", "spike_image", "spike_step", "spike_neuron"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
