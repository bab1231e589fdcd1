"""Augmentations that respect the physics of a spectrogram: along time, and the Doppler mirror where the label
allows it.

Mirroring the Doppler axis about zero Doppler swaps approaching and receding motion: for an activity label
(approach, retreat) it changes what the label means, so it is never applied by default. For a person's identity
it is the same person walking the other way, which a recogniser trained on a few sessions may never have seen
(`mirror_doppler`; ClassicalAugmentConfig.doppler_mirror, StrategyConfig.mirror). It is not the whole physics:
a receding walker also fades as the range grows, where a mirrored approaching one still brightens. Colour jitter
has no meaning on a dB scale and is not offered. A circular time shift keeps the Doppler content of every time
bin and only moves where the gait cycle starts; a time crop picks a window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from mdaug.config import AugmentConfig

if TYPE_CHECKING:
    from mdaug.data.canonical import SpectrogramSet


def zero_doppler_row(rows: int, doppler_hz: Sequence[float] | None = None) -> float:
    """The (fractional) row of zero Doppler in a spectrogram of `rows` rows whose first and last rows are at
    `doppler_hz` (first, last) Hz, linear in between; the middle when the axis is unknown or does not span zero."""
    if doppler_hz is not None and len(doppler_hz) == 2:
        lo, hi = float(doppler_hz[0]), float(doppler_hz[1])
        if lo < 0 < hi:
            return -lo / (hi - lo) * (rows - 1)
    return (rows - 1) / 2


def zero_row_of(ds: "SpectrogramSet") -> float:
    """The row of zero Doppler of a dataset's spectrograms, from its Doppler axis when it records one (data.doppler_hz
    for yours), as mdaug.data.axes maps it through a resize; the middle otherwise."""
    from mdaug.data.axes import axes_of

    return axes_of(ds.x.shape, ds.info).zero_row


def mirror_doppler(x: torch.Tensor | np.ndarray, zero_row: float | None = None) -> torch.Tensor | np.ndarray:
    """x (..., doppler, time) mirrored about the row `zero_row` (the middle if None): row i takes the value at
    Doppler row 2 * zero_row - i (linear between rows; the floor -1 where that falls outside the axis). Numpy in,
    numpy out."""
    as_numpy = isinstance(x, np.ndarray)
    t = torch.from_numpy(x) if as_numpy else x
    d = t.shape[-2]
    zero_row = zero_doppler_row(d) if zero_row is None else zero_row
    src = 2 * zero_row - torch.arange(d, dtype=torch.float64)
    lo = src.floor().long()
    w = (src - lo).to(t.dtype)
    floor = torch.full_like(t, -1.0)

    def row(i: torch.Tensor) -> torch.Tensor:
        inside = (i >= 0) & (i < d)
        picked = t.index_select(-2, i.clamp(0, d - 1))
        return torch.where(inside[:, None], picked, floor)

    out = row(lo) * (1 - w)[:, None] + row(lo + 1) * w[:, None]
    return out.numpy() if as_numpy else out


def random_time_shift(x: torch.Tensor, max_fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Roll each sample of x (batch, channels, doppler, time) by a random whole number of time bins in
    [-max_fraction * time, +max_fraction * time]."""
    t = x.shape[-1]
    limit = int(round(max_fraction * t))
    if limit == 0:
        return x
    shifts = torch.randint(-limit, limit + 1, (x.shape[0],), generator=generator)
    idx = (torch.arange(t)[None, :] - shifts[:, None]) % t  # (batch, time)
    return torch.gather(x, -1, idx[:, None, None, :].expand_as(x))


def random_time_crop(x: torch.Tensor, width: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random window of `width` time bins from each sample:
    (batch, c, doppler, time) -> (batch, c, doppler, width)."""
    t = x.shape[-1]
    if width > t:
        raise ValueError(f"time crop of {width} bins is wider than the spectrogram ({t})")
    starts = torch.randint(0, t - width + 1, (x.shape[0],), generator=generator)
    idx = starts[:, None] + torch.arange(width)[None, :]
    return torch.gather(x, -1, idx[:, None, None, :].expand(*x.shape[:-1], width))


def random_blur(x: torch.Tensor, sigma_max: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Blur each sample of x (batch, channels, doppler, time) with a Gaussian of its own width, sigma drawn
    uniformly in [0, sigma_max] bins on both axes (reflected edges). For the evaluation recogniser: a
    recogniser that has never seen a smooth spectrogram reads any smooth one as out of distribution (on the
    built-in set a 1-bin blur of real test spectrograms took one from 70% to chance), so it cannot judge
    the identity of generated samples, whose noise floor is smoother than a recording's. Not a library
    call: torchvision's GaussianBlur is not available here, and this one is a per-sample separable conv."""
    if sigma_max <= 0:
        return x
    b, c, h, w = x.shape
    sigma = torch.rand(b, generator=generator) * sigma_max
    radius = int(max(1, round(3 * sigma_max)))
    grid = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (grid[None, :] / sigma.clamp_min(1e-3)[:, None]) ** 2)  # (batch, taps); sigma 0 -> delta
    k = (k / k.sum(1, keepdim=True)).to(x.dtype)
    y = x.reshape(1, b * c, h, w)
    taps = k.repeat_interleave(c, 0)  # one kernel per (sample, channel)
    y = torch.nn.functional.pad(y, (0, 0, radius, radius), mode="reflect")
    y = torch.nn.functional.conv2d(y, taps[:, None, :, None], groups=b * c)
    y = torch.nn.functional.pad(y, (radius, radius, 0, 0), mode="reflect")
    y = torch.nn.functional.conv2d(y, taps[:, None, None, :], groups=b * c)
    return y.reshape(b, c, h, w)


class TimeAugment:
    """Batch augmentation from an AugmentConfig; the identity when nothing is switched on."""

    def __init__(self, cfg: AugmentConfig, generator: torch.Generator | None = None) -> None:
        self.cfg, self.generator = cfg, generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.cfg.time_crop is not None:
            x = random_time_crop(x, self.cfg.time_crop, self.generator)
        if self.cfg.time_shift > 0:
            x = random_time_shift(x, self.cfg.time_shift, self.generator)
        return x


def diff_augment(x: torch.Tensor, generator: torch.Generator | None = None, *, shift: float = 0.125,
                 mask: float = 0.25, gain: float = 0.1) -> torch.Tensor:
    """Differentiable augmentation of what a discriminator sees (DiffAugment, Zhao et al. 2020), drawn per sample
    and applied alike to real and generated spectrograms x (batch, channels, doppler, time) in [-1, 1]: a circular
    time shift of up to `shift` of the width, a time span and a Doppler band of up to `mask` of their axis set to
    the floor (-1), and a gain offset in [-gain, gain]. Every operation keeps the gradient to x."""
    n, _, d, t = x.shape
    limit = int(round(shift * t))
    s = torch.randint(-limit, limit + 1, (n,), generator=generator)
    idx = (torch.arange(t)[None, :] - s[:, None]) % t
    x = torch.gather(x, -1, idx[:, None, None, :].expand_as(x).to(x.device))
    keep = torch.ones(n, 1, d, t)
    for axis, size in ((3, t), (2, d)):
        width = (torch.rand(n, generator=generator) * mask * size).long()
        start = (torch.rand(n, generator=generator) * (size - width + 1)).long().clamp(max=size - 1)
        pos = torch.arange(size)[None, :]
        hit = (pos >= start[:, None]) & (pos < (start + width)[:, None])  # (n, size)
        keep = keep * (~(hit[:, None, None, :] if axis == 3 else hit[:, None, :, None])).float()
    offset = (torch.rand(n, generator=generator) * 2 - 1) * gain
    keep, offset = keep.to(x.device, x.dtype), offset.to(x.device, x.dtype)
    return x * keep - (1 - keep) + offset[:, None, None, None]
