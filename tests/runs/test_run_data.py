"""A run's data.json (DataRecord): written and read in one place, checked again on resume."""

import json
from dataclasses import replace

import pytest

from mdaug.config import load_config
from mdaug.data import save_prepared
from mdaug.data.info import DataInfo
from mdaug.errors import MdaugError
from mdaug.runs.layout import DATA_RECORD
from mdaug.runs.run_data import DataRecord, check_run_data, data_record, load_run_data, write_run_data


@pytest.fixture
def run_data(tmp_path, small_set):
    save_prepared(small_set, tmp_path / "data")
    cfg = load_config("tiny")
    data_cfg = cfg.data.model_copy(update={"path": str(tmp_path / "data"), "doppler_hz": (-500.0, 500.0)})
    return load_run_data(cfg.model_copy(update={"data": data_cfg}))


def test_data_json_holds_the_data_and_its_info_with_the_configured_axes(tmp_path, run_data, small_set):
    write_run_data(run_data, tmp_path / "run")
    written = json.loads((tmp_path / "run" / DATA_RECORD).read_text())
    assert list(written) == ["source", "fingerprint", "n", "shape", "class_names", "split", "split_group_by", "info"]
    assert written["source"] == str(tmp_path / "data") and written["n"] == 24 and written["shape"] == [1, 32, 32]
    assert written["fingerprint"] == small_set.fingerprint() and sum(written["split"].values()) == 24
    assert written["info"] == {"source": "examples", "doppler_hz": [-500.0, 500.0]}  # data.doppler_hz, as data says
    record = DataRecord.load(tmp_path / "run")
    assert record == data_record(run_data) and record.info == DataInfo(source="examples", doppler_hz=[-500.0, 500.0])
    check_run_data(run_data, tmp_path / "run")  # the same data: no complaint


def test_resuming_on_other_data_or_without_a_record_is_refused(tmp_path, run_data):
    write_run_data(run_data, tmp_path / "run")
    other = replace(run_data, dataset=run_data.dataset.subset(list(range(23, -1, -1))))  # same samples, other order
    with pytest.raises(MdaugError, match=r"differs from the data .* \(.*data, 24 samples \[1, 32, 32\]\)"):
        check_run_data(other, tmp_path / "run")
    with pytest.raises(MdaugError, match="data.json is missing or unreadable"):
        check_run_data(run_data, tmp_path / "nowhere")
    (tmp_path / "run" / DATA_RECORD).write_text('{"n": "many"}')
    with pytest.raises(MdaugError, match="data.json is missing or unreadable"):
        DataRecord.load(tmp_path / "run")
