import io

import numpy as np
import pytest
from PIL import Image

from mdaug.data import colormaps
from mdaug.errors import MdaugError


def smooth_field(h=48, w=64, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    v = 0.5 + 0.25 * np.sin(6 * xx + rng.uniform(0, 6)) + 0.25 * np.cos(5 * yy + rng.uniform(0, 6))
    return np.clip(v, 0, 1)


@pytest.mark.parametrize("name", ["jet", "viridis", "turbo", "magma"])
def test_png_render_inverts_within_half_a_lut_step(name):
    v = smooth_field()
    inv = colormaps.invert(colormaps.apply(v, name), name)
    # Stated tolerance for lossless renders: within half a lookup-table step (1/510) except on a
    # colormap's own plateaus (jet repeats pure blue over 5 entries), and never worse than 2.5 steps.
    err = np.abs(inv.values - v)
    step = 1 / (colormaps.LUT_SIZE - 1)
    assert np.quantile(err, 0.95) <= 0.5 * step + 1e-6
    assert err.max() <= 2.5 * step + 1e-6
    assert inv.off_map_fraction == 0.0


def test_jpeg_render_inverts_within_stated_tolerance():
    v = smooth_field(seed=3)
    buf = io.BytesIO()
    Image.fromarray(colormaps.apply(v, "jet")).save(buf, format="JPEG", quality=95)
    rgb = np.asarray(Image.open(buf).convert("RGB"))
    inv = colormaps.invert(rgb, "jet")
    # Stated tolerance for JPEG q95 renders: mean error below 1%, 99th percentile below 4% of full scale.
    err = np.abs(inv.values - v)
    assert err.mean() < 0.01 and np.quantile(err, 0.99) < 0.04, (err.mean(), np.quantile(err, 0.99))


def test_wrong_colormap_gives_wrong_values():
    v = smooth_field()
    inv = colormaps.invert(colormaps.apply(v, "viridis"), "jet")
    assert np.abs(inv.values - v).mean() > 0.1


@pytest.mark.parametrize("name", ["jet", "viridis", "turbo", "hot"])
def test_detect_finds_the_colormap(name):
    renders = [colormaps.apply(smooth_field(seed=s), name) for s in range(2)]
    assert colormaps.detect(renders)[0] == name


def test_detect_refuses_a_photo():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    with pytest.raises(MdaugError, match="--colormap"):
        colormaps.detect([noise])


def test_off_map_pixels_are_counted():
    rgb = colormaps.apply(smooth_field(), "jet")
    rgb[:, :8] = 255  # a white border, as a saved figure has
    assert colormaps.invert(rgb, "jet").off_map_fraction == pytest.approx(8 / 64, abs=1e-6)


def test_detect_sees_through_figure_margins():
    """A spectrogram saved as a figure: white margins and black axes around a jet image."""
    rgb = np.full((80, 100, 3), 255, dtype=np.uint8)
    rgb[10:70, 15:95] = colormaps.apply(smooth_field(60, 80), "jet")
    rgb[10:70, 14] = 0
    rgb[70, 14:95] = 0
    assert colormaps.detect([rgb])[0] == "jet"
    inv = colormaps.invert(rgb, "jet")
    assert 0.35 < inv.off_map_fraction < 0.45


def test_near_grey_jpeg_colour_is_read_as_gray():
    rng = np.random.default_rng(0)
    grey = np.repeat(np.rint(smooth_field() * 255).astype(np.uint8)[..., None], 3, axis=2)
    noisy = np.clip(grey.astype(int) + rng.integers(-2, 3, grey.shape), 0, 255).astype(np.uint8)
    assert colormaps.detect([noisy])[0] == "gray"


def test_parula_is_shipped_detected_and_inverted():
    """MATLAB's default colormap: its table ships with mdaug (matplotlib has none), auto-detection finds it."""
    table = colormaps.lut("parula")
    assert table.shape == (colormaps.LUT_SIZE, 3)
    assert np.allclose(table[0] / 255, (0.2081, 0.1663, 0.5292)) and np.allclose(table[-1] / 255,
                                                                                  (0.9763, 0.9831, 0.0538))
    v = smooth_field(seed=2)
    renders = [colormaps.apply(smooth_field(seed=s), "parula") for s in range(2)]
    assert colormaps.detect(renders)[0] == "parula"
    err = np.abs(colormaps.invert(colormaps.apply(v, "parula"), "parula").values - v)
    assert err.max() <= 2.5 / (colormaps.LUT_SIZE - 1)


@pytest.mark.parametrize("named, rendered", [("jet", "viridis"), ("jet", "parula"), ("viridis", "jet")])
def test_a_named_colormap_the_images_do_not_have_is_refused_naming_the_one_they_have(named, rendered):
    renders = [colormaps.apply(smooth_field(seed=s), rendered) for s in range(2)]
    with pytest.raises(MdaugError, match=f"do not look like --colormap {named} .* but like {rendered}"):
        colormaps.check_named(renders, named)


def test_a_named_colormap_that_fits_passes_and_an_unknown_render_is_refused():
    jpeg = []
    for s in range(2):
        buf = io.BytesIO()
        Image.fromarray(colormaps.apply(smooth_field(seed=s), "jet")).save(buf, format="JPEG", quality=75)
        jpeg.append(np.asarray(Image.open(buf).convert("RGB")))
    colormaps.check_named(jpeg, "jet")  # JPEG damage is no mismatch
    noise = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    with pytest.raises(MdaugError, match="most coloured pixels .* off the jet colormap"):
        colormaps.check_named([noise], "jet")


def test_parula_images_read_back_close_to_the_truth(tmp_path, small_set):
    from mdaug.config import DataConfig
    from mdaug.data import read_dataset, write_dataset

    write_dataset(small_set, tmp_path / "par", "images", colormap="parula")
    for cfg in (DataConfig(), DataConfig().model_copy(update={"colormap": "parula"})):  # detected, and named
        ds = read_dataset(tmp_path / "par", cfg, progress=False).dataset
        assert ds.info["colormap"] == "parula"
        where = {r.file: i for i, r in enumerate(ds.records)}
        order = [where[f"{r.session}/{r.file}_{r.index}.png"] for r in small_set.records]
        assert np.abs(ds.x[order] - small_set.x).mean() < 0.01


def test_the_config_accepts_every_shipped_colormap_by_name():
    from mdaug.config import load_config
    from mdaug.config.data import SHIPPED_COLORMAPS

    assert set(SHIPPED_COLORMAPS) == set(colormaps.OWN_COLORMAPS)
    assert load_config("tiny", ["data.colormap=parula"]).data.colormap == "parula"
