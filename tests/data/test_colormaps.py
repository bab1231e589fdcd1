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
        assert ds.info.colormap == "parula"
        where = {r.file: i for i, r in enumerate(ds.records)}
        order = [where[f"{r.session}/{r.file}_{r.index}.png"] for r in small_set.records]
        assert np.abs(ds.x[order] - small_set.x).mean() < 0.01


def test_the_config_accepts_every_shipped_colormap_by_name():
    from mdaug.config import load_config
    from mdaug.config.data import SHIPPED_COLORMAPS

    assert set(SHIPPED_COLORMAPS) == set(colormaps.OWN_COLORMAPS)
    assert load_config("tiny", ["data.colormap=parula"]).data.colormap == "parula"


@pytest.fixture
def fresh_tables():
    """The lookup tables are cached per process: computed afresh here, so that these tests see how they are made."""
    colormaps.lut.cache_clear()
    colormaps._tree.cache_clear()
    yield
    colormaps.lut.cache_clear()
    colormaps._tree.cache_clear()


def test_parulas_table_interpolates_its_64_anchors_linearly(fresh_tables):
    table = colormaps.lut("parula")
    anchors = np.array(colormaps.PARULA_64) * 255.0
    assert table.shape == (256, 3) and table.dtype == np.float64
    for i, a in ((0, 0), (85, 21), (170, 42), (255, 63)):  # 255 / 63: every 85th entry is an anchor
        np.testing.assert_allclose(table[i], anchors[a], rtol=1e-12)
    np.testing.assert_allclose(table[1], anchors[0] + (anchors[1] - anchors[0]) * 63 / 255, rtol=1e-12)
    with pytest.raises(MdaugError, match=r"^unknown colormap 'nosuchmap'$"):
        colormaps.lut("nosuchmap")


def test_apply_rounds_to_the_nearest_entry_and_clips_to_the_table(fresh_tables):
    out = colormaps.apply(np.array([[-0.5, 0.0, 0.5, 1.0, 1.5]]), "jet")
    expected = np.rint(colormaps.lut("jet")[[0, 0, 128, 255, 255]]).astype(np.uint8)  # 0.5 * 255 = 127.5 -> 128
    assert out.dtype == np.uint8 and np.array_equal(out[0], expected)


def test_inversion_statistics_count_every_pixel_once(fresh_tables):
    """Two on-map colours once each and a white margin four times: exact shares, mean and median."""
    table = np.rint(colormaps.lut("jet")).astype(np.uint8)
    rgb = np.full((2, 3, 3), 255, np.uint8)
    rgb[0, 0], rgb[1, 2] = table[10], table[200]
    inv = colormaps.invert(rgb, "jet")
    white = np.linalg.norm((np.rint(colormaps.lut("jet")) - 255.0) @ colormaps._YCC.T, axis=1).min()
    assert white > colormaps.OFF_MAP_DISTANCE
    assert inv.on_map.tolist() == [[True, False, False], [False, False, True]]
    assert inv.off_map_fraction == pytest.approx(4 / 6) and inv.mean_distance == pytest.approx(4 * white / 6)
    assert inv.median_distance == pytest.approx(white)  # 4 of the 6 pixels are white
    assert inv.values[0, 0] == pytest.approx(10 / 255) and inv.values[1, 2] == pytest.approx(200 / 255)
    with pytest.raises(AssertionError):
        colormaps.invert(np.zeros((2, 2, 4), np.uint8), "jet")


def test_a_few_colourful_pixels_do_not_make_an_image_colourful():
    img = np.full((5, 10, 3), 128, np.uint8)
    img[0, 0] = (30, 0, 0)  # exactly CHROMA_MIN: colourful, but 1 pixel of 50 is 2%, not more
    assert set(colormaps.fit_scores([img], ("jet", "gray"))) == {"gray"}
    img[0, 1] = (30, 0, 0)
    assert set(colormaps.fit_scores([img], ("jet", "gray"))) == {"jet"}
    assert set(colormaps.fit_scores([np.full((5, 10, 3), (30, 0, 0), np.uint8)], ("jet", "gray"))) == {"jet"}


def fixed_scores(monkeypatch, scores):
    monkeypatch.setattr(colormaps, "fit_scores", lambda samples, names=colormaps.CANDIDATES: dict(scores))


@pytest.mark.parametrize(("scores", "refused"), [
    ({"jet": 8.0, "viridis": 9.0}, False),  # at the limit: accepted
    ({"jet": 8.5, "viridis": 9.0}, True),  # above it, no clear winner
    ({"jet": 16.0, "viridis": 48.0}, False),  # up to twice the limit when the runner-up is 3x worse
    ({"jet": 16.0, "viridis": 47.9}, True),
    ({"jet": 16.1, "viridis": 1000.0}, True),
    ({"jet": 12.0}, False),  # alone: nothing comes close
    ({"jet": 16.1}, True),
])
def test_detect_accepts_a_residual_up_to_the_limit_or_a_clear_winner(monkeypatch, scores, refused):
    fixed_scores(monkeypatch, scores)
    if refused:
        best = min(scores, key=scores.get)
        with pytest.raises(MdaugError, match=rf"^colour images do not match a known colormap \(closest: {best}, "
                                             rf"median colour error {scores[best]:.0f}\); pass --colormap NAME \(any "
                                             r"matplotlib name\), or --colormap rgb to keep colour$"):
            colormaps.detect([])
    else:
        assert colormaps.detect([]) == ("jet", scores["jet"])


@pytest.mark.parametrize(("scores", "refused"), [
    ({"hot": 8.0, "jet": 1.0}, None),  # within the limit: the user's choice stands
    ({"hot": 30.0, "jet": 10.0}, "jet"),  # 3x worse than a map within twice the limit
    ({"hot": 29.9, "jet": 10.0}, None),
    ({"hot": 48.0, "jet": 16.0}, "jet"),
    ({"hot": 48.0, "jet": 16.1}, "off"),  # the runner-up itself too far off: only the off-map refusal
    ({"hot": 60.0, "jet": 20.0}, "off"),
    ({"hot": 45.0}, None),
    ({"hot": 45.1}, "off"),
])
def test_a_named_colormap_is_refused_only_when_another_fits_clearly_better_or_it_fits_nothing(monkeypatch, scores,
                                                                                              refused):
    fixed_scores(monkeypatch, scores)
    if refused == "jet":
        with pytest.raises(MdaugError, match=rf"^the colour images do not look like --colormap hot \(median "
                                             rf"colour error {scores['hot']:.0f}\) but like jet \(error "
                                             rf"{scores['jet']:.0f}\); pass --colormap jet or --colormap auto$"):
            colormaps.check_named([], "hot")
    elif refused == "off":
        best = min(scores, key=scores.get)
        with pytest.raises(MdaugError, match=rf"^most coloured pixels of the images are off the hot colormap "
                                             rf"\(median colour error {scores['hot']:.0f}, closest known map: "
                                             rf"{best}\); pass the colormap they were rendered with "
                                             r"\(--colormap NAME\), --colormap auto, or --colormap rgb to keep "
                                             r"colour$"):
            colormaps.check_named([], "hot")
    else:
        colormaps.check_named([], "hot")


def test_rgb_auto_and_a_map_outside_the_candidates_are_checked_as_named():
    renders = [colormaps.apply(smooth_field(seed=s), "viridis") for s in range(2)]
    for name in ("rgb", "auto", "gray"):
        colormaps.check_named(renders, name)  # not colormaps to check
    with pytest.raises(MdaugError, match="do not look like --colormap coolwarm .* but like viridis"):
        colormaps.check_named(renders, "coolwarm")  # not a candidate of auto, still scored


def test_the_spectrogram_of_a_figure_is_its_largest_on_map_region_with_small_gaps_bridged():
    on = np.zeros((20, 30), bool)
    on[2:12, 3:8] = True
    on[2:12, 12:20] = True  # a gap of 4 columns (2 GAP): the same spectrogram
    on[15:18, 24:28] = True  # a colorbar: smaller
    assert colormaps.largest_region_box(on) == (slice(2, 12), slice(3, 20))
    assert colormaps.largest_region_box(on.T) == (slice(3, 20), slice(2, 12))  # bridged along either axis
    on[2:12, 12] = False  # a gap of 5: two regions, the larger wins
    assert colormaps.largest_region_box(on) == (slice(2, 12), slice(13, 20))
    assert colormaps.largest_region_box(on.T) == (slice(13, 20), slice(2, 12))
    assert colormaps.largest_region_box(np.zeros((4, 5), bool)) == (slice(0, 4), slice(0, 5))
