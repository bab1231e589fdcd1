"""augment.json's strategy is the strategy's config record; the export's format comes from the data's info record."""

import json

from mdaug.config import StrategyConfig
from mdaug.data.info import ARRAY_SAMPLE, COLOUR_IMAGE, GREYSCALE_IMAGE, DataInfo
from mdaug.runs.cards import AutoencoderRef
from mdaug.sampling.export import AUGMENT_JSON, AugmentRecord, input_format


def record(strategy: StrategyConfig | None) -> AugmentRecord:
    return AugmentRecord(format="npz", colormap=None, per_class=2, classes=["a", "b"], samples=4, seed=0,
                         sampling={"steps": 10}, model="/m", kind="ldm", data_file="dataset.npz", strategy=strategy,
                         autoencoder=AutoencoderRef(path="/ae", identity="f" * 64, family="kl", data_fingerprint="0"))


def test_the_strategy_is_written_as_its_config_and_read_back_as_it(tmp_path):
    strategy = StrategyConfig(name="sifted", guidance_scale=2.5, filter_confidence=0.4, texture=True)
    (tmp_path / AUGMENT_JSON).write_text(json.dumps(record(strategy).model_dump(), indent=1))
    on_disk = json.loads((tmp_path / AUGMENT_JSON).read_text())["strategy"]
    assert on_disk == strategy.model_dump() and on_disk["name"] == "sifted" and on_disk["filter_confidence"] == 0.4
    back = AugmentRecord.read(tmp_path)
    assert isinstance(back.strategy, StrategyConfig) and back.strategy == strategy
    (tmp_path / AUGMENT_JSON).write_text(json.dumps(record(None).model_dump()))
    assert AugmentRecord.read(tmp_path).strategy is None


def test_the_export_format_follows_what_was_read(tmp_path):
    folder = str(tmp_path / "images")
    colour = input_format(folder, DataInfo(kinds={COLOUR_IMAGE: 5, GREYSCALE_IMAGE: 2}, colormap="parula"))
    assert (colour.fmt, colour.colormap, colour.suffix) == ("images", "parula", ".png")
    grey = input_format(folder, DataInfo(kinds={COLOUR_IMAGE: 1, GREYSCALE_IMAGE: 2}, colormap="jet"))
    assert (grey.fmt, grey.colormap) == ("images", "gray")
    assert input_format(folder, DataInfo(kinds={COLOUR_IMAGE: 3})).colormap == "jet"  # colour, colormap unknown
    assert input_format(folder, DataInfo(kinds={ARRAY_SAMPLE: 3})).fmt == "npz"
    assert input_format(folder, DataInfo(source="mdaug simulator")).fmt == "prepared"
