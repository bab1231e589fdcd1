import json

import numpy as np
import pytest
import torch

from mdaug.config import load_config
from mdaug.evaluation.records import UtilityRecord
from mdaug.runs.loading import load_recognizer
from mdaug.runs.run_data import ids_digest, load_run_data
from mdaug.workflows.utility import budget_config, run_utility, summarise, with_synthetic


def test_budget_config_sets_the_budget_and_new_seeds_per_repeat():
    cfg = load_config("tiny")
    a, b = budget_config(cfg, 3, 0), budget_config(cfg, 3, 1)
    assert a.split.train_per_class == 3 and budget_config(cfg, "all", 0).split.train_per_class is None
    assert a.split.budget_seed == 0 and b.split.budget_seed == 1
    assert a.ae_train.seed != b.ae_train.seed and a.recognizer_train.seed != b.recognizer_train.seed
    assert a.split.seed == b.split.seed  # the test split never changes


def test_with_synthetic_builds_the_three_training_sets_on_one_real_test_split():
    real = load_run_data(load_config("tiny", ["split.train_per_class=2"]))
    n_classes = len(real.dataset.class_names)
    x = np.zeros((3 * n_classes, *real.dataset.x.shape[1:]), np.float32)
    y = np.repeat(np.arange(n_classes), 3)
    sizes = {}
    for mode in ("real", "real+synthetic", "synthetic"):
        data, pool = with_synthetic(real, x, y, mode)
        assert data.split.ids["test"] == real.split.ids["test"]
        train = data.split.ids["train"]
        sizes[mode] = len(train)
        n_syn = sum(i.startswith("synthetic/") for i in train)
        assert n_syn == {"real": 0, "real+synthetic": 3 * n_classes, "synthetic": 3 * n_classes}[mode]
        idx = data.indices("train")
        np.testing.assert_array_equal(np.bincount(data.dataset.labels[idx]) > 0, True)
        if mode == "real+synthetic":  # the carve-out draws from the real rows, at their real positions
            np.testing.assert_array_equal(pool, real.indices("train"))
            assert not any(data.dataset.ids[i].startswith("synthetic/") for i in pool)
        else:
            assert pool is None
    assert sizes == {"real": 2 * n_classes, "real+synthetic": 5 * n_classes, "synthetic": 3 * n_classes}


def test_summarise_pairs_the_gain_by_repeat():
    recs = [UtilityRecord(budget="5", repeat=r, real_train=10, synthetic=3, real_files_seen={},
                          accuracy={"real": real, "real+synthetic": both, "synthetic": syn})
            for r, (real, both, syn) in enumerate([(0.5, 0.6, 0.3), (0.7, 0.7, 0.4)])]
    s = summarise(recs)["5"]
    assert s.real.mean == pytest.approx(0.6) and s.real.std == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert s.gain.mean == pytest.approx(0.05) and s.gain.std == pytest.approx(np.std([0.1, 0.0], ddof=1))
    assert s.real_synthetic.mean == pytest.approx(0.65) and s.repeats == 2


def test_a_tiny_study_trains_on_the_budget_only_and_continues_instead_of_redoing(tmp_path):
    cfg = load_config("tiny", ["utility.budgets=[2]", "utility.seeds=1", "utility.synthetic_per_class=3"])
    r = run_utility(cfg, tmp_path)
    rec = r.records[0]
    real = load_run_data(budget_config(cfg, 2, 0))
    assert rec.real_train == 2 * len(real.dataset.class_names)
    assert rec.real_files_seen["stage1"] == ids_digest(real.split.ids["train"])
    assert rec.real_files_seen["stage2"] == ids_digest(real.split.ids["train"])
    assert rec.real_files_seen["recognizer real"] == ids_digest(real.split.ids["train"])
    assert rec.real_files_seen["recognizer synthetic"] is None  # TSTR saw no real sample
    folder = tmp_path / "budget-2" / "repeat-0"
    test = real.indices("test")
    assert sorted(rec.accuracy) == ["real", "real+synthetic", "synthetic"]
    for mode, acc in rec.accuracy.items():  # each is its recogniser's accuracy on the real test split
        model, _ = load_recognizer(folder / f"recognizer-{mode.replace('+', '-')}")
        with torch.no_grad():
            pred = model(torch.from_numpy(real.dataset.x[test])).argmax(1).numpy()
        assert acc == pytest.approx(float((pred == real.dataset.labels[test]).mean()))
    saved = json.loads((folder / "ae" / "final" / "mdaug.json").read_text())
    test_ids = set(real.split.ids["test"])
    assert not test_ids & set(json.loads((folder / "ae" / "split.json").read_text())["ids"]["train"])
    assert saved["kind"] == "autoencoder"
    stamp = (folder / "synthetic.npz").stat().st_mtime_ns
    again = run_utility(cfg, tmp_path)  # everything exists: nothing is retrained or regenerated
    assert again.records == r.records
    assert (folder / "synthetic.npz").stat().st_mtime_ns == stamp
    other = load_config("tiny", ["utility.budgets=[3]", "utility.seeds=1"])
    from mdaug.errors import MdaugError

    with pytest.raises(MdaugError, match="another plan"):
        run_utility(other, tmp_path)


def test_batch_sizes_shrink_to_what_a_small_budget_can_fill():
    from mdaug.workflows.utility import fit_batches

    cfg = load_config("quick")
    small = fit_batches(cfg, np.array([2, 2, 2]))  # 6 real samples, one per class held back for selection
    assert small.ae_train.batch_size == 6 and small.ldm_train.batch_size == 6
    assert small.recognizer_train.batch_size == 3
    big = fit_batches(cfg, np.full(31, 150))
    assert big.ae_train.batch_size == cfg.ae_train.batch_size
    assert big.recognizer_train.batch_size == cfg.recognizer_train.batch_size


def test_budget_all_reuses_finished_models_trained_on_exactly_those_samples(tmp_path):
    from mdaug.errors import MdaugError
    from mdaug.training.autoencoder import train_autoencoder
    from mdaug.training.stage2 import train_stage2

    cfg = load_config("tiny", ["utility.budgets=[all]", "utility.seeds=1", "utility.synthetic_per_class=2"])
    ae = train_autoencoder(cfg, tmp_path / "ae").parent
    ldm = train_stage2(cfg, tmp_path / "ldm", "ldm", autoencoder=ae).parent
    r = run_utility(cfg, tmp_path / "u", reuse=(ae, ldm))
    folder = tmp_path / "u" / "budget-all" / "repeat-0"
    assert not (folder / "ae").exists() and not (folder / "ldm").exists()  # nothing retrained
    assert (folder / "synthetic.npz").exists() and set(r.records[0].accuracy) == {"real", "real+synthetic", "synthetic"}
    small = load_config("tiny", ["split.train_per_class=2"])
    ae2 = train_autoencoder(small, tmp_path / "ae2").parent
    ldm2 = train_stage2(small, tmp_path / "ldm2", "ldm", autoencoder=ae2).parent
    with pytest.raises(MdaugError, match="other real samples"):
        run_utility(cfg, tmp_path / "u2", reuse=(ae2, ldm2))


def test_repeats_at_budget_all_share_the_generative_models_and_nothing_else(tmp_path):
    cfg = load_config("tiny", ["utility.budgets=[all]", "utility.seeds=2", "utility.synthetic_per_class=2"])
    r = run_utility(cfg, tmp_path)
    first, second = tmp_path / "budget-all" / "repeat-0", tmp_path / "budget-all" / "repeat-1"
    assert (first / "ae" / "final").is_dir() and (first / "ldm" / "final").is_dir()
    assert not (second / "ae").exists() and not (second / "ldm").exists()  # trained once, at repeat 0
    with np.load(first / "synthetic.npz") as a, np.load(second / "synthetic.npz") as b:
        assert np.array_equal(a["labels"], b["labels"]) and not np.allclose(a["x"], b["x"])  # other samples
    seeds = [json.loads((f / "recognizer-real" / "final" / "mdaug.json").read_text())["seed"] for f in (first, second)]
    assert seeds[0] != seeds[1]
    assert r.records[0].real_files_seen == r.records[1].real_files_seen


def test_a_damaged_synthetic_file_is_generated_again(tmp_path):
    cfg = load_config("tiny", ["utility.budgets=[2]", "utility.seeds=1", "utility.synthetic_per_class=2"])
    first = run_utility(cfg, tmp_path)
    path = tmp_path / "budget-2" / "repeat-0" / "synthetic.npz"
    good = np.load(path)["x"]
    path.write_bytes(b"junk")
    again = run_utility(cfg, tmp_path)
    np.testing.assert_array_equal(np.load(path)["x"], good)  # the same seed makes the same samples
    assert again.records == first.records


def test_the_real_only_recogniser_at_budget_all_is_taken_from_an_identical_evaluation_run(tmp_path):
    from rich.console import Console

    from mdaug.training.recognizer import train_recognizer

    cfg = load_config("tiny", ["utility.budgets=[all]", "utility.seeds=1", "utility.synthetic_per_class=2"])
    weights = "final/diffusion_pytorch_model.safetensors"
    trained = run_utility(cfg, tmp_path / "u1")  # trains its own real-only recogniser
    first = tmp_path / "u1" / "budget-all" / "repeat-0"
    # an evaluation recogniser trained without blur is the real-only one's recipe (the utility ones never blur)
    rec = train_recognizer(load_config("tiny", ["recognizer.blur_max=0"]), tmp_path / "rec", role="eval").parent
    # the claim the reuse rests on: such an evaluation recogniser is bit-for-bit the real-only one
    assert (rec / weights).read_bytes() == (first / "recognizer-real" / weights).read_bytes()
    con = Console(record=True, width=200)
    reused = run_utility(cfg, tmp_path / "u2", reuse=(first / "ae", first / "ldm"), real_recogniser=rec, console=con)
    assert "copied, not redone" in con.export_text()
    assert reused.records[0].accuracy == trained.records[0].accuracy
    assert reused.records[0].real_files_seen == trained.records[0].real_files_seen
    for name, overrides in (("seed7", ["recognizer.blur_max=0", "recognizer_train.seed=7"]), ("blurred", [])):
        other = train_recognizer(load_config("tiny", overrides), tmp_path / f"rec-{name}", role="eval").parent
        con = Console(record=True, width=200)
        run_utility(cfg, tmp_path / f"u-{name}", reuse=(first / "ae", first / "ldm"), real_recogniser=other,
                    console=con)
        assert "copied" not in con.export_text()  # another seed, or the judge's blur: trained, not taken
        assert (tmp_path / f"u-{name}" / "budget-all" / "repeat-0" / "recognizer-real" / weights).read_bytes() == \
            (first / "recognizer-real" / weights).read_bytes()


def test_budget_all_takes_the_samples_of_the_exported_augmented_dataset_when_they_are_its_own(tmp_path):
    from rich.console import Console

    from mdaug.runs.loading import load_stage2
    from mdaug.sampling.export import export_augmented

    cfg = load_config("tiny", ["utility.budgets=[all]", "utility.seeds=1", "utility.synthetic_per_class=2"])
    first = run_utility(cfg, tmp_path / "u1")  # draws its own samples
    models = tmp_path / "u1" / "budget-all" / "repeat-0"
    s2 = load_stage2(models / "ldm")
    for seed in (cfg.seed, cfg.seed + 1):
        export_augmented(s2, tmp_path / f"aug{seed}", per_class=2, seed=seed)
        con = Console(record=True, width=200)
        r = run_utility(cfg, tmp_path / f"u-{seed}", reuse=(models / "ae", models / "ldm"),
                        augmented=tmp_path / f"aug{seed}", console=con)
        taken = np.load(tmp_path / f"u-{seed}" / "budget-all" / "repeat-0" / "synthetic.npz")["x"]
        exported = np.load(tmp_path / f"aug{seed}" / "spectrograms.npy")
        if seed == cfg.seed:  # the draw utility would make: taken, and the same numbers as drawing it
            assert "those of the augmented dataset" in con.export_text()
            np.testing.assert_array_equal(taken, exported)
            np.testing.assert_allclose(taken, np.load(models / "synthetic.npz")["x"], atol=1e-5)
            assert r.records[0].synthetic == first.records[0].synthetic
        else:  # another seed: not the draw this repeat makes, so drawn anew
            assert "augmented dataset" not in con.export_text()
            assert not np.allclose(taken, exported)
