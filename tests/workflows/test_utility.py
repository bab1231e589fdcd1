"""The utility study: leak-free budgets, every arm chosen on validation and tested on test, the strategy chosen on
validation only, honest statistics, and continuation instead of redoing."""

import json

import numpy as np
import pytest
import torch
from scipy import stats

from mdaug.config import load_config
from mdaug.errors import MdaugError
from mdaug.evaluation.records import ARM_TITLES, ARMS, UtilityRecord
from mdaug.runs.loading import load_recognizer
from mdaug.runs.run_data import ids_digest, load_run_data
from mdaug.workflows.utility import budget_config, interval, run_utility, summarise, verdict, with_synthetic


def test_budget_config_sets_the_training_and_validation_budget_and_new_seeds_per_repeat():
    cfg = load_config("tiny")
    a, b = budget_config(cfg, 3, 0), budget_config(cfg, 3, 1)
    assert a.split.train_per_class == 3 == a.split.val_per_class
    assert budget_config(cfg, "all", 0).split.train_per_class is None
    assert budget_config(cfg, "all", 0).split.val_per_class is None
    assert a.split.budget_seed == 0 and b.split.budget_seed == 1
    assert a.ae_train.seed != b.ae_train.seed and a.recognizer_train.seed != b.recognizer_train.seed
    assert a.split.seed == b.split.seed  # the test split never changes
    data = load_run_data(a)
    counts = np.bincount(data.dataset.labels[data.indices("val")])
    assert counts.max() <= 3 and set(data.split.ids["test"]) == set(load_run_data(cfg).split.ids["test"])


def test_with_synthetic_builds_the_training_sets_on_one_real_validation_and_test_split():
    real = load_run_data(load_config("tiny", ["split.train_per_class=2"]))
    n_classes = len(real.dataset.class_names)
    x = np.zeros((3 * n_classes, *real.dataset.x.shape[1:]), np.float32)
    y = np.repeat(np.arange(n_classes), 3)
    sizes = {}
    for mode in ("real", "real+synthetic", "synthetic"):
        data = with_synthetic(real, x, y, mode)
        assert data.split.ids["test"] == real.split.ids["test"] and data.split.ids["val"] == real.split.ids["val"]
        train = data.split.ids["train"]
        sizes[mode] = len(train)
        assert sum(i.startswith("synthetic/") for i in train) == {"real": 0, "real+synthetic": 3 * n_classes,
                                                                   "synthetic": 3 * n_classes}[mode]
    assert sizes == {"real": 2 * n_classes, "real+synthetic": 5 * n_classes, "synthetic": 3 * n_classes}


def test_intervals_are_student_t_and_the_gains_are_paired():
    iv = interval([0.5, 0.6, 0.7])
    half = stats.t.ppf(0.975, 2) * 0.1 / np.sqrt(3)
    assert iv.mean == pytest.approx(0.6)
    assert iv.low == pytest.approx(0.6 - half) and iv.high == pytest.approx(0.6 + half)
    assert interval([0.4]).low is None and interval([0.4]).n == 1
    acc = [(0.50, 0.60, 0.62, 0.3), (0.70, 0.72, 0.75, 0.3), (0.40, 0.50, 0.53, 0.2)]
    arms = ("real", "real+classical", "real+classical+synthetic", "synthetic")
    recs = [UtilityRecord(budget="10", repeat=r, real_train=10, real_val=10, synthetic=20, strategy="a" if r else "b",
                          accuracy=dict(zip(arms, a)), val_accuracy=dict(zip(arms, a)), candidates=[],
                          real_files_seen={})
            for r, a in enumerate(acc)]
    s = summarise(recs)["10"]
    g = s.gains["synthetic over classical"]  # +0.02, +0.03, +0.03: small but consistent, so above zero when paired
    assert g.mean == pytest.approx(np.mean([0.02, 0.03, 0.03])) and g.low > 0
    unpaired = interval([a[2] for a in acc]).low - interval([a[1] for a in acc]).high
    assert unpaired < 0  # the same numbers unpaired would not show it
    assert s.strategies == {"b": 1, "a": 2} and s.repeats == 3
    text = verdict({"10": s})
    assert text.startswith("With 10 real spectrograms per class") and "raised held-out accuracy" in text
    assert "3 repeats" in text and "+2.7 points" in text
    worse = summarise([r.model_copy(update={"accuracy": dict(r.accuracy, **{"real+classical+synthetic": 0.4})})
                       for r in recs])
    assert "did not raise" in verdict(worse)


def test_a_generative_arm_is_judged_against_the_better_non_generative_arm_on_validation():
    def rec(r, test, val):
        return UtilityRecord(budget="10", repeat=r, real_train=10, real_val=10, synthetic=20, strategy="a",
                             accuracy=test, val_accuracy=val, candidates=[], real_files_seen={})

    # the pretrained recogniser's arm is the better on validation: the synthetic arm's gain is paired against it
    test = {"real": 0.5, "real+classical": 0.6, "pretrained+classical": 0.7, "real+classical+synthetic": 0.65,
            "synthetic": 0.2}
    val = dict(test, **{"real+classical": 0.55, "pretrained+classical": 0.60})
    s = summarise([rec(r, {k: v + 0.01 * r for k, v in test.items()}, val) for r in range(3)])["10"]
    assert s.best_non_generative == "pretrained+classical"
    assert s.gains["synthetic over best non-generative"].mean == pytest.approx(-0.05)
    assert s.gains["pretrained over classical"].mean == pytest.approx(0.10)
    assert "over real + classical, pretrained recogniser alone" in verdict({"10": s})
    # better on test but worse on validation: the baseline stays real + classical (nothing is chosen on test)
    s = summarise([rec(r, test, dict(val, **{"pretrained+classical": 0.50})) for r in range(3)])["10"]
    assert s.best_non_generative == "real+classical"
    assert s.gains["synthetic over best non-generative"].mean == pytest.approx(0.05)
    # an arm without a validation accuracy (a record kept before there was one) cannot be the one chosen on it
    s = summarise([rec(r, test, {k: v for k, v in val.items() if k != "pretrained+classical"}) for r in range(3)])
    assert s["10"].best_non_generative == "real+classical"
    # a study without generative arms: no generative gain, and the sentence names the best arm without them
    plain = {k: v for k, v in test.items() if k in ("real", "real+classical", "pretrained+classical")}
    s = summarise([rec(r, plain, {k: val[k] for k in plain}).model_copy(update={"budget": "2s", "strategy": ""})
                   for r in range(3)])["2s"]
    assert "synthetic over best non-generative" not in s.gains and s.strategies == {}
    assert verdict({"2s": s}).startswith("With 2 recording session(s) per class (10 spectrograms), the best arm "
                                         "without synthetic data is real + classical, pretrained recogniser: 70.0%")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("u")
    cfg = load_config("tiny", ["utility.budgets=[2]", "utility.seeds=1"])
    return cfg, out, run_utility(cfg, out)


def test_a_tiny_study_chooses_on_validation_and_reports_test_accuracies_it_can_recompute(study):
    cfg, out, r = study
    rec = r.records[0]
    real = load_run_data(budget_config(cfg, 2, 0))
    assert rec.real_train == 2 * len(real.dataset.class_names) and rec.real_val <= rec.real_train
    assert rec.real_files_seen["stage1"] == ids_digest(real.split.ids["train"])
    # TSTR trained on no real sample: the only real ones it saw are the validation ones that chose its step
    assert rec.real_files_seen["recognizer synthetic"] == ids_digest(real.split.ids["val"])
    # every arm but the pretrained recogniser's, which has no shipped model for 32x32 (said in the record)
    assert set(rec.accuracy) == set(ARMS) - {"pretrained+classical"}
    assert [c.name for c in rec.candidates] == ["anchored", "from-noise"]
    assert any("no shipped pretrained recogniser fits" in n for n in rec.notes)
    # the lower SNR: one real + classical recogniser per dose, the best on validation is the arm
    doses = rec.classical_candidates
    assert set(doses) == {f"{d:g}" for d in cfg.utility.snr_drop_db}
    best_dose = max(doses, key=lambda d: doses[d]["val_accuracy"])  # ties: the first listed
    assert f"{rec.snr_drop_db:g}" == best_dose
    assert rec.accuracy["real+classical"] == doses[best_dose]["test_accuracy"]
    # every arm on the test recordings by condition, the subsets against this budget's training recordings
    assert rec.subsets["all"] == len(real.indices("test")) and set(rec.by_condition) == set(rec.accuracy)
    assert all(rec.by_condition[a]["all"] == pytest.approx(rec.accuracy[a]) for a in rec.accuracy)
    assert rec.subsets.get("seen conditions", 0) + rec.subsets.get("unseen conditions", 0) + rec.subsets.get(
        "unknown conditions", 0) == rec.subsets["all"]
    assert (out / "budget-2" / "repeat-0" / "coverage.png").exists()
    # and every dose on them: what the lower SNR does to the recordings it targets and to the others
    assert set(rec.classical_by_condition) == set(doses)
    assert all(rec.classical_by_condition[d]["all"] == pytest.approx(doses[d]["test_accuracy"]) for d in doses)
    best = max(rec.candidates, key=lambda c: c.val_accuracy)
    assert rec.strategy == best.name and rec.accuracy["real+classical+synthetic"] == best.test_accuracy
    folder = out / "budget-2" / "repeat-0"
    test = real.indices("test")
    for name in ("recognizer-real", "recognizer-real-classical", f"recognizer-{rec.strategy}"):
        model, card = load_recognizer(folder / name)
        with torch.no_grad():
            pred = model(torch.from_numpy(real.dataset.x[test])).argmax(1).numpy()
        assert card.test_accuracy == pytest.approx(float((pred == real.dataset.labels[test]).mean()))
        assert card.selection == "val" and not set(card.selection_ids) & set(real.split.ids["test"])
    for c in rec.candidates:
        assert c.pool["kept"] <= c.pool["drawn"]
    # synthetic only (TSTR): its own pools, one sample from noise per real training sample, unsifted, whatever won;
    # one per guidance (the model's, and 1), the best on validation kept
    per_class = np.bincount(real.dataset.labels[real.indices("train")], minlength=len(real.dataset.class_names))
    model_guidance = cfg.ldm.guidance_scale
    assert set(rec.tstr_candidates) == {f"{model_guidance:g}", "1"}
    for name, g in (("tstr", model_guidance), ("tstr-g1", 1.0)):
        with np.load(folder / f"{name}-pool.npz") as z:
            counts, labels = json.loads(str(z["counts"])), z["labels"]
        assert counts["drawn"] == int(np.minimum(per_class, cfg.utility.max_synthetic_per_class).sum())
        assert "filtered_out" not in counts and counts["kept"] == len(labels)
        assert np.all(np.bincount(labels, minlength=len(per_class)) <= per_class)
        _, card = load_recognizer(folder / f"recognizer-{name}")
        assert len(card.train_ids) == len(labels) and all(i.startswith("synthetic/") for i in card.train_ids)
        assert rec.tstr_candidates[f"{g:g}"] == {"val_accuracy": card.selection_accuracy,
                                                 "test_accuracy": card.test_accuracy}
    best = max(rec.tstr_candidates, key=lambda g: rec.tstr_candidates[g]["val_accuracy"])  # ties: the first
    assert f"{rec.tstr_guidance:g}" == best
    assert rec.accuracy["synthetic"] == rec.tstr_candidates[best]["test_accuracy"]
    chosen = "tstr" if rec.tstr_guidance == model_guidance else "tstr-g1"
    with np.load(folder / f"{chosen}-pool.npz") as z:
        assert rec.tstr_samples == len(z["labels"])
    assert r.summary["2"].tstr_samples == rec.tstr_samples and r.summary["2"].tstr_guidance == {best: 1}
    # with the noise floor's texture of the budget's stage 1; the strategies' pools without it (their default)
    from mdaug.runs.loading import load_pretrained_autoencoder
    assert rec.tstr_floor_noise_db == load_pretrained_autoencoder(folder / "ae").card.texture.sigma_db
    assert json.loads((out / "utility.json").read_text())["verdict"] == r.verdict


def test_a_study_continues_instead_of_redoing_and_refuses_another_plan(study):
    cfg, out, r = study
    pool = out / "budget-2" / "repeat-0" / "pool-anchored.npz"
    stamp = pool.stat().st_mtime_ns
    again = run_utility(cfg, out)
    assert again.records == r.records and pool.stat().st_mtime_ns == stamp
    with pytest.raises(MdaugError, match="another plan"):
        run_utility(load_config("tiny", ["utility.budgets=[3]", "utility.seeds=1"]), out)


def test_a_damaged_pool_is_drawn_again_the_same(study, tmp_path):
    import shutil

    cfg, out, _ = study
    copy = tmp_path / "u"
    shutil.copytree(out, copy)
    pool = copy / "budget-2" / "repeat-0" / "pool-from-noise.npz"
    good = np.load(pool)["x"]
    pool.write_bytes(b"junk")
    run_utility(cfg, copy)
    np.testing.assert_array_equal(np.load(pool)["x"], good)


def test_budget_all_reuses_finished_models_trained_on_exactly_those_samples(tmp_path):
    from mdaug.training.autoencoder import train_autoencoder
    from mdaug.training.stage2 import train_stage2

    cfg = load_config("tiny", ["utility.budgets=[all]", "utility.seeds=2"])
    ae = train_autoencoder(cfg, tmp_path / "ae").parent
    ldm = train_stage2(cfg, tmp_path / "ldm", "ldm", autoencoder=ae).parent
    r = run_utility(cfg, tmp_path / "u", reuse=(ae, ldm))
    first, second = (tmp_path / "u" / "budget-all" / f"repeat-{i}" for i in (0, 1))
    assert not (first / "ae").exists() and not (second / "ldm").exists()  # nothing retrained
    with np.load(first / "pool-from-noise.npz") as a, np.load(second / "pool-from-noise.npz") as b:
        assert not np.allclose(a["x"], b["x"])  # other samples per repeat
    assert r.records[0].real_files_seen["stage1"] == r.records[1].real_files_seen["stage1"]
    small = load_config("tiny", ["split.train_per_class=2"])
    ae2 = train_autoencoder(small, tmp_path / "ae2").parent
    ldm2 = train_stage2(small, tmp_path / "ldm2", "ldm", autoencoder=ae2).parent
    with pytest.raises(MdaugError, match="other real samples"):
        run_utility(cfg, tmp_path / "u2", reuse=(ae2, ldm2))


def test_the_real_only_recogniser_at_budget_all_is_taken_from_an_identical_evaluation_run(tmp_path):
    from rich.console import Console

    from mdaug.training.recognizer import train_recognizer

    cfg = load_config("tiny", ["utility.budgets=[all]", "utility.seeds=1", "recognizer.blur_max=0"])
    weights = "final/diffusion_pytorch_model.safetensors"
    trained = run_utility(cfg, tmp_path / "u1")
    first = tmp_path / "u1" / "budget-all" / "repeat-0"
    rec = train_recognizer(cfg, tmp_path / "rec", role="eval").parent
    # the claim the reuse rests on: such an evaluation recogniser is bit-for-bit the real-only one
    assert (rec / weights).read_bytes() == (first / "recognizer-real" / weights).read_bytes()
    con = Console(record=True, width=200)
    reused = run_utility(cfg, tmp_path / "u2", reuse=(first / "ae", first / "ldm"), real_recogniser=rec, console=con)
    assert "copied" in con.export_text()
    assert reused.records[0].accuracy["real"] == trained.records[0].accuracy["real"]
    other = train_recognizer(load_config("tiny", ["recognizer.blur_max=0", "recognizer_train.seed=7"]),
                             tmp_path / "rec7", role="eval").parent
    con = Console(record=True, width=200)
    run_utility(cfg, tmp_path / "u3", reuse=(first / "ae", first / "ldm"), real_recogniser=other, console=con)
    assert "copied" not in con.export_text()  # another seed: trained, not taken


def test_a_study_on_data_without_conditions_says_so_instead_of_failing(tmp_path):
    from mdaug.data.examples import example_set
    from mdaug.data.write import write_dataset

    # colour images read as RGB: three channels, no dB display to estimate a condition from, and no conditions file
    write_dataset(example_set(n_classes=3, per_session=3, sessions=5, shape=(32, 32), seed=1), tmp_path / "rgb",
                  "images", colormap="jet")
    cfg = load_config("tiny", [f"data.path={tmp_path / 'rgb'}", "data.colormap=rgb", "data.size=[32,32]",
                               "utility.budgets=[2]", "utility.seeds=1", "utility.generative=false",
                               "utility.snr_drop_db=[0]", "utility.pretrained=false"])
    assert load_run_data(budget_config(cfg, 2, 0)).dataset.x.shape[1] == 3
    rec = run_utility(cfg, tmp_path / "u").records[0]
    assert set(rec.accuracy) == {"real", "real+classical"}
    assert rec.by_condition is None and rec.subsets is None
    assert any("no utility by condition" in n for n in rec.notes)
    assert not (tmp_path / "u" / "budget-2" / "repeat-0" / "coverage.png").exists()


def test_a_study_without_test_recordings_is_one_clear_error(tmp_path):
    cfg = load_config("tiny", ["split.test_fraction=0", "utility.budgets=[2]", "utility.seeds=1",
                               "utility.generative=false", "utility.snr_drop_db=[0]", "utility.pretrained=false"])
    with pytest.raises(MdaugError, match="the test split is empty"):
        run_utility(cfg, tmp_path / "u")


def test_the_utility_figure_draws_one_bar_per_arm_for_one_budget_and_intervals_only_over_repeats():
    """One budget: a bar per arm (not four points spread sideways around one x), its value beside it; the title
    says 95% intervals only when there are repeats, and error bars are drawn exactly then."""
    import matplotlib.pyplot as plt

    from mdaug.evaluation.records import UtilityReport
    from mdaug.workflows.utility.figure import utility_plot

    arms = ("real", "real+classical", "real+classical+synthetic", "synthetic")

    def report(accs, budgets=("10",)):
        recs = [UtilityRecord(budget=b, repeat=r, real_train=10, real_val=10, synthetic=20, strategy="a",
                              accuracy=dict(zip(arms, a)), val_accuracy=dict(zip(arms, a)), candidates=[],
                              real_files_seen={}) for b in budgets for r, a in enumerate(accs)]
        return UtilityReport(budgets=list(budgets), seeds=len(accs), family="kl", generator="ldm", strategies=["a"],
                             records=recs, summary=summarise(recs), verdict="", note="", files={})

    one = utility_plot(report([(0.5, 0.6, 0.62, 0.3)]))
    ax = one.axes[0]
    bars = [p for p in ax.patches]
    assert [round(b.get_width(), 3) for b in bars] == [0.5, 0.6, 0.62, 0.3]
    assert [t.get_text() for t in ax.get_yticklabels()] == [ARM_TITLES[a] for a in arms]
    from matplotlib.container import ErrorbarContainer

    def has_errorbars(axes):
        return any(isinstance(c, ErrorbarContainer) for c in axes.containers)

    assert "one repeat: no interval" in ax.get_title() and not has_errorbars(ax)
    three = utility_plot(report([(0.5, 0.6, 0.62, 0.3), (0.6, 0.7, 0.7, 0.3), (0.4, 0.5, 0.6, 0.2)])).axes[0]
    assert "95% intervals over 3 repeats" in three.get_title() and has_errorbars(three)
    curve = utility_plot(report([(0.5, 0.6, 0.62, 0.3)], budgets=("5", "10"))).axes[0]
    assert not curve.patches and len(curve.get_lines()) >= 4 and "one repeat" in curve.get_title()
    plt.close("all")


def test_a_study_killed_at_several_points_and_resumed_gives_the_uninterrupted_records(study, tmp_path):
    """`mdaug utility` killed (SIGKILL: no clean-up) in stage 2's training, among the strategies' recognisers and in
    the synthetic-only arm, then run again each time: the records equal those of the study run without a stop,
    and what had finished before the last stop was not trained again."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from mdaug.evaluation.records import UtilityReport

    cfg, _, uninterrupted = study
    out = tmp_path / "u"
    repeat = out / "budget-2" / "repeat-0"
    command = [sys.executable, "-m", "mdaug", "utility", "--config", "tiny", "--out", str(out),
               "utility.budgets=[2]", "utility.seeds=1"]

    def run_until(reached) -> bool:
        """Start the study and kill it once `reached()`; False when it finished first."""
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while proc.poll() is None:
            if reached():
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.05)
        assert proc.returncode == 0, proc.stderr.read()
        return False

    def has_checkpoint(folder):
        return (folder / "checkpoints").is_dir() and any((folder / "checkpoints").iterdir())

    stops = [run_until(lambda: has_checkpoint(repeat / "ldm")),
             run_until(lambda: (repeat / "pool-anchored.npz").exists()),
             run_until(lambda: (repeat / "recognizer-tstr").is_dir())]
    assert stops[0], "the study finished before stage 2 had a checkpoint"
    done = {p: p.stat().st_mtime_ns for p in [*(repeat / "ae" / "final").iterdir(),
                                              *(repeat / "recognizer-real" / "final").iterdir()]}
    assert not run_until(lambda: False)
    resumed = UtilityReport.read(out / "utility.json")
    assert len(resumed.records) == len(uninterrupted.records) == 1
    assert resumed.records[0].model_dump() == uninterrupted.records[0].model_dump()
    assert resumed.summary == uninterrupted.summary and resumed.verdict == uninterrupted.verdict
    assert {p: p.stat().st_mtime_ns for p in done} == done
