"""The report and `mdaug compare` read what the evaluations write: the fixtures are built from the very record
types the evaluations write (mdaug.evaluation.records, mdaug.runs.cards), so that a renamed or retyped field
breaks these tests instead of silently emptying the report."""

import json
import os

import numpy as np
import pytest

from mdaug.errors import MdaugError
from mdaug.evaluation.diagnose import THRESHOLDS
from mdaug.evaluation.record_parts import (
    Controllability,
    Files,
    FloorStats,
    IdentityCeiling,
    LatentStats,
    Memorisation,
    MemorisationShare,
    NoiseFloors,
    PhysicalStat,
    Roughness,
    SamplerSettings,
    WalkingPhysics,
)
from mdaug.evaluation.records import (
    Candidate,
    ConditionsReport,
    DiagnoseReport,
    FeatureDistances,
    GenerationReport,
    Identity,
    ReconstructionReport,
    UtilityRecord,
    UtilityReport,
    Verdict,
)
from mdaug.evaluation.report import write_report
from mdaug.evaluation.results import collect, compare_table
from mdaug.runs.cards import AutoencoderCard, CorpusSummary, InitRecord, Normalisation, RecognizerCard, write_card
from mdaug.runs.layout import newest
from mdaug.runs.run_data import ids_digest
from mdaug.workflows.utility import summarise, verdict
from tests.conftest import assert_one_line_error


def _png(path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.imsave(path, np.zeros((4, 4)))
    return str(path)


def autoencoder_card(family):
    return AutoencoderCard(family=family, class_names=["a", "b"], input_shape=[1, 8, 8], latent_shape=[4, 2, 2],
                           normalisation=Normalisation(range=[-1, 1], dynamic_range_db=40.0, meaning="dB",
                                                       doppler_axis="row 0 = lowest Doppler"),
                           data_fingerprint="f", data_source="d", train_samples=6, steps=1, weights="ema",
                           gan_generator_start=None, config={},
                           init=InitRecord(source="pretrained", path="kl-64x64", weights_sha256="0" * 64,
                                           corpus=CorpusSummary(spectrograms=150, trained_on=100, people=8, parts=4,
                                                                seeds=[1000, 1003], radars=["r"], displays=["none"],
                                                                size=[8, 8], table="corpus.csv")))


def reconstruction(root, psnr):
    return ReconstructionReport(run=str(root / "ae"), family="vq", split="test", samples=9, psnr_db=psnr, ssim=0.58,
                                spectral_error=0.05, l1=0.1, psnr_db_std=1.0, ssim_std=0.1, spectral_error_std=0.01,
                                l1_std=0.01, psnr_db_per_class={"a": psnr}, latent=LatentStats(),
                                latent_shape=[4, 2, 2],
                                identity=IdentityCeiling(real=0.8, reconstructions=0.6, ratio=0.75),
                                noise_floor=NoiseFloors(real=floor(-30.0), reconstructed=floor(-33.0), texture_db=1.5,
                                                        textured=floor(-31.0)))


def floor(level_db):
    return FloorStats(level_db=level_db, spread_db=2.0, correlation_time=0.3, correlation_doppler=0.2)


def diagnose(root):
    verdicts = [Verdict(problem="codebook collapse", ok=True, value=99.0, threshold=25.0, message="fine"),
                Verdict(problem="smoothness", ok=False, value=2.0, threshold=1.5, message="rough")]
    return DiagnoseReport(run=str(root / "ae"), family="vq", samples=9, latent_shape=[4, 2, 2],
                          latent=LatentStats(codebook_usage_pct=99.0), codebook_size=8, class_code_hist=[[1.0] * 8] * 2,
                          knn_agreement=0.7, knn_agreement_pixels=0.8, knn_chance=0.5, linear_probe=0.24,
                          linear_probe_pixels=0.49, roughness=Roughness(same_class=2.0, different_class=2.5),
                          diffusability_steps=10, diffusability_loss=0.3, thresholds=THRESHOLDS,
                          verdicts=verdicts, healthy=False,
                          files=Files(json="x", figure=_png(root / "ae" / "eval" / "diagnose.png")))


def generation(root, fid):
    return GenerationReport(
        run=str(root / "ldm"), kind="ldm", family="vq", recognizer="r", per_class=2, samples=4, seed=0,
        settings=SamplerSettings(steps=25, guidance_scale=2.0, sampler="ddim", floor_noise_db=0.0), test_samples=9,
 recognizer_test_accuracy=0.8, fid=fid, kid=0.01, kid_std=0.001,
        precision=0.8, recall=0.6, floor=FeatureDistances(fid=3.0, kid=0.001, precision=0.9, recall=0.9),
        stage1_ceiling=FeatureDistances(fid=5.0, kid=0.002, precision=0.85, recall=0.8, identity_accuracy=0.6),
        identity=Identity(accuracy=0.55, confusion=[[1, 1], [0, 2]], per_class_accuracy=[0.5, 1.0],
                          balanced_accuracy=0.75),
        memorisation=memorisation(), memorisation_pixels=memorisation(),
        physical={"torso_mean": PhysicalStat(real_mean=31.0, real_std=1.0, fake_mean=31.5, fake_std=1.0, difference=0.5,
                                             real_median=31.0, fake_median=31.5, wasserstein=0.5)},
        files=Files(json="x", grid=_png(root / "ldm" / "eval" / "generation-grid.png"), confusion="none.png"))


def memorisation(share_below=0.0):
    share = MemorisationShare(n=2, median_ratio=0.9, share_below=share_below, nn_distance_ratio=1.0)
    return Memorisation(per_class={0: share, 1: share}, all=share, threshold=0.5)


def utility(root, gain):
    accuracy = lambda d: {"real": 0.5, "real+classical": 0.55, "pretrained+classical": 0.56,  # noqa: E731
                          "real+classical+synthetic": 0.55 + gain + d, "synthetic": 0.2}
    recs = [UtilityRecord(budget="10", repeat=r, real_train=310, real_val=310, synthetic=620, strategy="anchored",
                          accuracy=accuracy(d), val_accuracy={"real": 0.5, "real+classical": 0.6,
                                                              "pretrained+classical": 0.62},
                          real_files_seen={"stage1": "abc"},
                          candidates=[Candidate(name="anchored", val_accuracy=0.6, test_accuracy=0.55 + gain + d,
                                                pool={"drawn": 700, "kept": 620})],
                          tstr_samples=310, tstr_guidance=2.0 if r == 2 else 1.0, snr_drop_db=10.0,
                          subsets={"all": 930, "unseen conditions": 200 + r, "snr_db below": 90},
                          by_condition={a: {"all": v, "unseen conditions": v / 2, "snr_db below": v / 4}
                                        for a, v in accuracy(d).items()})
            for r, d in enumerate((-0.001, 0.0, 0.001))]
    summary = summarise(recs)
    return UtilityReport(budgets=["10"], seeds=3, family="vq", generator="ldm", strategies=["anchored"], records=recs,
                         summary=summary, verdict=verdict(summary), note="no leak",
                         files=Files(figure=_png(root / "utility" / "utility.png")))


def make_pipeline(root, family="vq", fid=12.5, gain=0.031):
    for folder in ("ae/eval", "ae/final", "ldm/eval", "utility"):
        (root / folder).mkdir(parents=True)
    write_card(root / "ae" / "final", autoencoder_card(family))
    rec = reconstruction(root, 24.8)
    _png(root / "ae" / "eval" / "reconstruction-test.png")
    rec.write(root / "ae" / "eval" / "reconstruction-test.json")
    reconstruction(root, 1.0).write(root / "ae" / "eval" / "reconstruction-test-2.json")
    os.utime(root / "ae" / "eval" / "reconstruction-test-2.json", ns=(1, 1))  # older than the first
    diagnose(root).write(root / "ae" / "eval" / "diagnose.json")
    generation(root, fid).write(root / "ldm" / "eval" / "generation.json")
    utility(root, gain).write(root / "utility" / "utility.json")
    return root


def conditions(root, measured=True):
    if not measured:
        return ConditionsReport(model=str(root / "ldm" / "final"), conditions=[], seed=0)
    control = Controllability(unit="dB", asked=[5.0, 10.0], samples=2, median_abs_error=1.5, median_rel_error=None,
                              chance_median_abs_error=6.0, estimator_median_abs_error=0.5,
                              read_back_per_value=[6.0, None], unread=1)
    return ConditionsReport(
        model=str(root / "ldm" / "final"), conditions=["snr_db: numeric 0-30"], seed=0,
        controllability={"snr_db": control},
        physics=WalkingPhysics(speeds=[0.8, 1.6], samples=8, cycle_ratio_read=1.3, cycle_ratio_expected=1.4142),
        identity=None, files=Files(json=str(root / "c.json")), note="no person lacks a condition")


def test_every_record_round_trips_through_its_json(tmp_path):
    for folder in ("ae/eval", "ldm/eval", "utility"):
        (tmp_path / folder).mkdir(parents=True)
    for record in (reconstruction(tmp_path, 20.0), diagnose(tmp_path), generation(tmp_path, 9.0),
                   utility(tmp_path, 0.1), conditions(tmp_path), conditions(tmp_path, measured=False)):
        path = record.write(tmp_path / "r.json")
        assert type(record).read(path) == record
    with pytest.raises(MdaugError, match="another mdaug version"):  # a renamed key is refused, not half-read
        ReconstructionReport.read(path)


def test_records_keep_the_keys_of_the_files_on_disk(tmp_path):
    for folder in ("ae/eval", "ldm/eval"):
        (tmp_path / folder).mkdir(parents=True)
    on_disk = lambda record: json.loads(record.write(tmp_path / "r.json").read_text())  # noqa: E731
    rec = on_disk(reconstruction(tmp_path, 20.0))
    assert list(rec["noise_floor"]) == ["real", "reconstructed", "reconstructed + 1.5 dB texture"]
    assert rec["identity"] == {"real": 0.8, "reconstructions": 0.6, "ratio": 0.75} and rec["latent"] == {}
    assert "files" not in rec  # beside the JSON, not in it
    gen = on_disk(generation(tmp_path, 9.0))
    assert list(gen["memorisation"]) == ["0", "1", "all", "threshold"]
    assert gen["files"] == {"json": "x", "grid": str(tmp_path / "ldm" / "eval" / "generation-grid.png"),
                            "confusion": "none.png"}
    assert gen["settings"] == {"steps": 25, "guidance_scale": 2.0, "sampler": "ddim", "floor_noise_db": 0.0}
    cond = on_disk(conditions(tmp_path))
    assert cond["identity"] is None and "torso_speed_read" not in cond["physics"]  # measured: null; not read: absent
    assert list(on_disk(conditions(tmp_path, measured=False))) == ["model", "conditions", "seed"]


def test_newest_picks_the_latest_evaluation(tmp_path):
    make_pipeline(tmp_path / "p")
    assert newest(tmp_path / "p" / "ae" / "eval", "reconstruction-test").name == "reconstruction-test.json"
    assert collect(tmp_path / "p").reconstruction.psnr_db == 24.8


def test_report_is_self_contained_and_shows_every_section(tmp_path):
    root = make_pipeline(tmp_path / "p")
    conditions(root).write(root / "ldm" / "eval" / "conditions.json")
    page, metrics = write_report(root)
    text = page.read_text()
    assert "src='data:image/png;base64," in text and "src='/" not in text  # figures embedded, no links
    for needle in ("24.800", "12.500", "3.000", "rough", "PROBLEM", "+3.1 pt", "real + classical + synthetic",
                   "Utility by condition", "snr_db below", "real + classical, pretrained recogniser",
                   "torso Doppler (body speed)", "<img alt='identity confusion (ldm)'", "raised held-out accuracy",
                   "3 repeats", "<th>reconstructed + 1.5 dB texture</th>", "<td>level (dB)</td><td>-30.000</td>",
                   "<td>ratio (the identity ceiling of generated samples)</td><td>0.750</td>",
                   "Stage 2 takes: snr_db: numeric 0-30", "<td>snr_db</td><td>dB</td><td>2</td><td>1.500</td>"):
        assert needle in text, needle
    # the answer opens the page: the utility verdict comes before the first section
    assert -1 < text.index("Does the synthetic data help?") < text.index("raised held-out accuracy") < text.index("<h2")
    m = collect(root)
    assert m.summary["ldm_fid"] == 12.5 and m.summary["latent_problems"] == "smoothness"
    assert m.summary["gain_at_10"] == pytest.approx(0.031)
    assert type(m).read(metrics) == m  # metrics.json is the collected results, whole
    # the latent verdict's evidence beside what stage 2 achieved: probe from latents / pixels, identity of
    # generated samples / stage-1 reconstructions / real test samples
    assert [m.summary[k] for k in ("class_probe", "class_probe_pixels", "ldm_identity", "stage1_identity",
                                   "real_identity")] == [0.24, 0.49, 0.55, 0.6, 0.8]


def test_compare_puts_runs_side_by_side(tmp_path):
    a = make_pipeline(tmp_path / "a", family="vq", fid=10.0)
    b = make_pipeline(tmp_path / "b", family="kl", fid=20.0, gain=-0.01)
    rows, table = compare_table([a, b])
    assert [r["family"] for r in rows] == ["vq", "kl"]
    lines = table.splitlines()
    assert len(lines) == 4 and "ldm_fid" in lines[0]
    assert "10.000" in lines[2] and "20.000" in lines[3] and "-0.010" in lines[3]  # the paired gain at 10


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

    root = make_pipeline(tmp_path / "p")
    train, test = [f"p1/s1#{i}" for i in range(6)], [f"p1/s9#{i}" for i in range(3)]
    save_split(Split(ids={"train": train, "val": [], "test": test}, group_by="session", seed=0, fingerprint="f"),
               root / "ae" / "split.json")
    (root / "recognizer-eval" / "final").mkdir(parents=True)
    leaky = RecognizerCard(role="eval", seed=1, class_names=["a", "b"], data_fingerprint="f", data_source="d",
                           input_shape=[1, 8, 8], steps=1, best_step=1, selection="val", selection_accuracy=None,
                           selection_ids=[train[4], test[0]], train_count=4, train_ids_sha256="h", train_ids=train[:4],
                           test_accuracy=None, test_accuracy_note="")
    write_card(root / "recognizer-eval" / "final", leaky)
    (root / "ldm" / "final").mkdir()
    (root / "ldm" / "final" / "mdaug.json").write_text("{}")
    assert not any(r.model.startswith("filter recogniser") for r in collect(root).data_seen)
    (root / "filter-recognizer" / "final").mkdir(parents=True)
    write_card(root / "filter-recognizer" / "final", leaky.model_copy(update={"selection_ids": [train[4], train[5]]}))
    rows = {r.model.split(" (")[0]: r for r in collect(root).data_seen}
    assert rows["filter recogniser of the export"].real_samples == 6
    assert rows["filter recogniser of the export"].in_test_split == 0
    assert rows["stage 1"].model_dump() == {"model": "stage 1 (autoencoder)", "real_samples": 6,
                                            "ids_sha256": ids_digest(train), "in_test_split": 0}
    assert rows["stage 2"].ids_sha256 == ids_digest(train)
    assert rows["evaluation recogniser"].real_samples == 6 and rows["evaluation recogniser"].in_test_split == 1
    assert rows["test split"].real_samples == 3
    assert rows["utility budget 10, repeat 0: stage1"].ids_sha256 == "abc"
    # the shipped stage-1 model it started from saw simulated walkers only: none of this dataset
    assert rows["stage-1 pretraining"].real_samples == 0 and "100 simulated spectrograms" in rows[
        "stage-1 pretraining"].model
    page, _ = write_report(root)
    text = page.read_text()
    assert "Which real data each model saw" in text and ids_digest(train) in text
    assert "LEAK: evaluation recogniser" in text and "LEAK: stage 1" not in text
