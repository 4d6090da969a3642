"""The CUDA device (brian2cuda): the generated project, and on a GPU its results.

Marker ``cuda``; not part of the default suite. Run with ``python -m pytest -m cuda``
under Python >= 3.12 with ``brainlc[cuda]`` and the CUDA toolkit (nvcc, cuRAND):

- without a GPU, the build tests compile the three trace networks of CASES for the GPU
  (sm_90 unless ``$BRAINLC_CUDA_COMPUTE_CAPABILITY`` says otherwise), one per kind of
  synaptic write, generate the Poisson-input and evaluation-replica networks without
  compiling them (nvcc takes minutes per network), and check that the generated code is
  exact and free of write races; the run tests are skipped;
- with a GPU, the run tests present the reference traces (tests/data) to the compiled
  GPU network and compare spikes, weights and thresholds with the numpy reference.

``.ci/run`` runs this module when the machine has Python 3.12 and nvcc.
"""

import re
import subprocess

import numpy as np
import pytest

from brainlc.core.state import NetworkState
from brainlc.core.traces import dense_spikes, learning_phases, read_trace, trace_initial_state
from brainlc.sim import devices
from brainlc.sim.compiler import generate_project
from brainlc.sim.replicas import ReplicaEvaluator
from brainlc.sim.simulation import CompiledNetwork

BUILD_PROBLEM = devices.cuda_build_problem()
RUN_PROBLEM = devices.cuda_run_problem()

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(BUILD_PROBLEM is not None, reason=str(BUILD_PROBLEM)),
]

#: LC with fixed competition, C (shared kernel, its updates summed over positions) with
#: trainable competition, FC with trainable competition: every kind of synaptic write.
CASES = ["lc-fixed", "c-trainable", "fc-trainable"]
RTOL = 1e-9


@pytest.fixture(scope="module", params=CASES)
def built(request, trace_dir):
    ds, cfg = read_trace(trace_dir / f"trace-{request.param}.nc")
    net = CompiledNetwork(cfg, images_per_run=8, input_mode="spikes",
                          record=tuple(int(r) for r in ds.recorded.values), device="cuda").compile()
    code = "\n".join(p.read_text() for p in sorted((net.project_ / "code_objects").glob("*.cu")))
    return request.param, ds, cfg, net, code


def test_the_project_is_compiled_for_the_gpu_without_fast_math(built):
    name, ds, cfg, net, code = built
    project = net.project_
    assert net.manifest_["spec"]["device"] == "cuda"
    assert (project / "main").is_file()
    makefile = (project / "makefile").read_text()
    arch = "".join(str(devices.compute_capability()).split("."))
    assert f"-arch=sm_{arch}" in makefile
    assert "--fmad=false" in makefile and "-std=c++17" in makefile
    assert "fast_math" not in makefile and "-ffast-math" not in makefile
    libraries = subprocess.run(["ldd", str(project / "main")], capture_output=True, text=True).stdout
    assert "libcurand" in libraries and "not found" not in libraries


def test_several_synapses_writing_one_target_write_atomically(built):
    name, ds, cfg, net, code = built

    def atomic(array):
        return re.search(rf"_brian_atomicAdd\(&_ptr_array_{array}\[", code) is not None

    assert atomic("Y_I"), "transmission into I must be atomic"
    if name.startswith("c-"):
        assert atomic("K_dw"), "the shared kernel's summed update must be atomic"
        assert atomic("F_weight_sum"), "the kernel normalisation sum must be atomic"
    else:
        assert atomic("Y_weight_sum"), "the X->Y normalisation sum must be atomic"
    # no plain read-modify-write of a summed target is left
    assert not re.search(r"_ptr_array_Y_I\[_postsynaptic_idx\]\s*\+?=", code)
    assert not re.search(r"_ptr_array_\w+_weight_sum\[_postsynaptic_idx\]\s*\+?=", code)


def test_the_binary_seeds_curand_from_the_environment(built):
    main = (built[3].project_ / "main.cu").read_text()
    assert 'std::getenv("BRAINLC_SEED")' in main
    assert "random_number_buffer.set_seed(std::strtoull(_brainlc_seed" in main


@pytest.mark.skipif(RUN_PROBLEM is not None, reason=str(RUN_PROBLEM))
def test_the_gpu_reproduces_the_reference(built):
    name, ds, cfg, net, code = built
    inputs = dense_spikes(ds, "input", cfg.n_input)
    expected = dense_spikes(ds, "output", cfg.n_output)
    state = trace_initial_state(ds)
    for start, stop, learning in learning_phases(ds.learning.values):
        result = net.run(state, learning=learning, spikes=inputs[start:stop])
        mismatch = np.argwhere(result.spike_raster() != expected[start:stop])
        assert mismatch.size == 0, f"{name}: first differing (image, step, neuron): {mismatch[:5] + [start, 0, 0]}"
        state = result.state
    np.testing.assert_allclose(state.w_xy, ds.w_xy_final.values, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(state.w_yy, ds.w_yy_final.values, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(state.theta, ds.theta_final.values, rtol=RTOL, atol=1e-12)


def _compiled_or_generated(network, tmp_path_factory):
    """``(network, project)``: compiled where a GPU can run it; without a GPU only generated
    (``network`` None), since nvcc takes minutes per network for a binary that cannot run
    here. The networks of CASES are compiled either way: they show that nvcc builds every
    kind of synaptic write."""
    if RUN_PROBLEM is not None:
        return None, generate_project(network.spec, tmp_path_factory.mktemp("generated"))
    network.compile()
    return network, network.project_


@pytest.fixture(scope="module")
def poisson_net(trace_dir, tmp_path_factory):
    """The LC trace network with Poisson input drawn on the GPU, as the experiments run it."""
    ds, cfg = read_trace(trace_dir / "trace-lc-fixed.nc")
    return ds, cfg, *_compiled_or_generated(CompiledNetwork(cfg, images_per_run=8, device="cuda"), tmp_path_factory)


def test_poisson_input_is_the_keyed_draw_on_the_gpu(poisson_net):
    ds, cfg, net, project = poisson_net
    if net is not None:
        assert (project / "main").is_file()
    # code object names take a suffix (_1, ...) when several projects are built in one process
    [threshold] = [p.read_text() for p in (project / "code_objects").glob("X_spike_thresholder_codeobject*.cu")]
    # the keyed draws of brainlc.sim.image_random: the CPU's input spikes, image by image
    assert "brainlc_image_uniform(" in threshold and "p_spike" in threshold
    assert "__host__ __device__ static inline double brainlc_image_uniform" in "\n".join(
        p.read_text() for p in (project / "code_objects").glob("*.cu"))


@pytest.mark.skipif(RUN_PROBLEM is not None, reason=str(RUN_PROBLEM))
def test_gpu_runs_with_one_seed_agree(poisson_net):
    ds, cfg, net, _ = poisson_net
    state = trace_initial_state(ds)
    rates = np.random.default_rng(0).uniform(0, 63.75, size=(10, cfg.n_input))
    first = net.run(state, learning=True, rates=rates, seed=7)
    second = net.run(state, learning=True, rates=rates, seed=7)
    other = net.run(state, learning=True, rates=rates, seed=8)
    assert first.spike_counts.sum() > 0
    np.testing.assert_array_equal(first.spike_counts, second.spike_counts)
    np.testing.assert_allclose(first.state.w_xy, second.state.w_xy, rtol=RTOL, atol=1e-12)
    assert not np.array_equal(first.spike_counts, other.spike_counts)


@pytest.mark.skipif(RUN_PROBLEM is not None, reason=str(RUN_PROBLEM))
def test_the_gpu_draws_the_cpus_poisson_input(poisson_net):
    ds, cfg, net, _ = poisson_net
    state = trace_initial_state(ds)
    rates = np.random.default_rng(1).uniform(0, 63.75, size=(10, cfg.n_input))
    gpu = net.run(state, learning=True, rates=rates, seed=9)
    cpu = CompiledNetwork(cfg, images_per_run=8).compile().run(state, learning=True, rates=rates, seed=9)
    assert cpu.spike_counts.sum() > 100
    assert np.array_equal(gpu.spike_raster(), cpu.spike_raster())


@pytest.fixture(scope="module")
def gpu_replicas(trace_dir, tmp_path_factory):
    """The evaluation model of the LC trace network, 4 replicas on the GPU, host spikes."""
    ds, cfg = read_trace(trace_dir / "trace-lc-fixed.nc")
    evaluator = ReplicaEvaluator(cfg, replicas=4, images_per_run=2, input_mode="spikes", workers=1, device="cuda")
    return ds, cfg, *_compiled_or_generated(evaluator, tmp_path_factory)


def test_the_evaluation_model_adds_atomically_on_the_gpu(gpu_replicas):
    ds, cfg, evaluator, project = gpu_replicas
    code = "\n".join(p.read_text() for p in sorted((project / "code_objects").glob("*.cu")))
    if evaluator is not None:
        assert evaluator.manifest_["spec"]["replicas"] == 4 and not evaluator.manifest_["spec"]["learning"]
    assert re.search(r"_brian_atomicAdd\(&_ptr_array_Y_I\[", code)


@pytest.mark.skipif(RUN_PROBLEM is not None, reason=str(RUN_PROBLEM))
def test_gpu_replicas_reproduce_the_reference(gpu_replicas):
    ds, cfg, evaluator, _ = gpu_replicas
    state = NetworkState(ds.w_xy_final.values.copy(), ds.w_yy_final.values.copy(), ds.theta_final.values.copy())
    inputs = dense_spikes(ds, "input", cfg.n_input)
    got = evaluator.run(state, spikes=inputs)
    off = np.flatnonzero(ds.learning.values == 0)
    assert np.array_equal(got.spike_raster()[off], dense_spikes(ds, "output", cfg.n_output)[off])
    cpu = CompiledNetwork(cfg, images_per_run=8, input_mode="spikes").compile()
    assert np.array_equal(got.spike_raster(), cpu.run(state, learning=False, spikes=inputs).spike_raster())
