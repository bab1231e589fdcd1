import numpy as np
import pytest
import torch
from scipy.ndimage import uniform_filter

from mdaug.data.texture import add_floor_noise, fit_floor_texture, noise_floor, restore_floor


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


def _display(rng, n=24, size=(32, 32)):
    """Spectrograms whose floor sits a few dB above the display's bottom, with a body line: the smooth 'decoded'
    version and the 'recorded' one with speckle of a known level (1.5 dB in a 40 dB range), clipped as a display is."""
    smooth = np.full((n, 1, *size), -0.85)
    smooth[:, 0, 12:16] = 0.7
    speckled = np.clip(smooth + rng.normal(0, 2 * 1.5 / 40, smooth.shape), -1, 1)
    return smooth.astype(np.float32), speckled.astype(np.float32)


def test_the_fit_recovers_a_known_speckle_level_and_none_where_the_decoder_kept_it():
    smooth, speckled = _display(np.random.default_rng(0))
    t = fit_floor_texture(speckled, smooth, 40.0)
    assert t.sigma_db == pytest.approx(1.5, abs=0.25)
    assert t.samples == len(smooth)
    assert abs(t.restored["spread_db"] - t.real["spread_db"]) < abs(t.decoded["spread_db"] - t.real["spread_db"])
    assert fit_floor_texture(speckled, speckled, 40.0).sigma_db == 0.0  # nothing smoothed: nothing to add
    with pytest.raises(ValueError, match="same non-empty shape"):
        fit_floor_texture(speckled, smooth[:3], 40.0)


def test_restoring_the_floor_adds_that_noise_clipped_to_the_display_and_is_seeded():
    x = torch.zeros(4, 1, 64, 64)
    x[:, :, :2] = 0.99  # near the top: clipped there
    a = restore_floor(x, 0.1, torch.Generator().manual_seed(1))
    b = restore_floor(x, 0.1, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, restore_floor(x, 0.1, torch.Generator().manual_seed(2)))
    assert a.min() >= -1 and a.max() <= 1 and a[:, :, :2].max() == 1.0
    assert float(a[:, :, 2:].std()) == pytest.approx(0.1, rel=0.05)
    assert torch.equal(restore_floor(x, 0.0), x)
    n = add_floor_noise(x.numpy(), 0.1, np.random.default_rng(0))
    assert n.dtype == np.float32 and float(n[:, :, 2:].std()) == pytest.approx(0.1, rel=0.05) and n.max() <= 1
