"""The simulated corpus that `mdaug pretrain-ae` trains the shipped stage-1 models on: walkers who are in no
built-in dataset (seeds of their own), seen by the radars users have, through the displays they use."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from mdaug.config.section import Section


class RadarPreset(Section):
    """One radar of the corpus: carrier, pulse rate and STFT (the Doppler axis is drawn per part, see
    velocity_span_mps)."""

    name: str
    """Shown in the corpus table."""
    carrier_hz: float = Field(gt=1e8)
    prf_hz: float = Field(gt=0)
    """Slow-time sampling rate; checked against the fastest foot's Doppler."""
    window_s: float = Field(gt=0)
    """STFT window length in seconds."""
    hop_s: float = Field(gt=0)


DEFAULT_RADARS = (
    RadarPreset(name="5.8 GHz FMCW", carrier_hz=5.8e9, prf_hz=1000.0, window_s=0.2, hop_s=0.02),
    RadarPreset(name="10 GHz CW", carrier_hz=10e9, prf_hz=2000.0, window_s=0.128, hop_s=0.016),
    RadarPreset(name="24 GHz CW", carrier_hz=24e9, prf_hz=3000.0, window_s=0.085, hop_s=0.02),
    RadarPreset(name="77 GHz FMCW", carrier_hz=77e9, prf_hz=12000.0, window_s=0.064, hop_s=0.016),
)


class PretrainConfig(Section):
    """The pretraining corpus: `parts` simulated datasets, each with its own people (seed + part index, never a
    built-in dataset's seed), one radar of `radars` (in turn), one display of `colormaps` (in turn; a colormap is
    rendered to 8-bit images and read back as users' images are), and its own draw of Doppler span, STFT window,
    recording length, SNR, clutter, dynamic range, walking path and aspect."""

    seed: int = Field(1000, ge=1000)
    """Part i simulates its people with seed + i. At least 1000: the built-in datasets use small seeds."""
    parts: int = Field(32, ge=1)
    """Simulated datasets in the corpus, each with its own people, radar and display."""
    people_per_part: int = Field(8, ge=1)
    per_person: int = Field(30, ge=1)
    """Recordings per person."""
    sessions: int = Field(3, ge=1)
    """Sessions per person (speed, direction, range and SNR change between sessions)."""
    radars: tuple[RadarPreset, ...] = DEFAULT_RADARS
    """The radars of the corpus, one per part in turn."""
    colormaps: tuple[str, ...] = ("none", "jet", "viridis", "gray")
    """Displays: 'none' keeps the float spectrogram; a colormap name renders and reads back 8-bit images."""
    velocity_span_mps: tuple[float, float] = (6.0, 10.0)
    """The Doppler axis covers +-2 v / wavelength, v drawn from this range per part (as far as the PRF allows)."""
    window_jitter: float = Field(0.3, ge=0, lt=1)
    """The radar's STFT window and hop are scaled by 1 + U(-j, j) per part."""
    duration_s: tuple[float, float] = (2.0, 4.0)
    """Length of the recordings of a part (every spectrogram is resized to data.size)."""
    snr_db: tuple[float, float] = (0.0, 30.0)
    """Each part draws a 10 dB wide SNR range inside this one."""
    clutter_fraction: float = Field(0.5, ge=0, le=1)
    """Share of parts with static clutter (removed by the MTI filter), at 5-25 dB above the body."""
    dynamic_range_db: tuple[float, float] = (30.0, 60.0)
    """dB range of a part's display scale."""
    treadmill_fraction: float = Field(0.3, ge=0, le=1)
    """Share of parts walking on a treadmill (a constant range) instead of along the ground."""
    aspect_jitter_deg: tuple[float, float] = (5.0, 45.0)
    """A part's sessions walk towards or away from the radar +- this (drawn per part)."""
    session_speed_jitter: tuple[float, float] = (0.05, 0.05)
    """A part's sessions walk at 1 + U(-j, j) times each person's preferred speed, j drawn per part from this range.
    The shipped stage-1 corpus keeps the gait benchmark's 0.05; the recogniser's (configs/pretrain-recognizer.yaml)
    widens it, so that it learns what a person's walk keeps across speeds."""
    arms: dict[str, float] = {"swing": 1.0}
    """What the arms do per session (simulate.arms): the recogniser's corpus adds hands in the pockets and a
    carried box."""
    held_out: RadarPreset = RadarPreset(name="35 GHz (not in the corpus)", carrier_hz=35e9, prf_hz=5000.0,
                                        window_s=0.1, hop_s=0.025)
    """The radar of the out-of-corpus check in the model card: a carrier and STFT that no part uses."""

    @field_validator("velocity_span_mps", "duration_s", "snr_db", "dynamic_range_db", "aspect_jitter_deg",
                     "session_speed_jitter")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] > v[1]:
            raise ValueError(f"range must be [low, high], got {list(v)}")
        return v

    @model_validator(mode="after")
    def _held_out(self) -> "PretrainConfig":
        if any(r.carrier_hz == self.held_out.carrier_hz for r in self.radars):
            raise ValueError("held_out must be a radar that no part of the corpus uses")
        if not self.radars or not self.colormaps:
            raise ValueError("the corpus needs at least one radar and one display")
        return self


__all__ = ["DEFAULT_RADARS", "PretrainConfig", "RadarPreset"]
