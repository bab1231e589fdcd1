"""Checkpoints are complete or absent, verified when loaded, and a run folder is resumed or refused by name."""

import errno
import json
import random

import numpy as np
import pytest
import torch

from mdaug.errors import MdaugError
from mdaug.training import checkpoint as ck


def write(root, step, keep=3, value=1.0, state=None):
    tmp = ck.begin(root, step)
    ck.write_rng(tmp, 0)
    return ck.finish(tmp, step, tensors={"model": {"w": torch.full((2, 3), value), "b": torch.arange(3.0)}},
                     objects={"optim": {"lr": 0.1, "step": step}}, state=state or {"config": {"seed": 1}}, keep=keep)


def test_a_checkpoint_round_trips_its_tensors_objects_state_and_rng(tmp_path):
    root = tmp_path / "checkpoints"
    final = write(root, 42, value=2.5)
    assert final == root / "step-0000042" and not (root / "step-0000042.tmp").exists()
    loaded = ck.load_checkpoint(final)
    assert loaded.step == 42 and loaded.path == final
    assert torch.equal(loaded.tensors["model"]["w"], torch.full((2, 3), 2.5))
    assert torch.equal(loaded.tensors["model"]["b"], torch.arange(3.0)) and set(loaded.tensors) == {"model"}
    assert loaded.objects == {"optim": {"lr": 0.1, "step": 42}}
    assert loaded.state["config"] == {"seed": 1} and loaded.state["step"] == 42
    assert sorted(loaded.state["files"]) == ["model.safetensors", "optim.pt", "rng-0.json"]
    assert loaded.rng(0) == json.loads((final / "rng-0.json").read_text()) and loaded.rng(1) is None
    assert json.loads((final / "state.json").read_text())["step"] == 42


def test_the_rng_state_restores_torch_numpy_and_python(tmp_path):
    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    state = json.loads(json.dumps(ck.rng_state()))  # as written to and read from disk
    first = (torch.rand(4), np.random.rand(4), [random.random() for _ in range(4)], np.random.randn(1))
    ck.set_rng_state(state)
    again = (torch.rand(4), np.random.rand(4), [random.random() for _ in range(4)], np.random.randn(1))
    assert torch.equal(first[0], again[0]) and np.array_equal(first[1], again[1]) and first[2] == again[2]
    assert np.array_equal(first[3], again[3])
    np.random.seed(5)
    np.random.randn(1)  # numpy draws Gaussians in pairs and keeps the second ready: part of the state
    state = json.loads(json.dumps(ck.rng_state()))
    cached = np.random.randn(3)
    ck.set_rng_state(state)
    assert np.array_equal(np.random.randn(3), cached)


def test_only_complete_checkpoints_are_listed_newest_last_and_only_the_newest_kept(tmp_path):
    root = tmp_path / "checkpoints"
    assert ck.list_checkpoints(root) == [] and ck.latest_checkpoint(root) is None
    for step in (9, 10, 2):
        write(root, step, keep=10)
    (root / "step-0000011.tmp").mkdir()  # a write that never finished
    (root / "step-0000012").mkdir()  # no state.json
    (root / "step-0000013").write_text("")  # a file
    (root / "notes-0000014").mkdir()
    assert [p.name for p in ck.list_checkpoints(root)] == ["step-0000002", "step-0000009", "step-0000010"]
    assert ck.latest_checkpoint(root) == root / "step-0000010"
    write(root, 20, keep=2)
    assert [p.name for p in ck.list_checkpoints(root)] == ["step-0000010", "step-0000020"]


def test_a_checkpoint_written_again_keeps_the_old_one_under_another_name(tmp_path):
    root = tmp_path / "checkpoints"
    write(root, 5, value=1.0)
    write(root, 5, value=2.0)
    assert torch.equal(ck.load_checkpoint(root / "step-0000005").tensors["model"]["w"], torch.full((2, 3), 2.0))
    old = ck.load_checkpoint(root / "step-0000005-replaced")
    assert torch.equal(old.tensors["model"]["w"], torch.full((2, 3), 1.0))


def test_begin_starts_from_an_empty_temporary_folder(tmp_path):
    stale = tmp_path / "step-0000007.tmp"
    stale.mkdir()
    (stale / "half.safetensors").write_text("x")
    tmp = ck.begin(tmp_path, 7)
    assert tmp == stale and tmp.is_dir() and list(tmp.iterdir()) == []


def test_a_damaged_checkpoint_is_named_not_half_loaded(tmp_path):
    final = write(tmp_path, 3)
    with pytest.raises(MdaugError, match=rf"^{tmp_path} is not a checkpoint \(no state.json\)$"):
        ck.load_checkpoint(tmp_path)
    (final / "model.safetensors").write_bytes((final / "model.safetensors").read_bytes()[:-4])
    with pytest.raises(MdaugError, match=rf"^checkpoint {final} is corrupt or truncated \(model.safetensors does not "
                                         r"match its hash\); resume from an earlier one with --checkpoint PATH$"):
        ck.load_checkpoint(final)
    (final / "model.safetensors").unlink()
    with pytest.raises(MdaugError, match=r"\(model.safetensors is missing\)"):
        ck.load_checkpoint(final)
    for broken in ("{", json.dumps({"files": {}}), json.dumps({"step": 1}), json.dumps({"step": "x", "files": {}})):
        (final / "state.json").write_text(broken)
        with pytest.raises(MdaugError, match=rf"^{final / 'state.json'} is corrupt; resume from another checkpoint$"):
            ck.load_checkpoint(final)


def test_a_checkpoint_that_passes_its_hashes_but_cannot_be_parsed_is_named(tmp_path):
    final = write(tmp_path, 4)
    (final / "optim.pt").write_bytes(b"not a torch file")
    state = json.loads((final / "state.json").read_text())
    state["files"]["optim.pt"] = ck.sha256_file(final / "optim.pt")
    (final / "state.json").write_text(json.dumps(state))
    with pytest.raises(MdaugError, match=rf"^checkpoint {final} cannot be read \(\w+\); resume from an earlier one$"):
        ck.load_checkpoint(final)


def test_a_failed_write_removes_the_temporary_checkpoint_and_says_how_to_continue(tmp_path):
    root = tmp_path / "checkpoints"
    full = OSError(errno.ENOSPC, "No space left on device", "x.safetensors")
    tmp = ck.begin(root, 1)
    with pytest.raises(MdaugError, match=r"^cannot write x.safetensors: No space left on device .*; the incomplete "
                                         r"checkpoint was removed and no checkpoint was written yet: start the same "
                                         r"command again$"):
        with ck.writing(tmp):
            raise full
    assert not tmp.exists()
    write(root, 2)
    tmp = ck.begin(root, 3)
    with pytest.raises(MdaugError, match=rf"removed and {root / 'step-0000002'} is complete: continue with the same "
                                         r"command and --resume$"):
        with ck.writing(tmp):
            raise full
    assert not tmp.exists() and ck.latest_checkpoint(root) == root / "step-0000002"


def test_a_fresh_run_folder_is_new_empty_or_left_before_its_first_checkpoint(tmp_path):
    run = tmp_path / "run"
    assert ck.start_fresh(run) is False and run.is_dir()
    assert ck.start_fresh(tmp_path / "later", create=False) is False and not (tmp_path / "later").exists()
    (run / "logs").mkdir()
    (run / "config.yaml").write_text("x")
    (run / "checkpoints").mkdir()
    assert ck.start_fresh(run) is True and run.is_dir() and list(run.iterdir()) == []
    (run / "losses.jsonl").write_text("")
    assert ck.start_fresh(run, create=False) is True and list(run.iterdir()) == []
    write(run / "checkpoints", 8)
    with pytest.raises(MdaugError, match=rf"^run folder {run} holds a stopped run \(its last checkpoint: "
                                         r"step-0000008\): add --resume to the same command to continue it, or choose "
                                         r"a new --out \(nothing was overwritten\)$"):
        ck.start_fresh(run)
    (run / "final").mkdir()
    with pytest.raises(MdaugError, match=rf"^run folder {run} holds a finished run \({run / 'final'}\); choose a new "
                                         r"--out \(nothing was overwritten\)$"):
        ck.start_fresh(run)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("x")
    with pytest.raises(MdaugError, match=rf"^run folder {mine} is not empty"):
        ck.start_fresh(mine)
    assert (mine / "thesis.tex").exists()


def test_resume_is_none_the_latest_or_a_named_checkpoint(tmp_path):
    run = tmp_path / "run"
    assert ck.resolve_resume(run, None) is None
    with pytest.raises(MdaugError, match=rf"^no checkpoint to resume in {run / 'checkpoints'}; the same command "
                                         r"without --resume starts the run over$"):
        ck.resolve_resume(run, "latest")
    write(run / "checkpoints", 1)
    write(run / "checkpoints", 6)
    assert ck.resolve_resume(run, "latest") == run / "checkpoints" / "step-0000006"
    named = run / "checkpoints" / "step-0000001"
    assert ck.resolve_resume(run, str(named)) == named
    with pytest.raises(MdaugError, match=rf"^--resume {run}: not a checkpoint folder \(expected {run}/state.json\)$"):
        ck.resolve_resume(run, str(run))


def test_the_rng_file_holds_this_processs_torch_numpy_and_python_states(tmp_path):
    final = write(tmp_path, 1)
    saved = ck.load_checkpoint(final).rng(0)
    assert sorted(saved) == ["numpy", "python", "torch"]  # and "cuda" on a GPU
    assert sorted(ck.rng_state()) == ["numpy", "python", "torch"] or torch.cuda.is_available()


def test_the_state_file_records_paths_as_text_and_optimizer_tensors_load_on_the_cpu(tmp_path):
    from pathlib import Path

    tmp = ck.begin(tmp_path, 2)
    final = ck.finish(tmp, 2, tensors={}, objects={"exp_avg": torch.ones(2)}, state={"out": Path("runs/a")}, keep=1)
    loaded = ck.load_checkpoint(final)
    assert loaded.state["out"] == "runs/a" and torch.equal(loaded.objects["exp_avg"], torch.ones(2))
    assert loaded.objects["exp_avg"].device.type == "cpu"


def test_an_optimizer_file_holding_more_than_tensors_and_numbers_is_never_unpickled(tmp_path):
    from fractions import Fraction

    tmp = ck.begin(tmp_path, 3)
    final = ck.finish(tmp, 3, tensors={}, objects={"odd": Fraction(1, 3)}, state={}, keep=1)
    with pytest.raises(MdaugError, match=rf"^checkpoint {final} cannot be read \(UnpicklingError\); resume from an "
                                         r"earlier one$"):
        ck.load_checkpoint(final)


def test_every_write_of_a_checkpoint_that_fails_removes_its_temporary_folder(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(MdaugError, match=r"^cannot write .*; the incomplete checkpoint was removed"):
        ck.begin(blocker, 1)  # its parent is a file
    full = OSError(errno.ENOSPC, "No space left on device")

    def fail(*args, **kwargs):
        raise full

    root = tmp_path / "checkpoints"
    tmp = ck.begin(root, 1)
    monkeypatch.setattr(ck, "atomic_write_text", fail)
    with pytest.raises(MdaugError, match=r"^cannot write .*No space left on device"):
        ck.write_rng(tmp, 0)
    assert not tmp.exists()
    monkeypatch.undo()
    tmp = ck.begin(root, 1)
    monkeypatch.setattr(ck, "save_file", fail)
    with pytest.raises(MdaugError, match=rf"^cannot write {tmp / 'model.safetensors'}: No space left on device"):
        ck.finish(tmp, 1, tensors={"model": {"w": torch.ones(1)}}, objects={}, state={}, keep=1)
    assert not tmp.exists()


def test_a_folder_holding_every_file_a_run_writes_before_its_first_checkpoint_starts_over(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for name in ck.RUN_FILES:
        (run / name).mkdir()
    assert ck.start_fresh(run) is True and list(run.iterdir()) == []


def test_a_gpu_runs_rng_state_resumes_on_a_machine_without_one():
    state = ck.rng_state()
    state["cuda"] = [[0] * 16]  # written by a process with one GPU
    if not torch.cuda.is_available():
        ck.set_rng_state(state)  # the CPU states are restored, the GPU's left out
        assert torch.equal(torch.get_rng_state(), torch.tensor(state["torch"], dtype=torch.uint8))
