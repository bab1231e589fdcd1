"""A lower SNR, as physics makes it: receiver noise added in linear power, with the texture the data's own STFT gives
its noise floor, and the display's peak-relative dB scale applied again.

A recording at a lower SNR (a weaker echo, a longer range, a noisier receiver) is the same signal with more noise:
the spectrogram's power is |S + N|^2, whose expectation is |S|^2 + |N|^2. The added noise power is drawn from a
bank of the data's own noise: the rows of training spectrograms that hold nothing but the floor (a contiguous band
at an edge of the Doppler axis, where no body part reaches), scaled to a mean of one. It therefore has the
distribution and the correlation between neighbouring bins that the data's STFT window, hop and resizing give it,
whatever they were, with no parameter to fit. (The cross term 2 Re(S N*) of the bins the body fills is left out: it
adds no power on average.)

Where a spectrogram's floor lies below the display's range (clipped), its noise level is known only as an upper
bound, and the SNR is lowered by at least the amount drawn. Written here because no library models a spectrogram
display's noise; it is a few array lines."""

from __future__ import annotations

import numpy as np
import torch

from mdaug.data import estimators as est

MIN_BAND = 8
"""The fewest consecutive noise-only rows a spectrogram must have at an edge of its Doppler axis to lend its band to
the bank."""
BANK_SIZE = 512
"""Bands kept in the bank (drawn at random from the training spectrograms that have one)."""


class NoiseBank:
    """Bands of noise-only rows (each (rows, time) of mean power 1) from which unit-mean noise fields of the
    spectrograms' shape are stacked."""

    def __init__(self, bands: list[np.ndarray], rows: int, cols: int, shape: float = 1.0) -> None:
        """`shape`: the gamma shape K of the data's floor (estimators.noise_shape), for its noise level."""
        self.bands, self.rows, self.cols, self.shape = bands, rows, cols, shape

    @classmethod
    def from_data(cls, x: np.ndarray, dynamic_range_db: float, *, seed: int = 0) -> NoiseBank:
        """The bank of spectrograms x (n, channels, doppler, time) in [-1, 1]: from each whose floor the display
        does not clip, the longer of its two edge bands of noise-only rows (at least MIN_BAND rows). When none has
        one, independent bins of an exponential (the power of white noise through one FFT bin)."""
        n, _, d, t = x.shape
        if n == 0:
            return cls([], d, t)
        # a sample of the data is enough (and keeps the memory small for large sets): 4 spectrograms per band kept
        order = np.random.default_rng(seed).permutation(n)[:4 * BANK_SIZE]
        p = est.power(x[np.sort(order)], dynamic_range_db)
        order = np.argsort(np.argsort(order))  # the drawn order, as positions in p
        clip = 10.0 ** (-dynamic_range_db / 10.0)
        shape = est.noise_shape(p, clip)
        level = est.noise_level(p, dynamic_range_db, shape)
        noisy = p.mean(2) <= est.NOISE_ROW_RATIO * level[:, None]  # (n, doppler)
        bands = []
        for i in order:
            low, high = _run(noisy[i]), _run(noisy[i][::-1])
            size = max(low, high)
            if size < MIN_BAND:
                continue
            band = p[i, :size] if low >= high else p[i, d - size:]
            if (band <= clip * (1 + 1e-6)).mean() > 0.01:
                continue  # a clipped floor shows no texture
            bands.append((band / band.mean()).astype(np.float32))
            if len(bands) >= BANK_SIZE:
                break
        return cls(bands, d, t, shape)

    def draw(self, n: int, generator: torch.Generator | None = None) -> np.ndarray:
        """(n, rows, cols) unit-mean noise power fields: bands stacked from the bottom up (each at a random time
        shift and, at random, upside down: the floor's statistics do not depend on the sign of the Doppler), cut
        to the rows."""
        if not self.bands:  # no texture to copy: white noise through one FFT bin has an exponential power
            u = torch.rand(n, self.rows, self.cols, generator=generator, dtype=torch.float64).numpy()
            return -np.log1p(-u)
        per = -(-self.rows // min(len(b) for b in self.bands))  # enough bands to fill the rows
        pick = torch.randint(len(self.bands), (n, per), generator=generator).numpy()
        shift = torch.randint(self.cols, (n, per), generator=generator).numpy()
        flip = (torch.rand(n, per, generator=generator) < 0.5).numpy()
        out = np.empty((n, self.rows, self.cols), dtype=np.float64)
        for i in range(n):
            filled, j = 0, 0
            while filled < self.rows:
                band = np.roll(self.bands[pick[i, j]], shift[i, j], axis=1)
                band = band[::-1] if flip[i, j] else band
                take = min(len(band), self.rows - filled)
                out[i, filled:filled + take] = band[:take]
                filled, j = filled + take, j + 1
        return out


def _run(mask: np.ndarray) -> int:
    """Length of the run of True at the start of `mask`."""
    return int(np.argmin(mask)) if not mask.all() else len(mask)


def lower_snr(x: torch.Tensor, drop_db: torch.Tensor, bank: NoiseBank, dynamic_range_db: float,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """x (n, channels, doppler, time) in [-1, 1] with the SNR of sample i lowered by drop_db[i] dB (0: unchanged):
    its noise level N (estimators.noise_level) raised to N 10^(drop / 10) by noise power from `bank`, then every
    spectrogram scaled to its new peak and clipped to the display's range again."""
    drop = drop_db.detach().cpu().double().numpy()
    on = np.flatnonzero(drop > 0)
    if not len(on):
        return x
    xs = x.detach().cpu().numpy()[on].astype(np.float64)
    p = est.power(xs, dynamic_range_db)  # (m, doppler, time), channels averaged
    level = est.noise_level(p, dynamic_range_db, bank.shape)  # K of the data, not of this batch
    added = (level * (10.0 ** (drop[on] / 10.0) - 1.0))[:, None, None] * bank.draw(len(on), generator)
    db = (xs + 1.0) / 2.0 * dynamic_range_db - dynamic_range_db + (10.0 * np.log10(1.0 + added / p))[:, None]
    db -= db.max(axis=(-2, -1), keepdims=True)  # the display's 0 dB is the new peak
    out = x.detach().cpu().clone()
    out[on] = torch.from_numpy((np.maximum(db, -dynamic_range_db) / dynamic_range_db * 2.0 + 1.0).astype(np.float32)
                               ).to(out.dtype)
    return out.to(x.device)


__all__ = ["BANK_SIZE", "MIN_BAND", "NoiseBank", "lower_snr"]
