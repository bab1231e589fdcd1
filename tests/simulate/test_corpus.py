"""The pretraining corpus: walkers who are in no built-in dataset, every radar and display, no aliasing, and the
display round trip of users' images."""


import numpy as np
import pytest

from mdaug.config import load_config
from mdaug.simulate.corpus import corpus_parts, held_out_set, through_display
from mdaug.simulate.dataset import check_no_aliasing
from mdaug.simulate.people import make_person


def traits(person) -> np.ndarray:
    return np.array([person.height, person.speed, person.build, person.arm_swing, person.knee_peak_offset,
                     person.hip_amplitude_offset, person.cadence, person.asymmetry, *person.ratios.values()])


def test_no_walker_of_the_corpus_is_a_walker_of_gait31():
    cfg = load_config("gait31")
    parts = corpus_parts(cfg.pretrain, cfg.simulate)
    gait = np.stack([traits(make_person(cfg.simulate, i)) for i in range(cfg.simulate.people)])
    corpus = np.stack([traits(make_person(p.simulate, i)) for p in parts for i in range(p.simulate.people)])
    assert len(corpus) == cfg.pretrain.parts * cfg.pretrain.people_per_part
    # every walker differs from every gait31 walker in its traits (not only in its name)
    closest = np.abs(corpus[:, None, :] - gait[None, :, :]).max(axis=2).min()
    assert closest > 1e-3
    seeds = [p.simulate.seed for p in parts]
    assert len(set(seeds)) == len(seeds) and min(seeds) >= 1000 > cfg.simulate.seed
    held = held_out_set(cfg.pretrain, cfg.simulate, people=31, per_person=10, sessions=2)
    assert held.seed not in seeds and held.seed != cfg.simulate.seed
    assert held.radar.carrier_hz not in {p.simulate.radar.carrier_hz for p in parts}


def test_the_corpus_spans_every_radar_and_display_without_aliasing():
    cfg = load_config("gait31")
    parts = corpus_parts(cfg.pretrain, cfg.simulate)
    p = cfg.pretrain
    assert {x.radar for x in parts} == {r.name for r in p.radars}
    assert {x.display for x in parts} == set(p.colormaps)
    assert {x.simulate.path for x in parts} == {"ground", "treadmill"}
    for part in parts:
        check_no_aliasing(part.simulate)  # raises when a foot would alias
        s = part.simulate
        assert s.stft.doppler_span_hz < s.radar.prf_hz / 2
        assert p.snr_db[0] <= s.snr_db[0] <= s.snr_db[1] <= p.snr_db[1]
        assert p.dynamic_range_db[0] <= s.dynamic_range_db <= p.dynamic_range_db[1]
    assert corpus_parts(p, cfg.simulate)[3].row() == parts[3].row()  # seeded: the same corpus every time
    assert parts[0].simulate.radar != parts[1].simulate.radar


@pytest.mark.parametrize("display, tolerance", [("gray", 1.5 / 255 * 2), ("jet", 0.03), ("viridis", 0.03)])
def test_a_display_round_trip_reads_back_what_was_shown(display, tolerance):
    rng = np.random.default_rng(0)
    x = np.clip(rng.normal(-0.5, 0.4, size=(1, 16, 24)), -1, 1).astype(np.float32)
    back = through_display(x, display)
    assert back.shape == x.shape
    assert np.abs(back - x).max() <= tolerance
    assert not np.array_equal(back, x)  # 8-bit: quantised


def test_the_corpus_carries_every_recordings_true_conditions_and_its_radar(tmp_path, monkeypatch):
    """What a conditional stage 2 is pretrained on: the simulator's truth per recording, matched by id (no estimate
    reads a corpus whose parts differ in their display's dB range)."""
    import csv

    from mdaug.runs.builtin import corpus_dataset
    from mdaug.runs.run_data import load_run_data
    from mdaug.workflows.pretrain import corpus_config

    monkeypatch.setenv("MDAUG_CACHE", str(tmp_path))
    cfg = load_config("tiny", ["pretrain.parts=2", "pretrain.people_per_part=2", "pretrain.per_person=3",
                               "pretrain.sessions=1", "data.size=32x32"])
    folder = corpus_dataset(cfg)
    with open(folder / "recordings.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    parts = corpus_parts(cfg.pretrain, cfg.simulate)
    data = load_run_data(corpus_config(cfg))
    assert [r["id"] for r in rows] == list(data.dataset.ids) and len(rows) == 2 * 2 * 3
    assert [r["radar"] for r in rows] == [p.radar for p in parts for _ in range(6)]
    c = data.conditions
    assert c.source["aspect_deg"] == "given (recordings.csv)" and c.source["radar"] == "given (recordings.csv)"
    np.testing.assert_allclose(c.values["snr_db"], [float(r["snr_db"]) for r in rows])
    # the truth is physics: the torso's radial speed is the walking speed along the line of sight on the ground, and
    # about zero on a treadmill
    radial, speed, aspect = c.values["radial_speed_mps"], c.values["speed_mps"], np.radians(c.values["aspect_deg"])
    ground = np.array([p.simulate.path == "ground" for p in parts for _ in range(6)])
    assert ground.any() and not ground.all()
    np.testing.assert_allclose(radial[ground], (speed * np.cos(aspect))[ground], atol=0.1)
    assert np.abs(radial[~ground]).max() < 0.05
