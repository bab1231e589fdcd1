"""The bad inputs and faults of issue 27's sweep that were not clean: each is one `error:` line naming the problem and
the fix, a non-zero exit, nothing of the user's lost and no half-written output left at its final name."""

import errno

import pytest

from mdaug.errors import MdaugError
from mdaug.files import LOCK, building, hold_lock
from tests.conftest import assert_one_line_error


@pytest.mark.parametrize("override, needle", [
    ("simulate.stft.window=notawindow", "not a window scipy knows"),
    ("simulate.seed=-5", "simulate.seed"),
    ("simulate.duration_s=1000000", "simulate.duration_s"),
])
def test_simulate_settings_that_broke_inside_are_refused_as_config_errors(cli, tmp_path, override, needle):
    code, _, err = cli("simulate", "--out", tmp_path / "o", "--people", 2, "--per-class", 2, "--sessions", 1, override)
    assert_one_line_error(code, err, needle)
    assert not (tmp_path / "o").exists()


def test_a_simulation_too_large_for_memory_is_refused_before_it_starts(cli, tmp_path):
    code, _, err = cli("simulate", "--out", tmp_path / "o", "--people", 100000, "--per-class", 100000)
    assert_one_line_error(code, err, "10000000000 samples", "GiB to simulate", "--people")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["simulate", "examples"])
def test_a_full_disk_leaves_no_folder_that_reads_as_complete(cli, tmp_path, monkeypatch, command):
    """The writer fails half-way (as a full disk makes it): nothing at --out, no hidden partial folder, exit 1."""
    import mdaug.data.examples as examples
    import mdaug.simulate.export as export

    def half_then_full(target, *a, **k):
        (target / "spectrograms.npy").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device", str(target / "manifest.csv"))

    if command == "simulate":
        monkeypatch.setattr(export, "write_simulated", lambda sim, out, *a, **k: half_then_full(out))
        args = ["simulate", "--out", tmp_path / "o", "--people", 2, "--per-class", 4, "--sessions", 2, "--size", 16,
                "--workers", 1]
    else:
        monkeypatch.setattr(examples, "write_examples", lambda out, *a, **k: half_then_full(out))
        args = ["data", "examples", "--out", tmp_path / "o"]
    code, _, err = cli(*args)
    assert_one_line_error(code, err, "No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_building_renames_only_a_complete_folder_and_a_rerun_clears_a_killed_one(tmp_path):
    out = tmp_path / "o"
    (tmp_path / ".o.partial").mkdir()  # what a kill -9 in the middle leaves
    (tmp_path / ".o.partial" / "junk").write_text("x")
    with building(out) as tmp:
        assert tmp.name == ".o.partial" and not (tmp / "junk").exists()
        (tmp / "a.txt").write_text("done")
        assert not out.exists()
    assert (out / "a.txt").read_text() == "done" and not (tmp_path / ".o.partial").exists()
    with pytest.raises(MdaugError, match="not empty"), building(out):
        pass


def test_a_second_run_into_a_folder_in_use_is_refused_naming_the_first(tmp_path):
    from mdaug.workflows import pipeline as pipe

    out = tmp_path / "run"
    out.mkdir()
    held = hold_lock(out, "mdaug run")
    with pytest.raises(MdaugError, match=r"in use by another mdaug run \(pid \d+"):
        pipe.Pipeline(pipe.pipeline_config("tiny", "vq", None, []), out, console=None)._start()
    held.close()  # the first run ends: the lock goes with it
    again = hold_lock(out, "mdaug run")
    assert again is not None and (out / LOCK).exists()
    again.close()


def test_a_study_into_a_folder_in_use_is_refused(tmp_path):
    from mdaug.config import load_config
    from mdaug.workflows.utility import run_utility

    out = tmp_path / "study"
    out.mkdir()
    held = hold_lock(out, "utility study")
    with pytest.raises(MdaugError, match="in use by another utility study"):
        run_utility(load_config("tiny", ["utility.budgets=[all]"]), out)
    held.close()


@pytest.fixture
def user_folder(tmp_path, small_set):
    from mdaug.data import write_dataset

    write_dataset(small_set, tmp_path / "ds", "npz")
    return tmp_path / "ds"


@pytest.mark.parametrize("command", [["train-ae", "--config", "tiny"], ["train-recognizer", "--config", "tiny"],
                                     ["run", "--config", "tiny"]])
def test_an_out_inside_the_data_folder_is_refused_before_anything_is_written(cli, user_folder, command):
    before = sorted(p.name for p in user_folder.rglob("*"))
    code, _, err = cli(*command, "--data", user_folder, "--out", user_folder / "run")
    assert_one_line_error(code, err, "is inside the dataset folder", "choose a folder outside it")
    assert sorted(p.name for p in user_folder.rglob("*")) == before


def test_a_checkpoint_of_another_run_is_never_written_into(cli, tmp_path):
    other = tmp_path / "other"
    (other / "checkpoints" / "step-0000002").mkdir(parents=True)
    (other / "checkpoints" / "step-0000002" / "state.json").write_text("{}")
    code, _, err = cli("train-ae", "--config", "tiny", "--out", tmp_path / "new", "--checkpoint",
                       other / "checkpoints" / "step-0000002")
    assert_one_line_error(code, err, f"--out {other.resolve()}", "its own folder")
    assert not (tmp_path / "new").exists() and sorted(p.name for p in other.rglob("*")) == [
        "checkpoints", "state.json", "step-0000002"]

