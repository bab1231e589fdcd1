"""Every shipped stage-1 model's card is generated from the record beside its weights, and says what it measured."""

import pytest

from mdaug.evaluation.record_parts import FloorStats, IdentityCeiling, NoiseFloors
from mdaug.runs.cards import AutoencoderCard, read_any_card
from mdaug.runs.pretrained import PRETRAINING_RECORD, shipped_models
from mdaug.workflows.pretrain import PretrainingRecord, TargetMeasure, model_card

STAGE1 = [f for f in shipped_models() if isinstance(read_any_card(f), AutoencoderCard)]


def test_kl_is_shipped_and_every_family_shipped_has_one_folder():
    families = [read_any_card(f).family for f in STAGE1]
    assert "kl" in families and len(families) == len(set(families))


@pytest.mark.parametrize("folder", STAGE1, ids=lambda f: f.name)
def test_each_shipped_stage1_card_is_its_records(folder):
    record = PretrainingRecord.model_validate_json((folder / PRETRAINING_RECORD).read_text())
    assert (folder / "MODEL_CARD.md").read_text() == model_card(record)
    assert record.family == read_any_card(folder).family and record.name == folder.name


def _measure(fid):
    floor = FloorStats(level_db=-40.0, spread_db=1.0, correlation_time=0.25, correlation_doppler=0.15)
    return TargetMeasure(dataset="d", test_samples=10, psnr_db=30.0, ssim=0.8,
                         identity=IdentityCeiling(real=0.5, reconstructions=0.45, ratio=0.9),
                         noise_floor=NoiseFloors(real=floor, reconstructed=floor), carrier_ghz=24.0,
                         fid_reconstructions=fid)


def test_the_card_gives_the_reconstructions_fid_and_says_when_a_record_has_none():
    record = PretrainingRecord.model_validate_json((STAGE1[0] / PRETRAINING_RECORD).read_text())
    measured = record.model_copy(update={"measured": {"gait": _measure(12.345), "held_out": _measure(None)}})
    rows = [line for line in model_card(measured).splitlines() if line.startswith(("| gait |", "| held_out |"))][:2]
    assert rows[0].endswith("| 0.90 | 12.3 |") and rows[1].endswith("| 0.90 | not measured |")


def test_the_shipped_weights_together_stay_under_the_packages_limit():
    # shipped folders only: pretrained/latents/ is pretrain-ldm's cache of encoded corpora (ignored by git)
    total = sum(f.stat().st_size for folder in shipped_models() for f in folder.glob("*.safetensors"))
    assert 7e6 < total < 40e6  # kl-64x64, its two latent diffusions and the recogniser alone weigh 7.3 MB


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """A tiny vq model shipped (fp16) and measured zero-shot on the tiny preset's gait benchmark, as pretrain-ae
    measures a shipped model."""
    from mdaug.config import load_config
    from mdaug.runs.layout import final_dir
    from mdaug.training.autoencoder import train_autoencoder
    from mdaug.workflows.pretrain import measure, target_config, write_shipped

    root = tmp_path_factory.mktemp("measure")
    cfg = load_config("tiny", ["ae.family=vq", "ae.init=scratch"])
    train_autoencoder(target_config(cfg, "gait"), root / "run")
    write_shipped(final_dir(root / "run"), root / "shipped")
    return measure(root / "shipped", cfg, "gait", root / "rec", None), cfg, root


def test_the_measured_fid_and_codes_are_those_of_the_test_splits_reconstructions(measured):
    import numpy as np

    from mdaug.evaluation.features import embed, frechet_distance
    from mdaug.evaluation.health import HealthAccumulator
    from mdaug.evaluation.reconstruction import reconstruct_with_metrics
    from mdaug.runs.loading import load_pretrained_autoencoder, load_recognizer
    from mdaug.runs.run_data import load_run_data
    from mdaug.workflows.pretrain import target_config

    m, cfg, root = measured
    data = load_run_data(target_config(cfg, "gait"))
    idx = data.indices("test")
    pre = load_pretrained_autoencoder(root / "shipped")
    f = pre.model.downsampling
    health = HealthAccumulator(pre.model, len(data.dataset.class_names), (data.size[0] // f, data.size[1] // f))
    x_hat, metrics = reconstruct_with_metrics(pre.model, data.dataset.x[idx], data.dataset.labels[idx], health)
    rec, _ = load_recognizer(root / "rec")
    assert m.test_samples == len(idx) and m.psnr_db == pytest.approx(float(metrics.psnr_db.mean()))
    fid = frechet_distance(embed(rec, x_hat)[0], embed(rec, data.dataset.x[idx])[0])
    assert m.fid_reconstructions == pytest.approx(fid) and fid > 0
    assert m.latent == health.stats() and 0 < m.latent.codebook_usage_pct <= 100
    assert np.isclose(m.latent.perplexity, health.stats().perplexity) and m.latent.perplexity >= 1
    kl = next(f for f in STAGE1 if f.name == "kl-64x64")
    record = PretrainingRecord.model_validate_json((kl / PRETRAINING_RECORD).read_text())
    card = model_card(record.model_copy(update={"measured": {"gait": m}}))
    used = f"{m.latent.codebook_usage_pct:.0f}% of the codebook used, perplexity {m.latent.perplexity:.0f}"
    assert f"gait: {used}" in card
    assert "Latent on each test split" not in model_card(record)  # kl-64x64's record predates it


def test_a_pretraining_that_continues_a_model_records_its_start_and_its_card_says_so(tmp_path, monkeypatch):
    """vqgan-64x64 is vq-64x64 continued with the adversarial term: pretrain-ae keeps an ae.init path (and only a
    path: 'pretrained' and 'auto' still start from random weights), and the record and card name the start."""
    from mdaug.config import load_config
    from mdaug.runs.loading import autoencoder_identity
    from mdaug.training.autoencoder import train_autoencoder
    from mdaug.workflows.pretrain import _started_from, corpus_config

    monkeypatch.setenv("MDAUG_CACHE", str(tmp_path / "cache"))
    small = ["pretrain.parts=2", "pretrain.people_per_part=2", "pretrain.per_person=3", "pretrain.sessions=1",
             "data.size=32x32", "ae_train.steps=2"]
    from mdaug.errors import MdaugError
    from mdaug.workflows.pretrain import pretrain_autoencoder

    with pytest.raises(MdaugError, match="not a finished stage-1 model"):
        pretrain_autoencoder(load_config("tiny", ["ae.init=" + str(tmp_path / "missing"), *small]), tmp_path / "out",
                             name="x")
    assert not (tmp_path / "out").exists()  # nothing made for a start that is no model
    for init in ("pretrained", "auto", "scratch"):
        assert corpus_config(load_config("tiny", ["ae.family=vq", f"ae.init={init}", *small])).ae.init == "scratch"
    start = train_autoencoder(corpus_config(load_config("tiny", ["ae.family=vq", *small])), tmp_path / "vq-start")
    assert _started_from(tmp_path / "vq-start") is None
    cfg = corpus_config(load_config("tiny", ["ae.family=vqgan", f"ae.init={start}", *small]))
    assert cfg.ae.init == str(start) and cfg.data.builtin == "corpus"
    train_autoencoder(cfg, tmp_path / "gan")
    ref = _started_from(tmp_path / "gan")
    assert ref is not None and ref.name == "vq-start" and ref.weights_sha256 == autoencoder_identity(start)
    record = PretrainingRecord.model_validate_json((STAGE1[0] / PRETRAINING_RECORD).read_text())
    card = model_card(record.model_copy(update={"started_from": ref, "steps": 2}))
    assert f"continued from `vq-start` (weights SHA-256 `{ref.weights_sha256[:12]}..." in card
    assert "continued from" not in model_card(record)
