"""The physical axes of a dataset's spectrograms: the Doppler (Hz) of every row, the time (s) of every column, and
the radar's carrier and pulse rate, where the data says them (the simulator records them; for your data,
data.doppler_hz, data.time_s, data.carrier_hz and data.prf_hz). What is not known stays None, and the estimators
of mdaug.data.estimators then answer in rows and columns instead of Hz, m/s and seconds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mdaug.data.info import DataInfo

SPEED_OF_LIGHT = 299_792_458.0


@dataclass(frozen=True)
class Axes:
    """Axes of spectrograms of `rows` x `cols` bins (Doppler ascending, as the canonical form is)."""

    rows: int
    cols: int
    doppler_hz: tuple[float, float] | None = None
    """Centres of the first and last Doppler bins of the data as read (before any resizing)."""
    native_rows: int | None = None
    """How many Doppler bins the data had before resizing (None: as many as now)."""
    time_s: tuple[float, float] | None = None
    """Centres of the first and last time bins of the data as read."""
    native_cols: int | None = None
    """How many time bins the data had before resizing (None: as many as now)."""
    carrier_hz: float | None = None
    prf_hz: float | None = None

    def row_hz(self) -> np.ndarray | None:
        """Doppler (Hz) at the centre of each of the `rows` rows: the native bins' span (from the first bin's lower
        edge to the last one's upper edge) cut into `rows` equal rows, as an area-weighted resize does."""
        if self.doppler_hz is None:
            return None
        lo, hi = self.doppler_hz
        n0 = self.native_rows or self.rows
        half = (hi - lo) / (n0 - 1) / 2 if n0 > 1 else 0.0
        edges = np.linspace(lo - half, hi + half, self.rows + 1)
        return (edges[:-1] + edges[1:]) / 2

    @property
    def hz_per_row(self) -> float | None:
        hz = self.row_hz()
        return None if hz is None or len(hz) < 2 else float(hz[1] - hz[0])

    @property
    def zero_row(self) -> float:
        """The (fractional) row of zero Doppler; the middle when the axis is unknown or does not span zero."""
        hz = self.row_hz()
        if hz is None or not hz[0] < 0 < hz[-1]:
            return (self.rows - 1) / 2
        return float(-hz[0] / (hz[1] - hz[0]))

    @property
    def seconds_per_col(self) -> float | None:
        """Seconds between the centres of neighbouring columns (the native span cut into `cols`, as row_hz)."""
        if self.time_s is None:
            return None
        n0 = self.native_cols or self.cols
        if n0 < 2:
            return None
        return (self.time_s[1] - self.time_s[0]) / (n0 - 1) * n0 / self.cols

    @property
    def wavelength_m(self) -> float | None:
        return None if self.carrier_hz is None else SPEED_OF_LIGHT / self.carrier_hz

    @property
    def band_fraction(self) -> float | None:
        """Share of the radar's whole Doppler band (the PRF) that the rows show: what relates the noise per bin
        to the SNR of the raw signal."""
        hz = self.row_hz()
        if hz is None or self.prf_hz is None:
            return None
        return float(min(1.0, (hz[1] - hz[0]) * self.rows / self.prf_hz))


def _pair(v: Any) -> tuple[float, float] | None:
    if v is None:
        return None
    lo, hi = (float(a) for a in v)
    return (lo, hi)


def axes_of(shape: tuple[int, ...], info: DataInfo, given: Any = None) -> Axes:
    """The axes of spectrograms of `shape` (..., doppler, time): what the dataset's read-time `info` records (the
    simulator's axes), else what `given` (a DataConfig) says."""
    def pick(key: str) -> Any:
        value = getattr(info, key)
        return value if value is not None else getattr(given, key, None)

    carrier, prf = pick("carrier_hz"), pick("prf_hz")
    native_rows, native_cols = info.native_shape() or (None, None)
    return Axes(rows=int(shape[-2]), cols=int(shape[-1]), doppler_hz=_pair(pick("doppler_hz")),
                native_rows=native_rows, time_s=_pair(pick("time_s")), native_cols=native_cols,
                carrier_hz=None if carrier is None else float(carrier), prf_hz=None if prf is None else float(prf))


AXIS_KEYS = ("doppler_hz", "time_s", "carrier_hz", "prf_hz")
"""What a dataset's info (DataInfo) or data.* (DataConfig) may say about its axes and radar: fields of both."""


def with_axes(info: DataInfo, given: Any) -> DataInfo:
    """`info` with the axes `given` (a DataConfig) states where the data itself does not, so that every later stage
    reads them from the dataset alone."""
    stated = {k: list(v) if isinstance(v, tuple) else v for k in AXIS_KEYS
              if getattr(info, k) is None and (v := getattr(given, k, None)) is not None}
    return info.updated(**stated) if stated else info


__all__ = ["AXIS_KEYS", "Axes", "SPEED_OF_LIGHT", "axes_of", "with_axes"]
