"""The readers at the edges of what they take: unusual encodings of labels and values, edited or nested datasets,
and inputs that must be refused with one line rather than read into wrong data."""

import json

import h5py
import numpy as np
import pytest
from PIL import Image

from mdaug.config import DataConfig, load_config
from mdaug.data import load_prepared, make_split, read_dataset, save_prepared, write_dataset
from mdaug.data.arrays import save_mat
from mdaug.errors import MdaugError
from tests.conftest import assert_one_line_error, varied


def read(path, **kw):
    return read_dataset(path, DataConfig(**kw), progress=False)


def test_labelled_files_in_person_folders_keep_their_labels(tmp_path):
    rng = np.random.default_rng(0)
    for p in ("P01", "P02"):
        (tmp_path / p).mkdir()
        save_mat(tmp_path / p / "rec1.mat", {"x": rng.random((8, 8, 4)) + 0.1, "labels": np.array([[1], [2], [3], [1]]),
                                            "class_names": np.array(["walk", "run", "jog"], dtype=object)})
    res = read_dataset(tmp_path, DataConfig(), progress=False, collect=True)
    assert res.dataset.class_names == ["walk", "run", "jog"]
    assert res.dataset.counts() == {"walk": 4, "run": 2, "jog": 2}
    assert any("carry their own labels" in p.message for p in res.problems)


def test_hdf5_string_datasets(tmp_path):
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["x"] = np.random.default_rng(0).random((3, 8, 8)) + 0.1
        f.create_dataset("labels", data=["walk", "run", "walk"], dtype=h5py.string_dtype())
        f["description"] = "radar gait data"
    ds = read(tmp_path / "d.h5").dataset
    assert ds.class_names == ["run", "walk"] and ds.labels.tolist() == [1, 0, 1]


def test_float_tiffs(tmp_path):
    for c in ("a", "b"):
        (tmp_path / "ok" / c).mkdir(parents=True)
        pixels = np.full((8, 8), 0.75, dtype=np.float32)
        pixels[0] = 0.25
        Image.fromarray(pixels, "F").save(tmp_path / "ok" / c / "0.tif")
    x = read(tmp_path / "ok").dataset.x  # 0.75 in [0, 1] -> 0.5 in [-1, 1]; 0.25 -> -0.5
    np.testing.assert_allclose(np.unique(x), [-0.5, 0.5])
    assert (x == 0.5).mean() == pytest.approx(7 / 8)
    bad = np.full((8, 8), 0.5, dtype=np.float32)
    bad[2, 2] = np.nan
    Image.fromarray(bad, "F").save(tmp_path / "ok" / "a" / "1.tif")
    with pytest.raises(MdaugError, match="a/1.tif: contains NaN"):
        read(tmp_path / "ok")


@pytest.mark.parametrize("content, needle", [
    ({"x": varied((4, 8, 8)), "labels": np.array(["walk", "run", "walk", "x"]),
      "class_names": np.array(["walk", "run"])},
     "not among the class names"),
    ({"x": varied((3, 8, 8)), "labels": np.array([1, 2])}, "has 2 labels for 3 spectrograms"),
    ({"x": varied((100,)), "labels": np.array([1])}, "not 2-D"),
    ({"x": varied((0, 8, 8)), "labels": np.array([], dtype=int)}, "empty"),
    ({"x": varied((3, 8, 2)), "labels": np.array([0, 1, 1])}, "too small"),
])
def test_bad_arrays_give_one_line(cli, tmp_path, content, needle):
    np.savez(tmp_path / "d.npz", **content)
    code, _, err = cli("data", "prepare", tmp_path / "d.npz", "--out", tmp_path / "o")
    assert_one_line_error(code, err, needle)


def test_matlab_cells_of_numeric_labels_and_bytes_labels(tmp_path):
    labels = np.empty((1, 3), dtype=object)
    labels[0, :] = [np.array([[1.0]]), np.array([[2.0]]), np.array([[1.0]])]
    save_mat(tmp_path / "c.mat", {"x": np.random.default_rng(0).random((8, 8, 3)) + 0.1, "labels": labels})
    assert read(tmp_path / "c.mat").dataset.labels.tolist() == [0, 1, 0]
    np.savez(tmp_path / "b.npz", x=varied((2, 8, 8)), labels=np.array([b"walk", b"run"]))
    assert read(tmp_path / "b.npz").dataset.class_names == ["run", "walk"]


def test_edited_prepared_datasets_are_refused(tmp_path, small_set):
    save_prepared(small_set, tmp_path / "p")
    meta = json.loads((tmp_path / "p" / "mdaug_dataset.json").read_text())
    np.save(tmp_path / "p" / "spectrograms.npy", -np.ones_like(small_set.x))
    with pytest.raises(MdaugError, match="changed after it was prepared"):
        load_prepared(tmp_path / "p")
    save_prepared(small_set, tmp_path / "q")
    (tmp_path / "q" / "classes.json").write_text(json.dumps({"names": small_set.class_names[::-1]}))
    with pytest.raises(MdaugError, match="disagree"):
        load_prepared(tmp_path / "q")
    (tmp_path / "q" / "classes.json").write_text('{"names": "ab"}')
    with pytest.raises(MdaugError, match="list of distinct"):
        load_prepared(tmp_path / "q")
    (tmp_path / "q" / "mdaug_dataset.json").write_text("[1]")
    with pytest.raises(MdaugError, match="not a complete mdaug dataset"):
        load_prepared(tmp_path / "q")
    assert meta["format_version"] == 1


def test_skip_bad_leaves_out_a_class_with_nothing_readable(cli, tmp_path, small_set):
    write_dataset(small_set, tmp_path / "d", "images")
    (tmp_path / "d" / "jog").mkdir()
    (tmp_path / "d" / "jog" / "0.png").write_bytes(b"broken")
    code, out, err = cli("data", "prepare", tmp_path / "d", "--out", tmp_path / "o", "--skip-bad")
    assert code == 0, err
    assert "class 'jog' has no readable samples and was left out" in err
    assert load_prepared(tmp_path / "o").class_names == small_set.class_names


def test_near_grey_colour_images_read_as_gray(tmp_path):
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        grey = np.repeat(np.linspace(0, 255, 64).astype(np.uint8)[None, :, None], 16, axis=0).repeat(3, axis=2)
        noisy = np.clip(grey.astype(int) + rng.integers(-2, 3, grey.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(tmp_path / c / "0.png")
    ds = read(tmp_path).dataset
    assert ds.info.colormap == "gray"
    np.testing.assert_allclose(ds.x[0, 0, 0], np.linspace(-1, 1, 64), atol=0.03)


def test_uint8_arrays_read_like_the_same_pixels_in_a_png(tmp_path):
    pix = np.random.default_rng(0).integers(0, 256, (2, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "u8.npz", x=pix, labels=np.array([0, 1]))
    for i, c in enumerate(("0", "1")):
        (tmp_path / "png" / c).mkdir(parents=True)
        Image.fromarray(pix[i][::-1]).save(tmp_path / "png" / c / "a.png")  # image rows: top = high Doppler
    np.testing.assert_allclose(read(tmp_path / "u8.npz").dataset.x, read(tmp_path / "png").dataset.x, atol=1e-6)


def test_a_prepared_dataset_moved_into_the_data_is_left_out(cli, tmp_path, small_set):
    """prepare refuses an --out inside the data (test_errors); one moved there by hand is still no class."""
    write_dataset(small_set, tmp_path / "d", "images")
    code, _, err = cli("data", "prepare", tmp_path / "d", "--out", tmp_path / "prepared")
    assert code == 0, err
    (tmp_path / "prepared").rename(tmp_path / "d" / "prepared")
    code, out, err = cli("data", "inspect", tmp_path / "d", "--preview", tmp_path / "p.png")
    assert "prepared mdaug dataset, not a class: left out" in out and "samples: 24 in 3 classes" in out


def test_single_file_without_sessions_splits_by_sample(small_set, tmp_path):
    (path,) = write_dataset(small_set, tmp_path, "npz")
    np.savez(path.with_name("nosess.npz"), x=small_set.x[:, 0], labels=small_set.labels)
    ds = read(path.with_name("nosess.npz"), scale="normalized").dataset
    split = make_split(ds, load_config(None).split)
    assert split.group_by == "sample" and len(split.ids["test"]) > 0
    assert "optimistic" in split.warnings[0]


def test_labelled_files_must_agree_on_class_names(tmp_path):
    np.savez(tmp_path / "a.npz", x=varied((2, 8, 8)), labels=np.array([0, 1]), class_names=np.array(["walk", "run"]))
    np.savez(tmp_path / "b.npz", x=varied((2, 8, 8)), labels=np.array([0, 1]), class_names=np.array(["run", "walk"]))
    with pytest.raises(MdaugError, match="b.npz: lists other class names"):
        read(tmp_path)
