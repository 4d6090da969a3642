"""A binary's spike monitor turned into per-image spike lists and counts, quickly.

Brian2's spike monitor on the CPU records the spikes of each time step in ascending index,
step after step: the list comes sorted by (step, index). Ordering it by (image, step,
neuron) then needs only a stable sort by image (none at all with one replica), where a
general three-key ``np.lexsort`` took about 10 ms per invocation of ``lc-100-k12``'s
evaluation, an eighth of its images' time. A GPU records one step's spikes in any order:
those lists take the general sort. Either way the result is ``np.lexsort``'s.
"""

from __future__ import annotations

import numpy as np


def is_sorted_by(primary: np.ndarray, secondary: np.ndarray) -> bool:
    """Whether the pairs (primary[i], secondary[i]) are in ascending (lexicographic) order."""
    if primary.size < 2:
        return True
    later, earlier = primary[1:], primary[:-1]
    return bool(np.all((later > earlier) | ((later == earlier) & (secondary[1:] >= secondary[:-1]))))


def image_order(monitor_step: np.ndarray, monitor_index: np.ndarray, image: np.ndarray,
                step: np.ndarray, neuron: np.ndarray) -> np.ndarray:
    """The permutation ``np.lexsort((neuron, step, image))`` of the spikes.

    ``monitor_step`` (time step of the invocation) and ``monitor_index`` (neuron index in the
    compiled network, replicas one after the other) are the monitor's record; ``image``,
    ``step`` (within the image) and ``neuron`` (within a replica) are derived from them, so
    that the spikes of one image come from one replica and one stretch of steps. Where the
    record is sorted by (step, index), each image's spikes are already in (step, neuron)
    order and a stable sort by image gives the same permutation.
    """
    if is_sorted_by(monitor_step, monitor_index):
        if image.size < 2 or np.all(image[1:] >= image[:-1]):
            return np.arange(image.size)
        return np.argsort(image, kind="stable")
    return np.lexsort((neuron, step, image))


def spike_counts(image: np.ndarray, neuron: np.ndarray, n_images: int, n_neurons: int) -> np.ndarray:
    """Spikes of each neuron in each image, (image, neuron), int32."""
    flat = np.bincount(image * n_neurons + neuron, minlength=n_images * n_neurons)
    return flat.reshape(n_images, n_neurons).astype(np.int32)
