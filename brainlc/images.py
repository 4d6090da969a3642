"""User images: a digit photo or drawing prepared like an MNIST image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import BrainlcError


class ImageError(BrainlcError, ValueError):
    """A user image that cannot be read."""


def read_digit_image(path: str | Path) -> np.ndarray:
    """A user's digit image prepared like MNIST: uint8 (1, 28, 28), bright ink on black.

    The image is turned to grey levels and inverted when its border is brighter than
    mid-grey (dark ink on light paper). As MNIST was made: the ink's bounding box is scaled
    to fit a 20 x 20 box (aspect kept) and placed in a 28 x 28 frame with its centre of
    mass at the centre. The usual centre crop and intensity scaling then apply.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            grey = np.asarray(img.convert("L"), dtype=np.float64)
    except (OSError, UnidentifiedImageError) as exc:
        raise ImageError(f"cannot read image {path}: {exc}") from exc
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.mean() > 127.5:
        grey = 255.0 - grey
    ink = grey > 0.2 * grey.max() if grey.max() > 0 else np.zeros_like(grey, dtype=bool)
    if not ink.any():
        raise ImageError(f"image {path} has no visible ink")
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    box = grey[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = 20.0 / max(box.shape)
    size = (max(1, round(box.shape[1] * scale)), max(1, round(box.shape[0] * scale)))
    small = np.asarray(Image.fromarray(box.astype(np.uint8)).resize(size, Image.Resampling.LANCZOS),
                       dtype=np.float64)
    frame = np.zeros((28, 28))
    mass = small.sum()
    cy = (small.sum(axis=1) @ np.arange(small.shape[0])) / mass
    cx = (small.sum(axis=0) @ np.arange(small.shape[1])) / mass
    top = int(np.clip(round(13.5 - cy), 0, 28 - small.shape[0]))
    left = int(np.clip(round(13.5 - cx), 0, 28 - small.shape[1]))
    frame[top : top + small.shape[0], left : left + small.shape[1]] = small
    return np.clip(np.rint(frame), 0, 255).astype(np.uint8)[None]
