"""Every expected mistake: one clear line naming the problem, a non-zero exit, no traceback, nothing lost."""

import subprocess
import sys

import numpy as np
import pytest

from mdaug.data import write_dataset
from mdaug.data.arrays import save_mat
from mdaug.errors import MdaugError
from tests.conftest import assert_one_line_error, varied


@pytest.fixture
def images(tmp_path, small_set):
    write_dataset(small_set, tmp_path / "ds", "images", colormap="jet")
    return tmp_path / "ds"


def test_missing_path(cli, tmp_path):
    code, _, err = cli("data", "inspect", tmp_path / "nope")
    assert_one_line_error(code, err, "path not found", "nope")


def test_empty_folder(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = cli("data", "inspect", tmp_path / "empty")
    assert_one_line_error(code, err, "no spectrogram files")


def test_images_without_class_folders(cli, tmp_path, images):
    flat = tmp_path / "flat"
    flat.mkdir()
    next(images.rglob("*.png")).rename(flat / "a.png")
    code, _, err = cli("data", "inspect", flat)
    assert_one_line_error(code, err, "no class folders")


def test_empty_class_is_reported_by_name(cli, images, tmp_path):
    (images / "person9").mkdir()
    code, out, err = cli("data", "inspect", images, "--preview", tmp_path / "p.png")
    assert "class folder 'person9' has no spectrogram files" in out
    assert_one_line_error(code, err, "must be fixed")
    code, _, err = cli("data", "prepare", images, "--out", tmp_path / "prep")
    assert_one_line_error(code, err, "person9")


def test_corrupt_image_is_named_and_skippable(cli, images, tmp_path):
    bad = images / "person2" / "s1" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    code, _, err = cli("data", "prepare", images, "--out", tmp_path / "prep")
    assert_one_line_error(code, err, "person2/s1/broken.png", "not a readable image", "--skip-bad")
    assert not (tmp_path / "prep" / "mdaug_dataset.json").exists()
    code, out, err = cli("data", "prepare", images, "--out", tmp_path / "prep2", "--skip-bad")
    assert code == 0, err
    assert "skipped person2/s1/broken.png" in err  # still reported, never silently dropped
    assert "prepared 24 spectrograms" in out


def test_inspect_lists_every_problem_and_exits_non_zero(cli, images, tmp_path):
    (images / "person1" / "s1" / "x.png").write_bytes(b"not an image")
    (images / "person3" / "s2" / "y.jpg").write_bytes(b"")
    code, out, err = cli("data", "inspect", images, "--preview", tmp_path / "p.png")
    assert "person1/s1/x.png" in out and "person3/s2/y.jpg" in out
    assert_one_line_error(code, err, "2 problem(s)")
    assert (tmp_path / "p.png").exists()  # the readable part is still previewed


def test_mat_without_the_named_variable(cli, tmp_path):
    save_mat(tmp_path / "d.mat", {"spec": varied((8, 8, 2)), "labels": np.array([[1], [2]])})
    code, _, err = cli("data", "inspect", tmp_path / "d.mat", "data.array_key=micro_doppler")
    assert_one_line_error(code, err, "d.mat", "no variable 'micro_doppler'", "spec")


def test_nan_values(cli, tmp_path):
    x = np.random.default_rng(0).random((4, 8, 8))
    x[2, 3, 3] = np.nan
    np.savez(tmp_path / "d.npz", x=x, labels=np.array([0, 0, 1, 1]))
    code, _, err = cli("data", "prepare", tmp_path / "d.npz", "--out", tmp_path / "o")
    assert_one_line_error(code, err, "d.npz#2", "NaN")


def test_mixed_shapes_without_resize(cli, tmp_path):
    for c, t in (("a", 20), ("b", 24)):
        (tmp_path / "m" / c).mkdir(parents=True)
        np.save(tmp_path / "m" / c / "0.npy", varied((16, t)))
    code, _, err = cli("data", "prepare", tmp_path / "m", "--out", tmp_path / "o")
    assert_one_line_error(code, err, "different shapes", "16x20", "16x24", "data.size")
    code, out, err = cli("data", "prepare", tmp_path / "m", "--out", tmp_path / "o2", "--size", "16")
    assert code == 0, err


def test_unknown_colormap_and_config_typo(cli, images):
    code, _, err = cli("data", "inspect", images, "--colormap", "jte")
    assert_one_line_error(code, err, "unknown colormap 'jte'", "did you mean 'jet'")
    code, _, err = cli("data", "inspect", images, "data.colomap=jet")
    assert_one_line_error(code, err, "data.colomap", "did you mean 'data.colormap'")


def test_colour_images_that_match_no_colormap(cli, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "p" / c).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "p" / c / "0.png")
    code, _, err = cli("data", "inspect", tmp_path / "p")
    assert_one_line_error(code, err, "do not match a known colormap", "--colormap rgb")


def test_prepare_never_overwrites(cli, images, tmp_path):
    out = tmp_path / "prep"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    code, _, err = cli("data", "prepare", images, "--out", out)
    assert_one_line_error(code, err, "not empty")
    assert (out / "mine.txt").read_text() == "keep me" and len(list(out.iterdir())) == 1


def test_process_exit_code_and_no_traceback(tmp_path):
    """The installed entry point itself, as a user runs it."""
    r = subprocess.run([sys.executable, "-m", "mdaug", "data", "inspect", str(tmp_path / "missing")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert r.stderr.strip() == f"error: path not found: {tmp_path / 'missing'}"


def test_viridis_images_read_as_jet_are_refused_naming_viridis(cli, tmp_path, small_set):
    """Issue 18: read with the wrong colormap the values came out inverted (correlation -0.94) with rc 0."""
    write_dataset(small_set, tmp_path / "vir", "images", colormap="viridis")
    code, out, err = cli("data", "inspect", tmp_path / "vir", "--colormap", "jet", "--preview", tmp_path / "p.png")
    assert_one_line_error(code, err, "--colormap jet", "like viridis", "--colormap viridis")
    code, _, err = cli("data", "prepare", tmp_path / "vir", "--colormap", "jet", "--out", tmp_path / "prep")
    assert_one_line_error(code, err, "like viridis")
    assert not (tmp_path / "prep").exists()


def test_parula_images_are_detected(cli, tmp_path, small_set):
    write_dataset(small_set, tmp_path / "par", "images", colormap="parula")
    code, out, err = cli("data", "inspect", tmp_path / "par", "--preview", tmp_path / "p.png")
    assert code == 0, err
    assert "colormap: parula (detected)" in out


@pytest.mark.parametrize("inside", ["prepared", ".", "person1/prepared"])
def test_prepare_refuses_an_output_inside_the_dataset(cli, images, inside):
    """Issue 18: the next inspect read the prepared output as samples."""
    before = sorted(p.relative_to(images) for p in images.rglob("*"))
    code, _, err = cli("data", "prepare", images, "--out", images / inside)
    assert_one_line_error(code, err, "inside the dataset folder", "choose a folder outside")
    assert sorted(p.relative_to(images) for p in images.rglob("*")) == before


def test_an_image_too_small_for_a_spectrogram_is_refused_by_name(cli, images, tmp_path):
    """Issue 18: a 1x1-pixel image was silently upscaled to the dataset's size."""
    from PIL import Image

    Image.new("RGB", (1, 1), (0, 0, 128)).save(images / "person1" / "s1" / "dot.png")
    code, _, err = cli("data", "prepare", images, "--out", tmp_path / "prep", "--size", "32")
    assert_one_line_error(code, err, "person1/s1/dot.png", "1x1 pixels", "too small", "--skip-bad")
    assert not (tmp_path / "prep").exists()


def test_an_array_too_small_for_a_spectrogram_is_refused_by_name(cli, tmp_path):
    np.savez(tmp_path / "tiny.npz", x=varied((4, 5, 5)), labels=np.array([0, 1, 0, 1]))
    code, _, err = cli("data", "inspect", tmp_path / "tiny.npz", "--preview", tmp_path / "p.png")
    assert_one_line_error(code, err)
    code, _, err = cli("data", "prepare", tmp_path / "tiny.npz", "--out", tmp_path / "prep")
    assert_one_line_error(code, err, "tiny.npz", "5x5 are too small", "at least 8 on a side")


def test_a_size_beyond_the_maximum_is_refused_before_reading(cli, images, tmp_path, monkeypatch):
    """Issue 18: --size 4096 on 48 images was accepted and peaked at 6.6 GB."""
    import mdaug.data.read as read

    monkeypatch.setattr(read, "_Reader", None)  # nothing may be read before the refusal
    code, _, err = cli("data", "prepare", images, "--out", tmp_path / "prep", "--size", "4096")
    assert_one_line_error(code, err, "4096x4096", "beyond 1024", "--size 256")
    assert not (tmp_path / "prep").exists()


def test_a_dataset_too_large_for_this_machine_is_refused_with_an_estimate(small_set, monkeypatch):
    from mdaug.data import limits

    monkeypatch.setattr(limits.os, "sysconf", lambda name: {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 1000}[name])
    with pytest.raises(MdaugError, match=r"24 samples at 256x256 need about 0.0 GiB.*half of this machine"):
        limits.check_size((256, 256), len(small_set), 1)
    limits.check_size((4, 4), 1, 1)  # small enough


def test_a_blank_spectrogram_is_a_problem_by_name_and_skippable(cli, tmp_path):
    """A constant spectrogram (a blank export) carries no signal: named, exit 1; --skip-bad reads the rest."""
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "ds" / c).mkdir(parents=True)
        for i in range(3):
            np.save(tmp_path / "ds" / c / f"{i}.npy", rng.random((32, 32)) + 0.1)
    np.save(tmp_path / "ds" / "a" / "blank.npy", np.full((32, 32), 0.5))
    code, out, err = cli("data", "inspect", tmp_path / "ds", "--preview", tmp_path / "p.png")
    assert code == 1 and "a/blank.npy: every value is the same" in out and "no signal" in out
    code, out, _ = cli("data", "inspect", tmp_path / "ds", "--skip-bad", "--preview", tmp_path / "q.png")
    assert code == 0 and "samples: 6 in 2 classes" in out


@pytest.mark.parametrize("variables, needle", [
    ({"labels": np.arange(10)}, "has no spectrogram variable"),  # MATLAB keeps a vector as a 1 x 10 matrix
    ({"y": np.arange(10), "sessions": np.arange(10)}, "(it has: y 1x10, sessions 1x10)"),
])
def test_a_mat_with_labels_but_no_spectrograms_says_so(cli, tmp_path, variables, needle):
    import scipy.io

    scipy.io.savemat(tmp_path / "x.mat", variables)
    code, _, err = cli("data", "inspect", tmp_path / "x.mat", "--preview", tmp_path / "p.png")
    assert_one_line_error(code, err, needle)


def test_a_mat_with_its_own_variable_names_reads_once_the_labels_are_named(cli, tmp_path):
    """The labels variable is a 1 x n matrix in a v5 .mat: with data.label_key it is the labels, not a second
    candidate for the spectrograms."""
    import scipy.io

    scipy.io.savemat(tmp_path / "x.mat", {"radar_maps": np.random.default_rng(0).random((32, 32, 10)) + 0.1,
                                          "who": np.arange(10) % 2})
    code, _, err = cli("data", "inspect", tmp_path / "x.mat", "--preview", tmp_path / "p.png")
    assert_one_line_error(code, err, "has no labels variable", "data.label_key")
    code, out, err = cli("data", "inspect", tmp_path / "x.mat", "data.label_key=who", "--preview", tmp_path / "q.png")
    assert code == 0 and "samples: 10 in 2 classes" in out, err


def test_a_garbage_npz_is_named_as_not_an_npz(cli, tmp_path):
    (tmp_path / "x.npz").write_bytes(b"PK\x03\x04" + b"\x00garbage" * 50)
    code, _, err = cli("data", "inspect", tmp_path / "x.npz", "--preview", tmp_path / "p.png")
    assert_one_line_error(code, err, "is not a NumPy .npz", "corrupt")
