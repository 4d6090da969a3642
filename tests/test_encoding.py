import numpy as np
import pytest

from brainlc.core.config import NetworkConfig
from brainlc.core.encoding import center_crop, firing_rates, original_poisson_trains, spike_probabilities

CFG = NetworkConfig("LC", 4)


def test_center_crop_keeps_the_middle_20x20():
    images = np.arange(28 * 28, dtype=np.int32).reshape(1, 28, 28)
    crop = center_crop(images, 20)
    assert crop.shape == (1, 20, 20)
    assert crop[0, 0, 0] == 4 * 28 + 4 and crop[0, -1, -1] == 23 * 28 + 23


def test_firing_rates_are_intensity_times_pixel_fraction():
    images = np.zeros((1, 28, 28), np.uint8)
    images[0, 4, 4] = 255
    images[0, 4, 5] = 51
    rates = firing_rates(images, CFG)
    assert rates.shape == (1, 400)
    assert rates[0, 0] == 127.5 and rates[0, 1] == pytest.approx(127.5 * 0.2)
    assert spike_probabilities(rates, CFG)[0, 0] == pytest.approx(0.1275)
    with pytest.raises(ValueError, match="uint8"):
        firing_rates(images.astype(float), CFG)


def test_original_encoder_rates_and_silence_of_black_pixels():
    rng = np.random.default_rng(0)
    rates = np.array([[0.0, 20.0, 127.5]])
    trains = np.concatenate([original_poisson_trains(rates, 250, rng) for _ in range(40)])
    assert trains.dtype == bool and trains.shape == (40, 250, 3)
    assert trains[:, :, 0].sum() == 0
    measured = trains.sum(axis=1).mean(axis=0) * 1000 / 250
    # intervals ~ Poisson(1000/r) with zero intervals made one: mean rate close to r
    assert measured[1] == pytest.approx(20.0, rel=0.15)
    assert measured[2] == pytest.approx(127.5, rel=0.1)
