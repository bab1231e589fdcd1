"""The built-in dataset: people x sessions x recordings -> canonical spectrograms with metadata."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mdaug.config import Config, SimulateConfig
from mdaug.data.canonical import Record, SpectrogramSet, sample_hash
from mdaug.data.info import ORIENTATION, SIMULATED, DataInfo
from mdaug.data.limits import check_memory
from mdaug.data.read import resize
from mdaug.data.scaling import normalise
from mdaug.errors import MdaugError
from mdaug.progress import progress_bar
from mdaug.simulate.people import Person, make_person, make_recording, make_session
from mdaug.simulate.radar import Radar
from mdaug.simulate.scene import Stft, slow_time_return, spectrogram, spectrogram_axes, torso_radial_speed


@dataclass(frozen=True)
class RecordingMeta:
    """One simulated recording: whose, which session, and the conditions it was made at."""

    person: str
    session: str
    """PERSON/sN."""
    recording: int
    speed_mps: float
    cycle_s: float
    aspect_deg: float
    range_m: float
    snr_db: float
    phase0: float
    radial_speed_mps: float
    """The torso's mean radial speed, positive towards the radar."""
    direction: str
    """'towards' or 'away'."""
    arms: str

    def row(self) -> dict[str, Any]:
        """Its row of recordings.csv (the columns in field order)."""
        return asdict(self)


@dataclass
class Simulated:
    dataset: SpectrogramSet
    people: list[Person]
    samples: list[RecordingMeta]
    doppler_hz: np.ndarray  # axis of the native spectrogram (before resizing), ascending
    time_s: np.ndarray


DEFAULT_SIZE = (64, 64)


def with_output_size(cfg: Config) -> Config:
    """`cfg` with data.size set: the simulator always resizes, to 64x64 unless told otherwise."""
    if cfg.data.size is not None:
        return cfg
    return cfg.model_copy(update={"data": cfg.data.model_copy(update={"size": DEFAULT_SIZE})})


def radar_of(cfg: SimulateConfig) -> Radar:
    return Radar(carrier_hz=cfg.radar.carrier_hz, prf_hz=cfg.radar.prf_hz, height_m=cfg.radar.height_m)


def stft_of(cfg: SimulateConfig) -> Stft:
    stft = cfg.stft
    return Stft(window=stft.window, window_s=stft.window_s, hop_s=stft.hop_s, nfft=stft.nfft,
                doppler_span_hz=stft.doppler_span_hz)


def max_doppler_hz(cfg: SimulateConfig) -> float:
    """Largest |Doppler| any body part of the configured population reaches: the fastest walker (top
    normalised speed, tallest, fastest session) walking straight at the radar, from its kinematics."""
    from mdaug.simulate.kinematics import SEGMENT_RATIOS, Gait, leg_ratio
    from mdaug.simulate.scene import Recording, radial_velocities

    height = cfg.height_m[1]
    ht = leg_ratio(SEGMENT_RATIOS) * height * (1 + cfg.segment_jitter)
    rv = cfg.rv[1] * (1 + cfg.session_speed_jitter) * (1 + cfg.recording_speed_jitter)
    gait = Gait(height=height, speed=rv * ht, knee_peak_offset=cfg.knee_peak_offset_deg,
                hip_amplitude_offset=cfg.hip_amplitude_offset_deg, cadence=cfg.cadence[1],
                arm_swing=cfg.arm_swing[1] * (1 + cfg.recording_arm_jitter))
    t = np.arange(0.0, 2 * gait.period, 1 / 1000.0)
    v = radial_velocities(t, gait, Recording(range_m=20.0), radar_of(cfg))
    return float(2 * np.abs(v).max() * cfg.radar.carrier_hz / 299_792_458.0)


def check_no_aliasing(cfg: SimulateConfig) -> None:
    """Refuse a PRF whose Nyquist band cannot hold the fastest body part of the fastest walker."""
    f_max = max_doppler_hz(cfg)
    if cfg.radar.prf_hz / 2 < f_max:
        raise MdaugError(f"simulate.radar.prf_hz={cfg.radar.prf_hz:g} aliases: body parts reach {f_max:.0f} Hz at "
                         f"{cfg.radar.carrier_hz / 1e9:g} GHz; use a PRF of at least {2 * f_max:.0f} Hz")


def plan(cfg: SimulateConfig) -> list[tuple[int, int, int]]:
    """(person, session, recording) of every sample, samples spread evenly over the sessions."""
    jobs = []
    for p in range(cfg.people):
        for k in range(cfg.per_person):
            jobs.append((p, k * cfg.sessions // cfg.per_person, k))
    return jobs


def simulate_one(cfg: SimulateConfig, person: Person, session_index: int, k: int,
                 size: tuple[int, int] | None) -> tuple[np.ndarray, RecordingMeta, np.ndarray, np.ndarray]:
    """One canonical spectrogram (1, doppler, time) in [-1, 1], its metadata and native axes."""
    session = make_session(cfg, person, session_index)
    gait, rec, rng = make_recording(cfg, person, session, k)
    radar = radar_of(cfg)
    _, signal = slow_time_return(gait, rec, radar, cfg.duration_s, rng)
    mag, freqs, times = spectrogram(signal, radar.prf_hz, stft_of(cfg))
    power = mag.astype(np.float32) ** 2
    if size is not None:  # bin the power spectrogram (area-weighted), then go to dB: peaks keep 0 dB
        power = np.clip(resize(power[None] / power.max(), size, clamp=False)[0], 0, None)
    x = normalise(power, "power", cfg.dynamic_range_db)[None]
    radial = torso_radial_speed(gait, rec, radar, cfg.duration_s)
    meta = RecordingMeta(person=person.name, session=f"{person.name}/s{session_index + 1}", recording=k,
                         speed_mps=round(gait.speed, 4), cycle_s=round(float(gait.period), 4),
                         aspect_deg=round(rec.aspect_deg, 2), range_m=round(rec.range_m, 3),
                         snr_db=round(rec.snr_db, 2), phase0=round(rec.phase0, 4), radial_speed_mps=round(radial, 4),
                         direction="towards" if radial >= 0 else "away", arms=gait.arms)
    return x.astype(np.float32), meta, freqs, times


def _worker(args: tuple) -> list[tuple[np.ndarray, RecordingMeta]]:
    cfg, people, chunk, size = args
    out = []
    for p, session, k in chunk:
        x, meta, _, _ = simulate_one(cfg, people[p], session, k, size)
        out.append((x, meta))
    return out


def simulate_dataset(cfg: SimulateConfig, size: tuple[int, int] | None = (64, 64), *, workers: int | None = None,
                     progress: bool = True) -> Simulated:
    """The whole dataset. Parallel over `workers` processes (default: all cores); the result does not
    depend on the number of workers."""
    check_no_aliasing(cfg)
    n = cfg.people * cfg.per_person
    pulses = int(round(cfg.duration_s * cfg.radar.prf_hz))
    check_memory(tuple(size) if size is not None else (256, max(pulses // 20, 8)), n, 1, what="to simulate",
                 fix="fewer people or recordings per person (--people, --per-class), or a smaller --size")
    people = [make_person(cfg, p) for p in range(cfg.people)]
    jobs = plan(cfg)
    freqs, times = spectrogram_axes(int(round(cfg.duration_s * cfg.radar.prf_hz)), cfg.radar.prf_hz, stft_of(cfg))
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    chunks = [jobs[i:i + 25] for i in range(0, len(jobs), 25)]
    args = [(cfg, people, c, size) for c in chunks]
    results: list[tuple[np.ndarray, RecordingMeta]] = []
    bar = progress_bar(total=len(jobs), desc="simulating", unit="spec", enabled=progress)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for part in pool.map(_worker, args):
                results.extend(part)
                bar.update(len(part))
    else:
        for a in args:
            part = _worker(a)
            results.extend(part)
            bar.update(len(part))
    bar.close()
    x = np.stack([r[0] for r in results])
    metas = [r[1] for r in results]
    names = [p.name for p in people]
    labels = np.array([p for p, _, _ in jobs], dtype=np.int64)
    records = [Record(id=f"{m.session}#{m.recording}", file=m.session, index=m.recording, class_name=m.person,
                      session=m.session, orig_shape=(1, len(freqs), len(times)), file_sha256="simulated",
                      sample_hash=sample_hash(xi)) for m, xi in zip(metas, x)]
    info = DataInfo(source="mdaug simulator", layout="simulated", kinds={SIMULATED: len(x)}, scales={"power": len(x)},
                    native_shapes={f"{len(freqs)}x{len(times)}": len(x)}, carrier_hz=cfg.radar.carrier_hz,
                    prf_hz=cfg.radar.prf_hz, dynamic_range_db=cfg.dynamic_range_db,
                    doppler_hz=[float(freqs[0]), float(freqs[-1])], time_s=[float(times[0]), float(times[-1])],
                    orientation=ORIENTATION, seed=cfg.seed)
    ds = SpectrogramSet(x=x, labels=labels, class_names=names, records=records, info=info)
    return Simulated(dataset=ds, people=people, samples=metas, doppler_hz=freqs, time_s=times)
