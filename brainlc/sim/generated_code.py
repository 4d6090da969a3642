"""Per-step work that brainlc trims from Brian2's generated C++ project, results unchanged.

Brian2 writes the project (``device.build(compile=False)``), :func:`streamline` edits it,
then Brian2 compiles it. Each edit recognises the code it changes exactly and leaves a file
it does not recognise as it is, so that another Brian2 version builds correctly, only
without the edit.

- :func:`lean_network_loop`: Brian2 2.9's simulation loop reads the process CPU time
  (``std::clock()``, a system call) after every time step, for a figure it records once per
  run; the reading moves after the loop (Brian2 2.10 already reads a cheap clock, and only
  with a maximum run time, which brainlc never sets).

- :func:`vectorised_thresholds`: Brian2's threshold loop tests each neuron and appends
  the spiking ones to the spike space in one loop, which g++ cannot vectorise (about 1.4 ns
  per neuron here). The edit splits it: a vectorised pass writes each neuron's condition
  into a byte mask, and a second pass reads the mask 64 neurons, then eight, at a time and appends
  the neurons whose byte is set, without a branch per neuron (each index is written at the
  count, and the count goes up by the byte: an input's random spikes made that branch
  mispredict, most of the input threshold's time). Same spikes, same ascending order. A condition ``A && B``
  is evaluated as ``(A) & (B)``, without the short cut: the same value, since a condition
  that draws no random number has no effect. A threshold that calls Brian2's random
  stream (``rand``, ``randn``, ``poisson``, ``binomial``) keeps Brian2's loop, as the
  draws would change. This vectorises the keyed input draw (``brainlc_image_uniform``) over
  all inputs, blank pixels included; evaluating it one candidate pixel at a time, behind an
  unpredictable branch, cost about as much as the X->Y transmission of an image.

- :func:`write_only_outputs`: at its end Brian2's binary writes every array of the
  network to its results folder (about 50 files, megabytes for the synapse index arrays),
  a large part of each invocation's fixed cost; brainlc reads only its manifest's outputs.
  The edit keeps the writes of those arrays (and of the run's info) and drops the others.

- :func:`die_with_parent`: the binary asks Linux to kill it when the process that started
  it ends (``prctl(PR_SET_PDEATHSIG)``), also by kill -9, and exits at once if that process
  ended before it started. brainlc asked for this in the forked child
  (``subprocess.run(preexec_fn=...)``), which makes Python fork and copy its page tables:
  12.6 ms per invocation here, against 0.7 ms for the ``vfork`` it uses otherwise, an eighth
  of the evaluation time of an ``lc-100-k12`` image.

- :mod:`brainlc.sim.synapse_creation`: the synapses are created without copying their maps
  or moving their arrays as they grow (the start of each invocation).

Tried and left out (before the split above): a vectorised pass counting the output
neurons at threshold before Brian2's unchanged threshold loop, so that the loop runs only
on steps with a spike. Alternating runs of ``lc-100-k12`` with and without it differed by
less than the machine's noise: steps with output spikes paid for a second full pass.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from . import synapse_creation

_PER_STEP_CLOCK = re.compile(
    r"(?P<next>clock = next_clocks\(\);)\s*"
    r"(?P<read>current = std::clock\(\);\s*elapsed_realtime = \(double\)\(current - start\)/\([^;]*\);)"
    r"\s*\}")


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


#: Brian2's threshold loop (C++ standalone ``threshold.cpp`` template).
_THRESHOLD_LOOP = re.compile(
    r"long _count = 0;\s*for\(size_t _idx=0; _idx<N; _idx\+\+\)\s*\{\s*"
    r"const size_t _vectorisation_idx = _idx;(?P<body>[^{}]*?)"
    r"const char _cond = (?P<condition>[^;{}]*);\s*"
    r"if\(_cond\) \{\s*_ptr_array_(?P<group>\w+?)__spikespace\[_count\+\+\] = _idx;\s*\}\s*\}\s*"
    r"_ptr_array_(?P=group)__spikespace\[N\] = _count;"
)


def conjuncts(condition: str) -> list[str]:
    """The parts of a condition ``A && B && ...`` (top level, outside parentheses)."""
    depth, parts, start = 0, [], 0
    for position, char in enumerate(condition):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and condition.startswith("&&", position):
            parts.append(condition[start:position].strip())
            start = position + 2
    return [*parts, condition[start:].strip()]


#: Calls that draw from Brian2's random stream: a threshold with one keeps Brian2's loop.
_RANDOM_CALL = re.compile(r"\b_?(rand|randn|poisson|binomial)\w*\s*\(")


def mask_condition(condition: str) -> str:
    """What the vectorised pass computes for ``condition``: all of its conjuncts, joined by
    ``&`` (no short cut: the same value, as a condition without random draws has no effect)."""
    return " & ".join(f"({part})" for part in conjuncts(condition))


#: The head of a loop over the 64-neuron blocks of the byte mask that skips the blocks with
#: no byte set (its body follows, the block being ``_block`` to ``_end``).
_EACH_BLOCK_WITH_A_CANDIDATE = """
    for(size_t _block=0; _block<N; _block+=64)
    {
        const size_t _end = _block + 64 < N ? _block + 64 : N;
        uint64_t _any = 0;
        for(size_t _word=_block; _word<_end; _word+=8)
        {
            uint64_t _bytes;
            __builtin_memcpy(&_bytes, _brainlc_spiking + _word, 8);
            _any |= _bytes;
        }
        if(_any == 0)
            continue;"""


def _split_threshold(found: re.Match) -> str | None:
    body, condition, group = found["body"].strip(), found["condition"], found["group"]
    if _RANDOM_CALL.search(body) or _RANDOM_CALL.search(condition):
        return None
    first, *rest = conjuncts(condition)
    whole = "" if not rest else f"""{_EACH_BLOCK_WITH_A_CANDIDATE}
        for(size_t _idx=_block; _idx<_end; _idx++)
        {{
            const size_t _vectorisation_idx = _idx;
            {body}
            _brainlc_spiking[_idx] = {mask_condition(condition)};
        }}
    }}"""
    return f"""// brainlc: vectorised passes, then the spiking neurons (brainlc/sim/generated_code.py)
    static unsigned char _brainlc_spiking[N + 8];  // zero beyond N
    for(size_t _idx=0; _idx<N; _idx++)
    {{
        const size_t _vectorisation_idx = _idx;
        {body}
        _brainlc_spiking[_idx] = {first};
    }}{whole}
    long _count = 0;{_EACH_BLOCK_WITH_A_CANDIDATE}
        for(size_t _word=_block; _word<_end; _word+=8)
        {{
            uint64_t _bytes;
            __builtin_memcpy(&_bytes, _brainlc_spiking + _word, 8);
            if(_bytes == 0)
                continue;
            for(size_t _idx=_word; _idx<_end && _idx<_word+8; _idx++)
            {{  // without a branch: the draws make whether a neuron spikes unpredictable
                _ptr_array_{group}__spikespace[_count] = _idx;
                _count += _brainlc_spiking[_idx];
            }}
        }}
    }}
    _ptr_array_{group}__spikespace[N] = _count;"""


def vectorised_thresholds(project: Path) -> list[str]:
    """Split every threshold loop of the project (see the module's docstring); the groups
    whose threshold changed."""
    changed = []
    for path in sorted((project / "code_objects").glob("*thresholder_codeobject*.cpp")):
        if path.name.startswith("after_run") or path.name.startswith("before_run"):
            continue
        text = path.read_text()
        found = _THRESHOLD_LOOP.search(text)
        if found is None or "_brainlc_spiking" in text:
            continue
        split = _split_threshold(found)
        if split is None:
            continue
        path.write_text(text[:found.start()] + split + text[found.end():])
        changed.append(found["group"])
    return changed


_WRITE_ARRAYS = re.compile(r"^void _write_arrays\(\)\n\{\n(?P<body>.*?)^\}\n", re.M | re.S)
_WRITTEN_FILE = re.compile(r'\.open\(results_dir \+ "(?P<file>[^"]+)"')


def write_only_outputs(project: Path, outputs: set[str]) -> list[str]:
    """Keep, of ``_write_arrays`` in ``project/objects.cpp``, the writes of the array files in
    ``outputs`` and every write that is not an array's; returns the array files it no
    longer writes (nothing changes if the function is not Brian2's usual one)."""
    source = project / "objects.cpp"
    text = source.read_text()
    found = _WRITE_ARRAYS.search(text)
    if found is None:
        return []
    pieces = re.split(r"(?=^    ofstream outfile_)", found["body"], flags=re.M)
    kept, dropped = [], []
    for piece in pieces:
        written = _WRITTEN_FILE.search(piece)
        is_array = written is not None and re.match(r"_(dynamic_|static_)?array_", written["file"])
        if piece.startswith("    ofstream outfile_") and is_array and written["file"] not in outputs:
            dropped.append(written["file"])
        else:
            kept.append(piece)
    if not set(outputs) <= {m["file"] for m in _WRITTEN_FILE.finditer("".join(kept))}:
        return []  # an output this edit does not see: leave the function as it is
    body = "".join(kept)
    source.write_text(text[:found.start("body")] + body + text[found.end("body"):])
    return dropped


#: The environment variable that holds the process id of the binary's parent (brainlc).
PARENT_PID_VARIABLE = "BRAINLC_PARENT_PID"

#: Exit status of a binary whose parent ended before the binary started.
ORPHANED_EXIT = 75

_MAIN_FUNCTION = re.compile(r"^int main\(int argc, char \*\*argv\)\n\{\n", re.M)

_DEATH_CODE = f"""\t// brainlc: killed when the process that started it ends, also by kill -9
\tprctl(PR_SET_PDEATHSIG, SIGKILL);
\t{{
\t\tconst char* _brainlc_parent = std::getenv("{PARENT_PID_VARIABLE}");
\t\tif (_brainlc_parent != NULL && getppid() != (pid_t)std::strtol(_brainlc_parent, NULL, 10))
\t\t\treturn {ORPHANED_EXIT};  // that process ended before this line
\t}}
"""


def die_with_parent(project: Path) -> bool:
    """Make ``project/main.cpp``'s binary end with the process that starts it (Linux).

    The process passes its id in :data:`PARENT_PID_VARIABLE`; the binary exits with
    :data:`ORPHANED_EXIT` if its parent is another (that process ended first). Returns
    whether the edit was made (False: ``main`` is not Brian2's usual one, or not Linux).
    """
    source = project / "main.cpp"
    text = source.read_text()
    found = _MAIN_FUNCTION.search(text)
    if found is None or not sys.platform.startswith("linux"):
        return False
    text = text[:found.end()] + _DEATH_CODE + text[found.end():]
    source.write_text("#include <sys/prctl.h>\n#include <unistd.h>\n#include <csignal>\n#include <cstdlib>\n" + text)
    return True


def streamline(project: Path, outputs: set[str] | None = None) -> dict[str, object]:
    """Every edit on a generated C++ project; what each changed. ``outputs``: the array
    files brainlc reads from the binary's results (None: every array is written)."""
    edits = {"network_loop": lean_network_loop(project), "thresholds": vectorised_thresholds(project),
             "dies_with_parent": die_with_parent(project),
             "maps_not_copied": synapse_creation.create_from_static_arrays(project),
             "creations_reserved": synapse_creation.reserve_created_synapses(project)}
    if outputs is not None:
        edits["arrays_not_written"] = len(write_only_outputs(project, outputs))
    return edits
