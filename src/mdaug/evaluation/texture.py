"""The noise floor of spectrograms: the speckle that real recordings have between the body's returns and that a
decoder tends to smooth away (recognisers see it; a sample without it is out of their world).

The floor of a spectrogram is its bins at or below the `quantile` of its values (body returns fill a minority of
the time-Doppler plane). Its level and spread are in dB below the peak; its spatial correlation is the Pearson
correlation of neighbouring floor bins, along time and along Doppler (a smoothed floor correlates more)."""

from __future__ import annotations

import numpy as np


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
    level, spread, ct, cd = np.nanmean(np.array(rows, dtype=np.float64), axis=0)
    return {"level_db": float(level), "spread_db": float(spread), "correlation_time": float(ct),
            "correlation_doppler": float(cd)}


__all__ = ["noise_floor"]
