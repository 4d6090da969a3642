"""Per-step work that brainlc trims from Brian2's generated C++ project, results unchanged.

Brian2 writes the project (``device.build(compile=False)``), :func:`streamline` edits two
of its files, then Brian2 compiles it. Each edit recognises the code it changes exactly and
leaves a file it does not recognise as it is, so that another Brian2 version builds
correctly, only without the edit.

- :func:`lean_network_loop`: Brian2 2.9's simulation loop reads the process CPU time
  (``std::clock()``, a system call) after every time step, for a figure it records once per
  run; the reading moves after the loop (Brian2 2.10 already reads a cheap clock, and only
  with a maximum run time, which brainlc never sets).
- :func:`threshold_prepass`: the output layer's threshold loop tests every neuron and
  appends the spiking ones to the spike space, a loop that g++ cannot vectorise. Most steps
  have no output spike, so a first, vectorised pass counts the neurons at threshold and the
  appending loop runs only when there are some. The test itself is unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

_PER_STEP_CLOCK = re.compile(
    r"(?P<next>clock = next_clocks\(\);)\s*"
    r"(?P<read>current = std::clock\(\);\s*elapsed_realtime = \(double\)\(current - start\)/\([^;]*\);)"
    r"\s*\}")

_THRESHOLD_LOOP = re.compile(
    r"(?P<indent>[ ]*)long _count = 0;\n"
    r"(?P<loop>[ ]*for\(size_t _idx=0; _idx<N; _idx\+\+\)\n[ ]*\{\n"
    r"(?P<test>(?:(?!\n[ ]*if\(_cond\)).)*?)"  # the test: reads and the condition only
    r"\n[ ]*if\(_cond\) \{\n[ ]*_ptr_array_\w+__spikespace\[_count\+\+\] = _idx;\n[ ]*\}\n[ ]*\})",
    re.DOTALL)

#: Groups whose threshold is a pure comparison of state variables (no function calls): the
#: output layer. The input layer's Poisson test draws a number per input, which a
#: counting pass would draw twice.
PREPASS_GROUPS = ("Y",)


def lean_network_loop(project: Path) -> bool:
    """Move the CPU-time reading of ``project/network.cpp``'s loop from every step to its end.

    Returns whether the file had the per-step reading.
    """
    source = project / "network.cpp"
    text = source.read_text()
    lean, count = _PER_STEP_CLOCK.subn(r"\g<next>\n    }\n    \g<read>", text, count=1)
    if count:
        source.write_text(lean)
    return bool(count)


def threshold_prepass(source: Path) -> bool:
    """Give a generated threshold code object a vectorised counting pass before its loop.

    Returns whether the file had the loop that Brian2's ``threshold.cpp`` template writes
    with a test free of function calls (the only tests the pass is for).
    """
    if not source.exists():
        return False
    text = source.read_text()
    match = _THRESHOLD_LOOP.search(text)
    if match is None or _calls_a_function(match["test"]):
        return False
    indent, test = match["indent"], match["test"]
    counting = (f"{indent}long _count = 0;\n"
                f"{indent}long _at_threshold = 0;  // brainlc: a vectorised pass counts first\n"
                f"{indent}for(size_t _idx=0; _idx<N; _idx++)\n{indent}{{\n{test}\n"
                f"{indent}    _at_threshold += _cond;\n{indent}}}\n"
                f"{indent}if(_at_threshold)\n{match['loop']}")
    source.write_text(text[:match.start()] + counting + text[match.end():])
    return True


def _calls_a_function(test: str) -> bool:
    """Whether a threshold's vector code calls anything (a name followed by a parenthesis)."""
    return re.search(r"[A-Za-z_]\w*\s*\(", test) is not None


def streamline(project: Path) -> dict[str, bool]:
    """Every edit on a generated C++ project; what each changed.

    Brian2 numbers a code object's name (``Y_spike_thresholder_codeobject_7``) when a process
    builds several projects, so the thresholders are found by the name's start.
    """
    done = {"network_loop": lean_network_loop(project)}
    for group in PREPASS_GROUPS:
        sources = sorted((project / "code_objects").glob(f"{group}_spike_thresholder_codeobject*.cpp"))
        done[f"{group}_threshold_prepass"] = bool(sources) and all(threshold_prepass(s) for s in sources)
    return done
