"""The network store: saved networks in portable files, versioned, written atomically.

Layout of a store folder (default ``./networks``, or ``$BRAINLC_HOME``)::

    <id>/network.json        id, preset, config, seed, creation time (written once)
    <id>/v0001/state.nc      X->Y and Y->Y weights, theta (NetCDF, mV)
    <id>/v0001/readout.nc    votes and the fitted linear readout (NetCDF)
    <id>/v0001/record.json   images trained, scores, timings, history
    <id>/v0002/...           a later version (more training, a new evaluation)

A version is written into a hidden temporary folder and renamed into place, so an
interrupted save leaves the earlier versions as they were, and an existing version is
never overwritten. Nothing is pickled.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import xarray as xr
from sklearn.pipeline import Pipeline

from .config import ConfigError, NetworkConfig
from .readout import SpikeVoting, readout_from_dataset, readout_to_dataset
from .state import NetworkState
from .topology import build_connectivity

VERSION_PATTERN = re.compile(r"^v(\d{4})$")


class StoreError(RuntimeError):
    """An unknown id or a store entry that cannot be read."""


@dataclass
class SavedNetwork:
    """One version of a saved network."""

    id: str
    version: int
    preset: str
    config: NetworkConfig
    seed: int
    state: NetworkState
    record: dict
    voting: SpikeVoting | None = None
    linear: Pipeline | None = None
    path: Path | None = None
    created: str = ""


def default_root() -> Path:
    """``$BRAINLC_HOME`` or ``./networks``."""
    return Path(os.environ.get("BRAINLC_HOME", "networks"))


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# ------------------------------------------------------------------ (de)serialisation
def state_dataset(config: NetworkConfig, state: NetworkState) -> xr.Dataset:
    """The learned state as a Dataset with index coordinates and units."""
    conn = build_connectivity(config)
    coords = {
        "yy_pre": ("yy_synapse", conn.yy_pre),
        "yy_post": ("yy_synapse", conn.yy_post),
    }
    if conn.xy_kernel is None:
        coords.update(xy_pre=("xy_weight", conn.xy_pre), xy_post=("xy_weight", conn.xy_post))
    ds = xr.Dataset(
        {
            "w_xy": ("xy_weight", state.w_xy, {"units": "mV", "long_name": "X->Y weight"
                                               + (" (shared kernel element f*k*k + k1*k + k2)"
                                                  if conn.xy_kernel is not None else "")}),
            "w_yy": ("yy_synapse", state.w_yy, {"units": "mV", "long_name": "Y->Y competition weight"}),
            "theta": ("neuron", state.theta, {"units": "mV", "long_name": "adaptive threshold"}),
        },
        coords=coords,
        attrs={"config": json.dumps(config.to_dict())},
    )
    return ds


def _write_netcdf(ds: xr.Dataset, path: Path) -> None:
    encoding = {name: {"zlib": True, "complevel": 4} for name in ds.data_vars}
    ds.to_netcdf(path, engine="netcdf4", encoding=encoding)


# ------------------------------------------------------------------ the store
class Store:
    """A folder of saved networks."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    # ---------------------------------------------------------------- listing
    def ids(self) -> list[str]:
        """Ids of all saved networks, oldest first."""
        if not self.root.is_dir():
            return []
        entries = [p for p in self.root.iterdir() if p.is_dir() and (p / "network.json").is_file()]
        return [p.name for p in sorted(entries, key=lambda p: (p.stat().st_mtime, p.name))]

    def resolve(self, key: str) -> str:
        """The full id of ``key`` (an id or a unique prefix of one)."""
        ids = self.ids()
        if key in ids:
            return key
        matches = [i for i in ids if i.startswith(key)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise StoreError(f"no saved network {key!r} in {self.root}")
        raise StoreError(f"{key!r} matches several networks: {', '.join(matches)}")

    def versions(self, network_id: str) -> list[int]:
        folder = self.root / network_id
        found = [int(m.group(1)) for p in folder.iterdir() if (m := VERSION_PATTERN.match(p.name))]
        return sorted(found)

    # ---------------------------------------------------------------- saving
    def new_id(self, preset: str) -> str:
        return f"{preset}-{uuid.uuid4().hex[:8]}"

    def save(self, network_id: str, preset: str, config: NetworkConfig, seed: int,
             state: NetworkState, record: dict, voting: SpikeVoting | None,
             linear: Pipeline | None) -> SavedNetwork:
        """Save a new version (the first one creates the network); returns it."""
        folder = self.root / network_id
        if not (folder / "network.json").is_file():
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.root / f".{network_id}.tmp-{uuid.uuid4().hex[:6]}"
            tmp.mkdir()
            header = {"id": network_id, "preset": preset, "seed": seed, "created": now(),
                      "config": config.to_dict()}
            (tmp / "network.json").write_text(json.dumps(header, indent=2))
            try:
                os.rename(tmp, folder)
            except OSError as exc:
                shutil.rmtree(tmp, ignore_errors=True)
                raise StoreError(f"a network {network_id!r} already exists in {self.root}") from exc
        existing = self.versions(network_id)
        version = (existing[-1] + 1) if existing else 1
        tmp = folder / f".v{version:04d}.tmp-{uuid.uuid4().hex[:6]}"
        tmp.mkdir()
        try:
            record = {**record, "version": version, "saved": now()}
            _write_netcdf(state_dataset(config, state), tmp / "state.nc")
            if voting is not None and linear is not None:
                _write_netcdf(readout_to_dataset(voting, linear), tmp / "readout.nc")
            (tmp / "record.json").write_text(json.dumps(record, indent=2))
            os.rename(tmp, folder / f"v{version:04d}")  # fails rather than overwrite
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self.load(network_id, version)

    # ---------------------------------------------------------------- loading
    def header(self, key: str) -> dict:
        """The network.json of a saved network (id, preset, seed, config, created)."""
        folder = self.root / self.resolve(key)
        try:
            return json.loads((folder / "network.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"store entry {folder} is corrupt: network.json: {exc}") from exc

    def records(self, key: str) -> list[tuple[int, dict]]:
        """(version, record.json) of every version, without loading weights."""
        network_id = self.resolve(key)
        out = []
        for version in self.versions(network_id):
            path = self.root / network_id / f"v{version:04d}" / "record.json"
            try:
                out.append((version, json.loads(path.read_text())))
            except (OSError, json.JSONDecodeError) as exc:
                raise StoreError(f"store entry {path.parent} is corrupt: {exc}") from exc
        if not out:
            raise StoreError(f"store entry {self.root / network_id} has no saved version")
        return out

    def load(self, key: str, version: int | None = None) -> SavedNetwork:
        """Load a saved network (latest version unless given); theta included."""
        network_id = self.resolve(key)
        folder = self.root / network_id
        try:
            header = json.loads((folder / "network.json").read_text())
            config = NetworkConfig.from_dict(header["config"])
        except (OSError, json.JSONDecodeError, KeyError, ConfigError) as exc:
            raise StoreError(f"store entry {folder} is corrupt: network.json: {exc}") from exc
        versions = self.versions(network_id)
        if not versions:
            raise StoreError(f"store entry {folder} has no saved version")
        version = versions[-1] if version is None else version
        if version not in versions:
            raise StoreError(f"network {network_id} has no version {version} (has {versions})")
        vdir = folder / f"v{version:04d}"
        try:
            record = json.loads((vdir / "record.json").read_text())
            with xr.open_dataset(vdir / "state.nc", engine="netcdf4") as ds:
                state = NetworkState(ds["w_xy"].values.copy(), ds["w_yy"].values.copy(),
                                     ds["theta"].values.copy())
            voting = linear = None
            if (vdir / "readout.nc").is_file():
                with xr.open_dataset(vdir / "readout.nc", engine="netcdf4") as ds:
                    voting, linear = readout_from_dataset(ds.load())
            state.check(config, build_connectivity(config))
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            raise StoreError(f"store entry {vdir} is corrupt: {exc}") from exc
        return SavedNetwork(id=network_id, version=version, preset=header.get("preset", ""),
                            config=config, seed=int(header.get("seed", 0)), state=state,
                            record=record, voting=voting, linear=linear, path=vdir,
                            created=header.get("created", ""))

    def delete(self, key: str) -> str:
        """Remove a network and all its versions; returns its id."""
        network_id = self.resolve(key)
        trash = self.root / f".{network_id}.deleting-{uuid.uuid4().hex[:6]}"
        os.rename(self.root / network_id, trash)
        shutil.rmtree(trash)
        return network_id
