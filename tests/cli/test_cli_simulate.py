"""`mdaug simulate` writes a dataset the data layer reads back, with traits, metadata and a preview."""

import csv

import numpy as np

from mdaug.config import load_config
from mdaug.data import load_prepared, load_split
from mdaug.simulate.dataset import plan
from tests.conftest import assert_one_line_error


def test_simulate_writes_a_readable_dataset(cli, tmp_path):
    out = tmp_path / "sim"
    code, text, err = cli("simulate", "--people", 3, "--per-class", 6, "--sessions", 3, "--size", 32, "--out", out,
                          "--images", "--workers", 1, "simulate.duration_s=1.5")
    assert code == 0, err
    ds = load_prepared(out)
    assert ds.x.shape == (18, 1, 32, 32) and ds.class_names == ["person01", "person02", "person03"]
    assert ds.x.max() == 1.0 and ds.x.min() == -1.0  # each sample's peak is 0 dB, the floor -40 dB
    assert len(set(ds.sessions)) == 9 and -1400 <= ds.info.doppler_hz[0] < 0 < ds.info.doppler_hz[1] <= 1400
    people = list(csv.DictReader(open(out / "people.csv")))
    assert [p["name"] for p in people] == ds.class_names
    assert 1.5 <= float(people[0]["height"]) <= 1.95
    recs = list(csv.DictReader(open(out / "recordings.csv")))
    assert len(recs) == 18 and {"speed_mps", "aspect_deg", "range_m", "snr_db", "session"} <= set(recs[0])
    split = load_split(out / "split.json")
    test_sessions = {ds.records[i].session for i in split.indices(ds, "test")}
    train_sessions = {ds.records[i].session for i in split.indices(ds, "train")}
    assert test_sessions and not test_sessions & train_sessions
    assert (out / "preview.png").stat().st_size > 10_000
    # the image folder reads back through the colormap inversion
    code, text, err = cli("data", "inspect", out / "images", "--preview", tmp_path / "p.png")
    assert code == 0, err
    assert "colormap: jet (detected)" in text and "samples: 18 in 3 classes" in text


def test_plan_spreads_recordings_over_sessions():
    cfg = load_config(None, ["simulate.people=2", "simulate.per_person=10", "simulate.sessions=3"]).simulate
    jobs = plan(cfg)
    sessions = np.array([s for p, s, k in jobs if p == 0])
    assert np.bincount(sessions).tolist() == [4, 3, 3]


def test_simulate_errors(cli, tmp_path):
    code, _, err = cli("simulate", "--out", tmp_path / "o", "--people", 2, "simulate.radar.prf_hz=500")
    assert_one_line_error(code, err, "aliases", "PRF")
    code, _, err = cli("simulate", "--out", tmp_path / "o", "--per-class", 2, "--sessions", 5)
    assert_one_line_error(code, err, "cannot exceed per_person")
    code, _, err = cli("simulate", "--out", tmp_path / "o", "simulate.rv=[1.0,3.5]")
    assert_one_line_error(code, err, "0 < RV <= 3")
    code, _, err = cli("simulate", "--out", tmp_path / "o", "simulate.peeple=3")
    assert_one_line_error(code, err, "did you mean 'simulate.people'")


def test_simulate_gait_sessions_and_inspect_its_coverage(cli, tmp_path):
    out = tmp_path / "sessions"
    code, text, err = cli("simulate", "--dataset", "gait-sessions", "--people", 3, "--per-class", 6, "--sessions", 6,
                          "--size", 32, "--out", out, "--workers", 1, "gait_sessions.duration_s=1.5")
    assert code == 0, err
    assert "3 people x 6 recordings in 6 sessions" in text
    recs = list(csv.DictReader(open(out / "recordings.csv")))
    assert {"radial_speed_mps", "direction", "arms", "cycle_s"} <= set(recs[0])
    speeds = {r["session"]: float(r["speed_mps"]) for r in recs if r["person"] == "person01"}
    assert max(speeds.values()) / min(speeds.values()) > 1.1  # sessions of clearly different speeds
    code, text, err = cli("data", "inspect", out, "--preview", tmp_path / "p.png", "--json", tmp_path / "s.json")
    assert code == 0, err
    assert "conditions per recording" in text and "given (recordings.csv)" in text
    assert f"coverage: {tmp_path / 'p_coverage.png'}" in text and (tmp_path / "p_coverage.png").exists()
    s = __import__("json").loads((tmp_path / "s.json").read_text())
    cov = s["conditions"]["coverage"]["person01"]["arms"]
    assert cov["has"] and set(cov["has"]) | set(cov["lacks"]) <= {"swing", "pockets", "carry"}
    assert len({r["arms"] for r in recs}) >= 2  # the sessions' arm postures differ
    code, text, err = cli("simulate", "--dataset", "walkers", "--out", tmp_path / "x")
    assert_one_line_error(code, err, "use gait or gait-sessions")
    code, text, err = cli("simulate", "--dataset", "gait-sessions", "--out", tmp_path / "y", "simulate.people=3")
    assert_one_line_error(code, err, "sets the other built-in dataset")
    assert not (tmp_path / "y").exists()
