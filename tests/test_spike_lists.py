"""The per-image spike lists of a binary's monitor (brainlc.sim.spike_lists): the quick
paths give np.lexsort's order and np.add.at's counts, for a CPU monitor's record (sorted by
step, then index) and a GPU's (each step's spikes in any order)."""

import numpy as np
import pytest

from brainlc.sim.spike_lists import image_order, is_sorted_by, spike_counts


def _monitor(rng, steps_total: int, n_index: int, spikes: int, sorted_within_step: bool):
    step = np.sort(rng.integers(0, steps_total, spikes))
    index = rng.integers(0, n_index, spikes)
    key = step * n_index + index
    unique = np.unique(key)  # a neuron spikes at most once a step
    step, index = unique // n_index, unique % n_index
    if not sorted_within_step:  # shuffle each step's spikes, as a GPU records them
        shuffle = np.lexsort((rng.random(step.size), step))
        step, index = step[shuffle], index[shuffle]
    return step, index


@pytest.mark.parametrize("replicas", [1, 3])
@pytest.mark.parametrize("sorted_within_step", [True, False])
def test_the_order_and_counts_are_lexsorts_and_add_ats(replicas, sorted_within_step):
    rng = np.random.default_rng(replicas + 10 * sorted_within_step)
    steps, n_out, slots = 25, 40, 6
    step, index = _monitor(rng, slots * steps + 1, replicas * n_out, 3000, sorted_within_step)
    image = (step // steps) * replicas + index // n_out
    within, neuron = step % steps, index % n_out
    keep = image < slots * replicas - 2  # the padded images' spikes are dropped
    image, within, neuron = image[keep], within[keep], neuron[keep]
    order = image_order(step[keep], index[keep], image, within, neuron)
    np.testing.assert_array_equal(order, np.lexsort((neuron, within, image)))
    n_images = slots * replicas - 2
    expected = np.zeros((n_images, n_out), dtype=np.int32)
    np.add.at(expected, (image, neuron), 1)
    counts = spike_counts(image, neuron, n_images, n_out)
    assert counts.dtype == np.int32
    np.testing.assert_array_equal(counts, expected)


def test_sortedness_is_lexicographic():
    assert is_sorted_by(np.array([0, 0, 1, 2]), np.array([1, 5, 0, 0]))
    assert not is_sorted_by(np.array([0, 0, 1]), np.array([5, 1, 0]))
    assert not is_sorted_by(np.array([1, 0]), np.array([0, 9]))
    assert is_sorted_by(np.zeros(0, int), np.zeros(0, int)) and is_sorted_by(np.array([3]), np.array([1]))
    # an unsorted record takes the general sort: same result as lexsort
    step, index = np.array([2, 1, 1, 0]), np.array([0, 3, 1, 2])
    image, within = step // 2, step % 2
    np.testing.assert_array_equal(image_order(step, index, image, within, index),
                                  np.lexsort((index, within, image)))
