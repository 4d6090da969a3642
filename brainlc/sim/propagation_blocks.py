"""Contiguous blocks of the X->Y and Y->Y pathways, derived from their index maps (numpy only).

Brian2's generic code for a pathway copies the synapse ids of every input spike into a
queue, then reads each synapse's target from an index array and adds into it. The X->Y
maps of brainlc are regular instead: for one input pixel, the targets at one receptive-field
position are every channel. In a *position-major* numbering of the output neurons (slot
``position * channels + channel``) they are consecutive, and when the synapses of each
pixel are listed by slot, so are their weights. Each run of consecutive synapses whose
slots are consecutive is a **block**: ``length`` synapses from ``synapse`` onwards reach the
slots from ``slot`` onwards. The compiled code (:mod:`brainlc.sim.structured_code`) walks
the blocks of each spiking pixel with contiguous loops that the compiler vectorises.

The order of the additions into a target does not change: a target receives at most one
synapse of each pixel, and the spiking pixels are taken in ascending order, as Brian2 does.
Listing the synapses of one pixel by slot instead of by neuron (the topology's order)
changes no sum of the model either: every per-target sum (transmission, the weight sums of
normalisation) runs over the pixels in ascending order in both.

The Y->Y competition pathway gets blocks the same way (:func:`yy_blocks`), in the
topology's own synapse order, so that its weights need no reordering.

A map that is not regular (short blocks on average, or two synapses joining one pair)
gets no blocks, and the pathway keeps Brian2's own code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from brainlc.core.config import NetworkConfig
from brainlc.core.topology import Connectivity

#: Fewest synapses per block, on average, for blocks to pay: below it (fewer than the
#: four doubles of an AVX2 vector, twice over) a network keeps Brian2's code.
MIN_MEAN_BLOCK = 8


@dataclass(frozen=True)
class XYBlocks:
    """A pathway of one replica (X->Y, or Y->Y) as contiguous blocks; ``n_input`` counts
    its source neurons.

    Attributes
    ----------
    synapse_order : int64 array; synapse ``k`` of the compiled model is synapse
        ``synapse_order[k]`` of the topology's lists.
    neuron_of_slot : int32 array; buffer slot ``q`` holds output neuron ``neuron_of_slot[q]``.
    first_block : int32 array of ``n_input + 1``; the blocks of pixel ``i`` are
        ``first_block[i]`` to ``first_block[i + 1] - 1``.
    block_synapse, block_slot, block_length : int32 arrays, one entry per block: its first
        synapse (in the compiled order), its first slot, and its number of synapses.
    layout : ``(channels, positions)`` when the slots are :func:`position_major`, so that
        moving values between slots and neurons is a transposition; else None.
    kernel_order : a convolution's kernel numbering that the blocks run through
        (:func:`offset_major_kernel`: model element ``m`` is the topology's
        ``kernel_order[m]``); None for LC and FC.
    stride : synapse ``block_synapse + k`` of a block reaches slot ``block_slot + k * stride``
        (1 for X->Y; the positions of patch competition, whose rivals sit ``positions``
        apart in the neurons' own numbering). Only with slots that are the neurons.
    """

    synapse_order: np.ndarray
    neuron_of_slot: np.ndarray
    first_block: np.ndarray
    block_synapse: np.ndarray
    block_slot: np.ndarray
    block_length: np.ndarray
    layout: tuple[int, int] | None = None
    kernel_order: np.ndarray | None = None
    stride: int = 1

    @property
    def n_synapses(self) -> int:
        return int(self.synapse_order.size)

    @property
    def n_input(self) -> int:
        return int(self.first_block.size - 1)

    @property
    def n_output(self) -> int:
        return int(self.neuron_of_slot.size)

    @property
    def mean_block_length(self) -> float:
        return self.n_synapses / max(1, self.block_length.size)

    @property
    def slots_are_neurons(self) -> bool:
        """Whether slot ``q`` is neuron ``q`` (one position, e.g. FC): no buffer is needed."""
        return bool(np.array_equal(self.neuron_of_slot, np.arange(self.n_output)))


def position_major(channels: int, positions: int) -> np.ndarray:
    """Neuron of each slot ``position * channels + channel``, neurons being numbered
    ``channel * positions + position`` (:mod:`brainlc.core.topology`)."""
    slot_position, slot_channel = np.divmod(np.arange(channels * positions), channels)
    return (slot_channel * positions + slot_position).astype(np.int32)


def derive_blocks(pre: np.ndarray, post: np.ndarray, n_input: int, neuron_of_slot: np.ndarray,
                  layout: tuple[int, int] | None = None, runs_with: np.ndarray | None = None,
                  stride: int = 1) -> XYBlocks | None:
    """The blocks of the pathway ``pre[k] -> post[k]`` for a numbering of its targets
    (``neuron_of_slot``; ``layout``: its ``(channels, positions)`` when it is
    :func:`position_major`), or None when the map is not regular (:data:`MIN_MEAN_BLOCK`).
    ``runs_with``: a number per synapse that must also go up by one from each synapse of a
    block to the next (a convolution's kernel element), else the block ends there.
    ``stride``: the slots of a block go up by this much (:class:`XYBlocks`)."""
    if stride != 1 and not np.array_equal(neuron_of_slot, np.arange(neuron_of_slot.size)):
        raise ValueError("a stride other than 1 needs the slots to be the neurons")
    if layout is not None and not np.array_equal(neuron_of_slot, position_major(*layout)):
        raise ValueError(f"the slots are not position-major for {layout}")
    pre, post = np.asarray(pre, dtype=np.int64), np.asarray(post, dtype=np.int64)
    if pre.size == 0:
        return None
    slot_of_neuron = np.empty(neuron_of_slot.size, dtype=np.int64)
    slot_of_neuron[neuron_of_slot] = np.arange(neuron_of_slot.size)
    slot = slot_of_neuron[post]
    order = np.lexsort((slot, pre))
    pre_sorted, slot_sorted = pre[order], slot[order]
    same_pixel = pre_sorted[1:] == pre_sorted[:-1]
    if np.any(same_pixel & (slot_sorted[1:] == slot_sorted[:-1])):
        return None  # two synapses join one pair: a block would add twice into one slot
    breaks = ~same_pixel | (slot_sorted[1:] != slot_sorted[:-1] + stride)
    if runs_with is not None:
        runs_sorted = np.asarray(runs_with, dtype=np.int64)[order]
        breaks |= runs_sorted[1:] != runs_sorted[:-1] + 1
    starts = np.flatnonzero(np.concatenate([[True], breaks]))
    lengths = np.diff(np.append(starts, pre.size))
    blocks = XYBlocks(
        synapse_order=order,
        neuron_of_slot=np.asarray(neuron_of_slot, dtype=np.int32),
        first_block=np.searchsorted(pre_sorted[starts], np.arange(n_input + 1)).astype(np.int32),
        block_synapse=starts.astype(np.int32),
        block_slot=slot_sorted[starts].astype(np.int32),
        block_length=lengths.astype(np.int32),
        layout=layout,
        stride=int(stride),
    )
    return blocks if blocks.mean_block_length >= MIN_MEAN_BLOCK else None


def offset_major_kernel(channels: int, kernel: int) -> np.ndarray:
    """The topology's kernel element of each element ``offset * channels + channel`` of the
    compiled model, elements being numbered ``channel * kernel**2 + offset``
    (:mod:`brainlc.core.topology`).

    A block of a convolution reaches consecutive channels at one position through one
    offset of the kernel: in this numbering their weights are consecutive too, so the
    structured code reads them as one vector, where the topology's numbering puts them
    ``kernel**2`` apart."""
    offset, channel = np.divmod(np.arange(channels * kernel**2), channels)
    return (channel * kernel**2 + offset).astype(np.int64)


def model_numbering(order: np.ndarray | None, n: int) -> np.ndarray:
    """The model's number of each topology element for ``order`` (model element ``m`` is the
    topology's ``order[m]``): its inverse; None: the identity of ``n`` elements."""
    if order is None:
        return np.arange(n, dtype=np.int64)
    numbering = np.empty(order.size, dtype=np.int64)
    numbering[order] = np.arange(order.size)
    return numbering


def kernel_runs_with_blocks(blocks: XYBlocks, xy_kernel: np.ndarray) -> bool:
    """Whether the kernel element of synapse ``start + k`` of every block is that of
    ``start`` plus ``k`` (``xy_kernel``: the element of each synapse, in the compiled
    order and numbering)."""
    first = np.repeat(xy_kernel[blocks.block_synapse], blocks.block_length)
    within = np.arange(blocks.n_synapses) - np.repeat(blocks.block_synapse, blocks.block_length)
    return bool(np.array_equal(xy_kernel, first + within))


def xy_blocks(config: NetworkConfig, conn: Connectivity) -> XYBlocks | None:
    """The X->Y blocks of a network, in the position-major numbering (None: not regular).
    A convolution's blocks also run through consecutive kernel elements in the numbering of
    :func:`offset_major_kernel` (one position and one kernel offset each)."""
    layout = (config.channels, config.conv * config.conv)
    if conn.xy_kernel is None:
        return derive_blocks(conn.xy_pre, conn.xy_post, config.n_input, position_major(*layout), layout)
    order = offset_major_kernel(config.channels, config.kernel)
    runs_with = model_numbering(order, order.size)[conn.xy_kernel]
    blocks = derive_blocks(conn.xy_pre, conn.xy_post, config.n_input, position_major(*layout), layout, runs_with)
    return None if blocks is None else dataclasses.replace(blocks, kernel_order=order)


def yy_blocks(config: NetworkConfig, conn: Connectivity) -> XYBlocks | None:
    """The blocks of the Y->Y competition pathway, in the topology's synapse order (so the
    Y->Y weights keep theirs) and the neurons' own numbering (so no values move into slots:
    a step has few output spikes), or None where that order gives none.

    A neuron's rivals in patch competition are the other channels at its position, every
    ``positions``-th neuron: two blocks of that stride, those before it and those after.
    When every pair competes (``all_pairs_compete``), a neuron's synapses reach every
    neuron in ascending order: one block."""
    stride = 1 if config.all_pairs_compete else config.conv * config.conv
    neurons = np.arange(config.n_output, dtype=np.int32)
    blocks = derive_blocks(conn.yy_pre, conn.yy_post, config.n_output, neurons, stride=stride)
    if blocks is None or not np.array_equal(blocks.synapse_order, np.arange(blocks.n_synapses)):
        return None
    return blocks


def replicated_order(order: np.ndarray, replicas: int) -> np.ndarray:
    """``order`` for ``replicas`` copies of a pathway side by side (replica-major)."""
    n = order.size
    return (order[None, :] + n * np.arange(replicas, dtype=np.int64)[:, None]).ravel()
