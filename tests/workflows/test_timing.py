"""OUT/timing.json of a pretraining run counts the training time of every session of a run stopped and resumed."""

import time

import pytest

from mdaug.workflows.pretrain import Timing


def test_timing_adds_each_session_also_one_stopped_by_ctrl_c(tmp_path):
    path = tmp_path / "timing.json"
    with pytest.raises(KeyboardInterrupt), Timing.counting(path):
        time.sleep(0.05)
        raise KeyboardInterrupt  # the session stopped before training ended: its time still counts
    first = Timing.read(path).training_wall_s
    assert 0.05 <= first < 5
    with Timing.counting(path) as timing:
        time.sleep(0.05)
    assert timing.training_wall_s == Timing.read(path).training_wall_s
    assert first + 0.05 <= timing.training_wall_s < first + 5
