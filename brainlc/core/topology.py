"""Explicit connectivity index maps (numpy only, no Brian2).

Flat indices follow the original code:

- input neuron ``row * crop + col`` of the centre-cropped image;
- output neuron ``f * conv**2 + r * conv + c`` for channel ``f`` at position ``(r, c)``;
- convolution kernel element ``f * kernel**2 + k1 * kernel + k2``.

X->Y synapses are listed grouped by input neuron (all efferents of X neuron 0 first),
then by output neuron: the synapses an input spike reaches lie side by side in memory,
which is what the compiled model walks at every input spike. Y->Y pairs are grouped by
pre neuron as well. The Brian2 model and the numpy reference both use these arrays in
this order, so sums over synapses are carried out in the same order in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import NetworkConfig


@dataclass(frozen=True)
class Connectivity:
    """Index maps of one network.

    Attributes
    ----------
    xy_pre, xy_post : int32 arrays, one entry per X->Y synapse.
    xy_kernel : int32 array of the shared kernel element each X->Y synapse uses
        (convolution only, else None).
    yy_pre, yy_post : int32 arrays, one entry per Y->Y competition synapse: same
        position, different channel (FC: every ordered pair of different neurons); with
        the original's trainable competition every ordered pair, self pairs included.
    yy_in_patch : bool array, one entry per Y->Y synapse: whether it joins two channels
        at one position (the original's ``mask_YY``); None unless every pair exists.
    n_kernel_elements : number of independent X->Y weights for a convolution
        (``channels * kernel**2``), else None.
    """

    xy_pre: np.ndarray
    xy_post: np.ndarray
    xy_kernel: np.ndarray | None
    yy_pre: np.ndarray
    yy_post: np.ndarray
    n_kernel_elements: int | None
    yy_in_patch: np.ndarray | None = None

    @property
    def n_xy_weights(self) -> int:
        """Number of independent X->Y weights (the shared kernel for C)."""
        if self.n_kernel_elements is not None:
            return self.n_kernel_elements
        return int(self.xy_pre.size)

    @property
    def parameter_count(self) -> int:
        """Trainable and fixed weights as counted in the paper's table."""
        n_yy = int(self.yy_pre.size if self.yy_in_patch is None else self.yy_in_patch.sum())
        return self.n_xy_weights + n_yy


def receptive_field_synapses(config: NetworkConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X->Y synapse lists of a local receptive-field layout.

    Returns ``(pre, post, kernel_element)`` as int32 arrays; ``kernel_element`` is the
    index ``f * k**2 + k1 * k + k2`` the synapse would share in a convolution.
    """
    k, s, conv, crop, n_f = config.kernel, config.stride, config.conv, config.crop, config.channels
    f, r, c, k1, k2 = np.meshgrid(
        np.arange(n_f), np.arange(conv), np.arange(conv), np.arange(k), np.arange(k), indexing="ij"
    )
    pre = ((r * s + k1) * crop + (c * s + k2)).ravel()
    post = (f * conv * conv + r * conv + c).ravel()
    kernel_element = (f * k * k + k1 * k + k2).ravel()
    order = np.lexsort((post, pre))  # by pre neuron, then post neuron
    return (
        pre[order].astype(np.int32),
        post[order].astype(np.int32),
        kernel_element[order].astype(np.int32),
    )


def competition_synapses(config: NetworkConfig) -> tuple[np.ndarray, np.ndarray]:
    """Y->Y competition pairs: same position, different channel.

    Returns ``(pre, post)`` int32 arrays, ordered by pre neuron, then post channel.
    For FC (one position) these are all ordered pairs of different neurons.
    """
    n_f, n_pos = config.channels, config.conv * config.conv
    f1, p, f2 = np.meshgrid(
        np.arange(n_f, dtype=np.int32), np.arange(n_pos, dtype=np.int32),
        np.arange(n_f, dtype=np.int32), indexing="ij",
    )
    keep = f1 != f2
    pre = (f1 * n_pos + p)[keep]
    post = (f2 * n_pos + p)[keep]
    return pre.astype(np.int32), post.astype(np.int32)


def all_pairs(config: NetworkConfig, patch_pre: np.ndarray, patch_post: np.ndarray):
    """Every ordered Y->Y pair, by pre then post neuron, and which of them are competition pairs."""
    n = config.n_output
    pre = np.repeat(np.arange(n, dtype=np.int32), n)
    post = np.tile(np.arange(n, dtype=np.int32), n)
    in_patch = np.zeros(n * n, dtype=bool)
    in_patch[patch_pre.astype(np.int64) * n + patch_post] = True
    return pre, post, in_patch


def build_connectivity(config: NetworkConfig) -> Connectivity:
    """All index maps of a network described by ``config``."""
    pre, post, kernel_element = receptive_field_synapses(config)
    yy_pre, yy_post = competition_synapses(config)
    yy_in_patch = None
    if config.all_pairs_compete:
        yy_pre, yy_post, yy_in_patch = all_pairs(config, yy_pre, yy_post)
    is_conv = config.architecture == "C"
    return Connectivity(
        xy_pre=pre,
        xy_post=post,
        xy_kernel=kernel_element if is_conv else None,
        yy_pre=yy_pre,
        yy_post=yy_post,
        n_kernel_elements=config.channels * config.kernel**2 if is_conv else None,
        yy_in_patch=yy_in_patch,
    )


def replicated(pre: np.ndarray, post: np.ndarray, n_pre: int, n_post: int, replicas: int):
    """Synapse index lists of ``replicas`` copies of one pathway side by side, replica by
    replica: copy ``r`` joins neuron ``r * n_pre + i`` to neuron ``r * n_post + j``.
    Returns ``(pre, post)`` as int32 arrays (for one replica: the given lists)."""
    offsets = np.arange(replicas, dtype=np.int64)[:, None]
    return ((np.asarray(pre)[None, :] + offsets * n_pre).ravel().astype(np.int32),
            (np.asarray(post)[None, :] + offsets * n_post).ravel().astype(np.int32))


def parameter_count(config: NetworkConfig) -> int:
    """Parameter count of the paper's table, counted from the materialised index maps."""
    return build_connectivity(config).parameter_count
