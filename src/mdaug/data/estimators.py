"""Conditions of a recording read off its spectrogram: the torso's radial speed and walking direction (the torso
line), the gait cycle (the period of the limbs' excursions beyond the torso) and the SNR (the noise floor against
the body's power). Written here because no library reads micro-Doppler; each is a few array lines, vectorised over
spectrograms x (n, channels, doppler, time) in [-1, 1] on a display of `dynamic_range_db` below each one's peak.

Their errors against the simulator's truth, on every radar preset of the corpus, are in benchmarks/README.md
(conditions.py). What a monostatic radar cannot see is not estimated: the walking speed and the aspect angle only
show as their product (the radial speed), the range only through the SNR of a peak-normalised display."""

from __future__ import annotations

import numpy as np
from scipy.special import gammaincinv

from mdaug.data.axes import Axes

NOISE_ROWS = 0.25
"""Share of the rows, the quietest, whose typical power is the noise floor's (the body fills fewer)."""
NOISE_ROW_RATIO = 1.3
"""A row is noise only when its ROW_QUANTILE power is at most this times that of the quietest rows (it varies by a
few per cent from row to row of noise; a row the body reaches is several times higher)."""
ROW_QUANTILE = 0.9
"""The quantile over time that ranks the rows."""
STEP_S = (0.28, 0.8)
"""Range of a walking step's duration (half a gait cycle) the cycle estimate looks in, seconds."""
HALF_LAG = 0.5
"""A peak of the autocorrelation at half the highest one's lag is the step (the highest being the stride) when it
is at least this share of it."""
BOUND_CLIPPED = 0.9
"""Where the display clips this share of the floor or more, the SNR is only bounded (from below): the bins that show
are then mostly a limb's, not the noise's (on simulated walkers the estimate holds within 1 dB up to this share)."""
STATIC_CV = 0.1
"""A zero-Doppler line whose power varies over time by less than this share of its mean is static clutter (a
walker's torso swings by several dB over a gait cycle)."""
TRIM = 0.1
"""Share of the time columns dropped at each end before the torso line is averaged (columns where a limb or the
noise outshines the torso)."""


def power(x: np.ndarray, dynamic_range_db: float) -> np.ndarray:
    """(n, doppler, time) linear power relative to each spectrogram's peak (channels averaged); the clipped floor
    (-1) is the display's lowest power, 10^(-dynamic_range_db / 10)."""
    x = np.asarray(x, dtype=np.float64)
    x = x.mean(1) if x.ndim == 4 else x
    return 10.0 ** (((x + 1.0) / 2.0 * dynamic_range_db - dynamic_range_db) / 10.0)


def torso_rows(p: np.ndarray, zero_row: float | None = None) -> np.ndarray:
    """(n, time) fractional row of the torso line: each column's strongest bin (the torso has the largest RCS),
    refined by a parabola through the log power of it and its two neighbours. With `zero_row`, a spectrogram whose
    strongest bins sit at zero Doppler in most columns with a steady power (static clutter no MTI removed, not a
    walker) is read again without the rows within one row of zero Doppler."""
    n, d, t = p.shape
    k = p.argmax(1)
    if zero_row is not None:
        near = np.abs(np.arange(d) - zero_row) < 1.0  # (d,)
        at_zero = near[k].mean(1) > 0.5
        steady = p[:, near].max(1).std(1) < STATIC_CV * p[:, near].max(1).mean(1)
        clutter = at_zero & steady
        if clutter.any():
            p = p.copy()
            p[np.ix_(np.flatnonzero(clutter), np.flatnonzero(near))] = 0.0
            k = p.argmax(1)
    k = np.clip(k, 1, d - 2)
    lp = np.log(np.maximum(p, 1e-30))
    a, b, c = (np.take_along_axis(lp, (k + o)[:, None, :], 1)[:, 0] for o in (-1, 0, 1))
    den = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.where(np.abs(den) > 1e-12, 0.5 * (a - c) / den, 0.0)
    return k + np.clip(off, -0.5, 0.5)


def _trimmed_mean(v: np.ndarray, trim: float = TRIM) -> np.ndarray:
    """Mean of each row of v (n, m) after dropping `trim` of its values at each end."""
    s = np.sort(v, 1)
    cut = int(np.floor(trim * v.shape[1]))
    return s[:, cut:v.shape[1] - cut].mean(1)


def torso_doppler(p: np.ndarray, axes: Axes) -> np.ndarray:
    """(n,) the torso's mean Doppler over the recording: in Hz when the Doppler axis is known, else in rows from
    the zero-Doppler row (positive: towards the radar)."""
    rows = _trimmed_mean(torso_rows(p, axes.zero_row))
    hz = axes.row_hz()
    if hz is None:
        return rows - axes.zero_row
    return hz[0] + rows * (hz[1] - hz[0])


def radial_speed(p: np.ndarray, axes: Axes) -> tuple[np.ndarray, str]:
    """(n,) the torso's mean radial speed (positive: towards the radar) and its unit: m/s when the carrier and the
    Doppler axis are known (v = f lambda / 2), else Hz, else Doppler rows."""
    f = torso_doppler(p, axes)
    if axes.wavelength_m is not None and axes.row_hz() is not None:
        return f * axes.wavelength_m / 2.0, "m/s"
    return f, "Hz" if axes.row_hz() is not None else "rows"


def gait_cycle(p: np.ndarray, axes: Axes) -> tuple[np.ndarray, str]:
    """(n,) the gait cycle (two steps), in seconds when the time axis is known, else in columns (assuming the
    recording shows 1.5 to 8 cycles); NaN when no period is found. The limbs beyond the torso line (rows more
    than 1.5 rows further from zero Doppler than it) return in bursts, one per step; the step is the lag of the
    highest autocorrelation of their log power within STEP_S (refined by a parabola), the cycle twice that."""
    n, d, t = p.shape
    dt = axes.seconds_per_col
    # without a time axis: a recording of 1.5 to 8 gait cycles (3 to 16 steps)
    lo, hi = (max(2, t // 16), t // 3) if dt is None else (max(2, int(np.floor(STEP_S[0] / dt))),
                                                          int(np.ceil(STEP_S[1] / dt)))
    hi = min(hi, t - 2)
    torso = np.median(torso_rows(p, axes.zero_row), 1)
    out = np.full(n, np.nan)
    rows = np.arange(d)[:, None]
    for i in range(n):
        side = 1.0 if torso[i] >= axes.zero_row else -1.0
        beyond = ((rows - torso[i]) * side > 1.5) & np.ones((1, t), dtype=bool)
        s = np.log10(np.where(beyond, p[i], 0.0).sum(0) + 1e-30)
        s = s - s.mean()
        acf = np.correlate(s, s, "full")[t - 1:] / np.arange(t, 0, -1)  # unbiased: every lag weighs alike
        if hi <= lo or not np.isfinite(acf).all() or acf[0] <= 0:
            continue
        lag = lo + int(np.argmax(acf[lo:hi + 1]))
        half = lag // 2 - 1 + int(np.argmax(acf[lag // 2 - 1:lag // 2 + 2])) if lag >= 6 else 0
        if half >= 2 and acf[half] >= HALF_LAG * acf[lag] and acf[half] >= acf[half - 1]:
            lag = half  # the highest peak was the stride (two steps, alike when the gait is a little asymmetric)
        a, b, c = acf[lag - 1], acf[lag], acf[lag + 1]
        den = a - 2 * b + c
        step = lag + (float(np.clip(0.5 * (a - c) / den, -0.5, 0.5)) if abs(den) > 1e-12 else 0.0)
        out[i] = 2 * step
    return (out, "columns") if dt is None else (out * dt, "s")


def noise_rows(p: np.ndarray, share: float = NOISE_ROWS) -> np.ndarray:
    """(n, rows, time) each spectrogram's noise-only rows: those whose ROW_QUANTILE power over time is at most
    NOISE_ROW_RATIO times the typical one of its quietest `share` of rows. Taking every such row, not only the
    quietest ones, keeps the level unbiased (the quietest rows are quiet partly by chance); the count varies, so
    absent rows are NaN. A high quantile, not the mean or the median, ranks the rows: a limb that crosses a row in a
    few columns lifts it (where the display clips the floor those few bins would pass for noise), and where most of
    the floor is clipped the rows of the lowest mean are those whose noise happens to be clipped most."""
    high = np.quantile(p, ROW_QUANTILE, axis=2)  # (n, rows)
    k = max(1, int(round(share * p.shape[1])))
    ref = np.median(np.sort(high, 1)[:, :k], 1)
    keep = high <= NOISE_ROW_RATIO * ref[:, None]
    return np.where(keep[:, :, None], p, np.nan)


def _gamma_shape(ratio: np.ndarray) -> np.ndarray:
    """The gamma shape K whose 75th over 25th percentile is `ratio` (bisection in log K over [0.5, 1e4]; the ratio
    falls monotonically with K, to 1 for a constant)."""
    lo, hi = np.full(ratio.shape, np.log(0.5)), np.full(ratio.shape, np.log(1e4))
    for _ in range(40):
        mid = (lo + hi) / 2
        k = np.exp(mid)
        wider = gammaincinv(k, 0.75) / gammaincinv(k, 0.25) > ratio  # K too small
        lo, hi = np.where(wider, mid, lo), np.where(wider, hi, mid)
    return np.exp((lo + hi) / 2)


def noise_shape(p: np.ndarray, floor: float) -> float:
    """The shape K of the floor's power distribution (a gamma of mean N and variance N^2 / K: an exponential
    averaged over K independent bins by the STFT's overlap and the resize), from the quartiles of the noise rows of
    the spectrograms whose floor the display does not clip (robust to the few bright bins of a limb), their median;
    1 (an exponential) when every floor is clipped."""
    rows = noise_rows(p)
    ok = rows[_clipped_share(rows, floor) < 0.01]
    if not len(ok):
        return 1.0
    q25, q75 = np.nanquantile(ok.reshape(len(ok), -1), [0.25, 0.75], axis=1)
    return float(np.median(_gamma_shape(q75 / np.maximum(q25, 1e-300))))


def _clipped_share(rows: np.ndarray, floor: float) -> np.ndarray:
    """(n,) share of the noise rows' bins (NaN: not a noise row) at the display's floor."""
    with np.errstate(invalid="ignore"):
        at = np.where(np.isnan(rows), np.nan, rows <= floor * (1 + 1e-6))
    return np.nanmean(at, (1, 2))


def _floor(p: np.ndarray, dynamic_range_db: float, shape: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(noise level, share of the noise rows' bins the display clips) per spectrogram (see noise_level)."""
    floor = 10.0 ** (-dynamic_range_db / 10.0)
    rows = noise_rows(p)
    k = noise_shape(p, floor) if shape is None else shape
    clipped = _clipped_share(rows, floor)
    level = np.nanmedian(rows.reshape(len(p), -1), 1) * k / gammaincinv(k, 0.5)
    deep = clipped >= 0.5
    if deep.any():  # past BOUND_CLIPPED the few bins that show are the body's more than the noise's: a bound only
        level[deep] = floor * k / gammaincinv(k, np.minimum(clipped[deep], BOUND_CLIPPED))
    return level, clipped


def noise_level(p: np.ndarray, dynamic_range_db: float, shape: float | None = None) -> np.ndarray:
    """(n,) the noise power per bin N, relative to each peak, on the gamma model of the floor (noise_shape): from
    the median of the noise rows' bins (robust to a limb's few bright bins), or, where the display clips half of
    them or more, from the share it clips (an upper bound when it clips all: see snr). `shape`: the floor's K when
    known (a property of the data: its STFT and resize), else read off these spectrograms."""
    return _floor(p, dynamic_range_db, shape)[0]


def floor_clipped(p: np.ndarray, dynamic_range_db: float) -> np.ndarray:
    """(n,) True where the display clips at least BOUND_CLIPPED of the noise rows' bins: the floor lies (nearly)
    below its range, and noise_level is an upper bound of it."""
    return _clipped_share(noise_rows(p), 10.0 ** (-dynamic_range_db / 10.0)) >= BOUND_CLIPPED


def snr(p: np.ndarray, axes: Axes, dynamic_range_db: float, *, shape: float | None = None
        ) -> tuple[np.ndarray, np.ndarray]:
    """(n,) SNR in dB of the body's return over the receiver noise across the radar's band, and (n,) True where it
    is only a lower bound (floor_clipped).

    The body's power is what the rows hold above the noise (noise_level); over the whole band (the PRF, of which
    the rows show axes.band_fraction: 1 when unknown), the SNR is band_fraction x mean(P - N) / N."""
    level, clipped = _floor(p, dynamic_range_db, shape)
    band = axes.band_fraction or 1.0
    body = np.maximum(p.mean((1, 2)) - level, 1e-30)
    return 10.0 * np.log10(band * body / level), clipped >= BOUND_CLIPPED


__all__ = ["BOUND_CLIPPED", "NOISE_ROW_RATIO", "NOISE_ROWS", "STEP_S", "floor_clipped", "gait_cycle", "noise_level",
           "noise_rows", "noise_shape", "power", "radial_speed", "snr", "torso_doppler", "torso_rows"]
