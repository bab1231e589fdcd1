"""Point-scatterer radar return of a walking body: 16 ellipsoid segments, aspect-dependent RCS,
a CW / pulsed baseband radar with noise, optional static clutter and an MTI high-pass.

Each segment is an ellipsoid with radii a = b across it and c = half its length along it; its scatterer
sits at the segment's midpoint (public code puts the forearm and foot scatterers at the hand and toe).
The ellipsoid RCS (Chen, The Micro-Doppler Effect in Radar, eq. 5.2) with a = b is
    sigma = pi a^4 c^2 / (a^2 sin^2 theta + c^2 cos^2 theta)^2,
theta being the angle between the line of sight and the segment axis. The baseband return is
    s(t) = sum_k sqrt(sigma_k) / R_k(t)^2 exp(-j 4 pi R_k(t) / lambda),
so a scatterer closing on the radar has a positive Doppler shift 2 v_r / lambda.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

C = 299_792_458.0

# (name, start joint, end joint, radius a = b in metres at build 1.0)
SEGMENTS = (
    ("head", "neck", "head_top", 0.10), ("torso", "base", "neck", 0.15),
    ("hip_r", "base", "hip_r", 0.07), ("hip_l", "base", "hip_l", 0.07),
    ("thigh_r", "hip_r", "knee_r", 0.07), ("thigh_l", "hip_l", "knee_l", 0.07),
    ("shank_r", "knee_r", "ankle_r", 0.06), ("shank_l", "knee_l", "ankle_l", 0.06),
    ("foot_r", "ankle_r", "toe_r", 0.05), ("foot_l", "ankle_l", "toe_l", 0.05),
    ("shoulder_r", "neck", "shoulder_r", 0.06), ("shoulder_l", "neck", "shoulder_l", 0.06),
    ("upper_arm_r", "shoulder_r", "elbow_r", 0.06), ("upper_arm_l", "shoulder_l", "elbow_l", 0.06),
    ("forearm_r", "elbow_r", "hand_r", 0.05), ("forearm_l", "elbow_l", "hand_l", 0.05),
)


LOAD = ("load", "hand_r", "hand_l", 0.12)
"""The box carried in both hands (kinematics arms='carry'): a spheroid from one hand to the other, 0.12 m across."""


def body_segments(arms: str = "swing") -> tuple[tuple[str, str, str, float], ...]:
    """The scattering segments of a walker whose arms do `arms` (kinematics.ARM_MODES): the body, and the box
    when it carries one."""
    return SEGMENTS + ((LOAD,) if arms == "carry" else ())


@dataclass(frozen=True)
class Radar:
    carrier_hz: float = 24e9
    prf_hz: float = 3000.0  # slow-time sampling; Nyquist must exceed the fastest foot's Doppler
    height_m: float = 1.0  # antenna height above the ground

    @property
    def wavelength(self) -> float:
        return C / self.carrier_hz


def scatterers(joints: dict[str, np.ndarray], build: float = 1.0, segments: tuple = SEGMENTS,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Midpoints (K, T, 3), unit axes (K, T, 3), radii a (K,) and half-lengths c (K, T) of the K `segments` (the
    16 of the body by default; body_segments adds a carried box)."""
    starts = np.stack([joints[s] for _, s, _, _ in segments])
    ends = np.stack([joints[e] for _, _, e, _ in segments])
    axis = ends - starts
    length = np.sqrt(np.einsum("ktd,ktd->kt", axis, axis))
    radii = np.array([r if name == LOAD[0] else r * build for name, _, _, r in segments])  # a box has no build
    return (starts + ends) / 2, axis / np.maximum(length[..., None], 1e-9), radii, length / 2


def ellipsoid_rcs(a: np.ndarray, c: np.ndarray, cos_theta: np.ndarray) -> np.ndarray:
    """RCS (m^2) of a spheroid with equatorial radius a and polar semi-axis c, seen at angle theta from
    its axis (cos_theta given). a, c broadcast against cos_theta."""
    cos2 = np.clip(cos_theta, -1.0, 1.0) ** 2
    return np.pi * a**4 * c**2 / (a**2 * (1.0 - cos2) + c**2 * cos2) ** 2


def range_and_amplitude(positions: np.ndarray, axes: np.ndarray, radii: np.ndarray, half_lengths: np.ndarray,
                        radar_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Range R (K, T) in metres and return amplitude sqrt(sigma) / R^2 (K, T) of each scatterer."""
    los = positions - radar_pos  # (K, T, 3) radar -> scatterer
    rng = np.sqrt(np.einsum("ktd,ktd->kt", los, los))
    cos_theta = np.einsum("ktd,ktd->kt", los, axes) / rng
    sigma = ellipsoid_rcs(radii[:, None], half_lengths, cos_theta)
    return rng, np.sqrt(sigma) / rng**2


def baseband_return(positions: np.ndarray, axes: np.ndarray, radii: np.ndarray, half_lengths: np.ndarray,
                    radar_pos: np.ndarray, wavelength: float) -> np.ndarray:
    """Complex slow-time return (T,) of K scatterers at `positions` (K, T, 3) seen from `radar_pos` (3,)."""
    rng, amp = range_and_amplitude(positions, axes, radii, half_lengths, radar_pos)
    return (amp * np.exp(-4j * np.pi / wavelength * rng)).sum(0)


def add_noise_and_clutter(signal: np.ndarray, rng: np.random.Generator, snr_db: float, clutter_db: float | None,
                          mti_cutoff_hz: float | None, prf_hz: float) -> np.ndarray:
    """Static clutter (a constant return `clutter_db` above the body's mean power), complex white noise at
    `snr_db` below it, then an optional MTI high-pass (4th-order Butterworth, zero phase)."""
    power = float(np.mean(np.abs(signal) ** 2))
    out = signal.astype(np.complex128, copy=True)
    if clutter_db is not None:
        out += np.sqrt(power * 10 ** (clutter_db / 10)) * np.exp(2j * np.pi * rng.random())
    noise_std = np.sqrt(power / 10 ** (snr_db / 10) / 2)
    out += noise_std * (rng.standard_normal(len(signal)) + 1j * rng.standard_normal(len(signal)))
    if mti_cutoff_hz:
        sos = butter(4, mti_cutoff_hz, btype="highpass", fs=prf_hz, output="sos")
        out = sosfiltfilt(sos, out.real) + 1j * sosfiltfilt(sos, out.imag)
    return out
