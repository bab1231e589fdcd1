"""`mdaug data inspect` and `mdaug data prepare` on the layouts users have."""

import json

import numpy as np
import yaml

from mdaug.config import Config
from mdaug.data import load_prepared, load_split, write_dataset
from mdaug.data.examples import write_examples
from tests.conftest import assert_one_line_error


def test_inspect_jet_folder_summary_and_preview(cli, tmp_path, small_set):
    write_dataset(small_set, tmp_path / "jet", "images", colormap="jet")
    preview = tmp_path / "p.png"
    code, out, err = cli("data", "inspect", tmp_path / "jet", "--preview", preview, "--json", tmp_path / "s.json")
    assert code == 0, err
    assert "colormap: jet (detected)" in out and "problems found: none" in out
    for name in small_set.class_names:
        row = next(line.split() for line in out.splitlines() if line.startswith(name))
        assert row[:3] == [name, "8", "2"]  # class, samples, sessions
        assert row[4] == "/" and int(row[3]) + int(row[5]) == 8  # walking towards / away
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["counts"] == {"person1": 8, "person2": 8, "person3": 8}
    assert s["shape"] == [1, 32, 32] and -1.0 <= s["value_range"][0] < s["value_range"][1] <= 1.0
    from PIL import Image

    assert Image.open(preview).size[0] > 100
    code, out, _ = cli("data", "inspect", tmp_path / "jet", "--preview", preview)
    assert code == 0 and f"preview: {tmp_path / 'p-2.png'}" in out  # the first preview is kept


def test_inspect_mat_folder(cli, tmp_path):
    path = write_examples(tmp_path / "mat", "mat", n_classes=3, per_session=2, sessions=2, shape=(32, 32))
    code, out, err = cli("data", "inspect", path, "--preview", tmp_path / "p.png")
    assert code == 0, err
    assert "samples: 12 in 3 classes" in out and "values read as: linear (12)" in out


def test_prepare_writes_dataset_split_and_config(cli, tmp_path, small_set):
    write_dataset(small_set, tmp_path / "jet", "images", colormap="jet")
    out_dir = tmp_path / "prep"
    code, out, err = cli("data", "prepare", tmp_path / "jet", "--out", out_dir, "--config", "tiny", "--size", "16",
                         "split.test_fraction=0.5", "split.val_fraction=0")
    assert code == 0, err
    assert {p.name for p in out_dir.iterdir()} >= {"mdaug_dataset.json", "spectrograms.npy", "manifest.csv",
                                                   "classes.json", "split.json", "config.yaml", "preview.png"}
    ds = load_prepared(out_dir)
    assert ds.x.shape == (24, 1, 16, 16)
    cfg = Config.model_validate(yaml.safe_load((out_dir / "config.yaml").read_text()))
    assert cfg.data.size == (16, 16) and cfg.split.test_fraction == 0.5 and cfg.data.path == str(tmp_path / "jet")
    split = load_split(out_dir / "split.json")
    test_sessions = {ds.records[i].session for i in split.indices(ds, "test")}
    train_sessions = {ds.records[i].session for i in split.indices(ds, "train")}
    assert len(test_sessions) == 3 and not test_sessions & train_sessions  # one of two sessions per person
    assert json.loads((out_dir / "classes.json").read_text())["index"] == {"person1": 0, "person2": 1, "person3": 2}
    # a second prepare with the same settings reproduces the split exactly
    code, _, err = cli("data", "prepare", tmp_path / "jet", "--out", tmp_path / "prep2", "--config", "tiny",
                       "--size", "16", "split.test_fraction=0.5", "split.val_fraction=0")
    assert code == 0, err
    assert load_split(tmp_path / "prep2" / "split.json").ids == split.ids
    np.testing.assert_array_equal(load_prepared(tmp_path / "prep2").x, ds.x)


def test_cli_odd_paths(cli, tmp_path, small_set):
    (tmp_path / "bad.yaml").write_bytes(b"data:\n  size: \xff\xfe\n")
    code, _, err = cli("config", "show", "-c", tmp_path / "bad.yaml")
    assert_one_line_error(code, err, "cannot be read")
    write_dataset(small_set, tmp_path / "d", "images")
    code, _, err = cli("data", "inspect", tmp_path / "d", "--preview", tmp_path / "p.txt")
    assert_one_line_error(code, err, "must be a .png")
    code, out, _ = cli("data", "inspect", tmp_path / "d", "--preview", tmp_path / "prev")
    assert code == 0 and f"preview: {tmp_path / 'prev.png'}" in out and (tmp_path / "prev.png").exists()
    (tmp_path / "afile").write_text("x")
    code, _, err = cli("tour", "--out", tmp_path / "afile")
    assert_one_line_error(code, err, "is a file")


def test_inspect_names_the_classes_recorded_walking_one_way_only(cli, tmp_path, small_set):
    x = small_set.x.copy()
    rows = x.shape[2]
    one = small_set.labels == 0
    x[one, :, : rows // 2] = -1  # class 0: energy above zero Doppler only, walking towards the radar
    two = np.flatnonzero(small_set.labels == 1)
    x[two[:4], :, rows // 2:] = -1  # class 1: half towards, half away
    x[two[4:], :, : rows // 2] = -1
    ds = type(small_set)(x=x, labels=small_set.labels, class_names=small_set.class_names, records=small_set.records,
                         info=small_set.info)
    write_dataset(ds, tmp_path / "npz", "npz")
    code, out, err = cli("data", "inspect", tmp_path / "npz", "--preview", tmp_path / "p.png", "--json",
                         tmp_path / "s.json")
    assert code == 0, err
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["towards_away_per_class"]["person1"] == [8, 0] and s["towards_away_per_class"]["person2"] == [4, 4]
    assert "person1" in s["one_way_classes"] and "person2" not in s["one_way_classes"]
    assert "go one way only" in out and "data.direction_free=true" in out
