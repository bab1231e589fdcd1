import json

import numpy as np
import pytest

from mdaug.errors import MdaugError
from mdaug.report import collect, compare_table, newest, write_report
from tests.conftest import assert_one_line_error


def _png(path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.imsave(path, np.zeros((4, 4)))
    return str(path)


def make_pipeline(root, family="vq", fid=12.5, gain=0.031):
    (root / "ae" / "eval").mkdir(parents=True)
    (root / "ae" / "final").mkdir()
    (root / "ae" / "final" / "mdaug.json").write_text(json.dumps({"kind": "autoencoder", "family": family}))
    rec = {"split": "test", "samples": 9, "psnr_db": 24.8, "ssim": 0.58, "spectral_error": 0.05,
           "files": {"figure": _png(root / "ae" / "eval" / "reconstruction-test.png")}}
    (root / "ae" / "eval" / "reconstruction-test.json").write_text(json.dumps(rec))
    stale = dict(rec, psnr_db=1.0)
    (root / "ae" / "eval" / "reconstruction-test-2.json").write_text(json.dumps(stale))
    import os

    os.utime(root / "ae" / "eval" / "reconstruction-test-2.json", ns=(1, 1))  # older than the first
    diag = {"verdicts": [{"problem": "codebook collapse", "ok": True, "value": 99.0, "threshold": 25.0, "message": "fine"},
                         {"problem": "smoothness", "ok": False, "value": 2.0, "threshold": 1.5, "message": "rough"}],
            "knn_agreement": 0.7, "diffusability_loss": 0.3, "latent": {"codebook_usage_pct": 99.0},
            "linear_probe": 0.24, "linear_probe_pixels": 0.49,
            "files": {"figure": _png(root / "ae" / "eval" / "diagnose.png")}}
    (root / "ae" / "eval" / "diagnose.json").write_text(json.dumps(diag))
    (root / "ldm" / "eval").mkdir(parents=True)
    gen = {"fid": fid, "kid": 0.01, "precision": 0.8, "recall": 0.6, "settings": {"steps": 25},
           "floor": {"fid": 3.0, "kid": 0.001, "precision": 0.9, "recall": 0.9},
           "identity": {"accuracy": 0.55}, "recognizer_test_accuracy": 0.8, "stage1_ceiling": {"identity_accuracy": 0.6},
           "memorisation_pixels": {"all": {"share_below": 0.0}},
           "physical": {"torso_mean": {"real_mean": 31.0, "fake_mean": 31.5, "wasserstein": 0.5}},
           "files": {"grid": _png(root / "ldm" / "eval" / "generation-grid.png"), "confusion": None}}
    (root / "ldm" / "eval" / "generation.json").write_text(json.dumps(gen))
    (root / "utility").mkdir()
    s = {"mean": 0.5, "std": 0.01}
    util = {"summary": {"10": {"real_train": 310, "real": s, "real+synthetic": s, "synthetic": s,
                               "gain": {"mean": gain, "std": 0.0}}},
            "note": "no leak", "synthetic_per_class": 50, "seeds": 1,
            "files": {"figure": _png(root / "utility" / "utility.png")}}
    (root / "utility" / "utility.json").write_text(json.dumps(util))
    return root


def test_newest_picks_the_latest_evaluation(tmp_path):
    make_pipeline(tmp_path / "p")
    assert newest(tmp_path / "p" / "ae" / "eval", "reconstruction-test").name == "reconstruction-test.json"
    assert collect(tmp_path / "p")["reconstruction"]["psnr_db"] == 24.8


def test_report_is_self_contained_and_shows_every_section(tmp_path):
    root = make_pipeline(tmp_path / "p")
    page, metrics = write_report(root)
    text = page.read_text()
    assert "src='data:image/png;base64," in text and "src='/" not in text  # figures embedded, no links
    for needle in ("24.800", "12.500", "3.000", "rough", "PROBLEM", "+0.031", "real + synthetic", "torso_mean"):
        assert needle in text, needle
    m = json.loads(metrics.read_text())
    assert m["summary"]["ldm_fid"] == 12.5 and m["summary"]["latent_problems"] == "smoothness"
    assert m["summary"]["gain_at_10"] == pytest.approx(0.031)
    # the latent verdict's evidence beside what stage 2 achieved: probe from latents / pixels, identity of
    # generated samples / stage-1 reconstructions / real test samples
    assert [m["summary"][k] for k in ("class_probe", "class_probe_pixels", "ldm_identity", "stage1_identity",
                                      "real_identity")] == [0.24, 0.49, 0.55, 0.6, 0.8]


def test_compare_puts_runs_side_by_side(tmp_path):
    a = make_pipeline(tmp_path / "a", family="vq", fid=10.0)
    b = make_pipeline(tmp_path / "b", family="kl", fid=20.0, gain=-0.01)
    rows, table = compare_table([a, b])
    assert [r["family"] for r in rows] == ["vq", "kl"]
    lines = table.splitlines()
    assert len(lines) == 4 and "ldm_fid" in lines[0]
    assert "10.000" in lines[2] and "20.000" in lines[3] and "-0.010" in lines[3]


def test_report_and_compare_errors_are_one_line(cli, tmp_path):
    code, _, err = cli("report", tmp_path / "none")
    assert_one_line_error(code, err, "is not a folder")
    code, _, err = cli("report", tmp_path)
    assert_one_line_error(code, err, "no mdaug results")
    root = make_pipeline(tmp_path / "p")
    (root / "ldm" / "eval" / "generation.json").write_text("{broken")
    code, _, err = cli("compare", root)
    assert_one_line_error(code, err, "corrupt")
    with pytest.raises(MdaugError):
        collect(root)


def test_report_states_which_real_data_each_model_saw(tmp_path):
    from mdaug.data.splits import Split, save_split
    from mdaug.evaluation.utility import ids_digest

    root = make_pipeline(tmp_path / "p")
    train, test = [f"p1/s1#{i}" for i in range(6)], [f"p1/s9#{i}" for i in range(3)]
    save_split(Split(ids={"train": train, "val": [], "test": test}, group_by="session", seed=0, fingerprint="f"),
               root / "ae" / "split.json")
    (root / "recognizer-eval" / "final").mkdir(parents=True)
    leaky = {"train_ids": train[:4], "carve_out_ids": [train[4], test[0]], "class_names": ["a", "b"]}
    (root / "recognizer-eval" / "final" / "mdaug.json").write_text(json.dumps(leaky))
    (root / "ldm" / "final").mkdir()
    (root / "ldm" / "final" / "mdaug.json").write_text("{}")
    rows = {r["model"].split(" (")[0]: r for r in collect(root)["data_seen"]}
    assert rows["stage 1"] == {"model": "stage 1 (autoencoder)", "real_samples": 6, "ids_sha256": ids_digest(train),
                               "in_test_split": 0}
    assert rows["stage 2"]["ids_sha256"] == ids_digest(train)
    assert rows["evaluation recogniser"]["real_samples"] == 6 and rows["evaluation recogniser"]["in_test_split"] == 1
    assert rows["test split"]["real_samples"] == 3
    page, _ = write_report(root)
    text = page.read_text()
    assert "Which real data each model saw" in text and ids_digest(train) in text
    assert "LEAK: evaluation recogniser" in text and "LEAK: stage 1" not in text
