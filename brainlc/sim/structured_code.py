"""Structured X->Y and Y->Y propagation: brainlc's edit of the pathway code Brian2 generates (C++ device).

For every X->Y pathway that reacts to input spikes (``XY_pre``; for a convolution also
``XY_transmit``), Brian2 generates two code objects: ``push_spikes`` copies the synapse ids
of every spiking input neuron into a spike queue, and the pathway's code object takes them
back from the queue, one synapse at a time, reading its target from an index array. This
module rewrites both, keeping Brian2's per-synapse statements word for word:

- ``push_spikes`` does nothing, and the queue is not prepared: every X->Y delay is zero,
  so no queue is needed;
- the code object walks this step's input spikes (X's ``_spikespace``, in ascending order,
  as Brian2's queue holds them) and, for each, the contiguous blocks of
  :mod:`brainlc.sim.propagation_blocks`. In a block, synapse ``start + k`` reaches slot
  ``slot + k``: the statements run on consecutive weights and consecutive slots, in a loop
  the compiler vectorises. The target variables the statements use are gathered into
  slot-ordered buffers before the spikes and the ones they write scattered back after
  (slots are the neurons themselves where the numbering is the identity, as for FC).

A convolution's synapses read their weight from the shared kernel through
``kernel_index``. The compiled model numbers the kernel elements offset-major
(:func:`brainlc.sim.propagation_blocks.offset_major_kernel`) and its blocks end where the
element does not go up by one, so a block's elements are consecutive: the code reads the
block's first ``kernel_index`` and counts up from it (``contiguous``), a vector load where
the topology's numbering gathered elements ``kernel**2`` apart. The binary checks that
property with the synapses, and the kernel's weights go to and from it in the topology's
order (:data:`brainlc.sim.compiler.XY_ORDER`).

The loops over every synapse (the ``run_regularly`` code objects of the normalisation:
each target's weight sum, then the scaling of every weight) walk the same blocks, for every
source neuron in ascending order (:func:`structure_synapse_loops`). Synapses are created in
block order, so that is the synapses' own order: Brian2's loop scatters into the sums one
synapse at a time, through the target index; the blocks add consecutive weights into
consecutive slots.

The Y->Y competition's presynaptic pathways (``YY_pre``, and ``YY_transmit`` where the
competition learns with decay) get the same edit, with the blocks of
:func:`brainlc.sim.propagation_blocks.yy_blocks`: in the neurons' own numbering, a block
reaching every ``positions``-th neuron (a neuron's rivals at its position). A step's
spikes are grouped by position, and each group adds into a contiguous copy of its
position's target values (:func:`_by_position_loop`); equal weights that nothing writes
are taken as one value (:func:`_same_value_lines`). Its postsynaptic pathway reaches its
synapses by target and keeps Brian2's code.

Every target therefore receives the same additions in the same order as with Brian2's
code, and every synapse's statements are the same expressions: results are identical to
the last bit. At its first call the code checks that the synapses Brian2 created are the
ones the blocks describe, and stops the binary if not.

The edit recognises the code it changes exactly; a file it does not recognise is left as
it is, and that pathway runs Brian2's own code (a different Brian2 version builds
correctly, only without the edit). :func:`structure` says which pathways it changed.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

import numpy as np

from .propagation_blocks import XYBlocks

#: Brian2's loop over the synapses of this step's spikes, in a synaptic pathway code object.
_QUEUE_LOOP = re.compile(
    r"\{\s*std::vector<int> \*_spiking_synapses = (?P<pathway>\w+)\.peek\(\);\s*"
    r"const int _num_spiking_synapses = _spiking_synapses->size\(\);\s*"
    r"\{\s*for\(int _spiking_synapse_idx=0;\s*_spiking_synapse_idx<_num_spiking_synapses;\s*"
    r"_spiking_synapse_idx\+\+\)\s*"
    r"\{\s*const size_t _idx = \(\*_spiking_synapses\)\[_spiking_synapse_idx\];\s*"
    r"const size_t _vectorisation_idx = _idx;\s*"
    r"const int32_t _postsynaptic_idx = _ptr_array_(?P<synapses>\w+?)__synaptic_post\[_idx\];"
    r"(?P<body>[^{}]*?)\}\s*\}\s*\}"
)
#: Brian2's loop over every synapse (a synaptic ``run_regularly``: weight sums and scaling).
_SYNAPSE_LOOP = re.compile(
    r"const int _N = _array_(?P<synapses>\w+?)_N\[0\];\s*"
    r"for\(int _idx=0; _idx<_N; _idx\+\+\)\s*\{\s*(?://[^\n]*\s*)?"
    r"const size_t _vectorisation_idx = _idx;\s*"
    r"const int32_t _postsynaptic_idx = _ptr_array_(?P=synapses)__synaptic_post\[_idx\];"
    r"(?P<body>[^{}]*?)\}"
)
#: Brian2's push of this step's spikes into the pathway's queue.
_QUEUE_PUSH = re.compile(
    r"(?P<pathway>\w+)\.advance\(\);\s*"
    r"(?P=pathway)\.push\(_ptr_array_(?P<source>\w+?)__spikespace, "
    r"_ptr_array_(?P=source)__spikespace\[_num_spikespace-1\]\);"
)
_RUN_FUNCTION = re.compile(r"^void _run_(?P<name>\w+)\(\)$", re.M)


def _array(name: str, values: np.ndarray) -> str:
    numbers = ",".join(str(int(v)) for v in values)
    return f"    const int32_t {name}[{max(1, values.size)}] = {{{numbers or '0'}}};\n"


def _tables(blocks: XYBlocks) -> str:
    return ("namespace {\n    // brainlc: the pathway's blocks (brainlc/sim/propagation_blocks.py)\n"
            + _array("_brainlc_first_block", blocks.first_block)
            + _array("_brainlc_block_synapse", blocks.block_synapse)
            + _array("_brainlc_block_slot", blocks.block_slot)
            + _array("_brainlc_block_length", blocks.block_length)
            + _array("_brainlc_neuron_of_slot", blocks.neuron_of_slot)
            + "}\n\n")


def _check_function(name: str, synapses: str, blocks: XYBlocks, replicas: int,
                    contiguous: tuple[str, ...] = ()) -> str:
    runs = "".join(f"""
                    if (_dynamic_array_{synapses}_{array}[_s] != _dynamic_array_{synapses}_{array}[_s - _k] + _k)
                    {{
                        _ok = false;
                        break;
                    }}""" for array in contiguous)
    return f"""
static void _brainlc_check_blocks_{name}()
{{
    using namespace brian;
    const std::vector<int32_t>& _pre = _dynamic_array_{synapses}__synaptic_pre;
    const std::vector<int32_t>& _post = _dynamic_array_{synapses}__synaptic_post;
    const size_t _per_replica = {blocks.n_synapses};
    bool _ok = _pre.size() == {replicas} * _per_replica && _post.size() == _pre.size();
    for (int32_t _r = 0; _ok && _r < {replicas}; _r++)
        for (int32_t _i = 0; _ok && _i < {blocks.n_input}; _i++)
            for (int32_t _b = _brainlc_first_block[_i]; _ok && _b < _brainlc_first_block[_i + 1]; _b++)
                for (int32_t _k = 0; _k < _brainlc_block_length[_b]; _k++)
                {{
                    const size_t _s = _r * _per_replica + _brainlc_block_synapse[_b] + _k;
                    if (_pre[_s] != _r * {blocks.n_input} + _i
                        || _post[_s] != _r * {blocks.n_output}
                                        + _brainlc_neuron_of_slot[_brainlc_block_slot[_b] + _k * {blocks.stride}])
                    {{
                        _ok = false;
                        break;
                    }}{runs}
                }}
    if (!_ok)
    {{
        std::cerr << "brainlc: the {synapses} synapses are not those its structured code was built for" << std::endl;
        std::exit(70);
    }}
}}

"""


def _pointer_type(code: str, pointer: str) -> str | None:
    found = re.search(rf"^\s*(?P<type>[\w:]+)\*\s*(?:__restrict)?\s*{pointer}\s*=", code, re.M)
    return found["type"] if found else None


def _moves(blocks: XYBlocks, replicas: int, target: str, variables: list[str], to_slots: bool) -> list[str]:
    """Code that copies ``variables`` from the target neurons into the position-major slots
    (``to_slots``) or back: a transposition, its writes contiguous."""
    n_slots = replicas * blocks.n_output
    channels, positions = blocks.layout
    outer, inner = (("_p", positions), ("_f", channels)) if to_slots else (("_f", channels), ("_p", positions))
    lines = [f"        for (int32_t _r = 0; _r < {n_slots}; _r += {blocks.n_output})",
             f"            for (int32_t {outer[0]} = 0; {outer[0]} < {outer[1]}; {outer[0]}++)",
             f"                for (int32_t {inner[0]} = 0; {inner[0]} < {inner[1]}; {inner[0]}++)",
             "                {"]
    for var in variables:
        slot = f"_brainlc_slots_{var}[_r + _p * {channels} + _f]"
        neuron = f"_ptr_array_{target}_{var}[_r + _f * {positions} + _p]"
        copy = f"{slot} = {neuron};" if to_slots else f"{neuron} = {slot};"
        lines.append("                    " + copy)
    return lines + ["                }"]


def _structured_loop(code: str, loop: re.Match, name: str, source: str, target: str,
                     blocks: XYBlocks, replicas: int, every_synapse: bool = False,
                     contiguous: tuple[str, ...] = (), unwritten: tuple[str, ...] = ()) -> str | None:
    """The structured replacement of Brian2's loop ``loop``, or None if its body is not
    one this edit knows (it reads the source neuron, or a target other than by its index),
    or its slots are neither the neurons nor position-major. ``every_synapse``: the loop
    runs on every synapse in its order (a synaptic ``run_regularly``), not on this step's
    spikes: the blocks of every source neuron, in ascending order. ``contiguous``: synaptic
    index arrays that run with the blocks (a convolution's ``kernel_index`` in the
    offset-major numbering): read once per block, then counted up. ``unwritten``: synaptic
    variables that nothing writes during a run: where all of a variable's values are the same
    (bit for bit, checked at the first step), the loop uses that value and does not read
    the array (:func:`_same_value_lines`)."""
    direct = blocks.slots_are_neurons
    if not direct and (blocks.layout is None or blocks.stride != 1):
        return None
    by_position = blocks.stride != 1 and not every_synapse and _blocks_stay_at_their_position(blocks)
    body = loop["body"]
    target_access = re.compile(rf"_ptr_array_{target}_(?P<var>\w+)\[_postsynaptic_idx\]")
    variables = list(dict.fromkeys(found["var"] for found in target_access.finditer(body)))
    written = [var for var in variables
               if re.search(rf"_ptr_array_{target}_{var}\[_postsynaptic_idx\]\s*=[^=]", body)]
    rewritten = target_access.sub(
        (lambda found: f"_ptr_array_{target}_{found['var']}[_slot]") if direct and not by_position
        else (lambda found: f"_brainlc_slots_{found['var']}[_slot]"), body)
    synapses = loop["synapses"]
    firsts = []
    for array in contiguous:
        load = re.compile(rf"const int32_t {array} = _ptr_array_{synapses}_{array}\[_idx\];")
        if load.search(rewritten):
            rewritten = load.sub(f"const int32_t {array} = _brainlc_first_{array} + _k;", rewritten)
            first = f"_ptr_array_{synapses}_{array}[_start]"
            firsts.append(f"                const int32_t _brainlc_first_{array} = {first};")
    if "_postsynaptic_idx" in rewritten or "_presynaptic_idx" in rewritten or "_spiking_synapse" in rewritten:
        return None
    types = {var: _pointer_type(code, f"_ptr_array_{target}_{var}") for var in variables}
    if any(kind is None for kind in types.values()):
        return None
    same_value = []
    for var in unwritten:
        load = re.compile(rf"const (?P<type>double|float) {var} = _ptr_array_{synapses}_{var}\[_idx\];")
        found = load.search(rewritten)
        if found and not re.search(rf"_ptr_array_{synapses}_{var}\[[^\]]*\]\s*=[^=]", rewritten):
            rewritten = load.sub(f"const {found['type']} {var} = _brainlc_same_{var} ? _brainlc_value_{var}"
                                 f" : _ptr_array_{synapses}_{var}[_idx];", rewritten)
            same_value += _same_value_lines(synapses, var, found["type"])
    n_slots, n_sources = replicas * blocks.n_output, replicas * blocks.n_input
    if by_position:
        return _by_position_loop(name, source, target, blocks, replicas, variables, written, types, rewritten,
                                 same_value)
    if every_synapse:
        lines = ["{", f"    // brainlc: {name} over the pathway's blocks, in synapse order"
                 " (brainlc/sim/structured_code.py)",
                 f"    const int32_t _brainlc_n_sources = {n_sources};"]
    else:
        lines = ["{",
                 f"    // brainlc: structured propagation of {name} (brainlc/sim/structured_code.py), no spike queue",
                 f"    const int32_t* const _brainlc_spikes = brian::_array_{source}__spikespace;",
                 f"    const int32_t _brainlc_n_sources = _brainlc_spikes[{n_sources}];"]
    lines += _first_step_lines(name, same_value)
    if not direct:
        for var in variables:
            lines += [f"    static std::vector<{types[var]}> _brainlc_buffer_{var}({n_slots});",
                      f"    {types[var]}* __restrict _brainlc_slots_{var} = &_brainlc_buffer_{var}[0];"]
    lines += ["    if (_brainlc_n_sources > 0)", "    {"]
    if not direct:
        lines += _moves(blocks, replicas, target, variables, to_slots=True)
    lines += [
        "        for (int32_t _source = 0; _source < _brainlc_n_sources; _source++)",
        "        {",
        "            const int32_t _source_neuron = " + ("_source;" if every_synapse else "_brainlc_spikes[_source];"),
        f"            const int32_t _replica = _source_neuron / {blocks.n_input};",
        f"            const int32_t _pixel = _source_neuron - _replica * {blocks.n_input};",
        f"            const size_t _synapse_offset = (size_t)_replica * {blocks.n_synapses};",
        f"            const int32_t _slot_offset = _replica * {blocks.n_output};",
        *_block_walk("            ", "_slot_offset + _brainlc_block_slot[_block]",
                     "_first_slot + _k" + (f" * {blocks.stride}" if blocks.stride != 1 else ""), rewritten, firsts),
        "        }",
    ]
    if not direct and written:
        lines += _moves(blocks, replicas, target, written, to_slots=False)
    lines += ["    }", "}"]
    return "\n    ".join(lines)


def _first_step_lines(name: str, same_value: list[str]) -> list[str]:
    """What a structured loop does at its first step: check its synapses against the blocks
    (``_brainlc_check_blocks_<name>``), then ``same_value`` (:func:`_same_value_lines`)."""
    return ["    static bool _brainlc_checked = false;",
            "    if (!_brainlc_checked)",
            "    {",
            f"        _brainlc_check_blocks_{name}();",
            "        _brainlc_checked = true;",
            "    }",
            *same_value]


def _block_walk(indent: str, first_slot: str, slot: str, statements: str, firsts: list[str] = ()) -> list[str]:
    """The loop over the blocks of source neuron ``_pixel``: ``statements`` (Brian2's, its
    targets rewritten to ``[_slot]``) for each synapse ``_idx`` of each block, ``_slot``
    being ``slot`` of ``_first_slot`` (``first_slot``, the block's) and ``_k``; ``firsts``:
    lines that read a block's first value of a contiguous array."""
    inner = indent + "        "
    return [indent + "for (int32_t _block = _brainlc_first_block[_pixel]; _block < _brainlc_first_block[_pixel + 1];"
            " _block++)",
            indent + "{",
            indent + "    const size_t _start = _synapse_offset + _brainlc_block_synapse[_block];",
            indent + f"    const int32_t _first_slot = {first_slot};",
            indent + "    const int32_t _length = _brainlc_block_length[_block];",
            *firsts,
            indent + "    #pragma GCC ivdep",
            indent + "    for (int32_t _k = 0; _k < _length; _k++)",
            indent + "    {",
            inner + "const size_t _idx = _start + _k;",
            inner + "const size_t _vectorisation_idx = _idx;",
            inner + f"const int32_t _slot = {slot};",
            *(inner + line.strip() for line in statements.strip().splitlines() if line.strip()),
            indent + "    }",
            indent + "}"]


def _same_value_lines(synapses: str, var: str, kind: str) -> list[str]:
    """Code that finds, once per run, whether every value of the synaptic variable ``var``
    is the same, bit for bit (``_brainlc_same_<var>``, the value in ``_brainlc_value_<var>``):
    then the loop adds that value where it read each synapse's, the same numbers without
    streaming the array (lc-1000-k12's fixed competition: 9 M equal weights, 72 MB)."""
    return [f"    static bool _brainlc_measured_{var} = false;",
            f"    static bool _brainlc_same_value_{var} = false;",
            f"    static {kind} _brainlc_first_value_{var} = 0;",
            f"    if (!_brainlc_measured_{var})",
            "    {",
            f"        const std::vector<{kind}>& _values = _dynamic_array_{synapses}_{var};",
            f"        _brainlc_same_value_{var} = !_values.empty();",
            f"        if (_brainlc_same_value_{var})",
            f"            _brainlc_first_value_{var} = _values[0];",
            f"        for (size_t _s = 1; _brainlc_same_value_{var} && _s < _values.size(); _s++)",
            f"            _brainlc_same_value_{var} = __builtin_memcmp(&_values[_s], &_brainlc_first_value_{var},"
            f" sizeof({kind})) == 0;",
            f"        _brainlc_measured_{var} = true;",
            "    }",
            f"    const bool _brainlc_same_{var} = _brainlc_same_value_{var};",
            f"    const {kind} _brainlc_value_{var} = _brainlc_first_value_{var};"]


def _blocks_stay_at_their_position(blocks: XYBlocks) -> bool:
    """Whether every block of a strided pathway reaches neurons at its source's position
    (``neuron % stride``), as a neuron's rivals in patch competition are."""
    source = np.repeat(np.arange(blocks.n_input), np.diff(blocks.first_block))
    return (blocks.n_output % blocks.stride == 0 and blocks.n_input == blocks.n_output
            and bool(np.all(blocks.block_slot % blocks.stride == source % blocks.stride)))


def _by_position_loop(name: str, source: str, target: str, blocks: XYBlocks, replicas: int, variables: list[str],
                      written: list[str], types: dict[str, str], rewritten: str, same_value: list[str]) -> str:
    """The structured loop of a strided pathway whose blocks stay at their source's position
    (patch competition): this step's spikes are grouped by replica and position, each group
    in ascending order; for each group, the target variables of that position's neurons are
    copied into a contiguous buffer (channel by channel), every spike of the group adds into
    it through its blocks, and the written ones are copied back. A target gets the same
    additions in the same order (its position's spikes, ascending), and each group copies its
    neurons once, where a strided pass per spike reached them all each time."""
    stride, n_out = blocks.stride, blocks.n_output
    channels, n_groups = n_out // stride, replicas * stride
    n_sources = replicas * blocks.n_input
    lines = ["{",
             f"    // brainlc: structured propagation of {name} by position (brainlc/sim/structured_code.py),"
             " no spike queue",
             f"    const int32_t* const _brainlc_spikes = brian::_array_{source}__spikespace;",
             f"    const int32_t _brainlc_n_sources = _brainlc_spikes[{n_sources}];",
             *_first_step_lines(name, same_value),
             f"    static std::vector<int32_t> _brainlc_group_size({n_groups});",
             f"    static std::vector<int32_t> _brainlc_group_spikes({n_groups * channels});  // a neuron spikes once",
             ]
    for var in variables:
        lines += [f"    static std::vector<{types[var]}> _brainlc_buffer_{var}({channels});",
                  f"    {types[var]}* __restrict _brainlc_slots_{var} = &_brainlc_buffer_{var}[0];"]
    lines += [
        "    if (_brainlc_n_sources > 0)",
        "    {",
        f"        for (int32_t _group = 0; _group < {n_groups}; _group++)",
        "            _brainlc_group_size[_group] = 0;",
        "        for (int32_t _source = 0; _source < _brainlc_n_sources; _source++)",
        "        {",
        "            const int32_t _source_neuron = _brainlc_spikes[_source];",
        f"            const int32_t _replica = _source_neuron / {n_out};",
        f"            const int32_t _group = _replica * {stride} + (_source_neuron - _replica * {n_out}) % {stride};",
        f"            _brainlc_group_spikes[_group * {channels} + _brainlc_group_size[_group]++] = _source_neuron;",
        "        }",
        f"        for (int32_t _group = 0; _group < {n_groups}; _group++)",
        "        {",
        "            const int32_t _group_spikes = _brainlc_group_size[_group];",
        "            if (_group_spikes == 0)",
        "                continue;",
        f"            const int32_t _replica = _group / {stride};",
        f"            const int32_t _first_neuron = _replica * {n_out} + (_group - _replica * {stride});",
        f"            for (int32_t _c = 0; _c < {channels}; _c++)",
        "            {",
        *(f"                _brainlc_slots_{var}[_c] = _ptr_array_{target}_{var}[_first_neuron + _c * {stride}];"
          for var in variables),
        "            }",
        "            for (int32_t _member = 0; _member < _group_spikes; _member++)",
        "            {",
        f"                const int32_t _source_neuron = _brainlc_group_spikes[_group * {channels} + _member];",
        f"                const int32_t _pixel = _source_neuron - _replica * {n_out};",
        f"                const size_t _synapse_offset = (size_t)_replica * {blocks.n_synapses};",
        # a block's slots in the buffer: its targets' channels
        *_block_walk("                ", f"_brainlc_block_slot[_block] / {stride}", "_first_slot + _k", rewritten),
        "            }",
        f"            for (int32_t _c = 0; _c < {channels}; _c++)",
        "            {",
        *(f"                _ptr_array_{target}_{var}[_first_neuron + _c * {stride}] = _brainlc_slots_{var}[_c];"
          for var in written),
        "            }",
        "        }",
        "    }",
        "}"]
    return "\n    ".join(lines)


def structure_pathway(code_object: Path, push: Path, source: str, target: str, blocks: XYBlocks,
                      replicas: int, contiguous: tuple[str, ...] = (), unwritten: tuple[str, ...] = ()) -> bool:
    """Rewrite one pathway's code object and its spike push; returns whether both were
    recognised (else neither file changes)."""
    code, push_code = code_object.read_text(), push.read_text()
    loop = _QUEUE_LOOP.search(code)
    run = _RUN_FUNCTION.search(code)
    pushed = _QUEUE_PUSH.search(push_code)
    if not (loop and run and pushed) or pushed["source"] != source or pushed["pathway"] != loop["pathway"]:
        return False
    name = run["name"]
    present = tuple(array for array in contiguous if f"_ptr_array_{loop['synapses']}_{array}[_idx]" in loop["body"])
    replacement = _structured_loop(code, loop, name, source, target, blocks, replicas, contiguous=present,
                                   unwritten=unwritten)
    if replacement is None:
        return False
    code = _with_tables(code[:loop.start()] + replacement + code[loop.end():], name, loop["synapses"], blocks,
                        replicas, present)
    push_code = (push_code[:pushed.start()]
                 + f"// brainlc: {pushed['pathway']} takes its spikes from {source}'s spike space, no queue"
                 + push_code[pushed.end():])
    code_object.write_text(code)
    push.write_text(push_code)
    return True


def _with_tables(code: str, name: str, synapses: str, blocks: XYBlocks, replicas: int,
                 contiguous: tuple[str, ...] = ()) -> str:
    run = _RUN_FUNCTION.search(code)
    code = (code[:run.start()] + _tables(blocks) + _check_function(name, synapses, blocks, replicas, contiguous)
            + code[run.start():])
    return code if "#include<vector>" in code else "#include<vector>\n#include<cstdlib>\n" + code


def structure_synapse_loops(project: Path, blocks: XYBlocks | None, replicas: int, synapses: str = "XY",
                            source: str = "X", target: str = "Y") -> dict[str, bool]:
    """Rewrite every loop over all synapses of ``synapses`` (its ``run_regularly`` code
    objects: the weight sums and the scaling of the normalisation) to walk the blocks of
    every source neuron in ascending order: that is the synapses' own order, so each target
    gets the same additions in the same order, now in vectorised loops. Whether it changed
    each (by code object name)."""
    if blocks is None:
        return {}
    changed = {}
    for path in sorted((project / "code_objects").glob("*codeobject*.cpp")):
        code = path.read_text()
        loop, run = _SYNAPSE_LOOP.search(code), _RUN_FUNCTION.search(code)
        if loop is None or run is None or loop["synapses"] != synapses or "_brainlc_" in code:
            continue
        name = re.sub(r"_codeobject(_\d+)?$", "", run["name"])
        replacement = _structured_loop(code, loop, run["name"], source, target, blocks, replicas,
                                       every_synapse=True)
        changed[name] = replacement is not None
        if replacement is not None:
            code = code[:loop.start()] + replacement + code[loop.end():]
            path.write_text(_with_tables(code, run["name"], synapses, blocks, replicas))
    return changed


def structure(project: Path, blocks: XYBlocks | None, replicas: int, synapses: str = "XY", source: str = "X",
              target: str = "Y", contiguous: tuple[str, ...] = (),
              pathways: Collection[str] | None = None, unwritten: tuple[str, ...] = ()) -> dict[str, bool]:
    """Rewrite every pathway of ``synapses`` that reacts to ``source``'s spikes; whether it
    changed each (by pathway name: ``XY_pre``, ``XY_transmit``). ``contiguous``: synaptic
    index arrays that run with the blocks (checked by the binary, as the synapses are).
    ``pathways``: only these (the presynaptic ones, where the source is also the target:
    a postsynaptic pathway of Y->Y pushes Y's spikes too, but reaches its synapses by
    target). ``unwritten``: synaptic variables that nothing writes during a run (see
    :func:`_structured_loop`).

    ``blocks`` None (a map that is not regular): nothing changes. Files are found by what
    they hold, not by name (Brian2 numbers the files of a second network built in one
    process: ``XY_pre_codeobject_1.cpp``)."""
    if blocks is None:
        return {}
    folder = project / "code_objects"
    pushes = {}
    for path in sorted(folder.glob("*push_spikes*.cpp")):
        pushed = _QUEUE_PUSH.search(path.read_text())
        if (pushed and pushed["source"] == source and pushed["pathway"].startswith(f"{synapses}_")
                and (pathways is None or pushed["pathway"] in pathways)):
            pushes[pushed["pathway"]] = path
    changed = {}
    for path in sorted(folder.glob("*codeobject*.cpp")):
        loop = _QUEUE_LOOP.search(path.read_text())
        if loop and loop["pathway"] in pushes and loop["synapses"] == synapses:
            pathway = loop["pathway"]
            changed[pathway] = structure_pathway(path, pushes[pathway], source, target, blocks, replicas,
                                                 contiguous, unwritten)
            if changed[pathway]:
                _skip_queue_preparation(folder, pathway)
    return changed


def _skip_queue_preparation(folder: Path, pathway: str) -> None:
    """Drop the preparation of ``pathway``'s spike queue (it lists every synapse by source,
    at every invocation), which a structured pathway never uses."""
    prepare = re.compile(rf"\b{pathway}\.prepare\([^;]*\);")
    for path in folder.glob("before_run*push_spikes*.cpp"):
        text = path.read_text()
        if prepare.search(text):
            path.write_text(prepare.sub(f"// brainlc: {pathway} uses no spike queue, which is not prepared", text))
