"""Ctrl-C prints one line that says what to do next, and exits 130 (issue 18: typer made it a silent exit 130)."""

import pytest


@pytest.mark.parametrize("command, args, needle", [
    ("train-ae", ["--out", "RUN", "--config", "tiny"], "no checkpoint was written"),
    ("train-ae", ["--config", "tiny"], "same command again with --resume"),
    ("run", ["--out", "RUN", "--config", "tiny"], "same command again (same --out) to continue"),
])
def test_ctrl_c_prints_how_to_resume_and_exits_130(cli, tmp_path, monkeypatch, command, args, needle):
    monkeypatch.chdir(tmp_path)  # train-ae without --out would name runs/ae-vq here

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    if command == "train-ae":
        import mdaug.training.autoencoder as target

        monkeypatch.setattr(target, "train_autoencoder", interrupted)
    else:
        import mdaug.workflows.pipeline as target

        monkeypatch.setattr(target, "run_pipeline", interrupted)
    code, out, err = cli(command, *[str(tmp_path / "run") if a == "RUN" else a for a in args])
    assert code == 130
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted (Ctrl-C)") and needle in lines[0], err
    assert "Traceback" not in err


def test_the_line_names_what_each_kind_of_command_can_do(tmp_path):
    from mdaug.cli import interrupted_line

    assert "--resume" in interrupted_line(["train-ldm", "--ae", "x"])
    (tmp_path / "run" / "checkpoints" / "step-0000002").mkdir(parents=True)
    assert "no checkpoint was written" in interrupted_line(["train-ae", "--out", str(tmp_path / "run")])
    (tmp_path / "run" / "checkpoints" / "step-0000002" / "state.json").write_text("{}")
    assert "--resume" in interrupted_line(["train-ae", "-o", str(tmp_path / "run")])
    assert "same --out" in interrupted_line(["benchmark"])
    assert "redo it" in interrupted_line(["data", "prepare", "x"])
