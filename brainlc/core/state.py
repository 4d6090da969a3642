"""The learned state of a network (weights and adaptive thresholds) and its initialisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import NetworkConfig
from .topology import Connectivity


@dataclass
class NetworkState:
    """Everything a network learns.

    Attributes
    ----------
    w_xy : float64 array, mV. One weight per X->Y synapse (LC, FC) or one per shared
        kernel element ``f * k**2 + k1 * k + k2`` (C).
    w_yy : float64 array, mV. One weight per Y->Y competition synapse.
    theta : float64 array, mV. Adaptive threshold of each Y neuron.
    """

    w_xy: np.ndarray
    w_yy: np.ndarray
    theta: np.ndarray

    def copy(self) -> "NetworkState":
        """A deep copy."""
        return NetworkState(self.w_xy.copy(), self.w_yy.copy(), self.theta.copy())

    def check(self, config: NetworkConfig, conn: Connectivity) -> None:
        """Raise ValueError naming the array whose shape does not fit the network."""
        expected = {
            "w_xy": conn.n_xy_weights,
            "w_yy": int(conn.yy_pre.size),
            "theta": config.n_output,
        }
        for name, size in expected.items():
            arr = getattr(self, name)
            if arr.ndim != 1 or arr.size != size:
                raise ValueError(
                    f"{name} has shape {arr.shape}, but this network needs ({size},)"
                )
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} contains non-finite values")


def normalisation_groups(config: NetworkConfig, conn: Connectivity) -> tuple[np.ndarray, int]:
    """For each X->Y weight, the index of the group whose sum is normalised.

    LC and FC: the post-synaptic Y neuron. C: the kernel's channel.
    """
    if conn.n_kernel_elements is not None:
        return np.arange(conn.n_kernel_elements) // (config.kernel**2), config.channels
    return conn.xy_post, config.n_output


def normalise_xy(config: NetworkConfig, conn: Connectivity, w_xy: np.ndarray) -> np.ndarray:
    """Scale X->Y weights so each group sums to ``mean_weight * kernel**2`` (mV).

    Sums run sequentially in weight order (as the compiled model does). A group whose
    sum is zero is left unchanged (the original divided by zero).
    """
    group, n_groups = normalisation_groups(config, conn)
    sums = np.zeros(n_groups)
    np.add.at(sums, group, w_xy)
    positive = sums > 0
    scale = np.ones(n_groups)
    scale[positive] = config.normalisation_target / sums[positive]
    return w_xy * scale[group]


def initial_state(config: NetworkConfig, conn: Connectivity, seed: int) -> NetworkState:
    """A new network's state, reproducible from ``seed``.

    - X->Y weights U(0, 1), then normalised (C kernels too; the original skipped that
      for C, see docs/model.md);
    - Y->Y weights ``c_w``; with trainable competition in LC, U(c_w, 0) as in the
      original; then clamped to ``[c_w_min, c_w_max]``; with the original's competition
      mode (every pair a synapse) the other entries are 0 before the clamp, and the
      competition pairs get the same values as in ``patch`` mode for the same seed;
    - theta 0.
    """
    rng = np.random.default_rng(seed)
    w_xy = normalise_xy(config, conn, rng.random(conn.n_xy_weights))
    in_patch = conn.yy_in_patch
    n_yy = int(conn.yy_pre.size if in_patch is None else in_patch.sum())
    if config.competition_trainable and config.architecture == "LC":
        w_yy = rng.random(n_yy) * config.c_w
    else:
        w_yy = np.full(n_yy, float(config.c_w))
    if in_patch is not None:
        full = np.zeros(in_patch.size)
        full[in_patch] = w_yy  # both lists are ordered by pre, then post neuron
        w_yy = full
    if config.competition_trainable:
        w_yy = np.clip(w_yy, config.c_w_min, config.c_w_max)
    return NetworkState(w_xy=w_xy, w_yy=w_yy, theta=np.zeros(config.n_output))
