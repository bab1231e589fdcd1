"""Ctrl-C prints one line that says what to do next, and exits 130 (issue 18: typer made it a silent exit 130)."""

import json

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


def _stop_training(tmp_path, sig, *, after_checkpoint: bool):
    """Start `mdaug train-ae` in a process of its own and stop it with `sig` (kill -9, Ctrl-C or SIGTERM) once it
    has trained a few steps: before its first checkpoint, or after it. Returns the command's arguments and its
    stderr."""
    import os
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "run"
    args = ["train-ae", "--out", str(run), "--config", "tiny", "--family", "vq", "--steps", "400",
            "ae_train.checkpoint_every=6", "ae_train.image_every=1000"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # Ctrl-C as a terminal sends it, whatever the test runs under: a shell's background job inherits SIGINT ignored,
    # and Python then never raises KeyboardInterrupt
    proc = subprocess.Popen([sys.executable, "-m", "mdaug", *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    losses, deadline = run / "losses.jsonl", time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        n = len(losses.read_text().splitlines()) if losses.exists() else 0
        if (after_checkpoint and any((run / "checkpoints").glob("step-*/state.json"))) or (not after_checkpoint
                                                                                            and n >= 2):
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal({"kill": signal.SIGKILL, "ctrl-c": signal.SIGINT, "term": signal.SIGTERM}[sig])
    _, err = proc.communicate(timeout=60)
    checkpoints = sorted(p.name for p in (run / "checkpoints").glob("step-*") if (p / "state.json").exists())
    assert bool(checkpoints) == after_checkpoint, checkpoints
    return args, err


@pytest.mark.parametrize("sig, after_checkpoint", [("kill", False), ("kill", True), ("ctrl-c", False),
                                                   ("ctrl-c", True), ("term", True)])
def test_the_advice_after_a_stop_is_a_command_that_works(cli, tmp_path, monkeypatch, sig, after_checkpoint):
    """kill -9, Ctrl-C or SIGTERM of train-ae, before its first checkpoint or after one: what the stop (or the same
    command) says to do is done, and it works. Before a checkpoint the same command starts over in the same folder;
    after one it names --resume, and --resume continues from that checkpoint."""
    args, err = _stop_training(tmp_path, sig, after_checkpoint=after_checkpoint)
    monkeypatch.chdir(tmp_path)
    args = [*args[:-2], "--steps", "8", *args[-2:]]  # the same command, trained to the end quickly
    if sig != "kill":  # SIGTERM (kill, a scheduler's time limit) stops it as Ctrl-C does, and says which
        said = "interrupted (Ctrl-C)" if sig == "ctrl-c" else "interrupted (SIGTERM)"
        assert ("--resume" in err) == after_checkpoint and said in err and "Traceback" not in err, err
    if not after_checkpoint:
        if sig == "ctrl-c":
            assert "run the same command again to start over" in err
        code, out, e = cli(*args)
        assert code == 0, e
        assert "started" in out and "over" in out
    else:
        code, _, e = cli(*args)
        assert code == 1 and "add --resume to the same command" in e and len(e.strip().splitlines()) == 1
        code, out, e = cli(*args, "--resume")
        assert code == 0, e
    run = tmp_path / "run"
    steps = [json.loads(line)["step"] for line in (run / "losses.jsonl").read_text().splitlines()]
    assert (run / "final").is_dir() and steps[-1] == 8
    assert steps == sorted(set(steps))  # one line per step: a resumed log continues, a restarted one starts anew
