import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from mdaug.evaluation.texture import noise_floor


def test_the_floor_level_spread_and_correlation_are_those_of_the_floor_bins():
    x = np.full((3, 1, 32, 32), 0.9)  # rows 0-9: the body, well above the floor
    checker = np.indices((22, 32)).sum(0) % 2
    x[:, 0, 10:] = np.where(checker, -0.4, -0.6)  # the floor: -32 and -28 dB in a checkerboard
    nf = noise_floor(x, 40.0)
    assert nf["level_db"] == pytest.approx(-30.0)
    assert nf["spread_db"] == pytest.approx(2.0)  # std 0.1 in [-1, 1] units = 2 dB of a 40 dB range
    assert nf["correlation_time"] == pytest.approx(-1.0) and nf["correlation_doppler"] == pytest.approx(-1.0)


def test_a_smoothed_floor_correlates_more_than_speckle():
    rng = np.random.default_rng(1)
    speckle = rng.normal(-0.6, 0.1, size=(6, 1, 32, 48))
    smooth = uniform_filter(speckle, size=(1, 1, 3, 3))
    a, b = noise_floor(speckle, 40.0), noise_floor(smooth, 40.0)
    assert abs(a["correlation_time"]) < 0.15 and abs(a["correlation_doppler"]) < 0.15
    assert b["correlation_time"] > 0.4 and b["correlation_doppler"] > 0.4
    assert b["spread_db"] < a["spread_db"]
