import json

import pytest

from mdaug.errors import MdaugError
from mdaug.workflows.pipeline import run_pipeline
from tests.conftest import assert_one_line_error


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    out = tmp_path_factory.mktemp("pipe") / "run"
    return out, run_pipeline(out, preset="tiny", family="vq", overrides=["ldm.conditions=auto"])


def test_the_pipeline_writes_every_part_and_the_report(pipeline):
    out, page = pipeline
    assert page == out / "report.html"
    for part in ("recognizer-eval/final/mdaug.json", "ae/final/mdaug.json", "ae/eval/diagnose.json",
                 "ae/eval/reconstruction-test.json", "ldm/final/mdaug.json", "ldm/eval/generation.json",
                 "ldm/eval/conditions.json", "ldm/eval/conditions-person.png",
                 "synthetic/synthetic_manifest.csv", "utility/utility.json", "metrics.json"):
        assert (out / part).exists(), part
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["family"] == "vq"
    assert set(metrics["utility"]["summary"]) == {"4", "all"}
    # the augmented dataset is drawn with the strategy the study chose on validation, recorded for `mdaug augment`
    aug = json.loads((out / "synthetic" / "augment.json").read_text())
    chosen = json.loads((out / "ldm" / "strategy.json").read_text())
    assert aug["strategy"] == chosen["strategy"] and "validation" in aug["selected"]
    assert aug["strategy"]["name"] in metrics["utility"]["summary"]["all"]["strategies"]
    assert metrics["summary"]["ldm_fid"] >= 0
    text = page.read_text()
    classes = {line.split(",")[3] for line in (out / "synthetic" / "manifest.csv").read_text().splitlines()[1:]}
    # the figures (the utility study's coverage of the conditions and one person at conditions they lack among them)
    # and one row of samples per class
    assert text.count("data:image/png;base64,") == 8 + len(classes) and "<select id='mdaug-class-select'" in text
    assert "Recording conditions in stage 2" in text and "one person at conditions they were never recorded" in text
    assert {"snr_db", "radial_speed_mps"} <= set(metrics["conditions"]["controllability"])
    assert "Utility by condition" in text and "unseen conditions" in text
    assert "no figure" not in text
    # where the minutes went: every step timed, by its key
    seconds = json.loads((out / "timings.json").read_text())["seconds"]
    assert list(seconds) == ["recognizer", "ae", "reconstruction", "diagnose", "ldm", "ldm_eval", "conditions",
                             "utility", "export", "report"]
    assert all(v > 0 for v in seconds.values())


def test_a_rerun_skips_finished_steps_and_redoes_only_what_is_missing(pipeline, capsys):
    out, _ = pipeline
    stamps = {p: (out / p).stat().st_mtime_ns for p in ("ae/final/mdaug.json", "ldm/final/mdaug.json",
                                                        "utility/budget-4/repeat-0/pool-anchored.npz")}
    (out / "ldm" / "eval" / "generation.json").unlink()  # as if killed before the evaluation finished
    before = json.loads((out / "timings.json").read_text())["seconds"]
    run_pipeline(out, preset="tiny", family="vq", overrides=["ldm.conditions=auto"])
    assert all((out / p).stat().st_mtime_ns == t for p, t in stamps.items())
    # the skipped steps keep the times of the run that made them; the redone ones are timed anew
    after = json.loads((out / "timings.json").read_text())["seconds"]
    assert list(after) == list(before)
    assert {k: v for k, v in after.items() if k not in ("ldm_eval", "report")} == \
        {k: v for k, v in before.items() if k not in ("ldm_eval", "report")}
    assert (out / "ldm" / "eval" / "generation.json").exists()
    assert capsys.readouterr().out.count("done before: skipped") >= 7


def test_a_folder_of_another_run_is_refused(pipeline, cli):
    out, _ = pipeline
    with pytest.raises(MdaugError, match="another family"):
        run_pipeline(out, preset="tiny", family="kl")
    code, _, err = cli("run", "--out", out, "--config", "tiny", "--family", "kl")
    assert_one_line_error(code, err, "another family")


def test_missing_data_fails_before_anything_is_written(cli, tmp_path):
    code, _, err = cli("run", "--out", tmp_path / "run", "--data", tmp_path / "nope", "--config", "tiny")
    assert_one_line_error(code, err, "does not exist")
    assert not (tmp_path / "run").exists()


def test_a_multi_process_launch_is_refused_with_what_to_do(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    code, _, err = cli("run", "--out", tmp_path / "run", "--config", "tiny")
    assert_one_line_error(code, err, "one process")
    assert not (tmp_path / "run").exists()


def test_prior_on_the_command_line_adds_the_code_prior_to_a_finished_run(pipeline, cli):
    out, _ = pipeline
    stamp = (out / "ldm" / "final" / "mdaug.json").stat().st_mtime_ns
    code, _, err = cli("run", "--out", out, "--config", "tiny", "--family", "vq", "--prior", "ldm.conditions=auto")
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert (out / "prior" / "final" / "mdaug.json").exists() and metrics["generation"]["prior"]["kind"] == "prior"
    assert metrics["summary"]["prior_fid"] >= 0 and (out / "ldm" / "final" / "mdaug.json").stat().st_mtime_ns == stamp
    assert {"prior", "prior_eval"} <= set(json.loads((out / "timings.json").read_text())["seconds"])


def test_prior_for_a_family_without_codes_is_refused_before_anything(cli, tmp_path):
    code, _, err = cli("run", "--out", tmp_path / "run", "--config", "tiny", "--family", "kl", "--prior")
    assert_one_line_error(code, err, "code prior needs discrete codes")
    assert not (tmp_path / "run").exists()
