"""Stage 2 end to end on the tiny preset: latent cache and statistics, resume equivalence for latent
diffusion (kl: posterior sampling) and the code prior (rq: code stacks), the stage-1 identity check,
sampling determinism and the augmented-dataset export read back by the data layer."""

import csv
import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from mdaug.config import load_config
from mdaug.data import read_dataset, write_dataset
from mdaug.data.prepared import load_prepared
from mdaug.errors import MdaugError
from mdaug.models.latents import latent_stats
from mdaug.runs.builtin import cache_root
from mdaug.runs.latent_cache import cached_latents, encode_rows, latents_folder
from mdaug.runs.loading import autoencoder_identity, load_pretrained_autoencoder, load_stage2, stage1_data
from mdaug.runs.loss_log import loss_rows as read_loss_log
from mdaug.sampling.export import export_augmented, input_format
from mdaug.sampling.generate import generate
from mdaug.training.autoencoder import train_autoencoder
from mdaug.training.stage2 import train_stage2
from tests.conftest import assert_one_line_error, with_texture


def test_latent_stats_recover_known_mean_and_scale():
    g = torch.Generator().manual_seed(0)
    shift = torch.tensor([1.0, -2.0, 0.5])
    z = shift.view(1, 3, 1, 1) + 3.0 * torch.randn(400, 3, 8, 8, generator=g)
    s = latent_stats(z)
    assert torch.allclose(s.shift, shift, atol=0.05)
    assert s.scale == pytest.approx(1 / 3.0, rel=0.01)
    assert s.normalise(z).std().item() == pytest.approx(1.0, rel=0.01)
    assert torch.allclose(s.denormalise(s.normalise(z)), z, atol=1e-5)
    # with a posterior: var(z) = var(means) + mean posterior variance = 9 + 16
    s2 = latent_stats(z, torch.full_like(z, float(np.log(16.0))))
    assert s2.scale == pytest.approx(1 / 5.0, rel=0.01)
    with pytest.raises(MdaugError, match="collapsed"):
        latent_stats(torch.ones(10, 3, 4, 4))


@pytest.fixture(scope="module")
def stage1(tmp_path_factory):
    """Tiny kl and rq stage-1 runs, trained once for the module."""
    root = tmp_path_factory.mktemp("stage1")
    runs = {}
    for family, extra in [("kl", []), ("rq", ["ae.codebook_size=16", "ae.num_quantizers=2"])]:
        cfg = load_config("tiny", [f"ae.family={family}"] + extra)
        runs[family] = (cfg, train_autoencoder(cfg, root / family).parent)
    return runs


def test_latent_cache_is_written_once_and_matches_a_fresh_encoding(stage1):
    cfg, run = stage1["rq"]
    pre = load_pretrained_autoencoder(run)
    data = stage1_data(pre)
    a = cached_latents(pre, data)
    files = list((run / "latents").glob("train-*.safetensors"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    b = cached_latents(pre, data)
    assert files[0].stat().st_mtime_ns == stamp  # read, not re-encoded
    rows = data.indices("train")
    fresh = encode_rows(pre, data.dataset.x[rows], data.dataset.labels[rows], rows)
    assert torch.equal(a.latents, b.latents) and torch.equal(a.latents, fresh.latents)
    assert a.indices.shape == (len(rows), *pre.card.latent_shape[1:], 2) and torch.equal(a.indices, fresh.indices)
    assert (torch.equal(a.rows, torch.from_numpy(rows))
            and torch.equal(a.labels, torch.from_numpy(data.dataset.labels[rows])))
    # a cache made with other weights is not used
    t = load_file(str(files[0]))
    t["latents"] = t["latents"] + 1
    save_file(t, str(files[0]), metadata={"key": json.dumps({"autoencoder": "other"})})
    assert torch.equal(cached_latents(pre, data).latents, fresh.latents)


def test_a_model_folder_outside_a_run_caches_its_latents_in_the_user_cache(stage1, tmp_path):
    """A shipped model's folder is in the installed package: its latents go to $MDAUG_CACHE/latents, not beside."""
    cfg, run = stage1["rq"]
    shipped = tmp_path / "pkg" / "rq-model"
    shutil.copytree(run / "final", shipped)
    pre = load_pretrained_autoencoder(shipped)
    data = stage1_data(load_pretrained_autoencoder(run))
    assert latents_folder(pre.folder) == cache_root() / "latents"
    a = cached_latents(pre, data)
    assert not (tmp_path / "pkg" / "latents").exists() and list((tmp_path / "pkg").iterdir()) == [shipped]
    # the cache folder is shared by the session's tests: this model's file is named by its weights and data
    files = list((cache_root() / "latents").glob(f"train-{autoencoder_identity(pre.folder)[:12]}-*.safetensors"))
    assert len(files) == 1 and files[0].name.endswith(f"-{data.dataset.fingerprint()[:12]}.safetensors")
    assert torch.equal(cached_latents(pre, data).latents, a.latents)


@pytest.mark.parametrize("kind,family", [("ldm", "kl"), ("prior", "rq")])
def test_resumed_stage2_run_reproduces_the_uninterrupted_one(kind, family, stage1, tmp_path):
    cfg, ae = stage1[family]
    cfg = load_config("tiny", [f"ae.family={family}", f"{kind}_train.steps=5", f"{kind}_train.grad_accum=2"])
    train_stage2(cfg, tmp_path / "straight", kind, autoencoder=ae)
    assert train_stage2(cfg, tmp_path / "split", kind, autoencoder=ae, stop_after=3) is None
    train_stage2(cfg, tmp_path / "split", kind, resume="latest")
    a = read_loss_log(tmp_path / "straight" / "losses.jsonl")
    b = read_loss_log(tmp_path / "split" / "losses.jsonl")
    assert [r["step"] for r in b] == list(range(1, 6))
    if torch.cuda.is_available():
        pytest.skip("CUDA kernels are not bit-deterministic; exact resume is checked on CPU")
    assert a == b
    wa = load_file(str(tmp_path / "straight" / "final" / "diffusion_pytorch_model.safetensors"))
    wb = load_file(str(tmp_path / "split" / "final" / "diffusion_pytorch_model.safetensors"))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    meta = json.loads((tmp_path / "straight" / "final" / "mdaug.json").read_text())
    pre = load_pretrained_autoencoder(ae)
    lat = cached_latents(pre, stage1_data(pre))
    stats = latent_stats(lat.latents, lat.logvar)  # over the whole training split
    assert meta["latent_stats"]["scale"] == pytest.approx(stats.scale)
    assert meta["kind"] == kind and meta["train_samples"] == len(lat)
    assert ((tmp_path / "straight" / "images").is_dir()
            and list((tmp_path / "straight" / "images").glob("samples-*.png")))


@pytest.fixture(scope="module")
def trained(stage1, tmp_path_factory):
    root = tmp_path_factory.mktemp("stage2")
    out = {}
    for kind, family in [("ldm", "kl"), ("prior", "rq")]:
        cfg, ae = stage1[family]
        out[kind] = train_stage2(cfg, root / kind, kind, autoencoder=ae).parent
    return out


@pytest.mark.parametrize("kind", ["ldm", "prior"])
def test_generation_is_deterministic_per_seed_and_class_conditional_shapes(kind, trained):
    s2 = load_stage2(trained[kind])
    settings = s2.default_settings()
    labels = [0, 0, 1, 3]
    a = generate(s2, labels, settings, seed=3, batch_size=2)
    b = generate(s2, labels, settings, seed=3, batch_size=2)
    c = generate(s2, labels, settings, seed=4, batch_size=2)
    assert a.shape == (4, *s2.autoencoder.input_shape) and a.dtype == np.float32
    assert a.min() >= -1 and a.max() <= 1
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_stage2_refuses_another_stage1_model(trained, stage1, tmp_path):
    _, ae = stage1["kl"]
    other = tmp_path / "other"
    shutil.copytree(ae / "final", other / "final")
    w = other / "final" / "diffusion_pytorch_model.safetensors"
    t = load_file(str(w))
    k = next(iter(t))
    t[k] = t[k] + 0.01
    save_file(t, str(w))
    with pytest.raises(MdaugError, match="not the stage-1 model"):
        load_stage2(trained["ldm"], autoencoder=other)
    with pytest.raises(MdaugError, match="has none"):
        train_stage2(load_config("tiny"), tmp_path / "p", "prior", autoencoder=ae)


def test_export_writes_the_input_format_with_a_manifest_and_reads_back(trained, tmp_path):
    s2 = load_stage2(trained["ldm"])
    # the model was trained on the simulated (prepared) set: the export is a prepared dataset
    r = export_augmented(s2, tmp_path / "aug", per_class=3, seed=1)
    back = load_prepared(tmp_path / "aug")
    assert r.format == "prepared" and len(back) == 3 * len(s2.class_names)
    assert back.counts() == {c: 3 for c in s2.class_names}
    rows = list(csv.DictReader((tmp_path / "aug" / "synthetic_manifest.csv").open()))
    assert len(rows) == len(back) and all(row["synthetic"] == "True" for row in rows)
    assert [row["class"] for row in rows] == [back.class_names[i] for i in back.labels]
    assert {row["guidance"] for row in rows} == {str(s2.default_settings().guidance_scale)}
    assert r.floor_noise_db == 0.0  # an augmented dataset is for mixing with recordings: no texture by default
    assert np.allclose(back.x, generate(s2, back.labels, replace(s2.default_settings(), texture=False), seed=1),
                       atol=1e-6)
    with pytest.raises(MdaugError, match="not empty"):
        export_augmented(s2, tmp_path / "aug", per_class=1)
    # a user's jet-coloured image folder: the export is jet-coloured images in one folder per class
    cfg = load_config("tiny")
    real = tmp_path / "real"
    write_dataset(back.subset([0, 3, 6, 9]), real, "images", colormap="jet")
    info = read_dataset(real, cfg.data.model_copy(update={"path": str(real)})).dataset.info
    fmt = input_format(str(real), info)
    assert (fmt.fmt, fmt.colormap, fmt.suffix) == ("images", "jet", ".png")
    s2.card.data_source, s2.card.data_info = str(real), info
    r = export_augmented(s2, tmp_path / "aug-img", per_class=2, classes=[s2.class_names[1], "0"], seed=2)
    assert r.format == "images" and r.colormap == "jet"
    assert (sorted(p.parent.name for p in (tmp_path / "aug-img").rglob("*.png") if p.name != "synthetic_preview.png")
            == sorted([s2.class_names[1]] * 2 + [s2.class_names[0]] * 2))
    assert (tmp_path / "aug-img" / "synthetic_preview.png").stat().st_size > 1000  # a preview beside the samples
    read = read_dataset(tmp_path / "aug-img", cfg.data.model_copy(update={"path": str(tmp_path / "aug-img")})).dataset
    assert read.info.colormap == "jet" and len(read) == 4
    # npz when asked
    r = export_augmented(s2, tmp_path / "aug-npz", per_class=1, fmt="npz")
    with np.load(tmp_path / "aug-npz" / "dataset.npz") as z:
        assert z["x"].shape == (len(s2.class_names), *s2.autoencoder.input_shape[1:])


def test_cli_sampling_errors_are_one_line(trained, cli, tmp_path):
    run = trained["ldm"]
    code, _, e = cli("sample", run, "--classes", "nobody", "--out", tmp_path / "a")
    assert_one_line_error(code, e, "no class 'nobody'")
    code, _, e = cli("sample", run, "--guidance", "50", "--out", tmp_path / "b")
    assert_one_line_error(code, e, "guidance")
    code, _, e = cli("sample", run, "--steps", "0", "--out", tmp_path / "c")
    assert_one_line_error(code, e, "steps")
    code, _, e = cli("sample", run, "--sampler", "euler", "--out", tmp_path / "d")
    assert_one_line_error(code, e, "sampler")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("keep")
    code, _, e = cli("augment", run, "--per-class", "1", "--out", tmp_path / "full")
    assert_one_line_error(code, e, "not empty")
    assert (tmp_path / "full" / "x.txt").read_text() == "keep"
    code, _, e = cli("sample", tmp_path / "nothing")
    assert_one_line_error(code, e, "not a finished stage-2 model")
    code, o, e = cli("sample", run, "--per-class", "2", "--classes", "0,2", "--out", tmp_path / "ok")
    assert code == 0, e
    with np.load(tmp_path / "ok" / "samples.npz") as z:
        assert z["x"].shape[0] == 4 and list(z["labels"]) == [0, 0, 2, 2]
    assert (tmp_path / "ok" / "grid.png").stat().st_size > 1000


def test_samples_get_back_the_stage1_floor_texture_and_can_go_without(trained, tmp_path):
    s2 = load_stage2(trained["ldm"])
    card = s2.autoencoder.card
    assert card.texture is not None  # fitted when stage 1 was trained
    # the same stage-1 weights with a known texture in its card: samples get exactly that noise, clipped
    s2t = load_stage2(trained["ldm"], autoencoder=with_texture(s2.autoencoder.folder, tmp_path / "ae", 2.0))
    # a card from before the fit (no texture key) loads, and its samples stay as decoded
    old = tmp_path / "old"
    shutil.copytree(s2.autoencoder.folder, old / "final")
    raw = json.loads((old / "final" / "mdaug.json").read_text())
    del raw["texture"]
    (old / "final" / "mdaug.json").write_text(json.dumps(raw))
    s2o = load_stage2(trained["ldm"], autoencoder=old)
    assert s2o.autoencoder.card.texture is None and s2o.autoencoder.floor_noise == 0.0
    assert np.array_equal(generate(s2o, [0, 1], s2o.default_settings(), seed=5),
                          generate(s2o, [0, 1], replace(s2o.default_settings(), texture=False), seed=5))
    dr = float(card.normalisation.dynamic_range_db)
    assert s2t.autoencoder.floor_noise == pytest.approx(2 * 2.0 / dr)
    settings = s2t.default_settings()
    plain_settings = replace(settings, texture=False)
    labels = [0, 1, 2, 3] * 4
    textured = generate(s2t, labels, settings, seed=5)
    plain = generate(s2t, labels, plain_settings, seed=5)
    inside = (plain > -0.9) & (plain < 0.9) & (textured > -1) & (textured < 1)
    assert float((textured - plain)[inside].std()) == pytest.approx(2 * 2.0 / dr, rel=0.1)
    assert textured.min() >= -1 and textured.max() <= 1
    assert np.array_equal(plain, generate(s2t, labels, plain_settings, seed=5))
    assert s2t.kind.settings_dict(plain_settings)["texture"] is False
    assert "texture" not in s2t.kind.settings_dict(settings)
    assert s2t.kind.settings_from_dict(s2t.kind.settings_dict(plain_settings)) == plain_settings
    r = export_augmented(s2t, tmp_path / "aug", per_class=1, seed=1, settings=settings)
    assert r.floor_noise_db == 2.0
    # the decoder's output before the texture, for checks the noise would hide (near-copies)
    kept: list[np.ndarray] = []
    again = generate(s2t, labels, settings, seed=5, plain=kept)
    assert np.array_equal(again, textured) and np.array_equal(kept[0], plain)


def test_cli_augment_and_sample_draw_without_texture_unless_asked(trained, cli, tmp_path):
    """A preview (`sample`) looks like the export (`augment`): both plain by default, both textured on --texture."""
    run = trained["ldm"]
    ae = with_texture(load_stage2(run).autoencoder.folder, tmp_path / "ae", 1.5)
    sigma = 1.5
    for args, want in (((), 0.0), (("--texture",), sigma)):
        out = tmp_path / f"aug{len(args)}"
        code, _, e = cli("augment", run, "--per-class", "1", "--plain", "--ae", ae, "--out", out, *args)
        assert code == 0, e
        assert json.loads((out / "augment.json").read_text())["floor_noise_db"] == want
    one = ("--per-class", "1", "--classes", "0", "--seed", "2", "--ae", ae)
    for name, args in (("default", ()), ("on", ("--texture",)), ("off", ("--no-texture",))):
        code, _, e = cli("sample", run, *one, *args, "--out", tmp_path / name)
        assert code == 0, e
    with np.load(tmp_path / "default" / "samples.npz") as d, np.load(tmp_path / "on" / "samples.npz") as a, \
            np.load(tmp_path / "off" / "samples.npz") as b:
        assert not np.array_equal(a["x"], b["x"]) and np.array_equal(d["x"], b["x"])
        assert json.loads(str(b["settings"]))["texture"] is False
        assert json.loads(str(a["settings"])).get("texture", True) is True


def test_a_number_of_samples_too_large_for_memory_is_refused_before_drawing(trained, cli, tmp_path):
    run = trained["ldm"]
    code, _, e = cli("sample", run, "--per-class", "100000000", "--out", tmp_path / "s")
    assert_one_line_error(code, e, "GiB to generate", "a smaller --per-class")
    code, _, e = cli("augment", run, "--per-class", "100000000", "--plain", "--out", tmp_path / "a")
    assert_one_line_error(code, e, "GiB to generate")
    assert not (tmp_path / "s").exists() and not (tmp_path / "a").exists()
