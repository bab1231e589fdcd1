"""Conditions per recording: read where the user has them, estimated where not, carried from reading to a prepared
dataset and a run's data; the coverage of each class and the test recordings in conditions its training lacks."""

from __future__ import annotations

import numpy as np
import pytest

from mdaug.config import load_config
from mdaug.data.axes import Axes
from mdaug.data.canonical import Record, SpectrogramSet
from mdaug.data.conditions import (
    Conditions,
    dataset_conditions,
    estimate_conditions,
    merge,
    read_condition_file,
)
from mdaug.data.coverage import (
    ABOVE,
    BELOW,
    BETWEEN,
    SEEN,
    UNKNOWN,
    coverage,
    lacking,
    person_traits,
    unseen_conditions,
)
from mdaug.errors import MdaugError


def _dataset(n: int = 6, files: bool = False) -> SpectrogramSet:
    x = np.full((n, 1, 16, 16), -1.0, dtype=np.float32)
    x[:, 0, 11] = 1.0  # a torso line above zero Doppler: walking towards
    recs = [Record(id=f"p{i % 2}/r{i}.png" + ("" if files else f"#{i}"), file=f"p{i % 2}/r{i}.png",
                   index=-1 if files else i, class_name=f"p{i % 2}", session=f"s{i}", orig_shape=(1, 16, 16),
                   file_sha256="") for i in range(n)]
    return SpectrogramSet(x=x, labels=np.arange(n) % 2, class_names=["p0", "p1"], records=recs)


def test_given_conditions_are_matched_by_id_numbers_and_categories_apart(tmp_path):
    ds = _dataset()
    csv = tmp_path / "conditions.csv"
    csv.write_text("id,person,speed_mps,load,note\n" + "".join(
        f"{ds.ids[i]},p{i % 2},{1.0 + 0.1 * i},{'box' if i % 3 == 0 else ''},x{i}\n" for i in range(5)))
    c = read_condition_file(csv, ds)
    assert c.names == ["speed_mps", "load", "note"]  # the person column says which recording, not how
    assert c.numeric("speed_mps") and not c.numeric("load")
    np.testing.assert_allclose(c.values["speed_mps"][:5], [1.0, 1.1, 1.2, 1.3, 1.4])
    assert np.isnan(c.values["speed_mps"][5])  # no row: unknown
    assert list(c.values["load"]) == ["box", "", "", "box", "", ""]
    assert c.source["speed_mps"] == "given (conditions.csv)"
    # a note per recording is kept but not compared: it would make every held-out recording unseen
    assert c.compared() == ["speed_mps", "load"]


def test_one_sample_files_are_matched_by_their_path(tmp_path):
    ds = _dataset(files=True)
    csv = tmp_path / "c.csv"
    csv.write_text("file,snr_db\n" + "".join(f"{r.file},{i}\n" for i, r in enumerate(ds.records)))
    np.testing.assert_allclose(read_condition_file(csv, ds).values["snr_db"], np.arange(6))


@pytest.mark.parametrize("text, message", [
    ("name,speed\nx,1\n", "needs an 'id' column"),
    ("id,speed\nnobody,1\n", "no id matches a sample"),
    ("id,speed\np0/r0.png#0,1\np0/r0.png#0,2\n", "appears twice"),
    ("", "has no rows"),
    ("file,speed\np0/r0.png,1\n", "files hold several; give an 'id' column instead"),
])
def test_a_bad_conditions_file_is_one_clear_error(tmp_path, text, message):
    csv = tmp_path / "c.csv"
    csv.write_text(text)
    with pytest.raises(MdaugError, match=message):
        read_condition_file(csv, _dataset())


def test_estimates_fill_only_what_is_not_given():
    given = Conditions(values={"snr_db": np.array([5.0, np.nan, 7.0]),
                               "arms": np.array(["swing", "", "carry"], dtype=object)},
                       source={"snr_db": "given (c.csv)", "arms": "given (c.csv)"})
    estimated = Conditions(values={"snr_db": np.array([1.0, 2.0, 3.0]), "cycle_s": np.array([1.0, 1.1, 1.2])},
                           source={"snr_db": "estimated", "cycle_s": "estimated"},
                           bounded={"snr_db": np.array([False, True, False])})
    m = merge(given, estimated)
    np.testing.assert_allclose(m.values["snr_db"], [5.0, 2.0, 7.0])
    assert m.source["snr_db"] == "given (c.csv), 1 estimated" and m.source["cycle_s"] == "estimated"
    assert list(m.values["arms"]) == ["swing", "", "carry"]


def test_the_observable_conditions_are_estimated_in_the_units_the_axes_allow():
    ds = _dataset()
    plain = estimate_conditions(ds, Axes(rows=16, cols=16), 40.0)
    assert set(plain.names) == {"radial_doppler_rows", "direction", "cycle_cols", "snr_db"}
    assert (plain.values["radial_doppler_rows"] == pytest.approx(11 - 7.5)) and set(plain.values["direction"]) == \
        {"towards"}
    known = estimate_conditions(ds, Axes(rows=16, cols=16, doppler_hz=(-750.0, 750.0), native_rows=16,
                                         time_s=(0.0, 3.0), carrier_hz=10e9), 40.0)
    assert {"radial_speed_mps", "cycle_s"} <= set(known.names)
    assert known.values["radial_speed_mps"][0] == pytest.approx(3.5 * 100.0 * 0.0299792458 / 2, rel=1e-6)


def test_a_simulated_dataset_brings_its_truth_and_a_prepared_copy_keeps_it(tmp_path):
    from mdaug.data.prepare import prepare_dataset
    from mdaug.runs.run_data import load_run_data

    cfg = load_config("tiny")
    data = load_run_data(cfg)
    c = data.conditions
    assert c.source["snr_db"] == "given (recordings.csv)" and c.numeric("radial_speed_mps")
    assert set(c.values["direction"]) <= {"towards", "away"} and set(c.values["arms"]) == {"swing"}
    out = tmp_path / "prepared"
    prepare_dataset(cfg, data.source, out)
    again = load_run_data(load_config("tiny", [f"data.path={out}"]))
    np.testing.assert_allclose(again.conditions.values["snr_db"], c.values["snr_db"], atol=1e-4)
    assert again.conditions.source["snr_db"] == "given (conditions.csv)"


def test_a_configured_conditions_file_that_is_missing_is_refused(tmp_path):
    with pytest.raises(MdaugError, match="data.conditions=.*is not a file"):
        dataset_conditions(_dataset(), tmp_path, load_config("tiny", [f"data.conditions={tmp_path / 'no.csv'}"]).data)


def _table(values: dict, labels: list[int], bounded: dict | None = None) -> tuple[Conditions, np.ndarray]:
    vals = {k: np.array(v, dtype=object if isinstance(v[0], str) else np.float64) for k, v in values.items()}
    return Conditions(values=vals, source=dict.fromkeys(vals, "given"), bounded=bounded or {}), np.array(labels)


def test_unseen_conditions_say_below_above_between_and_unknown():
    # class 0 trains at SNR 5 and 15 (rows 0, 1); its test recordings at 5.5, 2, 20, 10, unknown; class 1 has none
    c, labels = _table({"snr_db": [5, 15, 5.5, 2, 20, 10, np.nan, 9],
                        "arms": ["swing", "swing", "swing", "carry", "swing", "", "swing", "swing"]},
                       [0, 0, 0, 0, 0, 0, 0, 1])
    train, test = np.array([0, 1]), np.array([2, 3, 4, 5, 6, 7])
    u = unseen_conditions(c, labels, train, test)
    assert list(u.codes["snr_db"]) == [SEEN, BELOW, ABOVE, BETWEEN, UNKNOWN, UNKNOWN]
    assert list(u.codes["arms"]) == [SEEN, BETWEEN, SEEN, UNKNOWN, SEEN, UNKNOWN]
    subsets = u.subsets()
    assert list(subsets["unseen conditions"]) == [False, True, True, True, False, False]
    assert list(subsets["snr_db below"]) == [False, True, False, False, False, False]
    assert subsets["all"].all()
    # seen: every condition known and seen; a recording with an unknown value and nothing unseen is neither
    assert list(subsets["seen conditions"]) == [True, False, False, False, False, False]
    assert list(subsets["unknown conditions"]) == [False, False, False, False, True, True]


def test_a_bounded_value_is_never_called_seen_or_below():
    # an SNR that is only a lower bound (>= 4) near a training value of 5: it may be far above, so not 'seen'
    c, labels = _table({"snr_db": [5, 4, 30]}, [0, 0, 0], bounded={"snr_db": np.array([False, True, True])})
    u = unseen_conditions(c, labels, np.array([0]), np.array([1, 2]))
    assert list(u.codes["snr_db"]) == [UNKNOWN, ABOVE]


def test_coverage_counts_each_class_in_each_bin_and_what_it_lacks():
    c, labels = _table({"speed_mps": [1.0, 1.05, 1.9, 1.95], "direction": ["towards", "towards", "away", "towards"]},
                       [0, 0, 1, 1])
    cov = coverage(c, labels, ["a", "b"], bins=2)
    assert cov.counts["speed_mps"].tolist() == [[2, 0], [0, 2]] and cov.bins["speed_mps"] == ["1..1.5", "1.5..2"]
    assert cov.counts["direction"].tolist() == [[0, 2], [1, 1]]
    summary = cov.summary()
    assert summary["a"]["direction"] == {"has": ["towards"], "lacks": ["away"]}
    assert summary["b"]["speed_mps"] == {"has": ["1.5..2"], "lacks": ["1..1.5"]}


def test_a_users_manifest_with_extra_columns_is_a_conditions_file_and_a_stray_one_is_left_out(tmp_path):
    ds = _dataset(files=True)
    manifest = tmp_path / "my_manifest.csv"
    manifest.write_text("file,class,label,session,speed_mps,radar\n" + "".join(
        f"{r.file},{r.class_name},{i % 2},{r.session},{1.0 + i / 10},24GHz\n" for i, r in enumerate(ds.records)))
    cfg = load_config("tiny", [f"data.conditions={manifest}"]).data
    c = dataset_conditions(ds, tmp_path, cfg)
    assert {"speed_mps", "radar"} <= set(c.names) and not {"class", "label", "session"} & set(c.names)
    np.testing.assert_allclose(c.values["speed_mps"], 1.0 + np.arange(6) / 10)
    # a conditions.csv found beside the data that is not about it: noted, not fatal
    (tmp_path / "conditions.csv").write_text("name,speed\nx,1\n")
    c = dataset_conditions(ds, tmp_path, load_config("tiny").data)
    assert "speed" not in c.names and any("left out" in n for n in c.notes)


def test_prepare_leaves_out_a_stray_conditions_file_with_a_warning_and_refuses_a_configured_one(cli, tmp_path,
                                                                                               small_set):
    from mdaug.data.write import write_dataset
    from tests.conftest import assert_one_line_error

    write_dataset(small_set, tmp_path / "d", "images")
    (tmp_path / "d" / "conditions.csv").write_text("name,speed\nx,1\n")  # found beside the data, about other data
    code, text, err = cli("data", "prepare", tmp_path / "d", "--out", tmp_path / "p")
    assert code == 0, err
    assert "conditions.csv was found beside the data and left out" in err
    assert not (tmp_path / "p" / "conditions.csv").exists()
    code, _, err = cli("data", "prepare", tmp_path / "d", "--out", tmp_path / "p2",
                       f"data.conditions={tmp_path / 'd' / 'conditions.csv'}")
    assert_one_line_error(code, err, "conditions.csv")
    assert not (tmp_path / "p2").exists()
    code, text, err = cli("data", "inspect", tmp_path / "d", "--preview", tmp_path / "v.png")
    assert code == 0, err
    assert "conditions: " in text and "left out" in text


def test_lacking_names_other_peoples_sessions_a_person_lacks_but_not_their_gait_cycle():
    # person 0 trains at SNR 5 and 15 swinging; person 1's recordings: SNR 5.5 (seen by 0), 30 (unseen), carrying
    # at SNR 15 (the arms unseen), and one whose only difference is the gait cycle (a trait, not a session)
    c, labels = _table({"snr_db": [5, 15, 5.5, 30, 15, 5],
                        "arms": ["swing", "swing", "swing", "swing", "carry", "swing"],
                        "cycle_s": [1.0, 1.0, 1.0, 1.0, 1.0, 1.4]}, [0, 0, 1, 1, 1, 1])
    train = np.arange(6)
    persons, rows = lacking(c, labels, train, np.random.default_rng(0), 10, classes=np.array([0]))
    assert sorted(rows.tolist()) == [3, 4] and (persons == 0).all()
    persons, rows = lacking(c, labels, train, np.random.default_rng(0), 1, classes=np.array([0]))
    assert len(rows) == 1 and rows[0] in (3, 4)  # at most per_class
    _, rows = lacking(c, labels, train, np.random.default_rng(0), 10, classes=np.array([0]), exclude=())
    assert sorted(rows.tolist()) == [3, 4, 5]  # with the gait cycle compared, the last one is lacking too


def test_person_traits_are_what_hardly_varies_within_a_person():
    # speed: each person walks at their own pace (a trait); snr: every session its own; arms: one posture each
    c, labels = _table({"speed_mps": [1.0, 1.01, 0.99, 1.6, 1.61, 1.59], "snr_db": [5, 20, 12, 6, 19, 11],
                        "arms": ["swing"] * 3 + ["box"] * 3}, [0, 0, 0, 1, 1, 1])
    assert person_traits(c, labels, np.arange(6)) == ["speed_mps", "arms"]
    # over other rows the speed varies within a person: a session's condition there
    c2, labels2 = _table({"speed_mps": [1.0, 1.6, 1.3, 1.6, 1.0, 1.3], "snr_db": [5, 20, 12, 6, 19, 11],
                          "arms": ["swing", "box"] * 3}, [0, 0, 0, 1, 1, 1])
    assert person_traits(c2, labels2, np.arange(6)) == []
