"""Recordings: a network's activity on a set of images, as an xarray Dataset in NetCDF.

The schema (documented in docs/recordings.md) is defined here and only here:

dimensions
    ``image`` (coords ``mnist_index``, ``label``, ``split``), ``neuron`` (coords ``channel``,
    ``row``, ``col``), ``time`` (ms within an image), ``pixel`` (coords ``pixel_row``,
    ``pixel_col``), ``spike`` (one per output spike), ``recorded`` (neurons whose
    voltage is recorded), ``xy_weight``, ``yy_synapse``, ``class``.
variables
    ``spike_count`` (image, neuron); ``spikes_per_image`` (image, CF ragged count with
    ``sample_dimension = "spike"``), ``spike_neuron`` and ``spike_time`` (spike): the
    spike trains as a CF contiguous ragged array, image by image, in time order;
    ``v`` and ``theta`` (recorded, image, time) in mV, only when recorded;
    ``input_spike_count`` (image, pixel); ``w_xy`` (xy_weight, with ``xy_pre``/``xy_post``
    or, for C, ``kernel_channel``/``kernel_row``/``kernel_col`` coords), ``w_yy``
    (yy_synapse, with ``yy_pre``/``yy_post``), ``theta_network`` (neuron), all in mV;
    ``votes`` (class, neuron) and the linear readout (``linear_coef``,
    ``linear_intercept``, ``linear_scaler_mean``, ``linear_scaler_scale``) when the network
    was calibrated.
global attributes
    ``schema``, ``Conventions``, ``config`` (JSON), ``seed``, ``split``, ``device``,
    ``brainlc_version``, ``brian2_version``, ``network_id``, ``network_version``,
    ``created``; ``vote_method`` and the other readout attributes of
    :func:`brainlc.core.readout.readout_to_dataset` when calibrated.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import numpy as np
import xarray as xr

from brainlc import __version__
from brainlc.core.config import NetworkConfig
from brainlc.core.readout import readout_to_dataset
from brainlc.core.topology import build_connectivity
from brainlc.errors import BrainlcError

SCHEMA = "brainlc-recording-1"


class RecordingError(BrainlcError, ValueError):
    """A file that is not a readable brainlc recording."""


def neuron_coords(config: NetworkConfig) -> dict:
    """Channel, row and column of every Y neuron."""
    n_pos = config.conv**2
    idx = np.arange(config.n_output)
    channel, pos = np.divmod(idx, n_pos)
    row, col = np.divmod(pos, config.conv)
    return {"neuron": idx, "channel": ("neuron", channel), "row": ("neuron", row),
            "col": ("neuron", col)}


def recording_dataset(*, config: NetworkConfig, state, spike_counts: np.ndarray,
                      spike_image: np.ndarray, spike_step: np.ndarray, spike_neuron: np.ndarray,
                      input_counts: np.ndarray, mnist_index: np.ndarray, labels: np.ndarray,
                      split: str, seed: int, recorded: tuple[int, ...] = (),
                      voltages: np.ndarray | None = None, thetas: np.ndarray | None = None,
                      voting=None, linear=None, network_id: str = "", network_version: int = 0,
                      device: str = "cpp", created: str = "") -> xr.Dataset:
    """Assemble a recording Dataset (see the module docstring for the schema)."""
    conn = build_connectivity(config)
    n_img = len(mnist_index)
    order = np.lexsort((spike_neuron, spike_step, spike_image))
    spikes_per_image = np.bincount(spike_image, minlength=n_img).astype(np.int32)
    data = {
        "spike_count": (("image", "neuron"), spike_counts.astype(np.int32),
                        {"long_name": "output spikes per image", "units": "1"}),
        "spikes_per_image": ("image", spikes_per_image,
                             {"long_name": "output spikes of each image", "sample_dimension": "spike"}),
        "spike_neuron": ("spike", spike_neuron[order].astype(np.int32),
                         {"long_name": "index of the neuron that spiked"}),
        "spike_time": ("spike", spike_step[order].astype(np.float64) * config.dt,
                       {"long_name": "spike time within its image", "units": "ms"}),
        "input_spike_count": (("image", "pixel"), input_counts.astype(np.int32),
                              {"long_name": "input spikes per pixel and image", "units": "1"}),
        "w_xy": ("xy_weight", state.w_xy, {"long_name": "X->Y weight", "units": "mV"}),
        "w_yy": ("yy_synapse", state.w_yy, {"long_name": "Y->Y competition weight", "units": "mV"}),
        "theta_network": ("neuron", state.theta,
                          {"long_name": "adaptive threshold of the network when recorded", "units": "mV"}),
    }
    coords = {
        **neuron_coords(config),
        "image": np.arange(n_img),
        "mnist_index": ("image", np.asarray(mnist_index, dtype=np.int64)),
        "label": ("image", np.asarray(labels, dtype=np.int64)),
        "split": ("image", np.array([split] * n_img, dtype=object)),
        "time": ("time", np.arange(config.time_per_image) * config.dt, {"units": "ms"}),
        "pixel": np.arange(config.n_input),
        "pixel_row": ("pixel", np.arange(config.n_input) // config.crop),
        "pixel_col": ("pixel", np.arange(config.n_input) % config.crop),
        "yy_pre": ("yy_synapse", conn.yy_pre),
        "yy_post": ("yy_synapse", conn.yy_post),
    }
    if conn.xy_kernel is None:
        coords.update(xy_pre=("xy_weight", conn.xy_pre), xy_post=("xy_weight", conn.xy_post))
    else:
        element = np.arange(conn.n_kernel_elements)
        channel, rest = np.divmod(element, config.kernel**2)
        k1, k2 = np.divmod(rest, config.kernel)
        coords.update(kernel_channel=("xy_weight", channel), kernel_row=("xy_weight", k1),
                      kernel_col=("xy_weight", k2))
    if recorded:
        coords["recorded"] = ("recorded", np.asarray(recorded, dtype=np.int64))
        # (image, time, recorded) -> (recorded, image, time)
        data["v"] = (("recorded", "image", "time"), np.transpose(voltages, (2, 0, 1)),
                     {"long_name": "membrane potential after each step", "units": "mV"})
        data["theta"] = (("recorded", "image", "time"), np.transpose(thetas, (2, 0, 1)),
                         {"long_name": "adaptive threshold after each step", "units": "mV"})
    attrs = {
        "schema": SCHEMA,
        "Conventions": "CF-1.8",
        "title": f"brainlc recording of {network_id or 'a network'} on {n_img} {split} images",
        "config": json.dumps(config.to_dict()),
        "seed": int(seed),
        "split": split,
        "device": device,
        "brainlc_version": __version__,
        "brian2_version": importlib.metadata.version("brian2"),
        "network_id": network_id,
        "network_version": int(network_version),
        "created": created,
    }
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    if voting is not None and linear is not None:
        readout = readout_to_dataset(voting, linear)
        ds = ds.assign(readout.data_vars).assign_coords(readout.coords)
        ds.attrs.update(readout.attrs)
    return ds


def write_recording(ds: xr.Dataset, path: str | Path) -> None:
    """Write a recording as compressed NetCDF4, atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    encoding = {name: {"zlib": True, "complevel": 4} for name in ds.data_vars}
    ds.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
    tmp.replace(path)


def read_recording(path: str | Path) -> xr.Dataset:
    """Load a recording; a missing, truncated or foreign file raises RecordingError."""
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"no recording file {path}")
    try:
        ds = xr.load_dataset(path, engine="netcdf4")
    except Exception as exc:  # netCDF4 raises OSError, ValueError, RuntimeError ...
        raise RecordingError(f"{path} is not a readable NetCDF file (truncated or foreign?): {exc}") from exc
    if ds.attrs.get("schema") != SCHEMA:
        raise RecordingError(f"{path} is a NetCDF file but not a brainlc recording "
                             f"(schema {ds.attrs.get('schema')!r}, expected {SCHEMA!r})")
    return ds


def recording_config(ds: xr.Dataset) -> NetworkConfig:
    """The network configuration stored in a recording."""
    return NetworkConfig.from_dict(json.loads(ds.attrs["config"]))
