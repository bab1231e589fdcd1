"""Simulated people and their recording sessions, all drawn from seeds.

A person's traits (body, speed, gait style) are fixed; a session varies speed, walking direction,
range, SNR; each recording within a session starts at a random gait phase with a little jitter. Every
draw comes from its own SeedSequence keyed by (seed, person, session, recording), so a sample does not
depend on how many others are made or in which order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from mdaug.config import SimulateConfig
from mdaug.simulate.kinematics import SEGMENT_RATIOS, Gait, leg_ratio
from mdaug.simulate.scene import Recording


@dataclass(frozen=True)
class Person:
    index: int
    name: str
    height: float
    speed: float
    ratios: dict[str, float]
    build: float
    arm_swing: float
    knee_peak_offset: float
    hip_amplitude_offset: float
    cadence: float
    asymmetry: float

    def gait(self, speed_factor: float = 1.0, arms: str = "swing") -> Gait:
        return Gait(height=self.height, speed=self.speed * speed_factor, ratios=self.ratios, arm_swing=self.arm_swing,
                    knee_peak_offset=self.knee_peak_offset, hip_amplitude_offset=self.hip_amplitude_offset,
                    cadence=self.cadence, asymmetry=self.asymmetry, arms=arms)

    def row(self) -> dict:
        """Flat record for the person-trait table."""
        d = {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items() if k != "ratios"}
        return d | {"rv": round(self.gait().rv, 4), "cycle_s": round(self.gait().period, 4)} | {
            f"ratio_{k}": round(v, 5) for k, v in self.ratios.items()}


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in key]))


def make_person(cfg: SimulateConfig, index: int) -> Person:
    rng = _rng(cfg.seed, 1, index)
    draw = lambda lo_hi: float(rng.uniform(*lo_hi))  # noqa: E731
    jitter = cfg.segment_jitter
    ratios = {k: v * (1 + float(rng.uniform(-jitter, jitter))) for k, v in SEGMENT_RATIOS.items()}
    height = draw(cfg.height_m)
    speed = draw(cfg.rv) * leg_ratio(ratios) * height  # V = RV * Ht
    return Person(index=index, name=f"person{index + 1:02d}", height=height, speed=speed, ratios=ratios,
                  build=draw(cfg.build), arm_swing=draw(cfg.arm_swing),
                  knee_peak_offset=float(rng.uniform(-1, 1)) * cfg.knee_peak_offset_deg,
                  hip_amplitude_offset=float(rng.uniform(-1, 1)) * cfg.hip_amplitude_offset_deg,
                  cadence=draw(cfg.cadence), asymmetry=float(rng.uniform(-1, 1)) * cfg.asymmetry)


@dataclass(frozen=True)
class Session:
    index: int
    speed_factor: float
    aspect_deg: float
    range_m: float
    snr_db: float
    arms: str = "swing"


def session_arms(cfg: SimulateConfig, person: Person, index: int) -> str:
    """What the person's arms do in a session (cfg.arms: mode -> probability). Drawn from a stream of its own, so that
    adding arm modes leaves every other draw of a dataset as it was (one mode: no draw at all)."""
    modes = [(m, p) for m, p in cfg.arms.items() if p > 0]
    if len(modes) == 1:
        return modes[0][0]
    p = np.array([w for _, w in modes], dtype=np.float64)
    return modes[int(_rng(cfg.seed, 4, person.index, index).choice(len(modes), p=p / p.sum()))][0]


def make_session(cfg: SimulateConfig, person: Person, index: int) -> Session:
    rng = _rng(cfg.seed, 2, person.index, index)
    away = rng.random() < cfg.away_fraction
    aspect = (180.0 if away else 0.0) + float(rng.uniform(-1, 1)) * cfg.aspect_jitter_deg
    return Session(index=index, speed_factor=1 + float(rng.uniform(-1, 1)) * cfg.session_speed_jitter,
                   aspect_deg=aspect, range_m=float(rng.uniform(*cfg.range_m)), snr_db=float(rng.uniform(*cfg.snr_db)),
                   arms=session_arms(cfg, person, index))


def make_recording(cfg: SimulateConfig, person: Person, session: Session,
                   index: int) -> tuple[Gait, Recording, np.random.Generator]:
    """The gait, scene and noise generator of one recording (small jitter around the session)."""
    rng = _rng(cfg.seed, 3, person.index, session.index, index)
    gait = replace(person.gait(session.speed_factor * (1 + float(rng.uniform(-1, 1)) * cfg.recording_speed_jitter),
                               session.arms),
                   arm_swing=person.arm_swing * (1 + float(rng.uniform(-1, 1)) * cfg.recording_arm_jitter))
    rec = Recording(aspect_deg=session.aspect_deg + float(rng.uniform(-3, 3)),
                    range_m=session.range_m + float(rng.uniform(-0.5, 0.5)), path=cfg.path,
                    snr_db=session.snr_db + float(rng.uniform(-1, 1)) * cfg.recording_snr_jitter_db,
                    clutter_db=cfg.clutter_db, mti_cutoff_hz=cfg.mti_cutoff_hz, build=person.build,
                    phase0=float(rng.random()))
    return gait, rec, rng
