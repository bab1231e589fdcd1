"""The noise floor of spectrograms, measured and given back to decoded ones.

The floor of a spectrogram is its bins at or below the `quantile` of its values (body returns fill a minority of
the time-Doppler plane): the speckle that real recordings have between the body's returns. Its level and spread are
in dB below the peak; its spatial correlation is the Pearson correlation of neighbouring floor bins, along time and
along Doppler (a smoothed floor correlates more).

A stage-1 decoder outputs about the expected spectrogram: the speckle, which cannot be compressed (benchmarks/
README.md: it limits PSNR at every latent size), comes out smoothed. Recognisers see that speckle in every
recording, so a recogniser trained on smooth samples meets an unfamiliar texture in real data (benchmarks/README.md,
the noise floor's texture). The texture is a property of the radar and the display, not of the walker, so it is
fitted once per stage-1 model on its own training data and added to what the decoder makes.

The model: white Gaussian noise of `sigma_db` in the display's dB, clipped to the display range as recordings are.
`sigma_db` is the value whose restored reconstructions of training spectrograms have the floor statistics (level,
spread, neighbour correlations) nearest those of the real ones. Written here because no library models a
spectrogram display's floor; it is a few array lines."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict

from mdaug.inference import reconstruct


def _neighbour_correlation(v: np.ndarray, floor: np.ndarray, axis: int) -> float:
    """Correlation of values of horizontally (axis -1) or vertically (axis -2) adjacent floor bins."""
    a = [np.take(v, np.arange(v.shape[axis] - 1), axis=axis), np.take(v, np.arange(1, v.shape[axis]), axis=axis)]
    m = np.take(floor, np.arange(v.shape[axis] - 1), axis=axis) & np.take(floor, np.arange(1, v.shape[axis]), axis=axis)
    x, y = a[0][m], a[1][m]
    if x.size < 3 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def noise_floor(x: np.ndarray, dynamic_range_db: float, *, quantile: float = 0.4) -> dict[str, float]:
    """Floor statistics of spectrograms x (n, 1, doppler, time) in [-1, 1], averaged over the spectrograms:
    'level_db' (mean of the floor, dB below the peak), 'spread_db' (its standard deviation), 'correlation_time' and
    'correlation_doppler' (of neighbouring floor bins)."""
    db = (np.asarray(x, dtype=np.float64)[:, 0] + 1.0) / 2.0 * dynamic_range_db - dynamic_range_db
    rows = []
    for v in db:
        floor = v <= np.quantile(v, quantile)
        rows.append((v[floor].mean(), v[floor].std(), _neighbour_correlation(v, floor, -1),
                     _neighbour_correlation(v, floor, -2)))
    with warnings.catch_warnings():  # a floor without neighbours (or without spread) has no correlation: nan
        warnings.simplefilter("ignore", RuntimeWarning)
        level, spread, ct, cd = np.nanmean(np.array(rows, dtype=np.float64), axis=0)
    return {"level_db": float(level), "spread_db": float(spread), "correlation_time": float(ct),
            "correlation_doppler": float(cd)}



SIGMA_GRID_DB = tuple(float(s) for s in np.round(np.arange(0.0, 4.01, 0.25), 2))
"""Candidate noise levels (dB std); 0 means the decoder already keeps the floor's texture."""
FIT_SAMPLES = 256
"""Training spectrograms (and their reconstructions) the fit looks at."""
_SCALES = {"level_db": 1.0, "spread_db": 0.25, "correlation_time": 0.1, "correlation_doppler": 0.1}
"""What counts as one unit of mismatch per statistic (dB for level and spread, correlation for the others)."""


class FloorTexture(BaseModel):
    """A stage-1 model's noise-floor texture (in its card): the noise its decoded spectrograms get back, and the
    statistics it was fitted on."""

    model_config = ConfigDict(extra="forbid")

    sigma_db: float
    """Std of the noise added to decoded spectrograms, in dB of the display (0: none)."""
    samples: int
    """Training spectrograms the fit used."""
    real: dict[str, float]
    decoded: dict[str, float]
    restored: dict[str, float]
    """noise_floor of the real spectrograms, their reconstructions, and the reconstructions with
    the fitted noise."""

    def sigma_units(self, dynamic_range_db: float) -> float:
        """sigma_db in the model's [-1, 1] units (the display's full range is 2 units)."""
        return 2.0 * self.sigma_db / dynamic_range_db


def add_floor_noise(x: np.ndarray, sigma_units: float, rng: np.random.Generator) -> np.ndarray:
    """x (n, channels, doppler, time) in [-1, 1] plus white noise of `sigma_units`, clipped to [-1, 1]."""
    if sigma_units <= 0:
        return x
    return np.clip(x + rng.normal(0.0, sigma_units, x.shape), -1.0, 1.0).astype(x.dtype, copy=False)


def restore_floor(x: torch.Tensor, sigma_units: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """The torch version for decoded batches: x plus white noise of `sigma_units`, clipped to [-1, 1]."""
    if sigma_units <= 0:
        return x
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return (x + sigma_units * noise).clamp(-1, 1)


def _mismatch(a: dict[str, float], b: dict[str, float]) -> float:
    return float(sum(abs(np.nan_to_num(a[k] - b[k], nan=1.0)) / s for k, s in _SCALES.items()))


def fit_floor_texture(real: np.ndarray, decoded: np.ndarray, dynamic_range_db: float, *, seed: int = 0,
                      grid_db: tuple[float, ...] = SIGMA_GRID_DB) -> FloorTexture:
    """The noise level (from `grid_db`) whose restored `decoded` spectrograms have the floor statistics nearest those
    of `real` (the same spectrograms before stage 1; (n, channels, doppler, time) in [-1, 1])."""
    if real.shape != decoded.shape or len(real) == 0:
        raise ValueError(f"real {real.shape} and decoded {decoded.shape} must be the same non-empty shape")
    target, plain = noise_floor(real, dynamic_range_db), noise_floor(decoded, dynamic_range_db)
    best = None
    for s in grid_db:  # each candidate sees the same noise draw, so the choice depends on the level only
        restored = add_floor_noise(decoded, 2.0 * s / dynamic_range_db, np.random.default_rng(seed))
        stats = noise_floor(restored, dynamic_range_db)
        score = _mismatch(stats, target)
        if best is None or score < best[0] - 1e-9:
            best = (score, s, stats)
    _, sigma, restored_stats = best
    return FloorTexture(sigma_db=sigma, samples=len(real), real=target, decoded=plain, restored=restored_stats)


@torch.no_grad()
def fit_model_texture(model: torch.nn.Module, x: np.ndarray, train: np.ndarray, dynamic_range_db: float, *,
                      seed: int = 0, device: torch.device | str = "cpu", batch_size: int = 64) -> FloorTexture:
    """The texture of a stage-1 `model`: fitted on its reconstructions (posterior mode) of FIT_SAMPLES training
    spectrograms x[train] (drawn with `seed`; never validation or test ones)."""
    rows = np.sort(np.random.default_rng(seed).permutation(np.asarray(train))[:FIT_SAMPLES])
    real = x[rows]
    decoded = reconstruct(model, real, batch_size=batch_size, device=device)
    return fit_floor_texture(real, decoded, dynamic_range_db, seed=seed)


__all__ = ["FIT_SAMPLES", "FloorTexture", "SIGMA_GRID_DB", "add_floor_noise", "fit_floor_texture",
           "fit_model_texture", "noise_floor", "restore_floor"]
