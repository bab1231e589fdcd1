"""The simulator tour (`mdaug tour`), end to end in-process (tiny preset), and that a re-run continues."""

import numpy as np

from mdaug.data import load_prepared, load_split


def test_tour_runs_and_reruns(cli, tmp_path):
    out = tmp_path / "demo"
    code, text, err = cli("tour", "--out", out, "--config", "tiny")
    assert code == 0, err
    ds = load_prepared(out / "gait")
    assert ds.x.shape == (32, 1, 32, 32) and len(ds.class_names) == 4
    split = load_split(out / "gait" / "split.json")
    assert sum(len(v) for v in split.ids.values()) == 32
    assert "colormap: jet (detected)" in text and text.count("samples: 32 in 4 classes") == 2
    assert (out / "preview_images.png").exists() and (out / "gait" / "preview.png").exists()
    stamp = (out / "gait" / "spectrograms.npy").stat().st_mtime_ns
    code, text, err = cli("tour", "--out", out, "--config", "tiny")
    assert code == 0 and "reusing" in text
    assert (out / "gait" / "spectrograms.npy").stat().st_mtime_ns == stamp
    assert not np.isnan(ds.x).any()
