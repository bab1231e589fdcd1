"""The built-in benchmark whose sessions differ as real ones do (gait-sessions): arm postures and a carried box that
physics can tell apart, sessions of clearly different speeds and aspects, and gait31 left exactly as it was."""

from __future__ import annotations

import numpy as np
import pytest

from mdaug.config import load_config
from mdaug.simulate.dataset import simulate_one
from mdaug.simulate.kinematics import Gait, joint_positions
from mdaug.simulate.people import make_person, make_session
from mdaug.simulate.radar import Radar, body_segments, scatterers
from mdaug.simulate.scene import Recording, radial_velocities, torso_radial_speed, world_joints

RADAR = Radar(prf_hz=4000.0)


def _hand_swing(arms: str) -> float:
    """Range of the right hand's forward position over a cycle, relative to the pelvis (metres)."""
    g = Gait(arms=arms)
    t = np.linspace(0, g.period, 200)
    j = joint_positions(t, g, progress=False)
    return float(np.ptp(j["hand_r"][:, 0] - j["base"][:, 0]))


def test_arm_postures_hold_the_arms_still_and_a_box_is_a_scatterer_of_its_own():
    swing, pockets, carry = (_hand_swing(a) for a in ("swing", "pockets", "carry"))
    assert swing > 0.3 and pockets < 0.25 * swing and carry < 0.1 * swing
    g = Gait(arms="carry")
    t = np.linspace(0, 1, 50)
    joints = world_joints(t, g, Recording(range_m=10.0))
    pos, *_ = scatterers(joints, 1.0, body_segments("carry"))
    assert len(pos) == 17 and len(body_segments("swing")) == 16
    box = pos[-1]  # between the hands, in front of the torso, at waist height
    assert np.allclose(box, (joints["hand_r"] + joints["hand_l"]) / 2)
    # a carried box moves with the torso: its radial velocity stays within 15% of the torso's over the cycle
    v = radial_velocities(t, g, Recording(range_m=10.0), RADAR)
    assert np.abs(v[-1] - v[1]).max() < 0.15 * g.speed
    with pytest.raises(AssertionError, match="arms must be one of"):
        Gait(arms="juggling")


def test_the_torso_radial_speed_is_the_speed_times_the_cosine_of_the_aspect():
    g = Gait(speed=1.4)
    for aspect in (0.0, 45.0, 180.0):
        v = torso_radial_speed(g, Recording(range_m=12.0, aspect_deg=aspect), RADAR, 3.0)
        assert v == pytest.approx(1.4 * np.cos(np.radians(aspect)), rel=0.03, abs=0.02)


def test_gait_sessions_differ_in_speed_aspect_arms_and_snr():
    cfg = load_config("quick").gait_sessions
    person = make_person(cfg, 0)
    sessions = [make_session(cfg, person, s) for s in range(cfg.sessions)]
    speeds = np.array([s.speed_factor for s in sessions])
    off_axis = np.array([min(abs(s.aspect_deg), abs(s.aspect_deg - 180)) for s in sessions])
    assert speeds.max() - speeds.min() > 0.25  # clearly different speeds, not +-5%
    assert off_axis.max() > 30 and len({s.arms for s in sessions}) >= 2
    assert np.ptp([s.snr_db for s in sessions]) > 10


def test_adding_arm_modes_leaves_every_other_draw_of_gait31_as_it_was():
    gait31 = load_config("gait31").simulate
    person = make_person(gait31, 3)
    with_modes = gait31.model_copy(update={"arms": {"swing": 1.0, "pockets": 1.0, "carry": 1.0}})
    for s in range(gait31.sessions):
        a, b = make_session(gait31, person, s), make_session(with_modes, person, s)
        assert (a.speed_factor, a.aspect_deg, a.range_m, a.snr_db) == (b.speed_factor, b.aspect_deg, b.range_m,
                                                                       b.snr_db)
        assert a.arms == "swing"
    # and a swinging walker's spectrogram does not depend on which other modes could have been drawn
    x, meta, _, _ = simulate_one(gait31, person, 0, 0, (32, 32))
    only = gait31.model_copy(update={"arms": {"swing": 1.0, "carry": 0.0}})
    y, _, _, _ = simulate_one(only, person, 0, 0, (32, 32))
    assert np.array_equal(x, y) and meta.arms == "swing" and meta.direction in ("towards", "away")


def test_a_recordings_metadata_is_a_record_whose_row_keeps_the_csv_columns():
    cfg = load_config("tiny").simulate
    x, meta, freqs, times = simulate_one(cfg, make_person(cfg, 1), 0, 2, (16, 16))
    row = meta.row()
    assert list(row) == ["person", "session", "recording", "speed_mps", "cycle_s", "aspect_deg", "range_m", "snr_db",
                         "phase0", "radial_speed_mps", "direction", "arms"]
    assert row["person"] == meta.person == "person02" and row["session"] == "person02/s1" and row["recording"] == 2
    assert row["direction"] == ("towards" if meta.radial_speed_mps >= 0 else "away")
    assert x.shape == (1, 16, 16) and len(freqs) > 16 and len(times) > 16
