"""The built-in dataset's simulator: the radar, its STFT and the walking people."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from mdaug.config.section import Section

ARM_MODES = ("swing", "pockets", "carry")
"""What the arms do while walking: 'swing' (Boulic's arm swing), 'pockets' (hands in the trouser pockets: the upper
arm hangs with a tenth of the swing, the elbow a little bent and still) and 'carry' (a box held in front in both
hands: upper arms 15 degrees forward, elbows bent 75 degrees, no swing; the box is a scatterer of its own between the
hands, radar.LOAD). Boulic's model has only the first; the other two hold the arm joints where the posture puts
them, the rest of the walk unchanged."""


class RadarConfig(Section):
    """The simulated radar: a CW / pulsed baseband radar at the origin."""

    carrier_hz: float = Field(24e9, gt=1e8)
    """Carrier frequency (24 GHz: lambda = 1.25 cm; 5.8 GHz and 77 GHz are common too)."""
    prf_hz: float = Field(3000.0, gt=0)
    """Slow-time sampling rate; must exceed twice the fastest foot's Doppler (checked)."""
    height_m: float = Field(1.0, ge=0)
    """Antenna height above the ground."""


class StftConfig(Section):
    """Short-time Fourier transform of the slow-time return."""

    window: str = "hamming"
    """A window scipy.signal.get_window knows (hamming, hann, blackman, ...)."""
    window_s: float = Field(0.085, gt=0)
    """Window length in seconds of slow time."""
    hop_s: float = Field(0.02, gt=0)
    nfft: int = Field(512, ge=16)
    doppler_span_hz: float | None = Field(1400.0, gt=0)
    """Keep Doppler within +-this many Hz (None: the whole PRF)."""

    @field_validator("window")
    @classmethod
    def _window(cls, v: str) -> str:
        from scipy.signal import get_window

        try:
            get_window(v, 16)
        except ValueError:
            raise ValueError(f"{v!r} is not a window scipy knows; use e.g. hamming, hann or blackman") from None
        return v


class SimulateConfig(Section):
    """The built-in dataset: walking people seen by a radar (mdaug.simulate). The defaults are the
    31-person gait-identification benchmark; trait and session spreads set how hard it is."""

    people: int = Field(31, ge=1)
    per_person: int = Field(150, ge=1)
    sessions: int = Field(5, ge=1)
    """Recording sessions per person; samples are spread evenly over them."""
    seed: int = Field(0, ge=0)
    """Seeds the people (traits) and every recording: the same seed gives the same dataset."""
    duration_s: float = Field(3.0, gt=0.2, le=60)
    """Length of each spectrogram in seconds (about three gait cycles)."""
    path: Literal["ground", "treadmill"] = "ground"
    dynamic_range_db: float = Field(40.0, gt=0, le=200)
    radar: RadarConfig = RadarConfig()
    stft: StftConfig = StftConfig()
    height_m: tuple[float, float] = (1.5, 1.95)
    """Range of body heights people are drawn from."""
    rv: tuple[float, float] = (1.6, 2.1)
    """Range of preferred normalised walking speeds RV = V / Ht (V = RV * Ht: people of different
    heights walk at similar RV; 1.6-2.1 is 1.2-2.0 m/s across the heights)."""
    segment_jitter: float = Field(0.04, ge=0, le=0.2)
    """Each segment-length ratio is scaled by 1 + U(-j, j) per person."""
    build: tuple[float, float] = (0.8, 1.25)
    """Range of the factor on segment radii (body build)."""
    arm_swing: tuple[float, float] = (0.4, 1.6)
    knee_peak_offset_deg: float = Field(4.0, ge=0)
    hip_amplitude_offset_deg: float = Field(4.0, ge=0)
    cadence: tuple[float, float] = (0.94, 1.06)
    """Range of the step-rate factor at a given speed."""
    asymmetry: float = Field(0.06, ge=0, le=0.3)
    """Left/right asymmetry is drawn from U(-a, a)."""
    session_speed_jitter: float = Field(0.05, ge=0, le=0.5)
    """Per-session speed factor 1 + U(-j, j)."""
    recording_speed_jitter: float = Field(0.03, ge=0, le=0.2)
    """Stride-to-stride variability: each recording's speed factor 1 + U(-j, j) within its session."""
    recording_arm_jitter: float = Field(0.1, ge=0, le=0.5)
    """Each recording's arm swing factor 1 + U(-j, j)."""
    recording_snr_jitter_db: float = Field(3.0, ge=0)
    aspect_jitter_deg: float = Field(15.0, ge=0, le=90)
    """Per-session walking direction: towards (0 deg) or away (180 deg) from the radar, +- this."""
    away_fraction: float = Field(0.5, ge=0, le=1)
    arms: dict[str, float] = {"swing": 1.0}
    """What the arms do in a session, with its probability: 'swing' (walking as Boulic's model does), 'pockets' (hands
    in the pockets) and 'carry' (a box held in both hands, a scatterer of its own). Drawn per session."""
    range_m: tuple[float, float] = (6.0, 14.0)
    """Range of the walker at mid-recording (a 3 s walk at 2 m/s keeps at least 3 m from the radar)."""
    snr_db: tuple[float, float] = (5.0, 25.0)
    clutter_db: float | None = 10.0
    """Static clutter above the body's return (None: none)."""
    mti_cutoff_hz: float | None = Field(15.0, gt=0)
    """MTI high-pass cut-off that removes the clutter (None: off)."""

    @field_validator("height_m", "rv", "build", "arm_swing", "cadence", "range_m", "snr_db")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] > v[1]:
            raise ValueError(f"range must be [low, high], got {list(v)}")
        return v

    @field_validator("arms")
    @classmethod
    def _arms(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(ARM_MODES))
        if unknown or not v or any(p < 0 for p in v.values()) or sum(v.values()) <= 0:
            raise ValueError(f"arms maps {', '.join(ARM_MODES)} to probabilities (at least one positive)"
                             + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
        return v

    @model_validator(mode="after")
    def _walkable(self) -> "SimulateConfig":
        top = self.rv[1] * (1 + self.session_speed_jitter) * (1 + self.recording_speed_jitter)
        if self.rv[0] <= 0 or top > 3:
            raise ValueError(f"rv {list(self.rv)} with session_speed_jitter {self.session_speed_jitter} leaves the "
                             "walking model's range 0 < RV <= 3")
        if min(self.height_m[0], self.build[0], self.cadence[0], self.range_m[0]) <= 0:
            raise ValueError("height_m, build, cadence and range_m must be positive")
        if self.sessions > self.per_person:
            raise ValueError(f"sessions ({self.sessions}) cannot exceed per_person ({self.per_person})")
        return self



class GaitSessionsConfig(SimulateConfig):
    """The built-in benchmark whose sessions differ as real ones do (data.builtin=gait-sessions): 31 other people,
    12 sessions each, and every session its own walking speed (0.75-1.25 times the person's preferred one), aspect
    (up to 45 degrees off the line towards or away from the radar), arms (swinging, hands in the pockets, or
    carrying a box) and SNR (5-25 dB). A person's recordings of one session are alike, so what a recogniser of a few
    sessions lacks is the other sessions' conditions, not more recordings; the utility study's budgets count
    sessions per person for it (benchmarks/README.md: its learning curve). A 4 kHz PRF and a +-1600 Hz axis hold
    the feet of the fastest session."""

    people: int = Field(31, ge=1)
    per_person: int = Field(120, ge=1)
    sessions: int = Field(12, ge=1)
    seed: int = Field(1, ge=0)
    radar: RadarConfig = RadarConfig(prf_hz=4000.0)
    stft: StftConfig = StftConfig(doppler_span_hz=1600.0)
    session_speed_jitter: float = Field(0.25, ge=0, le=0.5)
    aspect_jitter_deg: float = Field(45.0, ge=0, le=90)
    arms: dict[str, float] = {"swing": 0.5, "pockets": 0.25, "carry": 0.25}
    snr_db: tuple[float, float] = (5.0, 25.0)
