"""brainlc's edit of Brian2's generated C++ (brainlc.sim.generated_code): it applies to the
code Brian2 writes, and leaves alone code it does not recognise. That results do not change
is what the parity, replica and runtime-parameter tests check, on the edited builds."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from brainlc.core.config import NetworkConfig
from brainlc.sim import generated_code
from brainlc.sim.simulation import CompiledNetwork

BRIAN2_29_LOOP_END = """        clock = next_clocks();

        current = std::clock();
        elapsed_realtime = (double)(current - start)/(1 * CLOCKS_PER_SEC);


    }
    Network::_globally_running = false;
"""


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


def test_every_compiled_project_has_the_edit(tmp_path):
    for images_per_run in (1, 2):  # two builds in one process
        net = CompiledNetwork(NetworkConfig("FC", 2, mean_weight=0.3), images_per_run=images_per_run,
                              cache_dir=tmp_path).compile()
        source = (net.project_ / "network.cpp").read_text()
        # what the loop does after every step: from advancing the clocks to the loop's end
        step_end = re.search(r"\n\s*clock = next_clocks\(\);(.*?)\n    }\n", source, re.DOTALL).group(1)
        assert "std::clock()" not in step_end and "high_resolution_clock::now()" not in step_end
        assert "-fno-trapping-math" in (net.project_ / "makefile").read_text()
        # both threshold loops split into a vectorised pass and the spiking neurons
        thresholds = [p for p in (net.project_ / "code_objects").glob("*_spike_thresholder_codeobject*.cpp")
                      if not p.name.startswith(("after_run", "before_run"))]
        assert len(thresholds) == 2 and all("_brainlc_spiking" in p.read_text() for p in thresholds)
        # the spiking neurons are appended without a branch per neuron
        assert all("_count += _brainlc_spiking[_idx];" in p.read_text() for p in thresholds)
        # of the arrays, the binary writes its manifest's outputs only (Brian2 2.11 also
        # writes its spike queues and random generators: not arrays, kept)
        written = re.findall(r'results_dir \+ "([^"]+)"', (net.project_ / "objects.cpp").read_text())
        arrays = [name for name in written if re.match(r"_(dynamic_|static_)?array_", name)]
        assert sorted(arrays) == sorted(out["file"] for out in net.manifest_["outputs"].values())
        assert "last_run_info.txt" in written
        # the binary ends with its parent by itself, so Python starts it without forking
        assert net.manifest_["dies_with_parent"]
        assert "prctl(PR_SET_PDEATHSIG, SIGKILL);" in (net.project_ / "main.cpp").read_text()


def _state(pid: int) -> str | None:
    """A process's state letter (Z: ended, not yet reaped), None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


STARTER = """
import sys
from pathlib import Path
from brainlc.core.config import NetworkConfig
from brainlc.sim.simulation import CompiledNetwork, invoke_binary
net = CompiledNetwork(NetworkConfig("FC", 2, mean_weight=0.3), images_per_run=1, cache_dir=sys.argv[1]).compile()
folder = Path(sys.argv[2])
invoke_binary(net.project_, net.manifest_, folder, {}, {}, {}, {"w_xy": folder / "fifo"})
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_binary_ends_with_the_process_that_started_it_also_after_kill_9(tmp_path):
    net = CompiledNetwork(NetworkConfig("FC", 2, mean_weight=0.3), images_per_run=1, cache_dir=tmp_path).compile()
    folder = tmp_path / "run"
    folder.mkdir()
    os.mkfifo(folder / "fifo")  # the binary waits in open() for a writer that never comes
    starter = subprocess.Popen([sys.executable, "-c", STARTER, str(tmp_path), str(folder)])
    binary = None
    try:
        deadline = time.monotonic() + 120
        while binary is None and time.monotonic() < deadline and starter.poll() is None:
            binary = next((c for c in _children(starter.pid)
                           if Path(f"/proc/{c}/exe").resolve() == (net.project_ / "main").resolve()), None)
            time.sleep(0.05)
        assert binary is not None, "the binary did not start"
        starter.send_signal(signal.SIGKILL)
        starter.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _state(binary) not in (None, "Z") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _state(binary) in (None, "Z"), "the binary outlived the process that started it"
    finally:
        starter.kill()
        if binary is not None and _state(binary) not in (None, "Z"):
            os.kill(binary, signal.SIGKILL)
    # a binary whose parent is not the process named in its environment (that one ended
    # before the binary got going) stops before its first step
    orphan = subprocess.run([str(net.project_ / "main")], cwd=net.project_, capture_output=True,
                            env=dict(os.environ, **{generated_code.PARENT_PID_VARIABLE: str(os.getpid() + 1)}))
    assert orphan.returncode == generated_code.ORPHANED_EXIT


def test_the_death_signal_goes_into_brians_main_and_nowhere_else(tmp_path):
    main = "#include <stdlib.h>\n\nint main(int argc, char **argv)\n{\n\tstd::signal(SIGINT, _int_handler);\n}\n"
    (tmp_path / "main.cpp").write_text(main)
    assert generated_code.die_with_parent(tmp_path) == sys.platform.startswith("linux")
    edited = (tmp_path / "main.cpp").read_text()
    if sys.platform.startswith("linux"):
        body = edited.split("int main(int argc, char **argv)\n{\n", 1)[1]
        assert body.startswith("\t// brainlc") and "prctl(PR_SET_PDEATHSIG, SIGKILL);" in body
        assert edited.startswith("#include <sys/prctl.h>")
    (tmp_path / "main.cpp").write_text("int main()\n{\n}\n")  # not Brian2's main: left as it is
    assert not generated_code.die_with_parent(tmp_path)
    assert (tmp_path / "main.cpp").read_text() == "int main()\n{\n}\n"



def _write_block(name: str, file: str) -> str:
    return (f"    ofstream outfile_{name};\n"
            f"    outfile_{name}.open(results_dir + \"{file}\", ios::binary | ios::out);\n"
            f"    if(outfile_{name}.is_open())\n    {{\n        outfile_{name}.close();\n    }} else\n    {{\n"
            f"        std::cout << \"Error\" << endl;\n    }}\n")


def test_only_the_outputs_are_written(tmp_path):
    body = (_write_block("_array_Y_theta", "_array_Y_theta_1") + _write_block("_array_Y_v", "_array_Y_v_2")
            + _write_block("_dynamic_array_XY_w", "_dynamic_array_XY_w_3")
            + _write_block("last_run_info", "last_run_info.txt"))
    text = "void _write_arrays()\n{\n    using namespace brian;\n\n" + body + "}\n\nvoid _dealloc_arrays()\n{\n}\n"
    (tmp_path / "objects.cpp").write_text(text)
    assert generated_code.write_only_outputs(tmp_path, {"_array_Y_theta_1", "_dynamic_array_XY_w_3"}) == \
        ["_array_Y_v_2"]
    edited = (tmp_path / "objects.cpp").read_text()
    assert "_array_Y_v_2" not in edited and "_array_Y_theta_1" in edited and "_dynamic_array_XY_w_3" in edited
    assert "last_run_info.txt" in edited and "void _dealloc_arrays()" in edited
    # an output it cannot find: nothing changes
    (tmp_path / "objects.cpp").write_text(text)
    assert generated_code.write_only_outputs(tmp_path, {"_array_Y_missing_9"}) == []
    assert (tmp_path / "objects.cpp").read_text() == text
