"""Analyses that take a recording Dataset (not a live network).

Everything here works from a NetCDF recording alone, so an analysis can be redone
anywhere; on a recording of the same split and images as ``brainlc evaluate``, the
numbers are the evaluation's.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainlc.core.readout import (
    SpikeVoting,
    accuracy_report,
    linear_readout,
    readout_from_dataset,
    votes_distribution,
    voting_methods,
)
from brainlc.storage.recording import recording_config


def spike_counts(ds: xr.Dataset) -> np.ndarray:
    """Output spike counts (image, neuron)."""
    return ds["spike_count"].values


def spike_trains(ds: xr.Dataset, image: int) -> tuple[np.ndarray, np.ndarray]:
    """(spike times in ms, neuron indices) of one image, from the ragged array."""
    ends = np.cumsum(ds["spikes_per_image"].values)
    start = 0 if image == 0 else int(ends[image - 1])
    stop = int(ends[image])
    return ds["spike_time"].values[start:stop], ds["spike_neuron"].values[start:stop]


def readouts(ds: xr.Dataset) -> tuple[SpikeVoting, object]:
    """The network's calibrated readouts stored in the recording."""
    if "votes" not in ds:
        raise ValueError("this recording holds no calibrated readout (the network was not calibrated)")
    return readout_from_dataset(ds)


def scores(ds: xr.Dataset) -> dict:
    """Every readout's accuracy report on the recording's images (stored readouts)."""
    voting, linear = readouts(ds)
    counts, labels = spike_counts(ds), ds["label"].values
    out = {m: accuracy_report(labels, voting.predict(counts, m)) for m in voting.methods}
    out["vote"] = {**out[voting.method_], "method": voting.method_}
    out["linear"] = accuracy_report(labels, linear.predict(counts))
    out["votes_distribution"] = votes_distribution(voting.votes_)
    return out


def calibrate_and_score(calibration: xr.Dataset, test: xr.Dataset, seed: int | None = None) -> dict:
    """Fit readouts on a calibration recording and score them on a test recording."""
    from brainlc.experiment.runs import fit_readouts

    config = recording_config(test)
    seed = int(test.attrs["seed"]) if seed is None else seed
    evaluation = fit_readouts(config, seed, spike_counts(calibration), calibration["label"].values,
                              spike_counts(test), test["label"].values)
    return evaluation.scores


def fit_votes(calibration: xr.Dataset) -> SpikeVoting:
    """Votes fitted on a calibration recording."""
    config = recording_config(calibration)
    return SpikeVoting(config.channels, config.conv**2, voting_methods(config.architecture)).fit(
        spike_counts(calibration), calibration["label"].values)


def fit_linear(calibration: xr.Dataset, seed: int = 0):
    """The linear readout fitted on a calibration recording."""
    return linear_readout(spike_counts(calibration), calibration["label"].values, seed)


def spike_statistics(ds: xr.Dataset) -> dict:
    """Summary of the output and input activity (rates in Hz, latencies in ms)."""
    counts = spike_counts(ds)
    duration_s = ds.sizes["time"] * float(ds["time"].values[1] - ds["time"].values[0]) / 1000.0
    first = []
    for image in range(ds.sizes["image"]):
        times, _ = spike_trains(ds, image)
        if times.size:
            first.append(times.min())
    per_neuron = counts.sum(axis=0)
    return {
        "images": int(ds.sizes["image"]),
        "output_spikes_per_image_mean": float(counts.sum(axis=1).mean()),
        "output_rate_hz_mean": float(counts.mean() / duration_s),
        "silent_neurons_fraction": float(np.mean(per_neuron == 0)),
        "images_without_output_spike": int(np.sum(counts.sum(axis=1) == 0)),
        "first_spike_ms_mean": float(np.mean(first)) if first else float("nan"),
        "input_spikes_per_image_mean": float(ds["input_spike_count"].values.sum(axis=1).mean()),
        "most_active_neurons": np.argsort(-per_neuron)[:10].tolist(),
    }
