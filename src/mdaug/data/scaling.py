"""Values -> canonical dB scale in [-1, 1]: 0 dB (the sample's maximum) maps to +1, -dynamic range to -1."""

from __future__ import annotations

from typing import Literal

import numpy as np

from mdaug.errors import MdaugError

Scale = Literal["linear", "power", "db", "unit", "normalized"]


def guess_scale(a: np.ndarray) -> Scale:
    """The scale `auto` resolves to: complex or non-negative -> linear magnitude; negatives -> dB,
    unless everything lies in [-1, 1], which is read as already normalised."""
    if np.iscomplexobj(a):
        return "linear"
    lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
    if lo < 0:
        return "normalized" if lo >= -1.0 and hi <= 1.0 else "db"
    return "linear"


def to_db(a: np.ndarray, scale: Scale) -> np.ndarray:
    """dB relative to the maximum of the last two axes (each sample's maximum is 0 dB)."""
    if scale in ("linear", "power"):
        if not np.iscomplexobj(a) and np.nanmin(a) < 0:
            raise MdaugError(f"data.scale={scale} but the values go negative; use data.scale=db or normalized")
        mag = np.abs(a).astype(np.float64)
        peak = mag.max(axis=(-2, -1), keepdims=True)
        if np.any(peak <= 0):
            raise MdaugError("a spectrogram is all zeros; it has no dB scale")
        factor = 10.0 if scale == "power" else 20.0
        with np.errstate(divide="ignore"):
            return factor * np.log10(mag / peak)
    if scale == "db":
        a = np.asarray(a, dtype=np.float64)
        return a - a.max(axis=(-2, -1), keepdims=True)
    raise ValueError(f"to_db does not handle scale {scale!r}")


def normalise(a: np.ndarray, scale: Scale, dynamic_range_db: float = 40.0) -> np.ndarray:
    """Map raw values to float32 in [-1, 1].

    linear/power/db: dB relative to the per-sample maximum, clipped at -dynamic_range_db, then linear to
    [-1, 1]. unit: [0, 1] display values -> [-1, 1]. normalized: checked to lie in [-1, 1].
    """
    if scale == "unit":
        lo, hi = float(np.min(a)), float(np.max(a))
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise MdaugError(f"data.scale=unit needs values in [0, 1], found [{lo:.3g}, {hi:.3g}]")
        return (np.clip(a, 0, 1) * 2 - 1).astype(np.float32)
    if scale == "normalized":
        lo, hi = float(np.min(a)), float(np.max(a))
        if lo < -1 - 1e-3 or hi > 1 + 1e-3:
            raise MdaugError(f"data.scale=normalized needs values in [-1, 1], found [{lo:.3g}, {hi:.3g}]")
        return np.clip(a, -1, 1).astype(np.float32)
    db = np.clip(to_db(a, scale), -dynamic_range_db, 0.0)
    return (db / dynamic_range_db * 2.0 + 1.0).astype(np.float32)


def denormalise_db(x: np.ndarray, dynamic_range_db: float = 40.0) -> np.ndarray:
    """Canonical [-1, 1] back to dB relative to the sample maximum (in [-dynamic_range_db, 0])."""
    return (np.asarray(x, dtype=np.float64) - 1.0) / 2.0 * dynamic_range_db
