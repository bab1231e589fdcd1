"""train-ae / eval-ae / train-recognizer through the CLI: outputs, a PSNR recomputed by hand, and one-line errors."""

import json

import numpy as np
import pytest
import torch

from mdaug.runs.loading import load_pretrained_autoencoder
from mdaug.runs.run_data import load_run_data
from tests.conftest import assert_one_line_error

TINY = ["--config", "tiny", "ae.family=vq", "ae.codebook_size=16"]


def test_train_then_eval(cli, tmp_path):
    run = tmp_path / "run"
    code, out, err = cli("train-ae", "--out", run, *TINY)
    assert code == 0, err
    assert (run / "final" / "mdaug.json").exists() and "eval-ae" in out
    code, out, err = cli("eval-ae", run, "--json")
    assert code == 0, err
    report = json.loads(out)
    # recompute the PSNR of the test split by hand from the saved model and the run's data
    pre = load_pretrained_autoencoder(run)
    from mdaug.config import run_config

    data = load_run_data(run_config(run))
    idx = data.indices("test")
    x = torch.from_numpy(data.dataset.x[idx])
    with torch.no_grad():
        x_hat = pre.model(x, sample_posterior=False).sample.clamp(-1, 1)
    mse = (x_hat - x).square().flatten(1).mean(1).numpy()
    assert report["samples"] == len(idx)
    assert report["psnr_db"] == pytest.approx(float(np.mean(10 * np.log10(4 / mse))), rel=1e-4)
    assert 0 < report["ssim"] <= 1 and report["spectral_error"] > 0
    assert 0 < report["latent"]["codebook_usage_pct"] <= 100
    files = report["files"]
    assert files["json"].endswith("reconstruction-test.json")
    # a second evaluation never overwrites the first
    code, out, _ = cli("eval-ae", run, "--json")
    assert json.loads(out)["files"]["json"].endswith("reconstruction-test-2.json")


def test_resume_flag_alone_continues_the_latest(cli, tmp_path):
    run = tmp_path / "run"
    assert cli("train-ae", "--out", run, *TINY, "ae_train.steps=2")[0] == 0
    code, out, err = cli("train-ae", "--out", run, "--resume", "--steps", "4")
    assert code == 0, err
    rows = [json.loads(ln) for ln in (run / "losses.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]


@pytest.mark.parametrize("args, needle", [
    (["--resume"], "no checkpoint to resume"),
    (["--config", "configs/kl.yaml", "--family", "vq"], "applies to family kl, not vq"),
    (["--config", "tiny", "ae.codebok_size=3"], "did you mean 'ae.codebook_size'"),
    (["--config", "tiny", "--data", "/nonexistent/folder"], "does not exist"),
    (["--config", "tiny", "data.size=33"], "not divisible"),
])
def test_train_ae_errors(cli, tmp_path, args, needle):
    code, _, err = cli("train-ae", "--out", tmp_path / "run", *args)
    assert_one_line_error(code, err, needle)


def test_eval_ae_errors(cli, tmp_path):
    assert_one_line_error(*cli("eval-ae", tmp_path / "missing")[::2], "does not exist")
    (tmp_path / "half").mkdir()
    assert_one_line_error(*cli("eval-ae", tmp_path / "half")[::2], "not an mdaug run")


def test_train_recognizer_cli(cli, tmp_path):
    code, out, err = cli("train-recognizer", "--out", tmp_path / "rec", "--config", "tiny", "--role", "loss")
    assert code == 0, err
    meta = json.loads((tmp_path / "rec" / "final" / "mdaug.json").read_text())
    assert meta["role"] == "loss" and "perceptual_net=" in out
    assert_one_line_error(*cli("train-recognizer", "--out", tmp_path / "r2", "--role", "judge")[::2], "--role")
