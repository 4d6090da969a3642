"""brainlc's edits of Brian2's generated C++ (brainlc.generated_code): each applies to the
code Brian2 writes, and leaves alone code it does not recognise. That results do not change
is what the parity, replica and runtime-parameter tests check, on the edited builds."""

import re
import subprocess

from brainlc import generated_code
from brainlc.config import NetworkConfig
from brainlc.simulation import CompiledNetwork

BRIAN2_29_LOOP_END = """        clock = next_clocks();

        current = std::clock();
        elapsed_realtime = (double)(current - start)/(1 * CLOCKS_PER_SEC);


    }
    Network::_globally_running = false;
"""

# what Brian2's threshold.cpp template writes (2.9 and 2.10 alike), with the test of ``test``
THRESHOLD = """void _run_Y_spike_thresholder_codeobject()
{{
    const double v_threshold = _ptr_array_Y_v_threshold[0];



    long _count = 0;
    for(size_t _idx=0; _idx<N; _idx++)
    {{
        const size_t _vectorisation_idx = _idx;

{test}

        if(_cond) {{
            _ptr_array_Y__spikespace[_count++] = _idx;
        }}
    }}
    _ptr_array_Y__spikespace[N] = _count;

}}
"""
PURE_TEST = """        const double theta = _ptr_array_Y_theta[_idx];
        const double v = _ptr_array_Y_v[_idx];
        const char _cond = v >= (v_threshold + theta);"""
DRAWING_TEST = """        const double p_spike = _ptr_array_X_p_spike[_idx];
        const char _cond = (p_spike > 0) && (brainlc_image_uniform(rng_key, _lio_1, _lio_2, i) < p_spike);"""


def test_the_per_step_cpu_clock_reading_moves_after_the_loop(tmp_path):
    (tmp_path / "network.cpp").write_text("while(clock) {\n" + BRIAN2_29_LOOP_END)
    assert generated_code.lean_network_loop(tmp_path)
    lean = (tmp_path / "network.cpp").read_text()
    loop, after = lean.split("Network::_globally_running = false;")[0].rsplit("}", 1)
    assert "std::clock" not in loop
    assert "current = std::clock();" in after and "elapsed_realtime = (double)(current - start)" in after
    # nothing left to move: the file stays as it is
    assert not generated_code.lean_network_loop(tmp_path)
    assert (tmp_path / "network.cpp").read_text() == lean


def test_a_pure_threshold_gets_a_counting_pass_and_keeps_its_loop(tmp_path):
    source = tmp_path / "thresholder.cpp"
    source.write_text(THRESHOLD.format(test=PURE_TEST))
    assert generated_code.threshold_prepass(source)
    text = source.read_text()
    counting, appending = text.split("if(_at_threshold)")
    assert "_at_threshold += _cond;" in counting and "_spikespace" not in counting
    assert PURE_TEST in counting and PURE_TEST in appending
    assert "_ptr_array_Y__spikespace[_count++] = _idx;" in appending
    assert not generated_code.threshold_prepass(source)  # once only
    # and it compiles, and finds the same spikes as the loop alone
    harness = tmp_path / "harness.cpp"
    harness.write_text(_HARNESS.replace("THRESHOLDER", text))
    subprocess.run(["g++", "-O3", "-march=native", "-fno-trapping-math", "-o", tmp_path / "h", harness], check=True)
    out = subprocess.run([tmp_path / "h"], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["0", "4", "1", "3", "4", "7"]  # none, then 4: at threshold counts


def test_a_threshold_that_draws_random_numbers_is_left_alone(tmp_path):
    source = tmp_path / "thresholder.cpp"
    source.write_text(THRESHOLD.format(test=DRAWING_TEST))
    assert not generated_code.threshold_prepass(source)
    assert source.read_text() == THRESHOLD.format(test=DRAWING_TEST)
    assert not generated_code.threshold_prepass(tmp_path / "missing.cpp")


def test_a_compiled_project_has_both_edits(tmp_path):
    # two builds in one process: Brian2 numbers the second one's code object names
    for images_per_run in (1, 2):
        net = CompiledNetwork(NetworkConfig("FC", 2, mean_weight=0.3), images_per_run=images_per_run,
                              cache_dir=tmp_path).compile()
        source = (net.project_ / "network.cpp").read_text()
        # what the loop does after every step: from advancing the clocks to the loop's end
        step_end = re.search(r"\n\s*clock = next_clocks\(\);(.*?)\n    }\n", source, re.DOTALL).group(1)
        assert "std::clock()" not in step_end and "high_resolution_clock::now()" not in step_end
        [threshold] = (net.project_ / "code_objects").glob("Y_spike_thresholder_codeobject*.cpp")
        assert "_at_threshold += _cond;" in threshold.read_text()
        assert "-fno-trapping-math" in (net.project_ / "makefile").read_text()


def test_numbered_code_objects_are_found(tmp_path):
    (tmp_path / "network.cpp").write_text("")
    (tmp_path / "code_objects").mkdir()
    (tmp_path / "code_objects" / "Y_spike_thresholder_codeobject_7.cpp").write_text(THRESHOLD.format(test=PURE_TEST))
    (tmp_path / "code_objects" / "after_run_Y_spike_thresholder_codeobject_7.cpp").write_text("")
    assert generated_code.streamline(tmp_path) == {"network_loop": False, "Y_threshold_prepass": True}
    assert "_at_threshold" in (tmp_path / "code_objects" / "Y_spike_thresholder_codeobject_7.cpp").read_text()


_HARNESS = """
#include <cstdio>
#include <cstddef>
#include <cstdint>
static const long N = 9;
static double theta[N] = {0, 0, 0, 1, 0, 0, 0, 0, 0};
static double vs[2][N] = {{-60, -60, -60, -60, -60, -60, -60, -60, -60},
                          {-60, -51, -60, -51, -51, -60, -60, -52, -60}};
static double* _ptr_array_Y_theta = theta;
static double* _ptr_array_Y_v;
static double _ptr_array_Y_v_threshold[1] = {-52};
static int32_t _ptr_array_Y__spikespace[N + 1];
THRESHOLDER
int main() {
    for (int step = 0; step < 2; step++) {
        _ptr_array_Y_v = vs[step];
        _run_Y_spike_thresholder_codeobject();
        std::printf("%d ", _ptr_array_Y__spikespace[N]);
        for (int k = 0; k < _ptr_array_Y__spikespace[N]; k++) std::printf("%d ", _ptr_array_Y__spikespace[k]);
    }
    std::printf("\\n");
}
"""
