"""User images: a digit photo or drawing prepared like an MNIST image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from brainlc.errors import BrainlcError


class ImageError(BrainlcError, ValueError):
    """A user image that cannot be read."""


#: The most pixels a digit image may have (it is scaled to 20 x 20 anyway): 4000 x 4000.
MAX_PIXELS = 16_000_000


def _grey_with_alpha_as_ink(img) -> np.ndarray:
    """Grey levels (0..255, float) of an image; a transparent one is laid on a background
    that contrasts with its opaque pixels, so that a digit drawn in any colour on a
    transparent background (as drawing apps export it) shows its strokes."""
    if img.mode in ("P", "PA") and ("transparency" in img.info or img.mode == "PA"):
        img = img.convert("RGBA")
    if img.mode not in ("RGBA", "LA", "La", "RGBa"):
        return np.asarray(img.convert("L"), dtype=np.float64)
    alpha = np.asarray(img.getchannel("A"), dtype=np.float64) / 255.0
    grey = np.asarray(img.convert("L"), dtype=np.float64)
    if alpha.min() == 1.0:
        return grey
    opaque = alpha > 0.5
    ink_is_dark = not opaque.any() or grey[opaque].mean() < 127.5
    background = 255.0 if ink_is_dark else 0.0
    return grey * alpha + background * (1.0 - alpha)


def read_digit_image(path: str | Path) -> np.ndarray:
    """A user's digit image prepared like MNIST: uint8 (1, 28, 28), bright ink on black.

    The image is turned to grey levels and inverted when its border is brighter than
    mid-grey (dark ink on light paper). As MNIST was made: the ink's bounding box is scaled
    to fit a 20 x 20 box (aspect kept) and placed in a 28 x 28 frame with its centre of
    mass at the centre. The usual centre crop and intensity scaling then apply.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # PIL's own check: replaced by MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:  # before decoding: the header gives the size
                    raise ImageError(f"image {path} is {width} x {height} pixels; a digit image may have at most "
                                     f"{MAX_PIXELS // 1_000_000} million: scale it down first")
                grey = _grey_with_alpha_as_ink(img)
    except Image.DecompressionBombError as exc:
        raise ImageError(f"image {path} is too large to read: {exc}") from None
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(f"cannot read image {path}: {exc}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = limit
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
