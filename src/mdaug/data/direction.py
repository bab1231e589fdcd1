"""Which way a walker goes in a spectrogram: towards the radar (positive Doppler) or away from it. A class recorded
walking one way only is not recognised walking the other way (on the built-in set at 10 recordings per person, a
recogniser named none of the test spectrograms of such people correctly); for direction-free labels the Doppler
mirror supplies the other way (data.direction_free). The same reading of the torso line as the direction condition
of mdaug.data.conditions."""

from __future__ import annotations

import numpy as np

from mdaug.data.estimators import power, torso_rows


def walking_direction(x: np.ndarray, zero_row: float) -> np.ndarray:
    """+1 (towards the radar) or -1 (away) per spectrogram x (n, channels, doppler, time) in [-1, 1]: the side of
    the zero-Doppler row its torso line lies on (estimators.torso_rows: the strongest bin of each column)."""
    torso = torso_rows(power(x, 40.0), zero_row).mean(1)  # the dB range does not move the strongest bin
    return np.where(torso >= zero_row, 1, -1)


__all__ = ["walking_direction"]
