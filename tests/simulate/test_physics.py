"""Physics checks of the simulator against independent calculations (issue 3). Each can fail."""

import numpy as np
import pytest
from scipy import stats

from mdaug.config import load_config
from mdaug.errors import MdaugError
from mdaug.simulate.dataset import check_no_aliasing, max_doppler_hz, simulate_dataset
from mdaug.simulate.kinematics import Gait, joint_positions
from mdaug.simulate.people import make_person
from mdaug.simulate.radar import Radar, range_and_amplitude, scatterers
from mdaug.simulate.scene import (
    KINEMATIC_RATE_HZ,
    Recording,
    Stft,
    radial_velocities,
    slow_time_return,
    spectrogram,
    world_joints,
)

RADAR = Radar()  # 24 GHz, PRF 3 kHz
FINE = Stft(window_s=0.085, hop_s=0.01, nfft=4096, doppler_span_hz=None)
QUIET = dict(snr_db=40.0, clutter_db=None, mti_cutoff_hz=None)


def doppler_track(gait, rec, segments=("torso",), cycles=4):
    """Strongest Doppler per frame of the named segments' own return, over whole gait cycles.

    In the full body the torso is not the strongest line in every frame (its Doppler swings +-20% over
    a cycle and thighs, hips and arms cross it), so its track is read off its own return."""
    duration = cycles * gait.period + FINE.window_s
    _, s = slow_time_return(gait, rec, RADAR, duration, np.random.default_rng(0), segments=segments)
    mag, f, t = spectrogram(s, RADAR.prf_hz, FINE)
    return f[mag.argmax(0)]


def test_boulic_scaling_by_hand():
    g = Gait(height=1.8, speed=1.3)
    ht = 0.491 * 1.8  # thigh 0.245 H + shank 0.246 H
    rv = 1.3 / ht
    assert g.leg_height == pytest.approx(ht)
    assert g.rv == pytest.approx(rv)
    assert g.period == pytest.approx(1.346 * np.sqrt(rv) / rv)  # Dc = RLc / RV seconds (1.110 s)
    assert g.cycle_length == pytest.approx(1.346 * np.sqrt(rv) * ht)  # stride RLc * Ht metres (1.443 m)
    assert g.speed * g.period == pytest.approx(g.cycle_length)  # V * Dc = stride: speed and cadence agree
    t = np.linspace(0, 4 * g.period, 4001)
    base = joint_positions(t, g)["base"]
    # the pelvis covers V metres per second, and its vertical bob is 2 * 0.015 RV Ht peak to peak
    assert (base[-1, 0] - base[0, 0]) / t[-1] == pytest.approx(1.3, rel=1e-3)
    assert np.ptp(base[:, 2]) == pytest.approx(2 * 0.015 * rv * ht, rel=0.02)


def test_left_limbs_follow_right_half_a_cycle_later():
    g = Gait(height=1.75, speed=1.2)
    t = np.linspace(0, g.period, 200, endpoint=False)
    j = joint_positions(t, g, progress=False)
    jl = joint_positions(t + g.period / 2, g, progress=False)
    for a, b in (("ankle_r", "ankle_l"), ("hand_r", "hand_l"), ("knee_r", "knee_l")):
        rel_r = j[a] - j["base"]
        rel_l = jl[b] - jl["base"]
        np.testing.assert_allclose(rel_r[:, 0], rel_l[:, 0], atol=0.02)  # same fore-aft swing, half a cycle on


@pytest.mark.parametrize("aspect", [0.0, 30.0])
def test_torso_doppler_matches_walking_speed(aspect):
    g = Gait(height=1.8, speed=1.4)
    track = doppler_track(g, Recording(aspect_deg=aspect, range_m=100.0, **QUIET))
    expected = 2 * g.speed * np.cos(np.deg2rad(aspect)) / RADAR.wavelength
    assert track.mean() == pytest.approx(expected, rel=0.02)
    # and the torso scatterer's radial velocity itself, straight from the geometry
    t = np.arange(0, 4 * g.period, 1 / 1000)
    v = radial_velocities(t, g, Recording(aspect_deg=aspect, range_m=100.0), RADAR)[1]
    assert v.mean() == pytest.approx(g.speed * np.cos(np.deg2rad(aspect)), rel=0.02)


def test_cycle_period_read_off_the_spectrogram():
    g = Gait(height=1.7, speed=1.25)
    duration = 10.0
    _, s = slow_time_return(g, Recording(range_m=8.0, **QUIET), RADAR, duration, np.random.default_rng(1))
    mag, f, t = spectrogram(s, RADAR.prf_hz, Stft(window_s=0.06, hop_s=0.005, nfft=1024, doppler_span_hz=None))
    db = 20 * np.log10(mag / mag.max(0, keepdims=True))
    envelope = np.array([f[np.flatnonzero(col > -25).max()] for col in db.T])  # highest strong Doppler per frame
    e = envelope - envelope.mean()
    ac = np.correlate(e, e, "full")[len(e) - 1:]
    ac /= ac[0]
    dt = t[1] - t[0]
    lags = np.arange(len(ac)) * dt
    # first autocorrelation peak past 0.3 s: one step; two steps make a cycle
    cand = [i for i in range(1, len(ac) - 1)
            if lags[i] > 0.3 and ac[i] >= ac[i - 1] and ac[i] >= ac[i + 1] and ac[i] > 0.3]
    i = cand[0]
    shift = 0.5 * (ac[i - 1] - ac[i + 1]) / (ac[i - 1] - 2 * ac[i] + ac[i + 1])  # parabolic refinement
    step = (i + shift) * dt
    assert 2 * step == pytest.approx(g.period, rel=0.03)


def test_peak_foot_doppler_is_two_to_four_times_the_torso():
    cfg = load_config(None).simulate
    for index in range(0, 31, 5):
        g = make_person(cfg, index).gait()
        rec = Recording(range_m=30.0, **QUIET)
        torso = doppler_track(g, rec, cycles=3).mean()
        feet = doppler_track(g, rec, segments=("foot_r", "foot_l"), cycles=3).max()
        assert 2.0 < feet / torso < 4.0, (index, feet / torso)


def test_radial_velocity_vanishes_across_the_beam_and_flips_with_direction():
    g = Gait(height=1.8, speed=1.4)
    toward = doppler_track(g, Recording(aspect_deg=0, range_m=40, **QUIET))
    away = doppler_track(g, Recording(aspect_deg=180, range_m=40, **QUIET))
    across = doppler_track(g, Recording(aspect_deg=90, range_m=40, **QUIET))
    full = 2 * g.speed / RADAR.wavelength
    assert toward.mean() > 0.9 * full and away.mean() < -0.9 * full
    assert toward.mean() == pytest.approx(-away.mean(), rel=0.02)
    assert abs(across.mean()) < 0.05 * full


def test_no_aliasing_at_the_default_prf():
    cfg = load_config(None).simulate
    check_no_aliasing(cfg)
    # every body part of every default person, in every session direction, stays inside +-PRF/2
    worst = 0.0
    for index in range(cfg.people):
        p = make_person(cfg, index)
        g = p.gait(1 + cfg.session_speed_jitter)
        t = np.arange(0, 2 * g.period, 1 / 1000)
        v = radial_velocities(t, g, Recording(range_m=cfg.range_m[0], build=p.build), RADAR)
        worst = max(worst, np.abs(2 * v / RADAR.wavelength).max())
    assert worst < cfg.radar.prf_hz / 2, worst
    assert max_doppler_hz(cfg) >= worst  # the check's bound covers them
    with pytest.raises(MdaugError, match="aliases"):
        check_no_aliasing(load_config(None, ["simulate.radar.prf_hz=1500"]).simulate)


def test_kinematic_rate_interpolation_is_exact_enough():
    g = Gait(height=1.6, speed=1.6)
    rec = Recording(aspect_deg=20, range_m=6.0)
    t = np.arange(0, 2.0, 1 / RADAR.prf_hz)
    tk = np.linspace(0, t[-1], int(np.ceil(t[-1] * KINEMATIC_RATE_HZ)) + 4)
    from scipy.interpolate import CubicSpline

    exact, _ = range_and_amplitude(*scatterers(world_joints(t, g, rec)), np.array([0, 0, RADAR.height_m]))
    coarse, _ = range_and_amplitude(*scatterers(world_joints(tk, g, rec)), np.array([0, 0, RADAR.height_m]))
    err = np.abs(CubicSpline(tk, coarse, axis=1)(t) - exact).max()
    assert err < 20e-6, err  # 20 micrometres: under 0.02 rad of phase at 24 GHz


def test_same_seed_same_data_and_people_differ():
    cfg = load_config(None, ["simulate.people=6", "simulate.per_person=6", "simulate.sessions=3"]).simulate
    a = simulate_dataset(cfg, (32, 32), workers=1, progress=False)
    b = simulate_dataset(cfg, (32, 32), workers=2, progress=False)
    np.testing.assert_array_equal(a.dataset.x, b.dataset.x)  # same seed, any number of workers
    c = simulate_dataset(cfg.model_copy(update={"seed": 1}), (32, 32), workers=1, progress=False)
    assert not np.allclose(a.dataset.x, c.dataset.x)
    # cadence differs between people far more than within a person (one-way ANOVA)
    cycles = [[m.cycle_s for m in a.samples if m.person == p.name] for p in a.people]
    assert stats.f_oneway(*cycles).pvalue < 1e-3
    heights = [p.height for p in a.people]
    assert len(set(np.round(heights, 3))) == 6


def test_treadmill_walker_stays_in_place_but_moves_its_limbs():
    g = Gait(height=1.8, speed=1.4)
    t = np.arange(0, 3 * g.period, 1 / 1000)
    v = radial_velocities(t, g, Recording(range_m=5.0, path="treadmill"), RADAR)
    assert abs(v[1].mean()) < 0.02  # torso: no net motion
    assert v[8].max() > 2.0 and v[8].min() < -1.0  # a foot still swings forward and is carried back
