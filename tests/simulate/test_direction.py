"""The Doppler mirror of a walker approaching the radar is that walker receding, up to the range trend: the physics
behind classical.doppler_mirror and a strategy's mirrored anchors."""

from dataclasses import replace

import numpy as np

from mdaug.config import SimulateConfig
from mdaug.data.direction import walking_direction
from mdaug.data.scaling import normalise
from mdaug.data.transforms import mirror_doppler, zero_doppler_row
from mdaug.simulate.dataset import radar_of, stft_of
from mdaug.simulate.people import make_person, make_recording, make_session
from mdaug.simulate.scene import slow_time_return, spectrogram


def walk(cfg, person, aspect_deg):
    session = make_session(cfg, person, 0)
    gait, rec, rng = make_recording(cfg, person, session, 0)
    rec = replace(rec, aspect_deg=aspect_deg, snr_db=40.0)
    _, s = slow_time_return(gait, rec, radar_of(cfg), cfg.duration_s, rng)
    mag, freqs, _ = spectrogram(s, radar_of(cfg).prf_hz, stft_of(cfg))
    return normalise(mag.astype(np.float32) ** 2, "power", cfg.dynamic_range_db), freqs


def test_the_mirror_of_an_approach_is_the_retreat_of_the_same_walker_not_another():
    cfg = SimulateConfig(people=2, per_person=1, sessions=1)
    me, other = make_person(cfg, 0), make_person(cfg, 1)
    towards, freqs = walk(cfg, me, 0.0)
    away, _ = walk(cfg, me, 180.0)
    other_away, _ = walk(cfg, other, 180.0)
    zero = zero_doppler_row(len(freqs), (freqs[0], freqs[-1]))
    mirrored = mirror_doppler(towards[None], zero)[0]

    def gap(a, b):  # mean absolute difference of the Doppler profiles (time-averaged: gait phase aside)
        return float(np.abs(a.mean(1) - b.mean(1)).mean())

    assert gap(mirrored, away) < 0.5 * gap(towards, away)  # the mirror turns an approach into a retreat
    assert gap(mirrored, away) < gap(other_away, away)  # and it stays this walker, not another one
    ways = walking_direction(np.stack([towards, away, mirrored])[:, None], zero)
    assert ways.tolist() == [1, -1, -1]
