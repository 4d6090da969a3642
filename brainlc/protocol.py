"""The experimental protocol: which MNIST images each phase sees.

Splits as in the thesis, but sampled without replacement:

============  =====================================  ======
split         images                                 size
============  =====================================  ======
train         MNIST training images 0 - 49,999       50,000
calibration   MNIST training images 50,000 - 59,999  10,000
test          the 10,000 MNIST test images           10,000
============  =====================================  ======

Each phase takes the first N images of a seeded permutation of its split. Defaults are
the paper's: 5,000 training, 10,000 calibration and 10,000 test images.
"""

from __future__ import annotations

import numpy as np

from .data import Mnist

SPLITS = {
    "train": ("train", 0, 50_000),
    "calibration": ("train", 50_000, 60_000),
    "test": ("test", 0, 10_000),
}
DEFAULT_SIZES = {"train": 5_000, "calibration": 10_000, "test": 10_000}


class ProtocolError(ValueError):
    """A phase asks for more images than its split has, or for an unknown split."""


def split_indices(split: str, n: int, seed: int, offset: int = 0) -> np.ndarray:
    """MNIST indices (into the split's source array) of ``n`` images of ``split``.

    The images are positions ``offset .. offset + n`` of the split's permutation for
    ``seed``, so that continuing a phase (e.g. more training) takes images not seen yet.
    """
    if split not in SPLITS:
        raise ProtocolError(f"unknown split {split!r}; splits: {', '.join(SPLITS)}")
    _, start, stop = SPLITS[split]
    size = stop - start
    if n < 0 or offset < 0:
        raise ProtocolError("image counts must not be negative")
    if offset + n > size:
        raise ProtocolError(
            f"the {split} split has {size} images; asked for {n} after {offset} already used"
        )
    order = np.random.default_rng([seed, list(SPLITS).index(split)]).permutation(size)
    return start + order[offset : offset + n]


def split_images(mnist: Mnist, split: str, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Images (uint8, (n, 28, 28)) and labels of the given indices of ``split``."""
    source = SPLITS[split][0]
    images = mnist.train_images if source == "train" else mnist.test_images
    labels = mnist.train_labels if source == "train" else mnist.test_labels
    return images[indices], labels[indices].astype(np.int64)
