"""A dataset of one class: inspect lists it as a problem, and training refuses it by name (issue 18, items 1, 7)."""

import pytest

from mdaug.data import write_dataset
from mdaug.data.examples import example_set
from mdaug.errors import MdaugError
from tests.conftest import assert_one_line_error


@pytest.fixture
def one_class(tmp_path):
    ds = example_set(n_classes=1, per_session=4, sessions=2, shape=(32, 32), seed=1)
    write_dataset(ds, tmp_path / "one", "images", colormap="jet")
    return tmp_path / "one"


def test_inspect_lists_a_single_class_as_a_problem(cli, one_class, tmp_path):
    code, out, err = cli("data", "inspect", one_class, "--preview", tmp_path / "p.png")
    assert "problems found: none" not in out
    assert "only one class ('person1', 8 samples)" in out
    assert_one_line_error(code, err, "must be fixed")


@pytest.mark.parametrize("command", ["train-recognizer", "run"])
def test_training_refuses_a_single_class_by_name(cli, one_class, tmp_path, command):
    """7 or 8 samples of one class: the message names the class count, not the batch size."""
    code, _, err = cli(command, "--data", one_class, "--out", tmp_path / "run", "-c", "tiny")
    assert_one_line_error(code, err, "only one class", "at least 2 classes")
    assert "batch" not in err
    assert not (tmp_path / "run").exists()


def test_recognizer_model_refuses_one_class_without_assert():
    from mdaug.models.recognizer import Recognizer

    with pytest.raises(MdaugError, match="at least 2 classes"):
        Recognizer(num_classes=1)
