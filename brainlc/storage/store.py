"""The network store: saved networks in portable files, versioned, safe under concurrency.

Layout of a store folder (default ``./networks``, or ``$BRAINLC_HOME``)::

    <id>/network.json        id, preset, config, seed, creation time, format (written once)
    <id>/v0001/state.nc      X->Y and Y->Y weights, theta (NetCDF, mV)
    <id>/v0001/readout.nc    votes and the linear readout as plain arrays (NetCDF)
    <id>/v0001/record.json   images trained, scores, timings, history, parent version
    <id>/v0002/...           a later version (more training, a new evaluation)
    .locks/<id>.lock         taken (flock) while a version number is allocated
    .locks/task-<key>.lock   taken (flock) while a task of reproduce/sweep/curve runs
    .staging/<host>.<pid>.*  versions being written; removed once renamed into place

How nothing is lost or overwritten, also with many processes writing at once:

- A version is written completely into ``.staging`` first, then, holding the network's
  lock, given the next free number and renamed into place; a version is never
  overwritten and its number is never reused. A new network is renamed into place with
  its first version inside, so no entry exists without a version.
- Every version records its ``parent``: the version it was computed from (None for the
  first). When another process saved a version meanwhile, the new version is a branch
  (``branch: true``): both results are kept, with their true lineage.
- Staging folders are named after their host and process; the next command that opens
  the store removes those of processes that no longer run (after kill -9).
- If saving fails (disk full, permissions), :class:`SaveError` says where the results
  were written instead (a ``recovered`` folder) and how to import them.

Locks are ``flock`` locks and entries appear by ``rename``: safe between processes of one
machine on any local filesystem, and between machines on NFS (Linux clients turn flock
into NFS byte-range locks); not on filesystems without working locks (some FUSE or SMB
mounts). Nothing is pickled. Heavy libraries (xarray, netCDF4) are imported when weights
are read or written, so that listing a store is quick.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import json
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from brainlc import stopping
from brainlc.core.config import ConfigError, NetworkConfig
from brainlc.errors import BrainlcError
from brainlc.leftovers import process_alive

if TYPE_CHECKING:
    from brainlc.core.readout import LinearReadout, SpikeVoting
    from brainlc.core.state import NetworkState

#: Version of the store's file layout; a store entry of a newer format is refused.
STORE_FORMAT = 1
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"  # the first bytes of every NetCDF-4 file
VERSION_PATTERN = re.compile(r"^v(\d{4,})$")
STAGING = ".staging"
LOCKS = ".locks"
RECOVERED = "recovered"
PARTIAL = ".partial"  # a recovered result being written (renamed when complete)
#: Hidden leftovers of older brainlc versions (no process id): removed after this age.
LEGACY_LEFTOVER_AGE_S = 3600


class StoreError(BrainlcError, RuntimeError):
    """An unknown id or a store entry that cannot be read or written."""


class SaveError(StoreError):
    """A save failed; the message says where the results were recovered to."""


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
    linear: LinearReadout | None = None
    path: Path | None = None
    created: str = ""

    @property
    def has_readout(self) -> bool:
        return self.voting is not None and self.linear is not None

    def require_readout(self, purpose: str) -> None:
        """Raise StoreError naming ``purpose`` unless this version has calibrated readouts."""
        if not self.has_readout:
            raise StoreError(f"{purpose} needs a readout: network {self.id} version {self.version} has no "
                             f"calibrated readout; calibrate it with 'brainlc evaluate {self.id}'")


def default_root() -> Path:
    """``$BRAINLC_HOME`` or ``./networks``."""
    return Path(os.environ.get("BRAINLC_HOME", "networks"))


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _process_tag() -> str:
    return f"{socket.gethostname()}.{os.getpid()}"


def _is_orphan(name: str) -> bool:
    """Whether a staging entry ``<host>.<pid>.<rest>`` belongs to a dead process of this host."""
    parts = name.split(".")
    if len(parts) < 3 or not parts[-2].isdigit():
        return False
    host, pid = ".".join(parts[:-2]), int(parts[-2])
    return host == socket.gethostname() and not process_alive(pid)


# ------------------------------------------------------------------ (de)serialisation
def state_dataset(config: NetworkConfig, state: NetworkState):
    """The learned state as a Dataset with index coordinates and units."""
    import xarray as xr

    from brainlc.core.topology import build_connectivity

    conn = build_connectivity(config)
    coords = {
        "yy_pre": ("yy_synapse", conn.yy_pre),
        "yy_post": ("yy_synapse", conn.yy_post),
    }
    if conn.xy_kernel is None:
        coords.update(xy_pre=("xy_weight", conn.xy_pre), xy_post=("xy_weight", conn.xy_post))
    return xr.Dataset(
        {
            "w_xy": ("xy_weight", state.w_xy, {"units": "mV", "long_name": "X->Y weight"
                                               + (" (shared kernel element f*k*k + k1*k + k2)"
                                                  if conn.xy_kernel is not None else "")}),
            "w_yy": ("yy_synapse", state.w_yy, {"units": "mV", "long_name": "Y->Y competition weight"}),
            "theta": ("neuron", state.theta, {"units": "mV", "long_name": "adaptive threshold"}),
        },
        coords=coords,
        attrs={"config": json.dumps(config.to_dict()), "store_format": STORE_FORMAT},
    )


def _write_netcdf(ds, path: Path) -> None:
    encoding = {name: {"zlib": True, "complevel": 4} for name in ds.data_vars}
    try:
        import dask
    except ImportError:  # pragma: no cover - dask is a dependency
        ds.to_netcdf(path, engine="netcdf4", encoding=encoding)
        return
    # In a Dask worker xarray would take a cluster-wide lock for the write, through the
    # scheduler, and fail once the cluster closes (an interrupted campaign): these files
    # belong to this process alone, so a local lock is enough.
    with dask.config.set(scheduler="synchronous"):
        ds.to_netcdf(path, engine="netcdf4", encoding=encoding)


def write_version_files(folder: Path, config: NetworkConfig, state: NetworkState, record: dict,
                        voting: SpikeVoting | None, linear: LinearReadout | None) -> None:
    """state.nc, readout.nc (when calibrated) and record.json of one version, into ``folder``."""
    from brainlc.core.readout import readout_to_dataset

    folder.mkdir(parents=True, exist_ok=True)
    _write_netcdf(state_dataset(config, state), folder / "state.nc")
    if voting is not None and linear is not None:
        _write_netcdf(readout_to_dataset(voting, linear), folder / "readout.nc")
    _write_json(folder / "record.json", record)


def _write_json(path: Path, data: dict) -> None:
    text = json.dumps(data, indent=2)
    with open(path, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _check_format(data: dict, what: Path) -> None:
    fmt = data.get("format", 1)
    if not isinstance(fmt, int) or fmt > STORE_FORMAT:
        raise StoreError(f"{what} was written by a newer brainlc (store format {fmt}; this version "
                         f"reads up to {STORE_FORMAT}): upgrade brainlc to read it")


def _read_json_object(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise StoreError(f"{path.name} is missing") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"{path.name} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise StoreError(f"{path.name} holds {type(data).__name__}, not an object")
    return data


def _header_problems(header: dict) -> str | None:
    for key, kind in (("preset", str), ("seed", int), ("config", dict)):
        if not isinstance(header.get(key), kind):
            return f"network.json: {key!r} is missing or not a {kind.__name__}"
    return None


def _record_problems(record: dict) -> str | None:
    if not isinstance(record.get("accuracy", {}), dict):
        return "record.json: 'accuracy' is not an object"
    if not isinstance(record.get("images_trained", 0), int):
        return "record.json: 'images_trained' is not an integer"
    return None


# ------------------------------------------------------------------ the store
class Store:
    """A folder of saved networks."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    # ---------------------------------------------------------------- housekeeping
    def check_writable(self) -> None:
        """Raise StoreError unless new networks can be saved here; leaves nothing behind."""
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"the store {self.root} is a file, not a folder")
        folder = self.root.absolute()
        while not folder.exists():  # the store is created by its first save
            folder = folder.parent
        if not folder.is_dir():
            raise StoreError(f"cannot create the store {self.root}: {folder} is a file")
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{_process_tag()}.probe"):
                pass
        except OSError as exc:
            reason = ("it is on a read-only filesystem" if exc.errno == errno.EROFS
                      else exc.strerror or str(exc))
            raise StoreError(f"cannot save networks in the store {self.root}: {reason}") from exc

    def clean_leftovers(self) -> list[Path]:
        """Remove what killed processes left (staging folders, half-deleted networks).

        The CLI calls it once per command that names a store; nothing else does.
        """
        removed = []
        staging = self.root / STAGING
        candidates = list(staging.iterdir()) if staging.is_dir() else []
        cutoff = time.time() - LEGACY_LEFTOVER_AGE_S
        with contextlib.suppress(OSError):
            for entry in self.root.iterdir():  # leftovers of brainlc 0.1's store
                if re.match(r"^\..+\.(tmp|deleting)-[0-9a-f]{6}$", entry.name) and entry.stat().st_mtime < cutoff:
                    candidates.append(entry)
                elif entry.is_dir() and not entry.name.startswith("."):
                    candidates += [p for p in entry.iterdir()
                                   if re.match(r"^\.v\d{4}\.tmp-[0-9a-f]{6}$", p.name) and p.stat().st_mtime < cutoff]
        recovered = self.root / RECOVERED
        if recovered.is_dir():  # recovered results whose writing a killed process left half-way
            candidates += [p for p in recovered.iterdir() if p.name.startswith(".") and p.name.endswith(PARTIAL)]
        for path in candidates:
            if path.parent not in (staging, recovered) or _is_orphan(path.name.lstrip(".").removesuffix(PARTIAL)):
                with contextlib.suppress(OSError):
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
                    removed.append(path)
        return removed

    def remove_own_staging(self) -> None:
        """Remove this process's staging folders (when a command ends, however it ends)."""
        staging = self.root / STAGING
        if staging.is_dir():
            for path in staging.glob(f"{_process_tag()}.*"):
                shutil.rmtree(path, ignore_errors=True)

    def _staging_folder(self) -> Path:
        folder = self.root / STAGING / f"{_process_tag()}.{uuid.uuid4().hex[:8]}"
        folder.mkdir(parents=True)
        return folder

    @contextlib.contextmanager
    def _lock(self, network_id: str):
        path = self.root / LOCKS / f"{network_id}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def task_lock(self, key: str):
        """Held while one task (:mod:`brainlc.campaign.tasks`) runs, so that two commands sharing
        this store never run the same task at once: the second waits, then finds it done.
        An flock: released when its process ends, also after kill -9."""
        with self._lock(f"task-{key}"):
            yield

    # ---------------------------------------------------------------- listing
    @staticmethod
    def _is_entry(path: Path) -> bool:
        """Whether a folder of the store is a network (readable or not)."""
        return (path.is_dir() and not path.name.startswith(".") and path.name != RECOVERED
                and ((path / "network.json").exists() or any(VERSION_PATTERN.match(q.name) for q in path.iterdir())))

    def ids(self) -> list[str]:
        """Ids of all saved networks (readable or not), oldest first."""
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"the store {self.root} is a file, not a folder")
        if not self.root.is_dir():
            return []
        entries = [p for p in self.root.iterdir() if self._is_entry(p)]
        return [p.name for p in sorted(entries, key=lambda p: (p.stat().st_mtime, p.name))]

    def resolve(self, key: str) -> str:
        """The full id of ``key`` (an id or a unique prefix of one)."""
        if key and "/" not in key and self._is_entry(self.root / key):
            return key
        ids = self.ids()
        matches = [i for i in ids if i.startswith(key)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise StoreError(f"no saved network {key!r} in {self.root}")
        raise StoreError(f"{key!r} matches several networks: {', '.join(matches)}")

    def versions(self, network_id: str) -> list[int]:
        folder = self.root / network_id
        if not folder.is_dir():
            return []
        found = [int(m.group(1)) for p in folder.iterdir() if (m := VERSION_PATTERN.match(p.name))]
        return sorted(found)

    # ---------------------------------------------------------------- saving
    def new_id(self, preset: str) -> str:
        return f"{Path(preset).stem}-{uuid.uuid4().hex[:8]}"

    def save(self, network_id: str, preset: str, config: NetworkConfig, seed: int,
             state: NetworkState, record: dict, voting: SpikeVoting | None,
             linear: LinearReadout | None, parent: int | None = None) -> SavedNetwork:
        """Save a new version and return it.

        ``parent``: the version the results were computed from; None creates the network
        (its first version). If the save fails, the results are written to a recovery
        folder and :class:`SaveError` says where.
        """
        header = {"id": network_id, "preset": preset, "seed": seed, "created": now(),
                  "config": config.to_dict(), "format": STORE_FORMAT}
        theta = state.theta
        record = {**record, "parent": parent, "format": STORE_FORMAT,
                  "theta_mV": {"mean": float(theta.mean()) if theta.size else 0.0,
                               "max": float(theta.max()) if theta.size else 0.0}}
        staging = None
        try:
            staging = self._staging_folder()
            write_version_files(staging / "version", config, state, record, voting, linear)
            version = self._commit(staging, network_id, header, record, parent)
        except Exception as exc:  # disk full, permissions, deleted meanwhile, a library's error
            where = recover(network_id, header, config, state, record, voting, linear, self.root)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            free = _free_bytes(self.root)
            if free is not None and free < FULL_DISK_BYTES:
                reason = f"the disk is full ({free // 1024} KB free; the library said: {reason})"
            raise SaveError(f"could not save {network_id} in {self.root}: {reason}. The results were "
                            f"written to {where}; import them with 'brainlc import {where}'") from exc
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
        return self.load(network_id, version)

    def _commit(self, staging: Path, network_id: str, header: dict, record: dict,
                parent: int | None) -> int:
        """Give the staged version its number and rename it into place (under the lock)."""
        folder = self.root / network_id
        with self._lock(network_id):
            stopping.check()  # a stop requested meanwhile: save nothing
            if parent is None:
                if folder.exists():
                    raise StoreError(f"a network {network_id!r} already exists in {self.root}")
                _write_json(staging / "network.json", header)
                self._finish_record(staging / "version", record, 1, [])
                os.rename(staging / "version", staging / "v0001")
                os.rename(staging, folder)
                return 1
            if not (folder / "network.json").is_file():
                raise StoreError(f"network {network_id} was deleted meanwhile")
            existing = self.versions(network_id)
            version = (existing[-1] + 1) if existing else 1
            self._finish_record(staging / "version", record, version, existing)
            os.rename(staging / "version", folder / f"v{version:04d}")  # never overwrites
            return version

    @staticmethod
    def _finish_record(folder: Path, record: dict, version: int, existing: list[int]) -> None:
        parent = record.get("parent")
        final = {**record, "version": version, "saved": now(),
                 "branch": parent is not None and bool(existing) and parent != existing[-1]}
        _write_json(folder / "record.json", final)

    def import_recovered(self, folder: str | Path) -> SavedNetwork:
        """Add the results a failed save wrote to ``folder`` to this store (a new version)."""
        folder = Path(folder)
        header = _read_json_object(folder / "network.json")
        problem = _header_problems(header)
        if problem:
            raise StoreError(f"{folder} is not a recovered brainlc result: {problem}")
        loaded = _load_version(folder / "version", NetworkConfig.from_dict(header["config"]))
        network_id = str(header.get("id") or self.new_id(header["preset"]))
        exists = (self.root / network_id / "network.json").is_file()
        parent = loaded["record"].get("parent") if exists else None
        if exists and parent is None:
            parent = max(self.versions(network_id), default=None)
        record = {k: v for k, v in loaded["record"].items() if k not in ("version", "saved", "branch")}
        self.check_writable()
        return self.save(network_id, header["preset"], NetworkConfig.from_dict(header["config"]),
                         int(header["seed"]), loaded["state"], record, loaded["voting"],
                         loaded["linear"], parent=parent)

    # ---------------------------------------------------------------- loading
    def header(self, key: str) -> dict:
        """The network.json of a saved network (id, preset, seed, config, created)."""
        folder = self.root / self.resolve(key)
        try:
            header = _read_json_object(folder / "network.json")
        except StoreError as exc:
            raise StoreError(f"store entry {folder} is unreadable: {exc}") from exc
        _check_format(header, folder / "network.json")
        problem = _header_problems(header)
        if problem:
            raise StoreError(f"store entry {folder} is unreadable: {problem}")
        return header

    def records(self, key: str) -> list[tuple[int, dict]]:
        """(version, record.json) of every version, without loading weights."""
        network_id = self.resolve(key)
        out = []
        for version in self.versions(network_id):
            vdir = self.root / network_id / f"v{version:04d}"
            try:
                record = _read_json_object(vdir / "record.json")
            except StoreError as exc:
                raise StoreError(f"store entry {vdir} is unreadable: {exc}") from exc
            problem = _record_problems(record)
            if problem:
                raise StoreError(f"store entry {vdir} is unreadable: {problem}")
            out.append((version, record))
        if not out:
            raise StoreError(f"store entry {self.root / network_id} has no saved version")
        return out

    def summary(self, key: str, version: int | None = None) -> tuple[dict, int, dict, Path]:
        """(header, version, record, folder) of a version without reading its arrays.

        The NetCDF files are checked for presence and their HDF5 signature only, so that
        ``brainlc show`` needs neither numpy nor xarray.
        """
        network_id = self.resolve(key)
        header = self.header(network_id)
        records = dict(self.records(network_id))
        version = max(records) if version is None else version
        if version not in records:
            raise StoreError(f"network {network_id} has no version {version} (has {sorted(records)})")
        vdir = self.root / network_id / f"v{version:04d}"
        _check_format(records[version], vdir / "record.json")
        for name in ("state.nc", "readout.nc"):
            path = vdir / name
            if name == "state.nc" and not path.is_file():
                raise StoreError(f"store entry {vdir} is unreadable: state.nc is missing")
            if path.is_file():
                with open(path, "rb") as handle:
                    if handle.read(8) != HDF5_SIGNATURE:
                        raise StoreError(f"store entry {vdir} is unreadable: {name} is not a NetCDF-4 file")
        return header, version, records[version], vdir

    def load(self, key: str, version: int | None = None) -> SavedNetwork:
        """Load a saved network (latest version unless given); theta included."""
        network_id = self.resolve(key)
        folder = self.root / network_id
        header = self.header(network_id)
        try:
            config = NetworkConfig.from_dict(header["config"])
        except (ConfigError, TypeError, KeyError) as exc:
            raise StoreError(f"store entry {folder} is unreadable: network.json: {exc}") from exc
        versions = self.versions(network_id)
        if not versions:
            raise StoreError(f"store entry {folder} has no saved version")
        version = versions[-1] if version is None else version
        if version not in versions:
            raise StoreError(f"network {network_id} has no version {version} (has {versions})")
        vdir = folder / f"v{version:04d}"
        loaded = _load_version(vdir, config)
        return SavedNetwork(id=network_id, version=version, preset=header["preset"],
                            config=config, seed=int(header["seed"]), state=loaded["state"],
                            record=loaded["record"], voting=loaded["voting"], linear=loaded["linear"],
                            path=vdir, created=str(header.get("created", "")))

    def delete(self, key: str) -> str:
        """Remove a network and all its versions; returns its id."""
        network_id = self.resolve(key)
        (self.root / STAGING).mkdir(parents=True, exist_ok=True)
        trash = self.root / STAGING / f"{_process_tag()}.deleting-{network_id.replace('.', '_')}"
        with self._lock(network_id):
            try:
                os.rename(self.root / network_id, trash)
            except FileNotFoundError as exc:
                raise StoreError(f"network {network_id} was deleted meanwhile") from exc
        shutil.rmtree(trash, ignore_errors=True)
        return network_id


def _load_version(vdir: Path, config: NetworkConfig) -> dict:
    """state, record and readouts of one version folder; StoreError naming what is wrong."""
    import xarray as xr

    from brainlc.core.readout import readout_from_dataset
    from brainlc.core.state import NetworkState
    from brainlc.core.topology import build_connectivity

    try:
        record = _read_json_object(vdir / "record.json")
        _check_format(record, vdir / "record.json")
        problem = _record_problems(record)
        if problem:
            raise StoreError(problem)
        if not (vdir / "state.nc").is_file():
            raise StoreError("state.nc is missing")
        with xr.open_dataset(vdir / "state.nc", engine="netcdf4") as ds:
            state = NetworkState(ds["w_xy"].values.copy(), ds["w_yy"].values.copy(),
                                 ds["theta"].values.copy())
        voting = linear = None
        if (vdir / "readout.nc").is_file():
            with xr.open_dataset(vdir / "readout.nc", engine="netcdf4") as ds:
                voting, linear = readout_from_dataset(ds.load())
        state.check(config, build_connectivity(config))
    except StoreError as exc:
        raise StoreError(f"store entry {vdir} is unreadable: {exc}") from exc
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise StoreError(f"store entry {vdir} is unreadable: {exc}") from exc
    return {"record": record, "state": state, "voting": voting, "linear": linear}


#: A save that fails with less free space than this blames a full disk.
FULL_DISK_BYTES = 16 * 2**20


def _free_bytes(path: Path) -> int | None:
    for folder in (path, *path.absolute().parents):
        if folder.exists():
            try:
                return shutil.disk_usage(folder).free
            except OSError:
                return None
    return None


def recovery_roots(store_root: Path) -> list[Path]:
    """Where a failed save puts its results, in order: the store's ``recovered`` folder,
    ``$BRAINLC_RECOVERY``, ``~/.cache/brainlc/recovered``, the temporary folder."""
    roots = [store_root / RECOVERED]
    if os.environ.get("BRAINLC_RECOVERY"):
        roots.append(Path(os.environ["BRAINLC_RECOVERY"]))
    roots += [Path.home() / ".cache" / "brainlc" / RECOVERED, Path(tempfile.gettempdir()) / "brainlc-recovered"]
    return roots


def recover(network_id: str, header: dict, config: NetworkConfig, state: NetworkState, record: dict,
            voting: SpikeVoting | None, linear: LinearReadout | None, store_root: Path) -> Path:
    """Write results that could not be saved to the first recovery folder that takes them."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    problems = []
    for root in recovery_roots(store_root):
        folder = root / f"{network_id}-{stamp}-{uuid.uuid4().hex[:4]}"
        partial = root / f".{_process_tag()}.{uuid.uuid4().hex[:8]}{PARTIAL}"  # renamed when complete
        try:
            partial.mkdir(parents=True)
            _write_json(partial / "network.json", header)
            write_version_files(partial / "version", config, state, record, voting, linear)
            os.rename(partial, folder)
            return folder
        except Exception as exc:  # any failure: the next folder may take it
            problems.append(f"{root}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}")
        finally:
            shutil.rmtree(partial, ignore_errors=True)  # also when interrupted: nothing half-made
    raise StoreError("the results could not be saved anywhere: " + "; ".join(problems))


def recovered_results(store_root: Path) -> list[Path]:
    """The complete results in a store's ``recovered`` folder (saves that failed), oldest first."""
    folder = store_root / RECOVERED
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if not p.name.startswith(".") and (p / "network.json").is_file()
             and (p / "version" / "record.json").is_file()]
    return sorted(found, key=lambda p: p.name)
