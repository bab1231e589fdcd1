"""`mdaug benchmark` on the tiny preset: one shared evaluation recogniser, one pipeline per family (the code
prior only where there are codes), one table, and a rerun that redoes nothing."""

import json

import pytest
from safetensors.torch import load_file

from mdaug.workflows.benchmark import run_benchmark
from tests.conftest import assert_one_line_error


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "b"
    md, table = run_benchmark(out, preset="tiny", families=("vq", "kl"), overrides=["utility.budgets=[all]"])
    return out, md, table


def test_every_family_is_run_and_compared_in_one_table(bench):
    out, md, table = bench
    assert md == out / "benchmark.md" and md.read_text().startswith("Made by `mdaug benchmark")
    rows = json.loads((out / "benchmark.json").read_text())
    assert [r["family"] for r in rows] == ["vq", "kl"]
    assert rows[0]["prior_fid"] >= 0 and "prior_fid" not in rows[1]  # the code prior only where there are codes
    assert (out / "vq" / "prior" / "final" / "mdaug.json").exists() and not (out / "kl" / "prior").exists()
    assert all(r["ldm_fid"] >= 0 and r["gain_at_all"] is not None for r in rows)
    assert table.count("\n") == 3 and "| vq |" in table.replace(f"| {out / 'vq'} ", "| ")


def test_the_evaluation_recogniser_is_trained_once_and_shared(bench):
    out, _, _ = bench
    weights = [load_file(str(p / "recognizer-eval" / "final" / "diffusion_pytorch_model.safetensors"))
               for p in (out, out / "vq", out / "kl")]
    assert all(w.keys() == weights[0].keys() and all((w[k] == weights[0][k]).all() for k in w) for w in weights)
    assert not (out / "vq" / "recognizer-eval" / "checkpoints").exists()  # copied, not trained again


def test_a_rerun_redoes_nothing_and_another_plan_is_refused(bench, cli, capsys):
    out, md, _ = bench
    stamp = (out / "kl" / "ldm" / "final" / "mdaug.json").stat().st_mtime_ns
    run_benchmark(out, preset="tiny", families=("vq", "kl"), overrides=["utility.budgets=[all]"])
    assert (out / "kl" / "ldm" / "final" / "mdaug.json").stat().st_mtime_ns == stamp
    assert "done before: skipped" in capsys.readouterr().out
    code, _, err = cli("benchmark", "--out", out, "--config", "tiny", "--families", "vq", "utility.budgets=[all]")
    assert_one_line_error(code, err, "another plan")
