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

To choose hyper-parameters without looking at the test set, the scores can instead be
measured on *validation* images: the calibration split's permutation continued after the
calibration images (positions ``calibrate .. calibrate + N``), which the readouts never see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brainlc.errors import BrainlcError

if TYPE_CHECKING:  # numpy is imported where it is used: the CLI's quick commands need none
    import numpy as np

    from .mnist import Mnist

SPLITS = {
    "train": ("train", 0, 50_000),
    "calibration": ("train", 50_000, 60_000),
    "test": ("test", 0, 10_000),
}
DEFAULT_SIZES = {"train": 5_000, "calibration": 10_000, "test": 10_000}
#: Fewest images per phase. Training may be skipped (0: an untrained network, a baseline).
#: The readouts are fitted on the calibration images: with fewer than 100, some digits have
#: no or one or two images (about 10 per digit at 100), and the votes of those classes are
#: empty or noise. A test needs at least one image.
MIN_SIZES = {"train": 0, "calibration": 100, "test": 1}
#: Where the readouts are scored: the test split (the paper's protocol), or held-out
#: calibration images (``validation``, for choosing hyper-parameters).
SCORE_SPLITS = ("test", "validation")
#: Seeds are 0 .. 2**32 - 1 (the width of the compiled binary's random seed).
MAX_SEED = 2**32 - 1


class ProtocolError(BrainlcError, ValueError):
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
    import numpy as np

    order = np.random.default_rng([seed, list(SPLITS).index(split)]).permutation(size)
    return start + order[offset : offset + n]


def check_seed(seed: int) -> None:
    """Refuse a seed outside 0 .. MAX_SEED."""
    if not 0 <= seed <= MAX_SEED:
        raise ProtocolError(f"seed {seed} is out of range: seeds are 0 .. {MAX_SEED}")


def scored_images(score_on: str, n: int, calibrate: int) -> tuple[str, int]:
    """(split, offset) of the ``n`` images the readouts are scored on.

    ``test``: the first ``n`` of the test permutation. ``validation``: the calibration
    permutation after its first ``calibrate`` images (those fit the readouts).
    """
    if score_on not in SCORE_SPLITS:
        raise ProtocolError(f"unknown scoring split {score_on!r}; one of: {', '.join(SCORE_SPLITS)}")
    if score_on == "test":
        return "test", 0
    size = SPLITS["calibration"][2] - SPLITS["calibration"][1]
    if calibrate + n > size:
        raise ProtocolError(f"validation scores use calibration images after the {calibrate} that fit the "
                            f"readouts: calibration + validation images must be at most {size} "
                            f"(got {calibrate} + {n})")
    return "calibration", calibrate


def check_sizes(train: int, calibrate: int, test: int, seed: int, train_offset: int = 0,
                score_on: str = "test") -> None:
    """Refuse impossible phase sizes or seeds before any work, naming the limit.

    ``test`` is the number of scored images, on the split ``score_on`` names.
    """
    check_seed(seed)
    for split, n in (("train", train), ("calibration", calibrate), ("test", test)):
        if n < MIN_SIZES[split]:
            raise ProtocolError(f"{n} {split} images: the {split} phase needs at least "
                                f"{MIN_SIZES[split]}" + (" (the readouts are fitted on them)"
                                                         if split == "calibration" else ""))
    split_indices("train", train, seed, train_offset)
    split_indices("calibration", calibrate, seed)
    split, offset = scored_images(score_on, test, calibrate)
    split_indices(split, test, seed, offset)


def check_neurons(neurons, n_output: int) -> None:
    """Refuse neuron indices that do not exist or repeat."""
    bad = [n for n in neurons if not 0 <= n < n_output]
    if bad:
        raise ProtocolError(f"neurons {bad} do not exist: this network has {n_output} (0..{n_output - 1})")
    repeated = sorted({n for n in neurons if list(neurons).count(n) > 1})
    if repeated:
        raise ProtocolError(f"neurons {repeated} are listed more than once")


def split_images(mnist: Mnist, split: str, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Images (uint8, (n, 28, 28)) and labels of the given indices of ``split``."""
    import numpy as np

    source = SPLITS[split][0]
    images = mnist.train_images if source == "train" else mnist.test_images
    labels = mnist.train_labels if source == "train" else mnist.test_labels
    return images[indices], labels[indices].astype(np.int64)
