"""The thesis's figures, each a function that returns a matplotlib Figure.

Inputs are plain arrays, a configuration, an accuracy report or a recording Dataset, so
that every figure can be drawn from a NetCDF file alone. Figures are built as
:class:`matplotlib.figure.Figure` objects, without pyplot: nothing here touches the caller's
backend or pyplot's list of open figures. Save one with ``fig.savefig(path)``; a notebook
shows it inline when it is a cell's last value or given to ``display``.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from brainlc.core.config import NetworkConfig
from brainlc.core.topology import build_connectivity

from .recordings import spike_trains

CMAP = "YlOrBr"


def _subplots(*grid, figsize: tuple[float, float], **kwargs):
    """A new Figure (no pyplot) and its axes, as ``plt.subplots`` returns them."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid, **kwargs)


def filters(config: NetworkConfig, w_xy: np.ndarray) -> np.ndarray:
    """X->Y weights as (channel, position, k, k) (C and FC: one position or shared)."""
    k, conv, n_f = config.kernel, config.conv, config.channels
    if config.architecture == "C":
        kernels = w_xy.reshape(n_f, k, k)
        return np.repeat(kernels[:, None], conv * conv, axis=1)
    conn = build_connectivity(config)
    out = np.zeros((n_f, conv * conv, k, k))
    f, pos = np.divmod(conn.xy_post, conv * conv)
    r, c = np.divmod(pos, conv)
    row, col = np.divmod(conn.xy_pre, config.crop)
    out[f, pos, row - r * config.stride, col - c * config.stride] = w_xy
    return out


def _tile_grid(config: NetworkConfig) -> int:
    return math.ceil(math.sqrt(config.channels))


def weight_grid(config: NetworkConfig, w_xy: np.ndarray) -> np.ndarray:
    """The original's tiled layout: per position a block of fs x fs filter tiles (NaN gaps)."""
    k, conv, fs = config.kernel, config.conv, _tile_grid(config)
    blocks = 1 if config.architecture == "C" else conv
    tile, block = k + 1, fs * (k + 1) + 2
    grid = np.full((blocks * block, blocks * block), np.nan)
    w = filters(config, w_xy)
    for pos in range(blocks * blocks):
        br, bc = divmod(pos, blocks)
        for f in range(config.channels):
            tr, tc = divmod(f, fs)
            top, left = br * block + tr * tile, bc * block + tc * tile
            grid[top : top + k, left : left + k] = w[f, pos]
    return grid


def weights_xy(config: NetworkConfig, w_xy: np.ndarray) -> Figure:
    """X->Y weights as a grid of k x k tiles (LC: one block per position; C: kernels; FC: maps)."""
    grid = weight_grid(config, w_xy)
    fig, ax = _subplots(figsize=(7, 6.3))
    im = ax.imshow(grid, cmap=CMAP, interpolation="nearest")
    what = {"LC": "per position (blocks), channels as tiles", "C": "shared kernels",
            "FC": "one 20 x 20 map per neuron"}[config.architecture]
    ax.set_title(f"X->Y weights, {config.architecture} {config.channels} channels, k={config.kernel}\n{what}",
                 fontsize=10)
    ax.set_xlabel("tile column (pixels of the kernel)")
    ax.set_ylabel("tile row (pixels of the kernel)")
    fig.colorbar(im, ax=ax, label="weight (mV)")
    return fig


def weights_yy(config: NetworkConfig, w_yy: np.ndarray) -> Figure:
    """Y->Y weights as an N x N matrix (blank where no synapse exists)."""
    conn = build_connectivity(config)
    mat = np.full((config.n_output, config.n_output), np.nan)
    mat[conn.yy_pre, conn.yy_post] = w_yy
    fig, ax = _subplots(figsize=(6.5, 5.5))
    im = ax.imshow(mat, cmap="Blues_r", interpolation="nearest")
    ax.set_title("Y->Y competition weights")
    ax.set_xlabel("post-synaptic neuron")
    ax.set_ylabel("pre-synaptic neuron")
    fig.colorbar(im, ax=ax, label="weight (mV)")
    return fig


def competition_histogram(w_yy: np.ndarray) -> Figure:
    """Histogram of competition weights."""
    fig, ax = _subplots(figsize=(6, 4))
    ax.hist(w_yy, bins=50, color="tab:blue")
    ax.set_title(f"Competition weights ({w_yy.size} synapses)")
    ax.set_xlabel("weight (mV)")
    ax.set_ylabel("synapses")
    return fig


def competition_lines(config: NetworkConfig, w_xy: np.ndarray, w_yy: np.ndarray,
                      channel: int = 0) -> Figure:
    """Lines from one channel to the others over the weight grid; opacity = mean of w_ij, w_ji
    relative to the strongest."""
    fig = weights_xy(config, w_xy)
    ax = fig.axes[0]
    conn = build_connectivity(config)
    k, conv, fs = config.kernel, config.conv, _tile_grid(config)
    blocks = 1 if config.architecture == "C" else conv
    tile, block = k + 1, fs * (k + 1) + 2
    n_pos = conv * conv
    pair = {(int(a), int(b)): w for a, b, w in zip(conn.yy_pre, conn.yy_post, w_yy)}
    strongest = np.max(np.abs(w_yy)) if w_yy.size else 1.0
    for pos in range(blocks * blocks):
        br, bc = divmod(pos, blocks)
        i = channel * n_pos + pos

        def centre(f, br=br, bc=bc):
            tr, tc = divmod(f, fs)
            return bc * block + tc * tile + k / 2, br * block + tr * tile + k / 2

        x0, y0 = centre(channel)
        for other in range(config.channels):
            if other == channel:
                continue
            j = other * n_pos + pos
            mean = (pair.get((i, j), 0.0) + pair.get((j, i), 0.0)) / 2
            x1, y1 = centre(other)
            ax.plot([x0, x1], [y0, y1], color="tab:blue", linewidth=1.2,
                    alpha=float(min(1.0, abs(mean) / strongest)) if strongest else 0.0)
    ax.set_title(f"Competition of channel {channel} with the other channels\n"
                 "(line opacity: mean of w_ij and w_ji relative to the strongest)", fontsize=10)
    return fig


def raster(ds: xr.Dataset, image: int = 0) -> Figure:
    """Output spikes of one image: time against neuron, coloured by channel."""
    times, neurons = spike_trains(ds, image)
    fig, ax = _subplots(figsize=(8, 4.5))
    ax.scatter(times, neurons, s=6, c=ds["channel"].values[neurons] if neurons.size else [], cmap="tab20")
    ax.set_xlim(0, ds.sizes["time"])
    ax.set_ylim(-1, ds.sizes["neuron"])
    ax.set_title(f"Output spikes, image {image} (MNIST {ds.attrs['split']} #{int(ds.mnist_index[image])}, "
                 f"label {int(ds.label[image])}): {times.size} spikes")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron (channel * positions + position)")
    return fig


def best_spiking(ds: xr.Dataset, image: int = 0) -> Figure:
    """For each position, the spike train of the channel that spiked most in this image."""
    counts = ds["spike_count"].values[image]
    channel, pos = ds["channel"].values, ds["row"].values * int(ds["col"].max() + 1) + ds["col"].values
    times, neurons = spike_trains(ds, image)
    fig, ax = _subplots(figsize=(8, 4))
    n_pos = int(pos.max()) + 1
    for p in range(n_pos):
        members = np.flatnonzero(pos == p)
        best = members[np.argmax(counts[members])]
        t = times[neurons == best]
        ax.scatter(t, np.full(t.size, p), s=12)
        name = f"ch {channel[best]}" if counts[best] else "silent"
        ax.text(ds.sizes["time"] + 2, p, name, va="center", fontsize=8)
    ax.set_xlim(0, ds.sizes["time"] + 25)
    ax.set_yticks(range(n_pos))
    ax.set_title(f"Best-spiking channel per position, image {image} (label {int(ds.label[image])})")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("position (row * conv + col)")
    return fig


def neuron_voltage(ds: xr.Dataset, neuron: int, image: int = 0) -> Figure:
    """Membrane potential and threshold (v_threshold + theta) of one recorded neuron."""
    if "recorded" not in ds.coords or neuron not in ds["recorded"].values:
        recorded = ds["recorded"].values.tolist() if "recorded" in ds.coords else []
        raise ValueError(f"neuron {neuron} was not recorded; recorded neurons: {recorded}")
    from brainlc.storage.recording import recording_config

    cfg = recording_config(ds)
    v = ds["v"].sel(recorded=neuron).values[image]
    th = ds["theta"].sel(recorded=neuron).values[image]
    t = ds["time"].values
    times, neurons = spike_trains(ds, image)
    fig, ax = _subplots(figsize=(8, 4))
    ax.plot(t, v, label="v", color="tab:blue")
    ax.plot(t, cfg.v_threshold + th, label="threshold (v_threshold + theta)", color="tab:red")
    for s in times[neurons == neuron]:
        ax.axvline(s, color="grey", alpha=0.4, linewidth=0.8)
    ax.set_title(f"Neuron {neuron} (channel {int(ds.channel[neuron])}), image {image} "
                 f"(label {int(ds.label[image])}); grey lines: its spikes")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("membrane potential (mV)")
    ax.legend(loc="lower right")
    return fig


def best_voters(ds: xr.Dataset, image: int = 0) -> Figure:
    """Per position, the weights of the neuron that contributed most to the predicted class,
    with its voltage trace when it was recorded."""
    from brainlc.storage.recording import recording_config

    from .recordings import readouts

    cfg = recording_config(ds)
    voting, _ = readouts(ds)
    counts = ds["spike_count"].values[image]
    predicted = int(voting.predict(counts[None])[0])
    n_pos = cfg.conv**2
    contribution = (counts * voting.votes_[max(predicted, 0)].reshape(-1)).reshape(cfg.channels, n_pos)
    w = filters(cfg, ds["w_xy"].values)
    fig, axes = _subplots(2, n_pos, figsize=(max(6, 1.8 * n_pos), 4.2), squeeze=False)
    recorded = ds["recorded"].values.tolist() if "recorded" in ds.coords else []
    for p in range(n_pos):
        f = int(np.argmax(contribution[:, p]))
        neuron = f * n_pos + p
        ax = axes[0, p]
        ax.imshow(w[f, p], cmap=CMAP)
        ax.set_title(f"pos {p}: ch {f}" if contribution[f, p] > 0 else f"pos {p}: no vote", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax2 = axes[1, p]
        if neuron in recorded:
            ax2.plot(ds["time"].values, ds["v"].sel(recorded=neuron).values[image], linewidth=0.8)
            ax2.set_xlabel("time (ms)", fontsize=7)
        else:
            ax2.text(0.5, 0.5, f"v of {neuron}\nnot recorded", ha="center", va="center", fontsize=7)
            ax2.axis("off")
        ax2.tick_params(labelsize=6)
    for ax2 in axes[1]:
        if ax2.axison:
            ax2.set_ylabel("v (mV)", fontsize=7)
    fig.suptitle(f"Best voters for predicted class {predicted} (label {int(ds.label[image])}), image {image}")
    fig.tight_layout()
    return fig


def confusion(report: dict) -> Figure:
    """Confusion matrix: rows true class, normalised per row; last column: no prediction."""
    mat = np.asarray(report["confusion"])
    fig, ax = _subplots(figsize=(7, 6))
    im = ax.imshow(mat, cmap="Blues", vmin=0, vmax=1)
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            if mat[i, j] >= 0.005:
                ax.text(j, i, f"{mat[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if mat[i, j] > 0.5 else "black")
    ax.set_xticks(range(mat.shape[1]), [*map(str, range(10)), "none"])
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"Confusion ({report.get('method', 'linear')}), accuracy {100 * report['accuracy']:.2f} %")
    fig.colorbar(im, ax=ax, label="fraction of the true class")
    return fig


def per_class_accuracy(report: dict) -> Figure:
    """Accuracy per class with binomial standard errors."""
    acc = 100 * np.asarray(report["per_class_accuracy"])
    err = 100 * np.asarray(report["per_class_error"])
    fig, ax = _subplots(figsize=(7, 4))
    ax.bar(range(10), acc, yerr=err, capsize=3, color="tab:green")
    ax.axhline(100 * report["accuracy"], color="black", linestyle="--", label="overall")
    ax.set_xticks(range(10))
    ax.set_ylim(0, 100)
    ax.set_xlabel("class")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Per-class accuracy (error bars: binomial standard error)")
    ax.legend(loc="lower right")
    return fig


def votes_distribution(dist: dict) -> Figure:
    """Each neuron's votes sorted by rank: mean over neurons, with min and max."""
    mean, lo, hi = (np.asarray(dist[k]) for k in ("mean", "min", "max"))
    ranks = np.arange(1, mean.size + 1)
    fig, ax = _subplots(figsize=(7, 4))
    ax.errorbar(ranks, mean, yerr=[mean - lo, hi - mean], fmt="o-", capsize=3)
    ax.set_xticks(ranks)
    ax.set_xlabel("vote rank (1 = the neuron's favourite class)")
    ax.set_ylabel("vote (mean spikes per image)")
    ax.set_title("Votes distribution by rank (bars: min and max over neurons)")
    return fig


def stdp_window(config: NetworkConfig) -> Figure:
    """Weight change of one spike pair against dt = t_post - t_pre (nearest-spike traces)."""
    dt = np.arange(-50, 51)
    xy = np.where(dt >= 0, config.nu_potentiation * np.exp(-dt / config.tau_input_trace),
                  -config.nu_depression * np.exp(dt / config.tau_minus))
    xy[dt == 0] = config.nu_potentiation - config.nu_depression
    panels = 2 if config.competition_trainable else 1
    fig, axes = _subplots(1, panels, figsize=(10 if panels == 2 else 6, 4), squeeze=False)
    ax = axes[0, 0]
    ax.plot(dt, xy, "o-", markersize=2)
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_title("X->Y STDP")
    ax.set_xlabel("t_post - t_pre (ms)")
    ax.set_ylabel("weight change (mV)")
    if config.competition_trainable:
        yy = np.where(dt >= 0, config.a_plus * np.exp(-dt / config.tau_plus),
                      config.a_minus * np.exp(dt / config.tau_minus))
        yy[dt == 0] = config.a_plus + config.a_minus
        ax = axes[0, 1]
        ax.plot(dt, yy, "o-", markersize=2, color="tab:red")
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.set_title("Y->Y competition plasticity")
        ax.set_xlabel("t_post - t_pre (ms)")
        ax.set_ylabel("weight change (mV)")
    fig.tight_layout()
    return fig


def learning_curve(images: list[int], accuracy: dict[str, list[float]]) -> Figure:
    """Test accuracy against training images seen (one point per saved version)."""
    fig, ax = _subplots(figsize=(7, 4))
    for name, values in accuracy.items():
        ax.plot(images, 100 * np.asarray(values), "o-", label=name)
    ax.set_xlabel("training images")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Learning curve")
    ax.legend()
    return fig
