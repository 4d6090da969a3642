"""What a simulation of many synapses will need in memory, checked before it is built.

Building a network keeps each synapse's indices and weight several times over on the host
(numpy arrays for Brian2, its static arrays, the binary's own arrays and spike queues);
:data:`BYTES_PER_SYNAPSE` is a deliberately generous figure for the peak of that. A build
that would need more than the machine has is refused in one line instead of ending in a
MemoryError, or in the kernel's out-of-memory killer, minutes later.
"""

from __future__ import annotations

import os
from pathlib import Path

from brainlc.errors import BrainlcError

#: Peak host bytes per synapse while a network is built and run (X->Y and Y->Y synapses).
BYTES_PER_SYNAPSE = 64


class MemoryLimitError(BrainlcError, MemoryError):
    """A simulation that would not fit in this machine's memory."""


def available_bytes() -> int | None:
    """Memory that processes can still take (``MemAvailable`` plus free swap), or None if unknown."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        kib = int(fields["MemAvailable"].split()[0]) + int(fields.get("SwapFree", "0 kB").split()[0])
        return kib * 1024
    except (OSError, KeyError, ValueError):
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None


def _size(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 1e3:.0f} kB"


def check_fits(synapses_per_network: int, networks: int, what: str) -> None:
    """Refuse ``networks`` copies of a network of ``synapses_per_network`` synapses in one
    simulation when they would not fit in the memory this machine has left."""
    need = BYTES_PER_SYNAPSE * int(synapses_per_network) * int(networks)
    have = available_bytes()
    if have is not None and need > have:
        raise MemoryLimitError(f"{what}: {networks} x {synapses_per_network:,} synapses need about {_size(need)}, "
                               f"and this machine has {_size(have)} of memory left; use fewer")
