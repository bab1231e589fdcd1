"""One recording: a walker on a path in front of a radar, turned into a spectrogram.

Geometry: the radar stands at the origin, `radar.height_m` above the ground. At the middle of the
recording the walker's pelvis is `range_m` from the radar along +x, walking at `aspect_deg` from the
line towards the radar: 0 = straight towards it (positive Doppler), 180 = straight away, 90 = across.
Range and aspect change during the recording as the walker moves, as they do in a real measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.fft import fft, fftfreq, fftshift
from scipy.interpolate import CubicSpline
from scipy.signal.windows import get_window

from mdaug.simulate.kinematics import Gait, joint_positions, torso_midpoint
from mdaug.simulate.radar import (
    Radar,
    add_noise_and_clutter,
    baseband_return,
    body_segments,
    range_and_amplitude,
    scatterers,
)


@dataclass(frozen=True)
class Recording:
    aspect_deg: float = 0.0
    range_m: float = 8.0
    path: Literal["ground", "treadmill"] = "ground"
    snr_db: float = 20.0  # body return over thermal noise
    clutter_db: float | None = None  # static clutter above the body return; None: none
    mti_cutoff_hz: float | None = None  # MTI high-pass cut-off; None: off
    build: float = 1.0  # scales the segment radii
    phase0: float = 0.0  # gait phase at t = 0


@dataclass(frozen=True)
class Stft:
    window: str = "hamming"
    window_s: float = 0.085  # window length (seconds of slow time)
    hop_s: float = 0.02
    nfft: int = 512
    doppler_span_hz: float | None = 1200.0  # keep |f| <= span; None: the whole PRF


def world_joints(t: np.ndarray, gait: Gait, rec: Recording) -> dict[str, np.ndarray]:
    """Joint positions (T, 3) in the radar's frame."""
    body = joint_positions(t, gait, phase0=rec.phase0, progress=rec.path == "ground")
    a = np.deg2rad(rec.aspect_deg)
    heading = np.array([-np.cos(a), -np.sin(a), 0.0])
    left = np.array([-heading[1], heading[0], 0.0])
    mid_travel = gait.speed * (t[0] + t[-1]) / 2 if rec.path == "ground" else 0.0
    start = np.array([rec.range_m, 0.0, 0.0]) - heading * mid_travel
    frame = np.stack([heading, left, np.array([0.0, 0.0, 1.0])])  # rows: body x, y, z in world
    return {k: start + v @ frame for k, v in body.items()}


KINEMATIC_RATE_HZ = 250.0
"""Body geometry is computed at this rate and spline-interpolated to the PRF: limb motion has no content
above ~20 Hz, and the interpolated ranges stay within 20 micrometres of the exact ones (under 0.02 rad
of phase at 24 GHz; tests/simulate). With the batched STFT below it took a recording from 74 to 17 ms."""


def slow_time_return(gait: Gait, rec: Recording, radar: Radar, duration_s: float, rng: np.random.Generator,
                     kinematic_rate_hz: float | None = KINEMATIC_RATE_HZ,
                     segments: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(times (T,), complex baseband (T,)) for one recording, noise and clutter included.

    `segments` keeps only the named segments (see radar.body_segments), e.g. ("torso",) for the torso's own
    return or ("foot_r", "foot_l") for the feet; None keeps the whole body (and the box it carries)."""
    t = np.arange(int(round(duration_s * radar.prf_hz))) / radar.prf_hz
    radar_pos = np.array([0.0, 0.0, radar.height_m])
    body = body_segments(gait.arms)
    keep = _segment_index(segments, body)
    if kinematic_rate_hz is None or kinematic_rate_hz >= radar.prf_hz:
        pos, axes, radii, half = (a[keep] for a in scatterers(world_joints(t, gait, rec), rec.build, body))
        s = baseband_return(pos, axes, radii, half, radar_pos, radar.wavelength)
    else:
        tk = np.linspace(t[0], t[-1], int(np.ceil((t[-1] - t[0]) * kinematic_rate_hz)) + 4)
        pos, axes, radii, half = (a[keep] for a in scatterers(world_joints(tk, gait, rec), rec.build, body))
        rng_k, amp_k = range_and_amplitude(pos, axes, radii, half, radar_pos)
        rng_t = CubicSpline(tk, rng_k, axis=1)(t)
        amp_t = CubicSpline(tk, amp_k, axis=1)(t)
        s = (amp_t * np.exp(-4j * np.pi / radar.wavelength * rng_t)).sum(0)
    return t, add_noise_and_clutter(s, rng, rec.snr_db, rec.clutter_db, rec.mti_cutoff_hz, radar.prf_hz)


def _segment_index(names: tuple[str, ...] | None, body: tuple) -> np.ndarray:
    all_names = [n for n, *_ in body]
    if names is None:
        return np.arange(len(all_names))
    unknown = set(names) - set(all_names)
    assert not unknown, f"unknown segments {sorted(unknown)}; known: {all_names}"
    return np.array([all_names.index(n) for n in names])


def radial_velocities(t: np.ndarray, gait: Gait, rec: Recording, radar: Radar) -> np.ndarray:
    """Radial (closing) velocity (K, T) of every scatterer in m/s: what the Doppler 2 v / lambda shows."""
    pos, *_ = scatterers(world_joints(t, gait, rec), rec.build, body_segments(gait.arms))
    rng = np.linalg.norm(pos - np.array([0.0, 0.0, radar.height_m]), axis=-1)
    return -np.gradient(rng, t, axis=1)


def torso_radial_speed(gait: Gait, rec: Recording, radar: Radar, duration_s: float) -> float:
    """The torso's mean radial (closing) speed over a recording in m/s, positive towards the radar: the range of the
    torso's midpoint at the start less that at the end, over the duration. What the torso line of a spectrogram
    shows (a walker's speed times the cosine of the aspect, as the range and aspect change during the walk)."""
    t = np.array([0.0, duration_s])
    mid = torso_midpoint(world_joints(t, gait, rec)) - np.array([0.0, 0.0, radar.height_m])
    r = np.linalg.norm(mid, axis=-1)
    return float((r[0] - r[1]) / duration_s)


def spectrogram(signal: np.ndarray, prf_hz: float, stft: Stft) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """|STFT| (doppler, time) with Doppler ascending, and its axes in Hz and seconds (window centres).

    Only frames whose window lies wholly inside the signal are kept, so there are no edge effects.
    Framed with numpy's sliding windows and one batched scipy FFT: scipy's ShortTimeFFT transforms
    frame by frame in Python, which was a fifth of the simulator's time."""
    win, hop, nfft = _stft_sizes(prf_hz, stft)
    frames = np.lib.stride_tricks.sliding_window_view(signal, win)[::hop]  # (time, win)
    mag = np.abs(fftshift(fft(frames * get_window(stft.window, win, fftbins=True), n=nfft, axis=-1), axes=-1)).T
    freqs, times, keep = _axes(len(signal), prf_hz, stft)
    return mag[keep], freqs, times


def spectrogram_axes(n_samples: int, prf_hz: float, stft: Stft) -> tuple[np.ndarray, np.ndarray]:
    """Doppler (Hz) and time (s) axes of `spectrogram` for a signal of `n_samples`, without computing it."""
    freqs, times, _ = _axes(n_samples, prf_hz, stft)
    return freqs, times


def _stft_sizes(prf_hz: float, stft: Stft) -> tuple[int, int, int]:
    win = max(8, int(round(stft.window_s * prf_hz)))
    return win, max(1, int(round(stft.hop_s * prf_hz))), max(stft.nfft, win)


def _axes(n_samples: int, prf_hz: float, stft: Stft) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    win, hop, nfft = _stft_sizes(prf_hz, stft)
    freqs = fftshift(fftfreq(nfft, 1.0 / prf_hz))
    times = (np.arange((n_samples - win) // hop + 1) * hop + win / 2) / prf_hz
    keep = np.abs(freqs) <= stft.doppler_span_hz if stft.doppler_span_hz is not None else np.ones(nfft, dtype=bool)
    return freqs[keep], times, keep
