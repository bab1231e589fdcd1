import json

import numpy as np
import pytest
import torch

from mdaug.config import load_config
from mdaug.evaluation.diagnose import (
    THRESHOLDS,
    diagnose,
    fidelity,
    knn_agreement,
    linear_probe,
    path_roughness,
    verdicts,
)
from mdaug.evaluation.health import codebook_stats, posterior_stats
from mdaug.evaluation.reconstruction import evaluate_reconstruction
from mdaug.evaluation.record_parts import DiagnoseMeasures, Fidelity, LatentStats, Roughness
from mdaug.evaluation.records import DiagnoseReport
from mdaug.training.autoencoder import train_autoencoder
from tests.conftest import assert_one_line_error


def by_problem(vs):
    return {v.problem: v for v in vs}


def test_a_collapsed_codebook_reports_the_constructed_usage_and_is_flagged():
    hist = torch.zeros(1, 512)
    hist[0, :41] = 100.0  # 41 of 512 codes used
    stats = codebook_stats(hist)
    assert stats.codebook_usage_pct == pytest.approx(100 * 41 / 512)
    assert stats.dead_codes == 471
    assert stats.perplexity == pytest.approx(41.0)
    v = by_problem(verdicts(DiagnoseMeasures(latent=stats, codebook_size=512)))
    # 41 codes in even use are no collapse (perplexity 41), but a learned book with 92% dead codes wastes itself
    assert v["codebook collapse"].ok and v["codebook collapse"].value == pytest.approx(41.0)
    assert not v["dead codes"].ok
    healthy = torch.ones(1, 512)
    assert all(x.ok for x in verdicts(DiagnoseMeasures(latent=codebook_stats(healthy), codebook_size=512)))


def test_codebook_collapse_is_judged_by_the_codes_in_use_not_by_the_share_of_the_book():
    two = torch.zeros(1, 2)
    two[0] = torch.tensor([900.0, 100.0])  # a 2-code book, all of it used: perplexity 1.38
    v = by_problem(verdicts(DiagnoseMeasures(latent=codebook_stats(two), codebook_size=2)))
    assert not v["codebook collapse"].ok and v["dead codes"].ok
    skewed = torch.zeros(1, 512)
    skewed[0, :7] = 1.0  # 7 equally used codes: just below the threshold of 8
    assert not by_problem(verdicts(DiagnoseMeasures(latent=codebook_stats(skewed), codebook_size=512)))[
        "codebook collapse"].ok
    # an fsq grid of 1000 points, 229 reached (fsq-64x64): no collapse, and no dead-code verdict for a fixed grid
    grid = torch.zeros(1, 1000)
    grid[0, :229] = torch.linspace(1, 10, 229)
    fsq = by_problem(verdicts(DiagnoseMeasures(latent=codebook_stats(grid), codebook_size=1000,
                                               learned_codebook=False)))
    assert fsq["codebook collapse"].ok and "dead codes" not in fsq
    learned = by_problem(verdicts(DiagnoseMeasures(latent=codebook_stats(grid), codebook_size=1000)))
    assert not learned["dead codes"].ok  # the same use of a learned book: 77% of it dead


def test_a_posterior_with_zero_std_is_flagged_as_variance_collapse():
    mean = torch.randn(200, 4, 2, 2)  # informative means: every unit varies across inputs
    m1, m2 = mean.mean(0), mean.square().mean(0)
    collapsed = posterior_stats(m1, m2, torch.tensor([0.4, 0.0, 0.5, 0.3]), torch.ones(4), torch.full((4,), 1e-3))
    v = by_problem(verdicts(DiagnoseMeasures(latent=collapsed)))
    assert not v["variance collapse"].ok and v["variance collapse"].value == 0.0
    assert v["posterior collapse"].ok
    fine = posterior_stats(m1, m2, torch.full((4,), 0.5), torch.ones(4), torch.full((4,), 0.25))
    assert by_problem(verdicts(DiagnoseMeasures(latent=fine)))["variance collapse"].ok
    dead = posterior_stats(torch.zeros(4, 2, 2), torch.zeros(4, 2, 2), torch.ones(4), torch.zeros(4), torch.ones(4))
    # means that never move carry no information
    assert not by_problem(verdicts(DiagnoseMeasures(latent=dead)))["posterior collapse"].ok


def test_a_near_deterministic_encoder_is_a_collapse_only_when_its_latents_are_pointer_like():
    mean = torch.randn(200, 4, 2, 2)
    m1, m2 = mean.mean(0), mean.square().mean(0)
    tiny = posterior_stats(m1, m2, torch.full((4,), 1e-3), torch.ones(4), torch.full((4,), 1e-6))
    smooth = DiagnoseMeasures(latent=tiny, roughness=Roughness(same_class=1.2, different_class=1.3),
                              diffusability_loss=0.3)
    v = by_problem(verdicts(smooth))["variance collapse"]
    assert v.ok and v.value == pytest.approx(1e-3, rel=1e-3) and "near-deterministic" in v.message
    rough = smooth.model_copy(update={"roughness": Roughness(same_class=THRESHOLDS.roughness_ratio + 0.5,
                                                             different_class=2.0)})
    assert not by_problem(verdicts(rough))["variance collapse"].ok
    hard = smooth.model_copy(update={"diffusability_loss": THRESHOLDS.diffusability_loss + 0.2})
    assert not by_problem(verdicts(hard))["variance collapse"].ok


def test_a_posterior_whose_noise_rivals_its_signal_is_flagged_as_noise_dominated():
    mean = torch.randn(4000, 4, 2, 2)  # means vary with unit variance across inputs
    m1, m2 = mean.mean(0), mean.square().mean(0)
    var = torch.tensor([0.01, 0.01, 0.8, 0.01])  # channel 2: each draw adds noise nearly as large as the signal
    stats = posterior_stats(m1, m2, var.sqrt(), torch.ones(4), var)
    assert stats.latent_snr_per_channel[2] == pytest.approx(1 / 0.8, rel=0.1)
    assert stats.latent_snr_min == stats.latent_snr_per_channel[2]
    v = by_problem(verdicts(DiagnoseMeasures(latent=stats)))["noise-dominated latent"]
    assert not v.ok and v.value == pytest.approx(1.25, rel=0.1)
    clear = posterior_stats(m1, m2, torch.full((4,), 0.1), torch.ones(4), torch.full((4,), 0.01))
    assert by_problem(verdicts(DiagnoseMeasures(latent=clear)))["noise-dominated latent"].ok  # SNR ~100


def test_knn_agreement_is_one_for_separated_classes_and_near_chance_for_noise():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 50)
    separated = rng.normal(size=(200, 8)) * 0.1 + labels[:, None] * 10.0
    assert knn_agreement(separated, labels, k=5) == 1.0
    noise = rng.normal(size=(200, 8))
    assert abs(knn_agreement(noise, labels, k=5) - 0.25) < 0.08


def test_linear_probe_reads_linearly_separable_classes_and_not_noise():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    x = rng.normal(size=(300, 10))
    x[:, 0] += 4.0 * y
    assert linear_probe(x[:200], y[:200], x[200:], y[200:], 3) > 0.95
    noise = rng.normal(size=(300, 10))
    assert linear_probe(noise[:200], y[:200], noise[200:], y[200:], 3) < 0.6


def test_path_roughness_of_straight_and_jumping_paths():
    a, b = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    t = torch.linspace(0, 1, 5)[:, None, None, None]
    straight = ((1 - t) * a + t * b)[None]
    assert path_roughness(straight).item() == pytest.approx(1.0)
    jumping = torch.stack([a[0], b[0], a[0], b[0]])[None]  # there, back, there again: 3x the distance
    assert path_roughness(jumping).item() == pytest.approx(3.0)


def test_smoothness_and_neighbourhood_verdicts_compare_against_pixel_space():
    measures = DiagnoseMeasures(latent=LatentStats(), knn_agreement=0.3, knn_agreement_pixels=0.6, linear_probe=0.9,
                                linear_probe_pixels=0.8, roughness=Roughness(same_class=2.0, different_class=2.5),
                                diffusability_loss=0.2)
    v = by_problem(verdicts(measures))
    assert not v["neighbourhoods"].ok and v["neighbourhoods"].value == pytest.approx(0.5)
    assert v["class information"].ok
    assert not v["smoothness"].ok and v["smoothness"].threshold == THRESHOLDS.roughness_ratio
    assert v["diffusability"].ok


def test_the_verdicts_pass_the_stage_1_that_generates_well_and_flag_the_one_that_does_not():
    """Figures measured in benchmarks/results/diagnostics-rank.json: vq-pretrained (samples identified 27%) and
    vqgan-scratch (6%). The pretrained model is richer, so rougher and harder to denoise; only its class information
    tells the two apart, and the verdicts must say so rather than flag the better model."""
    good = DiagnoseMeasures(latent=LatentStats(), knn_agreement=0.48, knn_agreement_pixels=0.507, linear_probe=0.327,
                            linear_probe_pixels=0.487, roughness=Roughness(same_class=1.19, different_class=1.2),
                            diffusability_loss=0.563)
    bad = good.model_copy(update={"knn_agreement": 0.45, "linear_probe": 0.248,
                                  "roughness": Roughness(same_class=1.02, different_class=1.03),
                                  "diffusability_loss": 0.349})
    assert all(v.ok for v in verdicts(good))
    assert [v.problem for v in verdicts(bad) if not v.ok] == ["class information"]


def test_fidelity_measures_reconstructions_against_the_nearest_other_recording():
    rng = np.random.default_rng(0)
    train = np.clip(rng.normal(0, 0.4, (40, 1, 8, 8)), -1, 1).astype(np.float32)
    test = np.clip(train[:10] + rng.normal(0, 0.2, (10, 1, 8, 8)), -0.9, 0.9).astype(np.float32)
    nearest_mse = ((test[:, None] - train[None]) ** 2).reshape(10, 40, -1).mean(2).min(1)
    expected = float(np.mean(10 * np.log10(4.0 / nearest_mse)))
    # a decoder that returns the nearest training spectrogram is exactly as close as that recording: margin 0
    idx = ((test[:, None] - train[None]) ** 2).reshape(10, 40, -1).sum(2).argmin(1)
    copy = fidelity(test, train[idx], train)
    assert copy.nearest_recording_psnr_db == pytest.approx(expected, abs=1e-3)
    assert copy.reconstruction_psnr_db == pytest.approx(expected, abs=1e-3)
    assert copy.margin_db == pytest.approx(0, abs=1e-3)
    close = fidelity(test, test + 0.01, train)  # a 0.01 error: 10 log10(4 / 1e-4) = 46 dB
    assert close.reconstruction_psnr_db == pytest.approx(46.02, abs=0.01) and close.margin_db > 20
    blur = fidelity(test, np.broadcast_to(train.mean(0), test.shape), train)  # every recording decoded alike
    assert blur.margin_db < 0
    v = by_problem(verdicts(DiagnoseMeasures(latent=LatentStats(), fidelity=blur)))["detail"]
    assert not v.ok and v.value == blur.margin_db and "ae.init=pretrained" in v.message
    assert by_problem(verdicts(DiagnoseMeasures(latent=LatentStats(), fidelity=close)))["detail"].ok


def test_the_detail_verdict_separates_the_measured_stage_1s_that_generate_from_those_that_do_not():
    """benchmarks/results/diagnostics-rank.json, quick data (nearest other recording at 23.0 dB): kl- and
    vq-pretrained (30.2 and 28.4 dB, samples identified 49% and 27%) pass; rq-scratch, the best of the rest (22.2 dB,
    17%), and kl-collapsed (19.4 dB, 6%) do not."""
    def detail(psnr):
        f = Fidelity(reconstruction_psnr_db=psnr, nearest_recording_psnr_db=23.02, margin_db=psnr - 23.02)
        return by_problem(verdicts(DiagnoseMeasures(latent=LatentStats(), fidelity=f)))["detail"]

    assert detail(28.36).ok and detail(30.18).ok
    assert not detail(22.20).ok and not detail(19.35).ok


@pytest.fixture(scope="module")
def tiny_vq(tmp_path_factory):
    cfg = load_config("tiny", ["ae.family=vq", "ae.codebook_size=32"])
    return train_autoencoder(cfg, tmp_path_factory.mktemp("ae") / "vq").parent


def test_diagnose_a_trained_model_writes_its_report_without_overwriting(tiny_vq, tmp_path):
    r = diagnose(tiny_vq, out=tmp_path, diffusability_steps=5, probe_steps=20, pairs=4)
    saved = json.loads((tmp_path / "diagnose.json").read_text())
    assert saved["samples"] == r.samples > 0 and saved["family"] == "vq" and saved["learned_codebook"] is True
    assert 0 <= saved["knn_agreement"] <= 1 and 0 <= saved["linear_probe"] <= 1
    assert saved["roughness"]["same_class"] >= 1.0 - 1e-4  # a path is never shorter than the straight line
    assert {v["problem"] for v in saved["verdicts"]} >= {"detail", "codebook collapse", "smoothness", "diffusability"}
    hist = np.asarray(saved["class_code_hist"])
    assert hist.shape == (load_config("tiny").simulate.people, 32)
    assert hist.sum() == r.samples * np.prod(r.latent_shape[1:])  # every position of every sample counted
    assert (tmp_path / "diagnose.png").stat().st_size > 1000
    # the detail figure's PSNR is eval-ae's on the test split, to the digit
    recon = evaluate_reconstruction(tiny_vq, out=tmp_path / "eval")
    assert saved["fidelity"]["reconstruction_psnr_db"] == pytest.approx(recon.psnr_db, abs=1e-4)
    assert saved["fidelity"]["margin_db"] == pytest.approx(
        recon.psnr_db - saved["fidelity"]["nearest_recording_psnr_db"], abs=1e-4)
    assert DiagnoseReport.read(tmp_path / "diagnose.json") == r  # what is written reads back the same
    # a report written before 2026-12-08 (thresholds with the share of the book, no learned_codebook) still reads
    old = json.loads((tmp_path / "diagnose.json").read_text())
    old["thresholds"]["codebook_usage_pct"] = 25.0
    del old["thresholds"]["code_perplexity"], old["learned_codebook"]
    assert DiagnoseReport.model_validate(old).thresholds.codebook_usage_pct == 25.0
    assert set(saved["latent"]) == {"codebook_usage_pct", "perplexity", "dead_codes", "code_entropy_bits"}
    assert list(saved["thresholds"]) == [f for f in type(THRESHOLDS).model_fields if f != "codebook_usage_pct"]
    assert saved["files"]["json"].endswith(".json")
    diagnose(tiny_vq, out=tmp_path, diffusability_steps=2, probe_steps=5, pairs=2)
    assert (tmp_path / "diagnose-2.json").exists()


def test_diagnose_cli_errors_are_one_line(cli, tmp_path):
    code, _, err = cli("diagnose", tmp_path / "missing")
    assert_one_line_error(code, err, "does not exist")
    code, _, err = cli("diagnose", tmp_path)
    assert_one_line_error(code, err, "not a finished stage-1 model")


def test_diagnose_encodes_every_row_in_order_and_leaves_the_training_latents_for_stage_2(tiny_vq):
    from mdaug.evaluation.diagnose import _encode_all
    from mdaug.runs.latent_cache import cached_latents, encode_rows
    from mdaug.runs.loading import load_pretrained_autoencoder, stage1_data

    pre = load_pretrained_autoencoder(tiny_vq)
    data = stage1_data(pre)
    ds = data.dataset
    latents, logvar, _ = _encode_all(pre, data)
    direct = encode_rows(pre, ds.x, ds.labels, np.arange(len(ds)))
    assert latents.shape == direct.latents.shape and logvar is None
    torch.testing.assert_close(latents, direct.latents, atol=1e-5, rtol=1e-5)  # row i is sample i
    cache = list((tiny_vq / "latents").glob("train-*.safetensors"))
    assert len(cache) == 1  # written for stage 2, which reads it instead of encoding again
    mtime = cache[0].stat().st_mtime_ns
    train = cached_latents(pre, data, "train")
    assert cache[0].stat().st_mtime_ns == mtime
    torch.testing.assert_close(train.latents, direct.latents[data.indices("train")], atol=1e-5, rtol=1e-5)
