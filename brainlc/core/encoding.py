"""From MNIST pixels to input spikes: the one place where cropping and intensity apply.

- :func:`center_crop` keeps the centre ``crop x crop`` pixels of 28 x 28 images
  (torchvision's ``CenterCrop``, as in the original).
- :func:`firing_rates` maps a uint8 pixel ``p`` to ``intensity * p / 255`` Hz.
- :func:`spike_probabilities` turns rates into the per-step spike probability
  ``rate * dt`` that the compiled model draws from (Bernoulli, at most one spike per
  step).
- :func:`original_poisson_trains` is the original's encoder (BindsNET ``poisson``):
  Poisson-distributed inter-spike intervals, used to make host spike trains.
"""

from __future__ import annotations

import numpy as np

from .config import NetworkConfig


def center_crop(images: np.ndarray, crop: int) -> np.ndarray:
    """Centre ``crop x crop`` of images shaped (n, H, W); same dtype."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must have shape (n, height, width), got {images.shape}")
    h, w = images.shape[1:]
    if crop > min(h, w):
        raise ValueError(f"crop {crop} is larger than the images ({h}x{w})")
    top = int(round((h - crop) / 2.0))
    left = int(round((w - crop) / 2.0))
    return images[:, top : top + crop, left : left + crop]


def firing_rates(images: np.ndarray, config: NetworkConfig) -> np.ndarray:
    """Input firing rates in Hz, shape (n, crop*crop), from uint8 images (n, 28, 28).

    Images already cropped to (n, crop, crop) are accepted too.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 pixels, got {images.dtype}")
    if images.shape[1:] != (config.crop, config.crop):
        images = center_crop(images, config.crop)
    pixels = images.reshape(len(images), -1).astype(np.float64) / 255.0
    return pixels * config.intensity


def spike_probabilities(rates: np.ndarray, config: NetworkConfig) -> np.ndarray:
    """Per-step spike probability ``rate * dt`` (rates in Hz, dt in ms)."""
    p = np.asarray(rates, dtype=np.float64) * (config.dt / 1000.0)
    if np.any(p > 1):
        raise ValueError("a rate above 1 spike per time step cannot be encoded")
    return p


def original_poisson_trains(rates: np.ndarray, steps: int, rng: np.random.Generator,
                            dt: float = 1.0) -> np.ndarray:
    """Spike trains (n, steps, inputs) of the original's Poisson encoder.

    For each input with rate r > 0: ``steps + 1`` intervals ~ Poisson(1000 / (dt r)),
    intervals of 0 become 1, spike times are their cumulative sums, times after
    ``steps`` are dropped, and time 0 is dropped. Rate 0 never spikes.
    """
    rates = np.atleast_2d(np.asarray(rates, dtype=np.float64))
    n, size = rates.shape
    out = np.zeros((n, steps, size), dtype=bool)
    for k in range(n):
        active = rates[k] > 0
        lam = np.zeros(size)
        lam[active] = 1000.0 / (dt * rates[k, active])
        intervals = rng.poisson(lam, size=(steps + 1, size))
        intervals[:, active] += intervals[:, active] == 0
        times = np.cumsum(intervals, axis=0)
        times[times >= steps + 1] = 0
        trains = np.zeros((steps + 1, size), dtype=bool)
        trains[times, np.arange(size)] = True
        trains[:, ~active] = False
        out[k] = trains[1:]
    return out
