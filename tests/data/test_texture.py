import warnings

import numpy as np
import pytest
import torch
from scipy.ndimage import uniform_filter

from mdaug.data.texture import (
    FloorTexture,
    _mismatch,
    _neighbour_correlation,
    add_floor_noise,
    fit_floor_texture,
    noise_floor,
    restore_floor,
)


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
    assert t.sigma_db == 1.5  # the grid's nearest neighbours 1.25 and 1.75 score worse by under one unit each
    assert t.samples == len(smooth)
    assert t.real == noise_floor(speckled, 40.0)
    np.testing.assert_equal(t.decoded, noise_floor(smooth, 40.0))  # a constant floor: nan correlations
    # the restored statistics are those of the decoded spectrograms plus the noise of the chosen level, seed 0
    assert t.restored == noise_floor(add_floor_noise(smooth, 2 * 1.5 / 40, np.random.default_rng(0)), 40.0)
    assert fit_floor_texture(speckled, smooth, 40.0, seed=1, grid_db=(1.5,)).restored == noise_floor(
        add_floor_noise(smooth, 2 * 1.5 / 40, np.random.default_rng(1)), 40.0)
    assert abs(t.restored["spread_db"] - t.real["spread_db"]) < abs(t.decoded["spread_db"] - t.real["spread_db"])
    assert fit_floor_texture(speckled, speckled, 40.0).sigma_db == 0.0  # nothing smoothed: nothing to add
    with pytest.raises(ValueError, match="same non-empty shape"):
        fit_floor_texture(speckled, smooth[:3], 40.0)
    with pytest.raises(ValueError, match=r"real \(0, 1, 32, 32\) and decoded \(0, 1, 32, 32\) must be the same"):
        fit_floor_texture(speckled[:0], smooth[:0], 40.0)
    assert fit_floor_texture(speckled[:1], smooth[:1], 40.0).samples == 1  # one spectrogram is enough


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


def test_time_and_doppler_correlations_are_measured_along_their_own_axes():
    x = np.full((2, 1, 32, 32), 0.9)  # rows 0-9: the body
    x[:, 0, 10:] = np.where(np.arange(22)[:, None] % 2, -0.4, -0.6)  # floor rows alternate along Doppler only
    nf = noise_floor(x, 40.0)
    assert nf["correlation_time"] == pytest.approx(1.0) and nf["correlation_doppler"] == pytest.approx(-1.0)
    assert nf["level_db"] == pytest.approx(-30.0) and nf["spread_db"] == pytest.approx(2.0)


def test_the_floor_statistics_are_computed_in_float64_whatever_the_input():
    x = np.random.default_rng(2).uniform(-1, 1, size=(3, 1, 16, 16)).astype(np.float32)
    assert noise_floor(x, 40.0) == noise_floor(x.astype(np.float64), 40.0)


def test_a_neighbour_correlation_needs_three_pairs_with_spread_and_warns_about_nothing():
    v = np.array([[-1.0, 1.0, -1.0, 1.0]])  # along time: pairs (-1, 1), (1, -1), (-1, 1); each side has std 1
    floor = np.ones_like(v, dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by a zero std inside corrcoef
        assert _neighbour_correlation(v, floor, -1) == pytest.approx(-1.0)  # three pairs: enough
        assert np.isnan(_neighbour_correlation(v[:, :3], floor[:, :3], -1))  # two pairs: too few
        assert np.isnan(_neighbour_correlation(np.array([[-1.0, 1.0, 1.0, 1.0, 1.0]]), np.ones((1, 5), bool), -1))
        assert np.isnan(_neighbour_correlation(np.array([[1.0, 1.0, 1.0, 1.0, -1.0]]), np.ones((1, 5), bool), -1))
        assert np.isnan(_neighbour_correlation(v.T, floor.T, -1))  # no time neighbours in one column
    assert _neighbour_correlation(v.T, floor.T, -2) == pytest.approx(-1.0)  # Doppler neighbours


def test_the_mismatch_weighs_each_statistic_by_its_unit_and_counts_a_missing_correlation_as_one():
    real = {"level_db": -30.0, "spread_db": 2.0, "correlation_time": 0.2, "correlation_doppler": 0.3}
    other = {"level_db": -32.0, "spread_db": 2.5, "correlation_time": -0.1, "correlation_doppler": float("nan")}
    # 2 dB / 1 + 0.5 dB / 0.25 + 0.3 / 0.1 + (nan counted as 1) / 0.1
    assert _mismatch(other, real) == pytest.approx(2 + 2 + 3 + 10)


def test_sigma_units_are_the_db_level_over_half_the_display_range():
    t = FloorTexture(sigma_db=1.5, samples=1, real={}, decoded={}, restored={})
    assert t.sigma_units(40.0) == pytest.approx(0.075) and t.sigma_units(60.0) == pytest.approx(0.05)


def test_floor_noise_is_added_not_subtracted_and_clipped_at_both_ends_of_the_display():
    x = np.array([-0.99, -0.5, 0.0, 0.5, 0.99] * 40, dtype=np.float64).reshape(2, 1, 10, 10)
    n = add_floor_noise(x, 0.2, np.random.default_rng(3))
    np.testing.assert_array_equal(n, np.clip(x + np.random.default_rng(3).normal(0.0, 0.2, x.shape), -1, 1))
    assert n.min() == -1.0 and n.max() == 1.0  # both clips bind
    rng = np.random.default_rng(3)
    assert add_floor_noise(x, 0.0, rng) is x and rng.normal() == np.random.default_rng(3).normal()  # nothing drawn


def test_restore_floor_adds_its_generator_s_noise_in_the_batch_dtype_clipped_at_both_ends():
    x = torch.tensor([-0.99, -0.5, 0.0, 0.5, 0.99] * 40, dtype=torch.float64).reshape(2, 1, 10, 10)
    r = restore_floor(x, 0.2, torch.Generator().manual_seed(3))
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    assert r.dtype == torch.float64 and torch.equal(r, (x + 0.2 * noise).clamp(-1, 1))
    assert r.min() == -1.0 and r.max() == 1.0
    g = torch.Generator().manual_seed(3)
    assert restore_floor(x, 0.0, g) is x and torch.equal(torch.randn(3, generator=g),
                                                         torch.randn(3, generator=torch.Generator().manual_seed(3)))


def test_restore_floor_makes_its_noise_on_the_batch_s_device():
    x = torch.zeros(2, 1, 4, 4, device="meta")  # a device other than the CPU, as a GPU batch is
    assert restore_floor(x, 0.2).device == x.device
