"""`mdaug benchmark` on the tiny preset: one shared evaluation recogniser, one pipeline per family (the code
prior only where there are codes), one table, and a rerun that redoes nothing."""

import json
import shutil

import pytest
from safetensors.torch import load_file

from mdaug.config import config_from_dict, saved_config
from mdaug.runs.cards import RecognizerCard, read_card
from mdaug.runs.layout import final_dir
from mdaug.runs.run_data import load_run_data
from mdaug.workflows.benchmark import run_benchmark
from mdaug.workflows.utility.recognisers import RecogniserStore
from tests.conftest import assert_one_line_error

WEIGHTS = "final/diffusion_pytorch_model.safetensors"


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


def test_the_arms_without_synthetic_data_are_trained_once_and_shared(bench):
    out, _, _ = bench
    rep = "utility/budget-all/repeat-0"
    arms = sorted(p.name for p in (out / "vq" / rep).glob("recognizer-*classical*"))
    assert "recognizer-real-classical" in arms
    for name in arms:  # trained in the first family's study, copied into the second's
        a, b = (load_file(str(out / f / rep / name / WEIGHTS)) for f in ("vq", "kl"))
        assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
        assert (out / "vq" / rep / name / "checkpoints").exists()
        assert not (out / "kl" / rep / name / "checkpoints").exists()
    assert (out / "kl" / rep / "recognizer-anchored" / "checkpoints").exists()  # a synthetic arm: its own training
    # the utility study reports the same accuracies for the shared arms
    acc = [json.loads((out / f / "utility" / "utility.json").read_text())["records"][0]["accuracy"]
           for f in ("vq", "kl")]
    assert {k: acc[0][k] for k in ("real", "real+classical")} == {k: acc[1][k] for k in ("real", "real+classical")}
    # and its record says which recognisers it copied rather than trained
    notes = [json.loads((out / f / "utility" / "utility.json").read_text())["records"][0].get("notes") or []
             for f in ("vq", "kl")]
    assert not any("not trained here" in n for n in notes[0])
    copied = {n.split(":")[0] for n in notes[1] if "not trained here" in n}
    assert set(arms) <= copied and "recognizer-anchored" not in copied
    assert all(str(out / "recognisers") in n for n in notes[1] if "not trained here" in n)


def test_the_store_files_a_run_under_its_recipe_and_hands_out_only_an_exact_match(bench, tmp_path):
    out, _, _ = bench
    store = RecogniserStore(out / "recognisers")
    entries = sorted(p for p in store.folder.iterdir())
    assert len(entries) >= 2  # the evaluation recogniser and the real + classical arm at least
    run = out / "kl" / "utility" / "budget-all" / "repeat-0" / "recognizer-real-classical"
    cfg = config_from_dict(saved_config(run), str(run))
    card = read_card(final_dir(run), RecognizerCard, missing="a recogniser", wrong_kind="not a recogniser")
    fit, sel = card.train_ids, card.selection_ids
    assert store.samples(cfg, load_run_data(cfg)) == (fit, sel)  # the store names the samples the run trained on
    assert store.folder / store.key(cfg, fit, sel) in entries
    assert not store.fetch(cfg, fit[:-1], sel, tmp_path / "fewer")  # other samples: nothing there, nothing copied
    assert not (tmp_path / "fewer").exists()
    assert store.fetch(cfg, fit, sel, tmp_path / "same")
    assert all((a == b).all() for a, b in zip(load_file(str(tmp_path / "same" / WEIGHTS)).values(),
                                              load_file(str(run / WEIGHTS)).values()))
    # a run filed under the key of another recipe (a hand-made or stale store) is not handed out
    plain = cfg.model_copy(update={"recognizer": cfg.recognizer.model_copy(update={"classical": False})})
    forged = RecogniserStore(tmp_path / "forged")
    shutil.copytree(store.folder / store.key(cfg, fit, sel), forged.folder / forged.key(plain, fit, sel))
    assert not forged.fetch(plain, fit, sel, tmp_path / "forged-out") and not (tmp_path / "forged-out").exists()


def test_a_rerun_redoes_nothing_and_another_plan_is_refused(bench, cli, capsys):
    out, md, _ = bench
    stamp = (out / "kl" / "ldm" / "final" / "mdaug.json").stat().st_mtime_ns
    run_benchmark(out, preset="tiny", families=("vq", "kl"), overrides=["utility.budgets=[all]"])
    assert (out / "kl" / "ldm" / "final" / "mdaug.json").stat().st_mtime_ns == stamp
    assert "done before: skipped" in capsys.readouterr().out
    code, _, err = cli("benchmark", "--out", out, "--config", "tiny", "--families", "vq", "utility.budgets=[all]")
    assert_one_line_error(code, err, "another plan")
