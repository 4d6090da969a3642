"""The start of an invocation: synapses created without copies (brainlc.sim.synapse_creation),
no per-synapse delays on the CPU, a binary that returns only what a run can change, and
run-time values given on its command line.
That results do not change is what the goldens of test_structured_propagation and the
parity tests check, on builds with these edits."""

import ctypes
import re
import struct

import numpy as np
import pytest

from brainlc.core.config import NetworkConfig
from brainlc.core.state import initial_state
from brainlc.core.topology import build_connectivity
from brainlc.sim import simulation, synapse_creation
from brainlc.sim.replicas import ReplicaEvaluator
from brainlc.sim.simulation import CompiledNetwork

SMALL_LC = {"architecture": "LC", "channels": 20, "kernel": 12, "stride": 4, "mean_weight": 0.5}


def _code(project, pattern: str) -> str:
    return "".join(p.read_text() for p in sorted((project / "code_objects").glob(pattern)))


@pytest.mark.parametrize("learning", [True, False])
def test_every_creation_reads_its_static_map_reserves_its_synapses_and_keeps_no_delays(tmp_path, learning):
    cfg = NetworkConfig(**SMALL_LC)
    if learning:
        project = CompiledNetwork(cfg, images_per_run=1, cache_dir=tmp_path).compile().project_
    else:
        project = ReplicaEvaluator(cfg, replicas=1, images_per_run=1, workers=1, cache_dir=tmp_path).compile().project_
    main, objects = (project / "main.cpp").read_text(), (project / "objects.cpp").read_text()
    creations = _code(project, "*synapses_create_array_codeobject*.cpp")
    for synapses in ("XY", "YY"):
        for end in ("sources", "targets"):
            name = f"{synapses}_{end}"
            assert f"_ptr_array_{name} = _static_array__array_{name};" in creations
            assert f"_array_{name}[i] = _static_array__array_{name}[i];" not in main
            assert not re.search(rf"_array_{name}\[i\] = 0;", objects)
        for end in ("pre", "post"):
            assert f"_dynamic_array_{synapses}__synaptic_{end}.reserve(_new_num_synapses);" in creations
    # one shared delay of 0 ms for every pathway: no delay array grows with the synapses
    assert "newsize" in creations and not re.search(r"_delay\w*\.resize\(newsize\)", creations)


MAIN = """int main()
{
                        for(int i=0; i<_num__array_S_sources; i++)
                        {
                            _array_S_sources[i] = _static_array__array_S_sources[i];
                        }
%s
        _run_S_synapses_create_array_codeobject();
}
"""
OBJECTS = "    _array_S_sources = new int32_t[4];\n    \n    for(int i=0; i<4; i++) _array_S_sources[i] = 0;\n"
CREATE = """const size_t _old_num_synapses = _ptr_array_S_N[0];
const size_t _new_num_synapses = _old_num_synapses + _numsources;
    int32_t* __restrict  _ptr_array_S_sources = _array_S_sources;
for (size_t _idx=0; _idx<_numsources; _idx++) {
    const int32_t sources = _ptr_array_S_sources[_idx];
    const int32_t _real_sources = sources;
    _dynamic_array_S__synaptic_pre.push_back(_real_sources);
    _dynamic_array_S__synaptic_post.push_back(_real_targets);
}
"""


def _project(folder, extra_use: str = ""):
    (folder / "code_objects").mkdir()
    (folder / "main.cpp").write_text(MAIN % extra_use)
    (folder / "objects.cpp").write_text(OBJECTS)
    (folder / "code_objects" / "S_synapses_create_array_codeobject.cpp").write_text(CREATE)
    return folder


def test_the_edits_change_brian2s_code_and_nothing_else(tmp_path):
    project = _project(tmp_path)
    assert synapse_creation.create_from_static_arrays(project) == ["S_sources"]
    assert synapse_creation.reserve_created_synapses(project) == ["S_synapses_create_array_codeobject.cpp"]
    create = (project / "code_objects" / "S_synapses_create_array_codeobject.cpp").read_text()
    assert "_ptr_array_S_sources = _static_array__array_S_sources;" in create
    assert create.index("_dynamic_array_S__synaptic_pre.reserve(_new_num_synapses);") < create.index("for (size_t")
    assert "_array_S_sources[i]" not in (project / "main.cpp").read_text()
    assert "_array_S_sources[i] = 0;" not in (project / "objects.cpp").read_text()
    assert "_array_S_sources = new int32_t[4];" in (project / "objects.cpp").read_text()  # still allocated
    # done once: a second pass finds nothing left to change
    assert synapse_creation.create_from_static_arrays(project) == []


def test_a_map_read_anywhere_else_keeps_its_copy(tmp_path):
    project = _project(tmp_path, extra_use="        foo(_array_S_sources[0]);")
    before = {p: p.read_text() for p in project.rglob("*.cpp")}
    assert synapse_creation.create_from_static_arrays(project) == []
    assert {p: p.read_text() for p in project.rglob("*.cpp")} == before


def test_an_unknown_creation_loop_is_not_reserved(tmp_path):
    project = _project(tmp_path)
    path = project / "code_objects" / "S_synapses_create_array_codeobject.cpp"
    path.write_text(CREATE.replace("for (size_t _idx=0;", "for (int _idx=0;"))
    assert synapse_creation.reserve_created_synapses(project) == []
    assert ".reserve(" not in path.read_text()


WRITES_W_YY = re.compile(r"_ptr_array_YY_w\[[^\]]*\]\s*=[^=]")


def test_the_binary_returns_the_competition_weights_only_where_a_run_can_change_them(tmp_path):
    fixed = CompiledNetwork(NetworkConfig(**SMALL_LC), images_per_run=1, cache_dir=tmp_path).compile()
    learns = NetworkConfig(**SMALL_LC, competition_trainable=True, a_plus=-1.6, a_minus=0.06, c_w_max=0.0)
    trainable = CompiledNetwork(learns, images_per_run=1, cache_dir=tmp_path).compile()
    evaluation = ReplicaEvaluator(NetworkConfig(**SMALL_LC), replicas=1, images_per_run=1, workers=1,
                                  cache_dir=tmp_path).compile()
    # what leaves them out is true: no code of a fixed competition writes its weights
    assert not WRITES_W_YY.search(_code(fixed.project_, "*.cpp"))
    assert WRITES_W_YY.search(_code(trainable.project_, "*.cpp"))
    assert "w_yy" not in fixed.manifest_["outputs"] and "w_yy" in trainable.manifest_["outputs"]
    assert set(evaluation.manifest_["outputs"]) == {"spike_i", "spike_t"}

    state = initial_state(learns, build_connectivity(learns), 0)
    rates = np.full((2, learns.n_input), 60.0)
    trained = trainable.run(state, learning=True, rates=rates, seed=1).state
    assert not np.array_equal(trained.w_yy, state.w_yy)  # read back from the binary
    cfg = NetworkConfig(**SMALL_LC)
    state = initial_state(cfg, build_connectivity(cfg), 0)
    kept = fixed.run(state, learning=True, rates=rates, seed=1).state
    assert np.array_equal(kept.w_yy, state.w_yy) and kept.w_yy is not state.w_yy
    assert not np.array_equal(kept.w_xy, state.w_xy)


@pytest.mark.parametrize("value", [0.1, -0.0, 1e-300, -1e300, 2.0**32 - 1, 0.9512294245007140, np.float64(1 / 3)])
def test_a_run_time_value_on_the_command_line_reads_back_to_the_same_bits(value):
    libc = ctypes.CDLL(None)
    libc.atof.restype = ctypes.c_double
    argument = simulation.exact_argument(value, "<f8")
    assert argument[0] == "-" or argument[0].isdigit()  # what Brian2 reads as a value, not a file
    assert struct.pack("<d", libc.atof(argument.encode())) == struct.pack("<d", float(value))
    assert simulation.exact_argument(7, "<i4") == "7"
    # several values, or one that is not finite, go through a file
    assert simulation.exact_argument(np.ones(3), "<f8") is None
    assert simulation.exact_argument(float("inf"), "<f8") is None
