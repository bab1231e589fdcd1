"""SpectrogramSet.info as a record (DataInfo): what the readers set is what the files hold, keys this version does not
know are kept, and wrong values are refused."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from mdaug.config import DataConfig
from mdaug.data import load_prepared, read_dataset, save_prepared, write_dataset
from mdaug.data.axes import axes_of, with_axes
from mdaug.data.info import COLOUR_IMAGE, GREYSCALE_IMAGE, DataInfo
from mdaug.data.prepared import DATASET_FILE
from mdaug.data.summary import summarize
from mdaug.errors import MdaugError

PRETRAINED = Path(__file__).parents[2] / "src" / "mdaug" / "pretrained"


def test_what_a_reader_sets_is_what_the_prepared_dataset_holds(tmp_path, small_set):
    write_dataset(small_set, tmp_path / "npz", "npz")
    ds = read_dataset(tmp_path / "npz", DataConfig(), progress=False).dataset
    save_prepared(ds, tmp_path / "p")
    on_disk = json.loads((tmp_path / "p" / DATASET_FILE).read_text())["info"]
    assert on_disk["layout"] == "labelled files" and on_disk["kinds"] == {"array sample": 24}
    assert on_disk["colormap"] is None and "colormap" in on_disk  # set to None by the reader: written as null
    assert "carrier_hz" not in on_disk and "extra" not in on_disk  # never set: not written
    assert on_disk["native_shapes"] == {"32x32": 24} and on_disk["dynamic_range_db"] == 40.0
    back = load_prepared(tmp_path / "p").info
    assert back == ds.info and back.to_json() == on_disk


def test_keys_a_file_holds_that_this_version_does_not_know_are_kept_and_written_back(tmp_path, small_set):
    save_prepared(small_set, tmp_path / "p")
    meta = json.loads((tmp_path / "p" / DATASET_FILE).read_text())
    meta["info"]["made_by"] = {"version": "0.0.9"}
    (tmp_path / "p" / DATASET_FILE).write_text(json.dumps(meta))
    ds = load_prepared(tmp_path / "p")
    assert ds.info.extra == {"made_by": {"version": "0.0.9"}} and ds.info.source == "examples"
    save_prepared(ds, tmp_path / "q")
    again = json.loads((tmp_path / "q" / DATASET_FILE).read_text())["info"]
    assert again == {"source": "examples", "made_by": {"version": "0.0.9"}}


def test_a_known_key_of_the_wrong_type_is_refused(tmp_path, small_set):
    save_prepared(small_set, tmp_path / "p")
    meta = json.loads((tmp_path / "p" / DATASET_FILE).read_text())
    meta["info"]["kinds"] = "many"
    (tmp_path / "p" / DATASET_FILE).write_text(json.dumps(meta))
    with pytest.raises(MdaugError, match="not a complete mdaug dataset"):
        load_prepared(tmp_path / "p")
    with pytest.raises(ValueError, match="must be an object"):
        DataInfo.from_json([1, 2])


def test_code_cannot_set_a_field_that_does_not_exist():
    with pytest.raises(ValidationError):
        DataInfo(colormapp="jet")
    with pytest.raises(ValidationError):
        DataInfo(source="a").updated(dynamic_range="40")


@pytest.mark.parametrize("model", ["kl-64x64-ldm", "kl-64x64-ldm-conditions"])
def test_the_shipped_cards_data_info_reads_and_writes_back_unchanged(model, tmp_path):
    written = json.loads((PRETRAINED / model / "mdaug.json").read_text())["data_info"]
    info = DataInfo.from_json(written)
    assert info.extra == {} and info.parts == 32 and info.layout == "simulated"
    assert info.to_json() == written
    assert info.dynamic_range_db_mixed is (True if model.endswith("conditions") else None)
    # and through the stage-2 card that holds it: read as a record, written back with the same keys
    from mdaug.runs.cards import Stage2Card, write_card

    card = Stage2Card.model_validate(json.loads((PRETRAINED / model / "mdaug.json").read_text()))
    assert isinstance(card.data_info, DataInfo) and card.data_info == info
    write_card(tmp_path, card)
    assert json.loads((tmp_path / "mdaug.json").read_text())["data_info"] == written


def test_updated_and_the_helpers():
    info = DataInfo(source="x", kinds={COLOUR_IMAGE: 3, GREYSCALE_IMAGE: 1}, native_shapes={"128x40": 4})
    more = info.updated(display="jet", synthetic=5)
    assert info.display is None and more.to_json() == {"source": "x", "kinds": {COLOUR_IMAGE: 3, GREYSCALE_IMAGE: 1},
                                                       "native_shapes": {"128x40": 4}, "display": "jet",
                                                       "synthetic": 5}
    assert DataInfo(synthetic=True).to_json() == {"synthetic": True}  # a flag stays a flag, a count a count
    assert info.count(COLOUR_IMAGE) == 3 and info.count("array sample") == 0 and DataInfo().count(COLOUR_IMAGE) == 0
    assert info.native_shape() == (128, 40)
    assert DataInfo(native_shapes={"64x64": 2, "32x32": 1}).native_shape() is None and DataInfo().native_shape() is None
    assert DataInfo(dynamic_range_db=50.0).dynamic_range_or(40.0) == 50.0 and DataInfo().dynamic_range_or(40) == 40.0


def test_with_axes_fills_only_what_the_data_does_not_record():
    cfg = DataConfig(doppler_hz=(-500.0, 500.0), time_s=(0.0, 2.0), carrier_hz=24e9)
    own = DataInfo(source="sim", doppler_hz=[-1000.0, 1000.0], native_shapes={"128x100": 5})
    filled = with_axes(own, cfg)
    assert filled.doppler_hz == [-1000.0, 1000.0] and filled.time_s == [0.0, 2.0] and filled.carrier_hz == 24e9
    assert filled.prf_hz is None and "prf_hz" not in filled.to_json() and own.time_s is None
    assert with_axes(own, DataConfig()) is own
    axes = axes_of((5, 1, 64, 50), filled)
    assert (axes.native_rows, axes.native_cols, axes.doppler_hz, axes.time_s) == (128, 100, (-1000.0, 1000.0),
                                                                                    (0.0, 2.0))


def test_the_summary_json_is_flat_and_carries_the_readers_facts(tmp_path, small_set):
    write_dataset(small_set, tmp_path / "jet", "images", colormap="jet")
    result = read_dataset(tmp_path / "jet", DataConfig(), progress=False)
    out = summarize(result).to_json()
    assert list(out) == ["source", "layout", "n", "classes", "counts", "sessions_per_class", "towards_away_per_class",
                         "one_way_classes", "shape", "native_shapes", "kinds", "colormap", "colormap_detected",
                         "off_map_fraction", "scales", "raw_range", "value_range", "value_mean", "value_std",
                         "problems", "conditions"]
    assert out["source"] == str(tmp_path / "jet") and out["layout"] == "class folders" and out["n"] == 24
    assert out["kinds"] == {COLOUR_IMAGE: 24} and out["colormap"] == "jet" and out["colormap_detected"] is True
    assert out["scales"] == {"image": 24} and out["raw_range"] is None and out["conditions"] is None
    assert out["sessions_per_class"] == {"person1": 2, "person2": 2, "person3": 2} and out["problems"] == []
    json.dumps(out)  # plain data
