"""Files and images a user hands over: preset files with bad tables or encodings, huge
images, digits drawn on a transparent background (issue 18, item 4)."""

import resource
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from brainlc.cli import main
from brainlc.core.presets import PresetError, load_preset
from brainlc.experiment.images import ImageError, read_digit_image
from brainlc.experiment.mnist import load_mnist

MODEL = "[model]\narchitecture = 'LC'\nchannels = 4\n"


@pytest.mark.parametrize("table, message", [
    ("[paper]\nmethod1 = 'high'", r"\[paper\] method1 = 'high' is not an accuracy in percent"),
    ("[paper]\nmethod1 = 180.0", r"\[paper\] method1 = 180.0 is not an accuracy"),
    ("[paper]\nmethod2_std = true", r"\[paper\] method2_std = True is not an accuracy"),
    ("[paper]\nmethod1 = [1, 2]", r"\[paper\] method1 = \[1, 2\] is not an accuracy"),
    ("[protocol]\ntrain_images = 'many'", r"\[protocol\] train_images = 'many' is not a number of images"),
    ("[protocol]\ntrain_images = -5", r"\[protocol\] train_images = -5 is not a number of images"),
    ("[protocol]\ntrian_images = 5", r"\[protocol\] trian_images is not one of"),
    ("provenance = 'x'", r"\[provenance\] must be a table"),
])
def test_a_preset_with_a_bad_table_is_refused_before_work(table, message, tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text(MODEL + table + "\n") if not table.startswith("provenance") else \
        path.write_text(table + "\n" + MODEL)
    with pytest.raises(PresetError, match=message):
        load_preset(str(path))
    assert main(["run", str(path), "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("brainlc: error: preset file"), err
    assert not (tmp_path / "s").exists()


def test_a_preset_file_that_is_not_utf8_or_missing_is_one_line(tmp_path, capsys):
    path = tmp_path / "latin.toml"
    path.write_bytes(MODEL.encode() + "description = 'réseau'\n".encode("latin-1"))
    with pytest.raises(PresetError, match="is not UTF-8 text"):
        load_preset(str(path))
    with pytest.raises(PresetError, match="no such file"):
        load_preset(str(tmp_path / "missing.toml"))
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(PresetError, match="is not a file"):
        load_preset(str(tmp_path / "dir.toml"))
    assert main(["info", str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def _png_header_only(path, width: int, height: int) -> None:
    """A PNG that claims ``width`` x ``height`` pixels (its pixel data is a few bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [12000, 14000, 100000])
def test_a_huge_image_is_refused_cheaply_in_one_line(side, tmp_path, recwarn):
    path = tmp_path / "huge.png"
    _png_header_only(path, side, side)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(ImageError, match=f"is {side} x {side} pixels; a digit image may have at most 16 million"):
        read_digit_image(path)
    assert time.perf_counter() - start < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # kB: nothing decoded
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]


def _seven(tmp_path, mode: str) -> tuple:
    """MNIST's first test digit (a 7), drawn in black on a transparent background."""
    digit = np.asarray(Image.fromarray(load_mnist().test_images[0]).resize((112, 112)))
    alpha = digit  # the stroke is opaque, the paper transparent
    if mode == "RGBA":
        pixels = np.zeros((112, 112, 4), np.uint8)
        pixels[..., 3] = alpha
    else:
        pixels = np.stack([np.zeros_like(alpha), alpha], axis=-1)
    path = tmp_path / f"seven-{mode}.png"
    Image.fromarray(pixels, mode).save(path)
    reference = tmp_path / "seven-grey.png"
    Image.fromarray(255 - digit).save(reference)  # the same stroke, dark ink on white paper
    return path, reference


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_a_digit_on_a_transparent_background_reads_its_alpha_as_ink(mode, tmp_path):
    path, reference = _seven(tmp_path, mode)
    image = read_digit_image(path)
    assert image.max() > 200 and image[0, 0, 0] == 0
    assert np.abs(image.astype(int) - read_digit_image(reference).astype(int)).max() <= 1
    # white ink on a transparent background too
    pixels = np.asarray(Image.open(path).convert("RGBA")).copy()
    pixels[..., :3] = 255
    Image.fromarray(pixels, "RGBA").save(tmp_path / "white.png")
    assert np.abs(read_digit_image(tmp_path / "white.png").astype(int) - image.astype(int)).max() <= 1


def test_a_fully_transparent_image_has_no_ink(tmp_path):
    path = tmp_path / "empty.png"
    Image.fromarray(np.zeros((30, 30, 4), np.uint8), "RGBA").save(path)
    with pytest.raises(ImageError, match="no visible ink"):
        read_digit_image(path)
