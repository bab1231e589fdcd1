"""The README's main job, end to end in-process, and that a re-run continues instead of overwriting."""

from mdaug.data import load_prepared, load_split


def test_demo_runs_and_reruns(cli, tmp_path):
    out = tmp_path / "demo"
    code, text, err = cli("demo", "--out", out)
    assert code == 0, err
    ds = load_prepared(out / "dataset")
    assert ds.x.shape == (144, 1, 64, 64) and len(ds.class_names) == 6
    assert len({r.session for r in ds.records}) == 36  # 6 persons x 6 sessions
    assert ds.info["colormap"] == "jet"
    split = load_split(out / "dataset" / "split.json")
    assert sum(len(v) for v in split.ids.values()) == 144
    assert (out / "preview_jet_images.png").exists() and (out / "preview_matlab_v73.png").exists()
    stamp = (out / "dataset" / "spectrograms.npy").stat().st_mtime_ns
    code, text, err = cli("demo", "--out", out)
    assert code == 0 and "reusing" in text
    assert (out / "dataset" / "spectrograms.npy").stat().st_mtime_ns == stamp
