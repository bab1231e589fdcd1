"""Which way a walker goes in a spectrogram: towards the radar (positive Doppler) or away from it. A class recorded
walking one way only is not recognised walking the other way (on the built-in set at 10 recordings per person, a
recogniser named none of the test spectrograms of such people correctly); for direction-free labels the Doppler
mirror supplies the other way (data.direction_free). Written here: it is one weighted mean per spectrogram."""

from __future__ import annotations

import numpy as np


def walking_direction(x: np.ndarray, zero_row: float) -> np.ndarray:
    """+1 (towards the radar) or -1 (away) per spectrogram x (n, channels, doppler, time) in [-1, 1]: the sign of
    its energy-weighted mean Doppler row relative to the row of zero Doppler (the floor -1 weighs nothing)."""
    w = x.mean(1) + 1.0
    rows = np.arange(x.shape[2]) - zero_row
    centroid = (w.sum(2) * rows).sum(1) / np.maximum(w.sum((1, 2)), 1e-9)
    return np.where(centroid >= 0, 1, -1)


__all__ = ["walking_direction"]
