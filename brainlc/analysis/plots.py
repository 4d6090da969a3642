"""The figure registry: each kind that ``brainlc plot`` draws, what it needs, how it is made.

This module is light (no matplotlib) so that the CLI can list the kinds and check its
arguments before anything heavy is imported; :func:`make_figure` imports
:mod:`brainlc.analysis.figures` when it draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from brainlc.experiment.protocol import ProtocolError
from brainlc.storage.store import Store


@dataclass(frozen=True)
class FigureKind:
    """One figure: its description and whether it needs a recording or a saved readout."""

    description: str
    needs_recording: bool = False
    needs_scores: bool = False
    needs_network: bool = False


FIGURES: dict[str, FigureKind] = {
    "weights-xy": FigureKind("X->Y weights of every channel and position"),
    "weights-yy": FigureKind("Y->Y competition weights as a matrix"),
    "competition-hist": FigureKind("histogram of the Y->Y competition weights"),
    "competition-lines": FigureKind("competition of one channel with the others (--channel)"),
    "raster": FigureKind("spike raster of one image (--image)", needs_recording=True),
    "best-spikes": FigureKind("the most active neurons' spikes in one image", needs_recording=True),
    "best-voters": FigureKind("the neurons that decided one image's vote", needs_recording=True),
    "voltage": FigureKind("membrane potential and threshold of one recorded neuron (--neuron)",
                          needs_recording=True),
    "confusion": FigureKind("confusion matrix of the vote", needs_scores=True),
    "per-class": FigureKind("accuracy per digit of the vote", needs_scores=True),
    "votes-distribution": FigureKind("each neuron's votes, sorted", needs_scores=True),
    "stdp": FigureKind("the STDP window (and the competition rule when trainable)"),
    "learning-curve": FigureKind("accuracy against training images, one point per version",
                                 needs_network=True),
}
#: File types a figure can be saved as (matplotlib's Agg and vector backends).
FIGURE_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp")


def check_kind(kind: str) -> FigureKind:
    if kind not in FIGURES:
        raise ProtocolError(f"unknown figure kind {kind!r}; kinds: {', '.join(FIGURES)}")
    return FIGURES[kind]


def _source(source: str, store: Store, kind: str):
    """(config, w_xy, w_yy, scores report, recording, saved network) of a figure's source."""
    from brainlc.storage.recording import read_recording, recording_config

    spec = check_kind(kind)
    if source.endswith(".nc"):
        if spec.needs_network:
            raise ProtocolError(f"figure {kind!r} needs a saved network id (its versions), not a recording")
        ds = read_recording(source)
        report = None
        if spec.needs_scores:
            from .recordings import readouts, scores

            try:
                readouts(ds)
            except ValueError as exc:
                raise ProtocolError(f"figure {kind!r}: {exc}") from exc
            report = scores(ds)
        return recording_config(ds), ds["w_xy"].values, ds["w_yy"].values, report, ds, None
    saved = store.load(source)
    if spec.needs_recording:
        raise ProtocolError(f"figure {kind!r} needs a recording: make one with "
                            f"'brainlc record {saved.id} -o FILE.nc'")
    report = saved.record.get("scores")
    if spec.needs_scores:
        saved.require_readout(f"figure {kind!r}")
        if not (isinstance(report, dict) and "vote" in report):
            raise ProtocolError(f"figure {kind!r}: network {saved.id} version {saved.version} has no test scores")
    return saved.config, saved.state.w_xy, saved.state.w_yy, report, None, saved


def check_figure_arguments(kind: str, config, ds, image: int, neuron: int | None, channel: int) -> None:
    """Refuse an image, neuron or channel that the source does not have."""
    if ds is not None and not 0 <= image < ds.sizes["image"]:
        raise ProtocolError(f"image {image} is not in the recording (0..{ds.sizes['image'] - 1})")
    if kind == "competition-lines" and not 0 <= channel < config.channels:
        raise ProtocolError(f"channel {channel} does not exist: the network has {config.channels} "
                            f"(0..{config.channels - 1})")
    if kind == "voltage" and neuron is not None:
        recorded = [int(n) for n in ds["recorded"].values] if "recorded" in ds.coords else []
        if neuron not in recorded:
            raise ProtocolError(f"neuron {neuron} was not recorded; recorded neurons: {recorded or 'none'}")


def make_figure(source: str, kind: str, store: Store, image: int = 0, neuron: int | None = None,
                channel: int = 0):
    """A :class:`matplotlib.figure.Figure` of ``kind`` from a saved network id or a recording file."""
    config, w_xy, w_yy, report, ds, saved = _source(source, store, kind)
    check_figure_arguments(kind, config, ds, image, neuron, channel)
    from . import figures

    draw = {
        "weights-xy": lambda: figures.weights_xy(config, w_xy),
        "weights-yy": lambda: figures.weights_yy(config, w_yy),
        "competition-hist": lambda: figures.competition_histogram(w_yy),
        "competition-lines": lambda: figures.competition_lines(config, w_xy, w_yy, channel),
        "raster": lambda: figures.raster(ds, image),
        "best-spikes": lambda: figures.best_spiking(ds, image),
        "best-voters": lambda: figures.best_voters(ds, image),
        "voltage": lambda: figures.neuron_voltage(
            ds, neuron if neuron is not None else
            (int(ds["recorded"].values[0]) if "recorded" in ds.coords else 0), image),
        "confusion": lambda: figures.confusion(report["vote"]),
        "per-class": lambda: figures.per_class_accuracy(report["vote"]),
        "votes-distribution": lambda: figures.votes_distribution(report["votes_distribution"]),
        "stdp": lambda: figures.stdp_window(config),
        "learning-curve": lambda: _learning_curve(store, saved.id),
    }
    try:
        return draw[kind]()
    except ValueError as exc:
        raise ProtocolError(f"figure {kind!r}: {exc}") from exc


def _learning_curve(store: Store, network_id: str):
    from . import figures

    records = [record for _, record in store.records(network_id)]
    images = [r["images_trained"] for r in records]
    curves = {m: [r["accuracy"][m] for r in records] for m in ("vote", "linear")}
    return figures.learning_curve(images, curves)


def save_figure(fig, path: str | Path, dpi: int = 120) -> None:
    """Write a figure (any type of :data:`FIGURE_SUFFIXES`) without pyplot."""
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
