"""Every reader: write known arrays in its format, read them back, compare values."""

import numpy as np
import pytest

from mdaug.config import DataConfig
from mdaug.data import read_dataset, write_dataset
from mdaug.data.arrays import save_hdf5, save_mat, save_npz
from mdaug.data.examples import example_magnitudes, example_set, write_examples
from tests.conftest import varied


def read(path, **kw):
    return read_dataset(path, DataConfig(**kw), progress=False)


def assert_same_set(got, want, atol):
    assert got.class_names == want.class_names
    assert got.x.shape == want.x.shape and got.x.dtype == np.float32
    # readers may order samples differently (by file name): match them by content
    order = [int(np.argmin(np.abs(want.x - g).reshape(len(want), -1).max(1))) for g in got.x]
    assert sorted(order) == list(range(len(want))), "samples do not map one-to-one"
    np.testing.assert_array_equal(got.labels, want.labels[order])
    assert np.abs(got.x - want.x[order]).max() <= atol


@pytest.mark.parametrize("fmt", ["npz", "mat", "mat73", "hdf5"])
def test_array_formats_round_trip_exactly(tmp_path, small_set, fmt):
    (path,) = write_dataset(small_set, tmp_path, fmt)
    got = read(path, scale="normalized").dataset
    assert_same_set(got, small_set, atol=1e-6)
    assert got.sessions == [s for s in small_set.sessions]  # sessions come back in order


def test_grey_image_folder_round_trips_within_8_bit(tmp_path, small_set):
    write_dataset(small_set, tmp_path, "images", colormap="gray")
    res = read(tmp_path)
    assert res.dataset.info.kinds == {"greyscale image": len(small_set)}
    assert_same_set(res.dataset, small_set, atol=1 / 255 + 1e-6)  # [-1, 1] in 255 levels


@pytest.mark.parametrize("cmap", ["jet", "viridis"])
def test_colormapped_image_folder_is_inverted(tmp_path, small_set, cmap):
    write_dataset(small_set, tmp_path, "images", colormap=cmap)
    res = read(tmp_path)  # colormap=auto detects it
    assert res.dataset.info.colormap == cmap and res.dataset.info.colormap_detected
    assert not res.problems
    assert_same_set(res.dataset, small_set, atol=5 / 255)  # 2.5 LUT steps on plateaus, on a [-1, 1] scale
    named = read(tmp_path, colormap=cmap).dataset
    np.testing.assert_array_equal(named.x, res.dataset.x)


def test_rgb_is_kept_when_asked(tmp_path, small_set):
    write_dataset(small_set, tmp_path, "images", colormap="jet")
    ds = read(tmp_path, colormap="rgb").dataset
    assert ds.x.shape == (len(small_set), 3, 32, 32)
    top = ds.x[:, :, -1]  # highest Doppler row is last after the flip; jet renders are never grey
    assert np.abs(ds.x[:, 0] - ds.x[:, 2]).max() > 0.5 and top.shape == (len(small_set), 3, 32)


def test_images_are_flipped_to_doppler_ascending(tmp_path):
    from PIL import Image

    pixels = np.zeros((16, 8), dtype=np.uint8)
    pixels[0] = 255  # top row of the picture: the highest Doppler
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        Image.fromarray(pixels).save(tmp_path / c / "0.png")
    x = read(tmp_path).dataset.x
    assert (x[:, 0, -1] == 1).all() and (x[:, 0, :-1] == -1).all()


@pytest.mark.parametrize("fmt", ["npz", "mat", "mat73", "hdf5"])
def test_raw_linear_magnitudes_become_db(tmp_path, fmt):
    kw = dict(n_classes=3, per_session=2, sessions=2, shape=(32, 32), seed=4)
    path = write_examples(tmp_path, fmt, **kw)
    res = read(path)
    assert res.dataset.info.scales == {"linear": 12}
    assert_same_set(res.dataset, example_set(**kw), atol=1e-5)
    assert len(set(res.dataset.sessions)) == 6  # person/session ids from the file


def test_complex_stack_in_class_folders_with_dynamic_range(tmp_path):
    rng = np.random.default_rng(0)
    for c in ("walk", "run"):
        (tmp_path / c).mkdir()
        for r in range(2):
            stack = rng.standard_normal((3, 16, 20)) + 1j * rng.standard_normal((3, 16, 20))
            np.save(tmp_path / c / f"rec{r}.npy", stack)
    ds = read(tmp_path, dynamic_range_db=30.0).dataset
    assert ds.class_names == ["run", "walk"] and len(ds) == 12
    stack = np.load(tmp_path / "walk" / "rec1.npy")
    i = ds.ids.index("walk/rec1.npy#2")
    db = 20 * np.log10(np.abs(stack[2]) / np.abs(stack[2]).max())
    np.testing.assert_allclose(ds.x[i, 0], np.clip(db, -30, 0) / 30 * 2 + 1, atol=1e-5)
    assert ds.records[i].session == "walk/rec1.npy"  # a stack in one file is one recording


def test_mat_v7_matlab_layout_and_one_based_labels(tmp_path):
    mags, labels, _ = example_magnitudes(n_classes=2, per_session=2, sessions=1, shape=(16, 16))
    save_mat(tmp_path / "d.mat", {"spec": np.moveaxis(mags, 0, -1), "y": (labels + 1)[:, None].astype(float),
                                  "class_names": np.array(["alice", "bob"], dtype=object)})
    ds = read(tmp_path / "d.mat", array_key="spec", label_key="y").dataset
    assert ds.class_names == ["alice", "bob"]
    np.testing.assert_array_equal(ds.labels, labels)


def test_resize_to_configured_size(tmp_path, small_set):
    (path,) = write_dataset(small_set, tmp_path, "npz")
    ds = read(path, scale="normalized", size=(16, 24)).dataset
    assert ds.x.shape == (len(small_set), 1, 16, 24)
    assert ds.records[0].orig_shape == (1, 32, 32)
    assert ds.x.min() >= -1 and ds.x.max() <= 1


def test_session_regex_and_nested_folders(tmp_path, small_set):
    write_dataset(small_set, tmp_path, "images")
    ds = read(tmp_path).dataset
    assert set(ds.sessions) == {f"person{c}/s{s}" for c in (1, 2, 3) for s in (1, 2)}
    ds2 = read(tmp_path, session_regex=r"/(?P<session>s\d)/").dataset
    assert set(ds2.sessions) == {"s1", "s2"}


def test_manifest_checksums_and_prepared_round_trip(tmp_path, small_set):
    import hashlib

    from mdaug.data import load_prepared, save_prepared

    write_dataset(small_set, tmp_path / "imgs", "images")
    ds = read(tmp_path / "imgs").dataset
    r = ds.records[5]
    assert r.file_sha256 == hashlib.sha256((tmp_path / "imgs" / r.file).read_bytes()).hexdigest()
    save_prepared(ds, tmp_path / "prep")
    back = load_prepared(tmp_path / "prep")
    np.testing.assert_array_equal(back.x, ds.x)
    assert back.records == ds.records and back.class_names == ds.class_names
    assert read(tmp_path / "prep").dataset.fingerprint() == ds.fingerprint()  # readers accept it too
    text = (tmp_path / "prep" / "manifest.csv").read_text().replace("person1,0", "person2,0", 1)
    (tmp_path / "prep" / "manifest.csv").write_text(text)
    with pytest.raises(Exception, match="edited by hand"):
        load_prepared(tmp_path / "prep")


def test_hdf5_with_groups(tmp_path, small_set):
    save_hdf5(tmp_path / "g.h5", {"radar/spectrograms": small_set.x[:, 0], "radar/labels": small_set.labels})
    ds = read(tmp_path / "g.h5", array_key="radar/spectrograms", label_key="radar/labels", scale="normalized").dataset
    np.testing.assert_array_equal(ds.x, small_set.x)
    assert ds.class_names == ["0", "1", "2"]


def test_npz_without_pickle(tmp_path):
    np.savez(tmp_path / "p.npz", x=np.zeros((2, 4, 4)), labels=np.array([{"a": 1}, {"b": 2}], dtype=object))
    with pytest.raises(Exception, match="never unpickles"):
        read(tmp_path / "p.npz")
    save_npz(tmp_path / "ok.npz", {"x": varied((2, 8, 8)), "labels": np.array([0, 1])})
    assert len(read(tmp_path / "ok.npz").dataset) == 2


@pytest.mark.parametrize("v73", [False, True])
def test_matlab_cell_array_of_different_sizes(tmp_path, v73):
    rng = np.random.default_rng(2)
    mats = [rng.random((16, 20 + 4 * i)) + 0.01 for i in range(4)]
    cell = np.empty(4, dtype=object)
    cell[:] = mats
    save_mat(tmp_path / "c.mat", {"specs": cell, "labels": np.array([[1], [1], [2], [2]], dtype=float)}, v73=v73)
    with pytest.raises(Exception, match="different shapes"):
        read(tmp_path / "c.mat")
    ds = read(tmp_path / "c.mat", size=(16, 16)).dataset
    assert ds.x.shape == (4, 1, 16, 16) and ds.class_names == ["1", "2"]
    assert [r.orig_shape for r in ds.records] == [(1, 16, 20 + 4 * i) for i in range(4)]
    widest = normalise_like_reader(mats[3])
    assert np.abs(ds.x[3, 0].mean() - widest.mean()) < 0.05  # same content, resized


def normalise_like_reader(m):
    from mdaug.data.scaling import normalise

    return normalise(m, "linear", 40.0)


def test_labels_from_file_names(tmp_path, small_set):
    from mdaug.data.images import write_image

    for i, (x, lab) in enumerate(zip(small_set.x, small_set.labels)):
        name = small_set.class_names[lab]
        write_image(tmp_path / "flat" / f"{name}_walk_r{i % 2}_{i:03d}.png", x, "jet")
    ds = read(tmp_path / "flat", label_regex=r"^(?P<label>person\d+)_",
              session_regex=r"^(?P<session>person\d+_walk_r\d)").dataset
    assert ds.class_names == small_set.class_names
    assert ds.counts() == small_set.counts()
    assert len(set(ds.sessions)) == 6
    (tmp_path / "flat" / "README.png").write_bytes((tmp_path / "flat" / "person1_walk_r0_000.png").read_bytes())
    with pytest.raises(Exception, match="README.png: does not match data.label_regex"):
        read(tmp_path / "flat", label_regex=r"^(?P<label>person\d+)_")


def test_spectrograms_saved_as_figures_are_cropped(tmp_path, small_set):
    """What users often have: matplotlib/MATLAB figures with axes, labels and a colorbar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for i in range(4):
        folder = tmp_path / ("a" if i < 2 else "b")
        folder.mkdir(exist_ok=True)
        fig, ax = plt.subplots(figsize=(3, 2.5))
        im = ax.imshow(small_set.x[i, 0], origin="lower", aspect="auto", cmap="jet", vmin=-1, vmax=1,
                       interpolation="nearest")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("Doppler (Hz)")
        fig.colorbar(im)
        fig.savefig(folder / f"{i}.png", dpi=64)
        plt.close(fig)
    raw = read_dataset(tmp_path, DataConfig(crop_to_colormap=False), progress=False, collect=True)
    assert raw.dataset.info.colormap == "jet"  # detected despite the white figure around it
    assert any("off the jet colormap" in p.message for p in raw.problems)
    for crop in (True, "auto"):  # 'auto' (the default) crops them too: most of each image is off the map
        res = read(tmp_path, crop_to_colormap=crop, size=(32, 32))
        assert not res.problems
        for i in range(4):  # the plot area, resized back to 32x32, matches the plotted values
            got, want = res.dataset.x[i, 0], small_set.x[i, 0]
            assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > 0.9


def test_jpeg_figures_are_detected_and_cropped_whole(tmp_path):
    """JPEG smears colour at thin bright traces and edges: the colormap is still found and the plot is not
    cut in two at a trace."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    for i in range(4):
        folder = tmp_path / ("a" if i < 2 else "b")
        folder.mkdir(exist_ok=True)
        img = rng.uniform(0.0, 0.3, (48, 64))
        img[20 + i, :] = 1.0  # a one-pixel bright trace across the whole plot
        fig, ax = plt.subplots(figsize=(4, 3), dpi=80)
        im = ax.imshow(img, origin="lower", aspect="auto", cmap="jet", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"recording {i}")
        fig.colorbar(im)
        fig.savefig(folder / f"{i}.jpg", pil_kwargs={"quality": 90})
        plt.close(fig)
    res = read(tmp_path)
    assert res.dataset.info.colormap == "jet"
    heights = {r.orig_shape[-2] for r in res.dataset.records}
    assert max(heights) - min(heights) <= 2  # every plot cropped whole, not just the part above its trace
    assert min(heights) > 0.5 * 3 * 80 * 0.77  # most of the axes' height (the default axes take 77%)
