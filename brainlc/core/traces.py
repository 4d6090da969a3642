"""Reference traces: small runs of the numpy reference stored as NetCDF for the parity tests.

A trace file holds one network's configuration (JSON in the ``config`` attribute), its
initial state, the input spike trains of every image (as a sparse list), whether each
image was presented with learning on, and what the reference produced: the Y spikes (a
sparse list), v and theta of a few neurons after every step, and the final state.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from .config import NetworkConfig
from .reference import ReferenceNetwork
from .state import NetworkState
from .topology import build_connectivity


def _sparse(raster: np.ndarray, prefix: str) -> dict:
    image, step, neuron = np.nonzero(raster)
    dim = f"{prefix}_spike"
    return {
        f"{prefix}_spike_image": (dim, image.astype(np.int32)),
        f"{prefix}_spike_step": (dim, step.astype(np.int16)),
        f"{prefix}_spike_neuron": (dim, neuron.astype(np.int32)),
    }


def dense_spikes(ds: xr.Dataset, prefix: str, n_neurons: int) -> np.ndarray:
    """Bool raster (image, step, neuron) from a trace file's sparse spike list."""
    raster = np.zeros((ds.sizes["image"], ds.sizes["step"], n_neurons), dtype=bool)
    raster[ds[f"{prefix}_spike_image"].values, ds[f"{prefix}_spike_step"].values,
           ds[f"{prefix}_spike_neuron"].values] = True
    return raster


def make_trace(config: NetworkConfig, state: NetworkState, input_spikes: np.ndarray,
               learning: np.ndarray, record: list[int], description: str = "") -> xr.Dataset:
    """Run the reference image by image (learning per image) and collect a trace."""
    conn = build_connectivity(config)
    reference = ReferenceNetwork(config, conn, state)
    spikes, voltages, thetas = [], [], []
    for start, stop, learning_on in learning_phases(learning):
        result = reference.run(input_spikes[start:stop], learning=learning_on, record=record)
        spikes.append(result.spikes)
        voltages.append(result.voltages)
        thetas.append(result.thetas)
    final = reference.state
    data = {
        "learning": ("image", np.asarray(learning, dtype=np.int8)),
        "voltage": (("image", "step", "recorded"), np.concatenate(voltages), {"units": "mV"}),
        "theta": (("image", "step", "recorded"), np.concatenate(thetas), {"units": "mV"}),
        "w_xy_initial": ("xy_weight", state.w_xy, {"units": "mV"}),
        "w_xy_final": ("xy_weight", final.w_xy, {"units": "mV"}),
        "w_yy_initial": ("yy_synapse", state.w_yy, {"units": "mV"}),
        "w_yy_final": ("yy_synapse", final.w_yy, {"units": "mV"}),
        "theta_initial": ("neuron", state.theta, {"units": "mV"}),
        "theta_final": ("neuron", final.theta, {"units": "mV"}),
    }
    data.update(_sparse(input_spikes, "input"))
    data.update(_sparse(np.concatenate(spikes), "output"))
    ds = xr.Dataset(
        {k: xr.Variable(*v) for k, v in data.items()},
        coords={"recorded": ("recorded", np.asarray(record, dtype=np.int32))},
        attrs={
            "title": "brainlc reference trace",
            "description": description,
            "config": json.dumps(config.to_dict()),
            "n_input": config.n_input,
            "n_output": config.n_output,
        },
    )
    ds["step"] = np.arange(config.time_per_image, dtype=np.int16)
    ds["step"].attrs["units"] = "ms"
    return ds


def write_trace(ds: xr.Dataset, path: Path) -> None:
    """Write a trace as compressed NetCDF4."""
    encoding = {name: {"zlib": True, "complevel": 6} for name in ds.data_vars}
    ds.to_netcdf(path, engine="netcdf4", encoding=encoding)


def read_trace(path: Path) -> tuple[xr.Dataset, NetworkConfig]:
    """Open a trace file and rebuild its configuration."""
    ds = xr.load_dataset(path, engine="netcdf4")
    return ds, NetworkConfig.from_dict(json.loads(ds.attrs["config"]))


def learning_phases(learning: np.ndarray) -> list[tuple[int, int, bool]]:
    """(first image, stop image, learning) of each run of images with one learning flag.

    ``learning`` holds one flag per image (a trace's ``learning`` variable); each run is
    presented as one phase.
    """
    learning = np.asarray(learning).astype(bool)
    bounds = np.flatnonzero(np.diff(learning.astype(int))) + 1
    return [(int(seg[0]), int(seg[-1]) + 1, bool(learning[seg[0]]))
            for seg in np.split(np.arange(len(learning)), bounds)]


def trace_initial_state(ds: xr.Dataset) -> NetworkState:
    """A copy of the state a trace starts from."""
    return NetworkState(ds.w_xy_initial.values.copy(), ds.w_yy_initial.values.copy(),
                        ds.theta_initial.values.copy())
