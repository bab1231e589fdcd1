"""The pretraining corpus of the shipped stage-1 models (`mdaug pretrain-ae`): many small simulated datasets
("parts"), each with people of its own seed, one of the radars users have, one display, and its own draw of
Doppler span, STFT, recording length, SNR, clutter, dynamic range, walking path and aspect. No part uses a seed of
a built-in dataset, so no corpus walker is a walker of gait31 (tests/simulate/test_corpus.py checks the traits).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from mdaug.config import PretrainConfig, RadarPreset, SimulateConfig
from mdaug.data.canonical import Record, SpectrogramSet, sample_hash
from mdaug.data.images import canonical_to_image, decode_image, image_to_canonical
from mdaug.data.info import ORIENTATION, SIMULATED, DataInfo
from mdaug.simulate.dataset import Simulated, simulate_dataset

SPEED_OF_LIGHT = 299_792_458.0


@dataclass
class Part:
    """One part of the corpus: its simulator config and its display ('none' or a colormap)."""

    index: int
    simulate: SimulateConfig
    display: str
    radar: str

    def row(self) -> dict:
        """A row of the corpus table (corpus.csv)."""
        s = self.simulate
        return {"part": self.index, "seed": s.seed, "radar": self.radar, "carrier_ghz": s.radar.carrier_hz / 1e9,
                "prf_hz": s.radar.prf_hz, "doppler_span_hz": round(s.stft.doppler_span_hz, 1),
                "window_s": round(s.stft.window_s, 4), "hop_s": round(s.stft.hop_s, 4),
                "duration_s": round(s.duration_s, 2), "snr_db": list(s.snr_db), "clutter_db": s.clutter_db,
                "dynamic_range_db": round(s.dynamic_range_db, 1), "path": s.path,
                "aspect_jitter_deg": round(s.aspect_jitter_deg, 1), "display": self.display}


def radar_part(p: PretrainConfig, base: SimulateConfig, radar: RadarPreset, *, seed: int,
               rng: np.random.Generator) -> SimulateConfig:
    """`base` seen by `radar`, with this part's draws (Doppler span within the PRF, STFT, length, SNR, clutter,
    dynamic range, path, aspect) from `rng`."""
    wavelength = SPEED_OF_LIGHT / radar.carrier_hz
    span = min(2 * rng.uniform(*p.velocity_span_mps) / wavelength, 0.45 * radar.prf_hz)
    scale = lambda: 1 + rng.uniform(-p.window_jitter, p.window_jitter)  # noqa: E731
    snr_low = rng.uniform(p.snr_db[0], max(p.snr_db[0], p.snr_db[1] - 10))
    clutter = float(rng.uniform(5, 25)) if rng.random() < p.clutter_fraction else None
    return base.model_copy(update={
        "people": p.people_per_part, "per_person": p.per_person, "sessions": p.sessions, "seed": seed,
        "duration_s": float(rng.uniform(*p.duration_s)),
        "path": "treadmill" if rng.random() < p.treadmill_fraction else "ground",
        "dynamic_range_db": float(rng.uniform(*p.dynamic_range_db)),
        "radar": base.radar.model_copy(update={"carrier_hz": radar.carrier_hz, "prf_hz": radar.prf_hz}),
        "stft": base.stft.model_copy(update={"window_s": radar.window_s * scale(), "hop_s": radar.hop_s * scale(),
                                             "doppler_span_hz": float(span)}),
        "snr_db": (float(snr_low), float(min(snr_low + 10, p.snr_db[1]))), "clutter_db": clutter,
        "mti_cutoff_hz": 15.0 if clutter is not None else None,
        "aspect_jitter_deg": float(rng.uniform(*p.aspect_jitter_deg)),
        # drawn last, so that the draws above stay those of the shipped stage-1 corpus
        "session_speed_jitter": float(rng.uniform(*p.session_speed_jitter)), "arms": dict(p.arms)})


def corpus_parts(p: PretrainConfig, base: SimulateConfig) -> list[Part]:
    """Every part of the corpus: radars in turn, displays in turn over each round of radars."""
    parts = []
    for i in range(p.parts):
        rng = np.random.default_rng(np.random.SeedSequence([p.seed, i]))
        radar = p.radars[i % len(p.radars)]
        display = p.colormaps[(i // len(p.radars)) % len(p.colormaps)]
        parts.append(Part(i, radar_part(p, base, radar, seed=p.seed + i, rng=rng), display, radar.name))
    return parts


def held_out_set(p: PretrainConfig, base: SimulateConfig, *, people: int, per_person: int,
                 sessions: int) -> SimulateConfig:
    """A dataset seen by the held-out radar (no part uses its carrier): the out-of-corpus check of a model card.
    Its people have a seed no part and no built-in dataset uses (one below the corpus's)."""
    rng = np.random.default_rng(np.random.SeedSequence([p.seed, 10_000]))
    cfg = radar_part(p, base, p.held_out, seed=p.seed - 1, rng=rng)
    return cfg.model_copy(update={"people": people, "per_person": per_person, "sessions": sessions})


def through_display(x: np.ndarray, colormap: str) -> np.ndarray:
    """(channels, doppler, time) in [-1, 1] as a user's 8-bit image of it reads back: rendered through
    `colormap` ('gray' or a matplotlib name), saved as PNG, decoded and inverted on the same colormap."""
    buf = io.BytesIO()
    canonical_to_image(x, colormap).save(buf, format="PNG")
    values, _ = image_to_canonical(decode_image(buf.getvalue()), colormap)
    return values


def simulate_part(part: Part, size: tuple[int, int], *, progress: bool = False) -> Simulated:
    """The part's dataset, with every spectrogram passed through its display and its names prefixed by the part
    (p03/person01), so that parts never share a class or a session."""
    sim = simulate_dataset(part.simulate, size, progress=progress)
    ds = sim.dataset
    x = ds.x if part.display == "none" else np.stack([through_display(xi, part.display) for xi in ds.x])
    prefix = f"p{part.index:02d}/"
    records = [Record(id=prefix + r.id, file=prefix + r.file, index=r.index, class_name=prefix + r.class_name,
                      session=prefix + r.session, orig_shape=r.orig_shape, file_sha256=r.file_sha256,
                      sample_hash=sample_hash(xi)) for r, xi in zip(ds.records, x)]
    sim.dataset = SpectrogramSet(x=x.astype(np.float32), labels=ds.labels, records=records,
                                 class_names=[prefix + n for n in ds.class_names],
                                 info=ds.info.updated(display=part.display, radar=part.radar))
    return sim


def concatenate(sims: list[Simulated]) -> SpectrogramSet:
    """The parts as one dataset (labels offset so that every part's people are classes of their own)."""
    x, labels, records, names = [], [], [], []
    for sim in sims:
        ds = sim.dataset
        x.append(ds.x)
        labels.append(ds.labels + len(names))
        records += ds.records
        names += ds.class_names
    ranges = {float(s.dataset.info.dynamic_range_db) for s in sims}
    # one dB range when the parts share it; else the display's range differs from part to part
    dynamic_range = {"dynamic_range_db": ranges.pop()} if len(ranges) == 1 else {"dynamic_range_db_mixed": True}
    info = DataInfo(source="mdaug pretraining corpus", layout="simulated", parts=len(sims), **dynamic_range,
                    kinds={SIMULATED: int(sum(len(s.dataset) for s in sims))}, orientation=ORIENTATION)
    return SpectrogramSet(x=np.concatenate(x), labels=np.concatenate(labels), class_names=names, records=records,
                          info=info)


__all__ = ["Part", "concatenate", "corpus_parts", "held_out_set", "radar_part", "simulate_part", "through_display"]
