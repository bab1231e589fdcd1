"""The classical-augmentation baseline of recognisers (config: ClassicalAugmentConfig): what a generative arm has
to beat. Time roll, a masked time span and Doppler band (SpecAugment, Park et al. 2019), a raised and speckled
noise floor, a gain offset, mild blur and mixup within a class: each keeps the label's meaning. Two are exact
physics: a lower SNR (receiver noise added in linear power, mdaug.data.snr) and the Doppler mirror (the walker going
the other way, for identity labels only). Written here because no library knows spectrogram physics; the pieces are
a few tensor lines."""

from __future__ import annotations

import torch

from mdaug.config.data import ClassicalAugmentConfig
from mdaug.data.snr import NoiseBank, lower_snr
from mdaug.data.transforms import mirror_doppler, random_blur, random_time_shift


def _mask_spans(n: int, size: int, fraction: float, generator: torch.Generator | None) -> torch.Tensor:
    """(n, size) True inside one random span of up to `fraction` of `size` per sample."""
    width = (torch.rand(n, generator=generator) * fraction * size).long()
    start = (torch.rand(n, generator=generator) * (size - width + 1)).long().clamp(max=size - 1)
    pos = torch.arange(size)[None, :]
    return (pos >= start[:, None]) & (pos < (start + width)[:, None])


def mix_within_class(x: torch.Tensor, labels: torch.Tensor, p: float,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Each sample, with probability p, becomes w x_i + (1 - w) x_j for another sample j of its class in the batch
    (w uniform in [0.5, 1], so the sample stays mostly itself); samples alone in their class stay as they are."""
    if p <= 0:
        return x
    n = x.shape[0]
    draw = torch.rand(n, generator=generator) < p
    pick = torch.rand(n, n, generator=generator)
    same = (labels[:, None] == labels[None, :]) & ~torch.eye(n, dtype=torch.bool)
    partner = torch.where(same, pick, torch.full_like(pick, -1.0)).argmax(1)  # a random same-class partner
    ok = draw & same.any(1)
    w = (0.5 + 0.5 * torch.rand(n, generator=generator))[:, None, None, None]
    mixed = w * x + (1 - w) * x[partner]
    return torch.where(ok[:, None, None, None], mixed, x)


class ClassicalAugment:
    """Batch augmentation of spectrograms x (batch, channels, doppler, time) in [-1, 1] with their labels."""

    def __init__(self, cfg: ClassicalAugmentConfig, generator: torch.Generator | None = None, *,
                 zero_row: float | None = None, noise: NoiseBank | None = None,
                 dynamic_range_db: float = 40.0) -> None:
        """`zero_row`: the row of zero Doppler for the mirror (transforms.zero_doppler_row); the middle if None.
        `noise`: the data's noise bank for a lower SNR (needed when cfg.snr_drop_db > 0), on a display of
        `dynamic_range_db`."""
        if cfg.snr_drop_db > 0 and noise is None:
            raise ValueError("classical.snr_drop_db needs the data's noise bank (NoiseBank.from_data)")
        self.cfg, self.g, self.zero_row, self.noise, self.dr = cfg, generator, zero_row, noise, dynamic_range_db

    def __call__(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        c, g = self.cfg, self.g
        n, _, d, t = x.shape
        if c.snr_drop_db > 0:  # first, on the recordings as they were recorded
            drop = torch.rand(n, generator=g, dtype=torch.float64) * c.snr_drop_db
            drop = torch.where(torch.rand(n, generator=g) < c.snr_drop_p, drop, torch.zeros_like(drop))
            x = lower_snr(x, drop, self.noise, self.dr, g)
        x = mix_within_class(x, labels, c.mixup, g)
        if c.doppler_mirror > 0:
            flip = (torch.rand(n, generator=g) < c.doppler_mirror)[:, None, None, None]
            x = torch.where(flip, mirror_doppler(x, self.zero_row), x)
        x = random_time_shift(x, c.time_shift, g)
        if c.floor_raise > 0:  # shares of the display range are twice as many [-1, 1] units
            raise_ = (torch.rand(n, generator=g) * c.floor_raise * 2)[:, None, None, None]
            floor = -1 + raise_ + torch.randn(x.shape, generator=g) * raise_ / 2  # speckle as large as half the raise
            x = torch.maximum(x, floor.clamp(-1, 1))
        if c.gain > 0:
            x = (x + ((torch.rand(n, generator=g) * 2 - 1) * c.gain * 2)[:, None, None, None]).clamp(-1, 1)
        x = random_blur(x, c.blur_max, g)
        masked = torch.zeros(n, 1, d, t, dtype=torch.bool)
        if c.time_mask > 0:
            masked |= _mask_spans(n, t, c.time_mask, g)[:, None, None, :]
        if c.doppler_mask > 0:
            masked |= _mask_spans(n, d, c.doppler_mask, g)[:, None, :, None]
        return torch.where(masked, torch.full_like(x, -1.0), x)


__all__ = ["ClassicalAugment", "mix_within_class"]
