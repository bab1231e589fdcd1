"""Disk full while writing (issue 18, item 3): one line naming the file, no temporary files left behind, the
previous checkpoint kept so that --resume continues, and a prepared dataset's folder removed again."""

import errno
import os

import pytest
from safetensors import SafetensorError

from mdaug.data import write_dataset
from mdaug.training import checkpoint as ckpt
from tests.conftest import assert_one_line_error

TINY = ["--config", "tiny", "ae.family=vq", "ae.codebook_size=16"]


def enospc(*_a, **_k):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("failure", ["oserror", "safetensors"])
def test_disk_full_during_a_checkpoint_keeps_the_previous_one(cli, tmp_path, monkeypatch, failure):
    run = tmp_path / "run"
    real = ckpt.save_file

    def save_file(tensors, path, *a, **k):
        if "step-0000004" in path:  # the second checkpoint: the first (step 2) is complete
            if failure == "oserror":
                enospc()
            raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: '
                                  '"No space left on device" })')
        return real(tensors, path, *a, **k)

    monkeypatch.setattr(ckpt, "save_file", save_file)
    code, _, err = cli("train-ae", "--out", run, *TINY)
    assert_one_line_error(code, err, "cannot write", "step-0000004.tmp/model.safetensors", "No space left on device",
                          "step-0000002 is complete", "--resume")
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["step-0000002"]  # no .tmp left behind
    monkeypatch.setattr(ckpt, "save_file", real)
    code, out, err = cli("train-ae", "--out", run, "--resume")
    assert code == 0, err
    assert "resumed from" in out and (run / "final" / "mdaug.json").exists()


def test_disk_full_during_prepare_names_the_file_and_removes_the_folder(cli, tmp_path, monkeypatch, small_set):
    write_dataset(small_set, tmp_path / "ds", "images", colormap="jet")
    monkeypatch.setattr(os, "fsync", enospc)
    code, _, err = cli("data", "prepare", tmp_path / "ds", "--out", tmp_path / "prep")
    assert_one_line_error(code, err, "cannot write", str(tmp_path / "prep"), "No space left on device")
    assert "spectrograms.npy" in err
    assert not (tmp_path / "prep").exists()


def test_an_empty_output_folder_given_to_prepare_is_emptied_again(cli, tmp_path, monkeypatch, small_set):
    write_dataset(small_set, tmp_path / "ds", "images", colormap="jet")
    (tmp_path / "prep").mkdir()
    monkeypatch.setattr(os, "fsync", enospc)
    code, _, err = cli("data", "prepare", tmp_path / "ds", "--out", tmp_path / "prep")
    assert_one_line_error(code, err, "No space left on device")
    assert (tmp_path / "prep").is_dir() and not any((tmp_path / "prep").iterdir())


def test_disk_full_in_the_loss_log_names_the_file(tmp_path):
    from mdaug.training.common import LossLog

    log = LossLog(tmp_path / "losses.jsonl", None)
    log._f.close()
    log._f = type("Full", (), {"write": staticmethod(enospc), "flush": lambda self: None, "close": lambda self: None})()
    with pytest.raises(OSError) as e:
        log.write({"step": 1})
    assert e.value.filename == str(tmp_path / "losses.jsonl") and e.value.errno == errno.ENOSPC
