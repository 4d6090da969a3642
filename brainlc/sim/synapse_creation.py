"""The start of an invocation: brainlc's edit of how Brian2's binary creates its synapses.

Each invocation of a compiled binary creates every synapse again from the index maps,
before its first step. For ``lc-1000-k12`` (9 M Y->Y and 1.3 M X->Y synapses) that start
took about twice as long as 100 blank images: the time goes to the first touch of
fresh memory (about 0.5 ms per MB here) and to copies. Brian2's C++ project

1. reads each map's sources and targets into ``_static_array__array_<S>_sources`` (and
   ``_targets``), zeroes a second array of the same size (``_array_<S>_sources``) in
   ``_init_arrays``, and copies the first into the second in ``main``;
2. appends the synapses one at a time to ``_synaptic_pre`` and ``_synaptic_post``
   (``push_back``), whose storage grows by doubling: each doubling copies what is there.

The edits, each recognising Brian2's code exactly and leaving a file it does not
recognise as it is (the synapses are then created as before):

- :func:`create_from_static_arrays`: the creation reads the static arrays, and the second
  arrays are neither zeroed nor copied into (they stay allocated, untouched, so that
  Brian2's clean-up is unchanged);
- :func:`reserve_created_synapses`: ``_synaptic_pre`` and ``_synaptic_post`` are given
  their final size before the loop (``reserve``), so they never move.

The synapses, their order and every value are the same: only copies go.
"""

from __future__ import annotations

import re
from pathlib import Path

#: Brian2's loop over the synapses to create (``synapses_create_array.cpp``).
_CREATE_LOOP = re.compile(r"^for \(size_t _idx=0; _idx<_numsources; _idx\+\+\) \{\n", re.M)
_CREATED = re.compile(r"(?P<array>_dynamic_array_\w+?__synaptic_(?:pre|post))\.push_back\(_real_\w+\);")
#: The pointer a creation reads a map's sources or targets through.
_MAP_POINTER = re.compile(
    r"(?P<head>int32_t\*\s*__restrict\s+_ptr_array_(?P<name>\w+?_(?:sources|targets))\s*=\s*)"
    r"_array_(?P=name);")


def reserve_created_synapses(project: Path) -> list[str]:
    """Reserve the final size of ``_synaptic_pre`` and ``_synaptic_post`` before each
    creation loop of ``project``; the code objects changed."""
    changed = []
    for path in sorted((project / "code_objects").glob("*synapses_create_array_codeobject*.cpp")):
        text = path.read_text()
        loop = _CREATE_LOOP.search(text)
        grown = sorted(set(_CREATED.findall(text)))
        if loop is None or len(grown) != 2 or "_new_num_synapses" not in text[:loop.start()]:
            continue
        reserve = "".join(f"{array}.reserve(_new_num_synapses);\n" for array in grown)
        path.write_text(text[:loop.start()] + "// brainlc: the final size at once (brainlc/sim/synapse_creation.py)\n"
                        + reserve + text[loop.start():])
        changed.append(path.name)
    return changed


def _copy_from_static(name: str) -> re.Pattern:
    """``main``'s copy of a map's static array into ``_array_<name>``."""
    return re.compile(
        rf"for\(int i=0; i<_num__array_{name}; i\+\+\)\s*\{{\s*"
        rf"_array_{name}\[i\] = _static_array__array_{name}\[i\];\s*\}}")


def _zeroing(name: str) -> re.Pattern:
    """``_init_arrays``' zeroing of ``_array_<name>``."""
    return re.compile(rf"for\(int i=0; i<\d+; i\+\+\) _array_{name}\[i\] = 0;")


def create_from_static_arrays(project: Path) -> list[str]:
    """Make each synapse creation of ``project`` read its map from the static arrays, and
    drop the zeroing of the arrays it read before and the copy into them; the maps changed
    (``XY_sources``, ...). A map is changed only where its array appears nowhere else: in
    the creation, in one copy in ``main.cpp`` and in one zeroing in ``objects.cpp``."""
    main, objects = project / "main.cpp", project / "objects.cpp"
    main_text, objects_text = main.read_text(), objects.read_text()
    others = {path: path.read_text() for path in sorted((project / "code_objects").glob("*.cpp"))}
    changed = []
    for path, text in others.items():
        if "synapses_create_array" not in path.name:
            continue
        for found in list(_MAP_POINTER.finditer(text)):
            name = found["name"]
            copy, zeroing = _copy_from_static(name), _zeroing(name)
            used = re.compile(rf"\b_array_{name}\b")
            elsewhere = sum(len(used.findall(t)) for p, t in others.items() if p != path)
            if (len(copy.findall(main_text)) != 1 or len(zeroing.findall(objects_text)) != 1
                    or len(used.findall(main_text)) != 1 or elsewhere or len(used.findall(text)) != 1):
                continue
            text = text.replace(found[0], f"{found['head']}_static_array__array_{name};  // brainlc: no copy")
            main_text = copy.sub(f"// brainlc: {name} is read from its static array, not copied", main_text)
            objects_text = zeroing.sub(f"// brainlc: _array_{name} is never read, not zeroed", objects_text)
            changed.append(name)
        others[path] = text
        path.write_text(text)
    if changed:
        main.write_text(main_text)
        objects.write_text(objects_text)
    return changed
