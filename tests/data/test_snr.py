"""The lower SNR of classical augmentation: noise added in linear power with the data's own floor texture, the
display's scale applied again; the dose asked is the dose the SNR estimator reads back."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mdaug.config import ClassicalAugmentConfig, load_config
from mdaug.data import estimators as est
from mdaug.data.axes import axes_of
from mdaug.data.classical import ClassicalAugment
from mdaug.data.snr import NoiseBank, lower_snr
from mdaug.simulate.dataset import simulate_dataset


@pytest.fixture(scope="module")
def recordings():
    cfg = load_config("tiny").simulate.model_copy(update={"people": 3, "per_person": 8, "sessions": 4,
                                                          "duration_s": 3.0, "snr_db": (12.0, 18.0)})
    return simulate_dataset(cfg, (64, 64), workers=1, progress=False).dataset


def test_the_bank_holds_unit_mean_bands_of_the_datas_own_floor(recordings):
    bank = NoiseBank.from_data(recordings.x, 40.0)
    assert bank.bands and all(len(b) >= 8 and b.mean() == pytest.approx(1.0, rel=1e-5) for b in bank.bands)
    fields = bank.draw(5, torch.Generator().manual_seed(0))
    assert fields.shape == (5, 64, 64) and fields.mean() == pytest.approx(1.0, rel=0.05)

    # neighbouring time bins correlate as the bands do: the STFT's overlap is in the drawn noise
    def corr(a: np.ndarray) -> float:
        return float(np.corrcoef(a[..., :-1].ravel(), a[..., 1:].ravel())[0, 1])

    assert corr(fields) == pytest.approx(np.mean([corr(b) for b in bank.bands]), abs=0.05)
    assert corr(fields) > 0.1  # the simulator's window overlaps its hop: white noise would give 0


def test_a_clipped_floor_lends_no_texture_and_then_the_noise_is_white(recordings):
    x = np.full((4, 1, 64, 64), -1.0, dtype=np.float32)
    x[:, 0, 40] = 1.0  # a torso line over a floor the display clips entirely
    bank = NoiseBank.from_data(x, 40.0)
    assert bank.bands == []
    fields = bank.draw(200, torch.Generator().manual_seed(0))
    assert fields.mean() == pytest.approx(1.0, rel=0.02) and fields.std() == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("drop", [5.0, 10.0, 15.0])
def test_the_snr_falls_by_the_dose_asked(recordings, drop):
    ds = recordings
    bank = NoiseBank.from_data(ds.x, 40.0)
    ax = axes_of(ds.x.shape, ds.info)
    before, bounded = est.snr(est.power(ds.x, 40.0), ax, 40.0)
    y = lower_snr(torch.from_numpy(ds.x), torch.full((len(ds.x),), drop), bank, 40.0,
                  torch.Generator().manual_seed(1)).numpy()
    after, _ = est.snr(est.power(y, 40.0), ax, 40.0)
    assert np.median((before - after)[~bounded]) == pytest.approx(drop, abs=1.0)
    assert y.min() >= -1 and y.max() == pytest.approx(1.0)  # the display's scale, from the new peak


def test_no_dose_changes_nothing_and_the_augmentation_needs_the_bank(recordings):
    x = torch.from_numpy(recordings.x[:4])
    bank = NoiseBank.from_data(recordings.x, 40.0)
    assert torch.equal(lower_snr(x, torch.zeros(4), bank, 40.0), x)
    out = lower_snr(x, torch.tensor([0.0, 10.0, 0.0, 10.0]), bank, 40.0, torch.Generator().manual_seed(0))
    assert torch.equal(out[0], x[0]) and not torch.equal(out[1], x[1])
    with pytest.raises(ValueError, match="noise bank"):
        ClassicalAugment(ClassicalAugmentConfig(snr_drop_db=10.0))
    # in the classical augmentation only snr_drop_p of a batch is lowered, each by up to snr_drop_db
    cfg = ClassicalAugmentConfig(snr_drop_db=10.0, snr_drop_p=0.5, time_shift=0, time_mask=0, doppler_mask=0,
                                 floor_raise=0, gain=0, blur_max=0, mixup=0, doppler_mirror=0)
    xs = torch.from_numpy(recordings.x)
    out = ClassicalAugment(cfg, torch.Generator().manual_seed(3), noise=bank)(xs, torch.from_numpy(recordings.labels))
    changed = (out != xs).flatten(1).any(1).float().mean()
    assert 0.25 < changed < 0.75
