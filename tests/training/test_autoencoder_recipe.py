"""The stage-1 recipe on tiny configs: exact resume, complete checkpoints, final/ loading, the GAN schedule,
latent health and the errors a user can run into."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from mdaug.config import load_config
from mdaug.data.texture import FIT_SAMPLES, SIGMA_GRID_DB, fit_floor_texture
from mdaug.errors import MdaugError
from mdaug.runs.loading import load_pretrained_autoencoder
from mdaug.runs.loss_log import loss_rows as read_loss_log
from mdaug.runs.run_data import load_run_data
from mdaug.training.autoencoder import plateaued, train_autoencoder

BASE = ["ae.block_out_channels=[8,16]", "ae.norm_num_groups=8", "ae_train.batch_size=4", "ae_train.log_every=1",
        "ae_train.image_every=1000", "ae_train.checkpoint_every=3", "augment.time_shift=0.25"]
FAMILY = {"kl": ["ae.family=kl", "ae_loss.kl_anneal_steps=4"],
          "vq": ["ae.family=vq", "ae.codebook_size=16"],
          "vqgan": ["ae.family=vqgan", "ae.codebook_size=16", "gan.channels=8", "gan.layers=2", "gan.disc_start=1",
                    "gan.gen_start=3", "gan.r1_weight=0.1", "gan.lecam_weight=0.01"],
          "rq": ["ae.family=rq", "ae.codebook_size=16", "ae.num_quantizers=2"],
          "fsq": ["ae.family=fsq", "ae.fsq_levels=[4,4,3]"]}


def cfg_for(family, *extra):
    return load_config("tiny", BASE + FAMILY[family] + list(extra))


@pytest.fixture(scope="module")
def data():
    return load_run_data(load_config("tiny"))


@pytest.mark.parametrize("family", ["kl", "vqgan", "rq"])
def test_resumed_run_reproduces_the_uninterrupted_one(family, data, tmp_path):
    cfg = cfg_for(family, "ae_train.steps=7", "ae_train.grad_accum=2")
    train_autoencoder(cfg, tmp_path / "straight", data=data)
    assert train_autoencoder(cfg, tmp_path / "split", data=data, stop_after=4) is None
    train_autoencoder(cfg, tmp_path / "split", data=data, resume="latest")
    a = read_loss_log(tmp_path / "straight" / "losses.jsonl")
    b = read_loss_log(tmp_path / "split" / "losses.jsonl")
    assert [r["step"] for r in b] == list(range(1, 8))  # no step twice, none missing
    if torch.cuda.is_available():
        pytest.skip("bit-exact resume is checked on CPU; CUDA's scatter-add kernels are not deterministic")
    assert a == b  # every logged loss at every step, bit for bit
    wa = load_file(str(tmp_path / "straight" / "final" / "diffusion_pytorch_model.safetensors"))
    wb = load_file(str(tmp_path / "split" / "final" / "diffusion_pytorch_model.safetensors"))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    if family == "vqgan":
        assert any("g_adv" in r for r in a) and any("r1" in r for r in a)


def test_checkpoints_are_complete_and_pruned(data, tmp_path):
    run = tmp_path / "run"
    train_autoencoder(cfg_for("vqgan", "ae_train.steps=9", "ae_train.keep_checkpoints=2"), run, data=data)
    kept = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert kept == ["step-0000006", "step-0000009"]
    ck = run / "checkpoints" / "step-0000009"
    assert {p.name for p in ck.iterdir()} >= {"model.safetensors", "ema.safetensors", "disc.safetensors",
                                              "health.safetensors", "optim.pt", "rng-0.json", "state.json"}
    model = load_file(str(ck / "model.safetensors"))
    assert any("quantizer" in k and "embed" in k for k in model)  # codebook buffers travel with the model
    objects = torch.load(ck / "optim.pt", weights_only=True)
    assert {"optimizer", "scheduler", "disc_optimizer", "disc_scheduler"} <= set(objects)  # one vocabulary
    state = json.loads((ck / "state.json").read_text())
    assert state["step"] == 9 and state["loop"]["gen_started"] == 3


def test_final_loads_in_one_call_with_ema_weights(data, tmp_path):
    run = tmp_path / "run"
    train_autoencoder(cfg_for("vq", "ae_train.steps=4"), run, data=data)
    pre = load_pretrained_autoencoder(run)
    assert pre.class_names == data.dataset.class_names
    assert pre.input_shape == (1, 32, 32) and pre.card.latent_shape == [4, 16, 16]
    assert pre.card.weights == "ema" and pre.data_fingerprint == data.dataset.fingerprint()
    ema = load_file(str(run / "checkpoints" / "step-0000004" / "ema.safetensors"))
    params = dict(pre.model.named_parameters())
    assert all(torch.equal(params[k], v) for k, v in ema.items())
    # the floor texture was fitted on the saved (EMA) model's reconstructions of training spectrograms
    train = data.indices("train")
    t = pre.card.texture
    assert t is not None and t.samples == min(len(train), FIT_SAMPLES) and t.sigma_db in SIGMA_GRID_DB
    rows = np.sort(np.random.default_rng(0).permutation(train)[:FIT_SAMPLES])
    x = data.dataset.x[rows]
    with torch.no_grad():  # in the fit's batches of 64, so that the arithmetic is the same
        x_hat = np.concatenate([pre.model(torch.from_numpy(x[i:i + 64]), sample_posterior=False).sample.clamp(-1, 1)
                                .numpy() for i in range(0, len(x), 64)])
    assert t == fit_floor_texture(x, x_hat, float(pre.card.normalisation.dynamic_range_db))


def test_gan_generator_starts_after_the_discriminator(data, tmp_path):
    run = tmp_path / "run"
    train_autoencoder(cfg_for("vqgan", "ae_train.steps=6", "gan.disc_start=2", "gan.gen_start=4"), run, data=data)
    rows = read_loss_log(run / "losses.jsonl")
    assert [("d_loss" in r) for r in rows] == [False, False, True, True, True, True]
    assert [("g_adv" in r) for r in rows] == [False, False, False, False, True, True]


def test_plateau_detection():
    falling = list(np.linspace(1.0, 0.5, 20))
    assert not plateaued(falling, 5, 0.02)
    assert plateaued(falling[:10] + [0.5] * 10, 5, 0.02)
    assert not plateaued([1.0] * 9, 5, 0.02)  # too short to tell


def test_health_is_logged_per_epoch(data, tmp_path):
    run = tmp_path / "run"
    train_autoencoder(cfg_for("vq", "ae_train.steps=12"), run, data=data)
    final = json.loads((run / "checkpoints" / "step-0000012" / "state.json").read_text())["loop"]["health"]
    n_train = len(data.indices("train"))
    per_epoch = n_train // 4
    assert [h["step"] for h in final][:2] == [per_epoch, 2 * per_epoch]
    hist = np.load(run / "health" / "epoch-0000.npz")
    # every training sample of the epoch contributed all its latent positions
    assert hist["hist"].sum() == per_epoch * 4 * 16 * 16
    assert 0 < final[0]["codebook_usage_pct"] <= 100 and final[0]["perplexity"] <= 16


def test_refuses_a_non_empty_run_folder(data, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with pytest.raises(MdaugError, match="not empty"):
        train_autoencoder(cfg_for("vq", "ae_train.steps=2"), tmp_path / "run", data=data)
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"


def test_resume_with_another_model_config_is_refused(data, tmp_path):
    run = tmp_path / "run"
    train_autoencoder(cfg_for("vq", "ae_train.steps=6"), run, data=data, stop_after=3)
    with pytest.raises(MdaugError, match="ae.codebook_size"):
        train_autoencoder(cfg_for("vq", "ae_train.steps=6", "ae.codebook_size=32"), run, data=data, resume="latest")
    train_autoencoder(cfg_for("vq", "ae_train.steps=8"), run, data=data, resume="latest")  # longer is fine
    assert read_loss_log(run / "losses.jsonl")[-1]["step"] == 8
    # the other stages' settings are not stage 1's: a preset whose stage 2 changed since still resumes it
    train_autoencoder(cfg_for("vq", "ae_train.steps=10", "prior_train.batch_size=7", "ldm.sample_steps=3"), run,
                      data=data, resume="latest")
    assert read_loss_log(run / "losses.jsonl")[-1]["step"] == 10
    with pytest.raises(MdaugError, match="ae_loss"):
        train_autoencoder(cfg_for("vq", "ae_train.steps=12", "ae_loss.spectral_weight=0.7"), run, data=data,
                          resume="latest")


def test_a_run_started_before_a_key_existed_resumes_at_its_default_and_not_at_another_value(data, tmp_path):
    """Upgrading mdaug adds config keys: a run whose config.yaml lacks one resumes when the key keeps its default,
    and is refused, naming the key, when the resume sets it otherwise; a key today's mdaug does not know is named."""
    import yaml

    run = tmp_path / "run"
    train_autoencoder(cfg_for("vq", "ae_train.steps=6"), run, data=data, stop_after=3)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["ae"].pop("commitment_weight") == 0.25  # the default, as a run made before the key would have had
    (run / "config.yaml").write_text(yaml.safe_dump(saved))
    with pytest.raises(MdaugError, match=r"ae\.commitment_weight \(run: 0\.25, now: 0\.5\)"):
        train_autoencoder(cfg_for("vq", "ae_train.steps=6", "ae.commitment_weight=0.5"), run, data=data,
                          resume="latest")
    train_autoencoder(cfg_for("vq", "ae_train.steps=6"), run, data=data, resume="latest")
    assert read_loss_log(run / "losses.jsonl")[-1]["step"] == 6
    saved["ae"]["no_such_key"] = 1
    (run / "config.yaml").write_text(yaml.safe_dump(saved))
    with pytest.raises(MdaugError, match=r"^cannot resume .*no_such_key"):
        train_autoencoder(cfg_for("vq", "ae_train.steps=8"), run, data=data, resume="latest")


def test_corrupt_checkpoint_is_named(data, tmp_path):
    run = tmp_path / "run"
    train_autoencoder(cfg_for("vq", "ae_train.steps=6"), run, data=data, stop_after=3)
    f = run / "checkpoints" / "step-0000003" / "model.safetensors"
    f.write_bytes(f.read_bytes()[:1000])  # truncated
    with pytest.raises(MdaugError, match="corrupt or truncated.*model.safetensors"):
        train_autoencoder(cfg_for("vq", "ae_train.steps=6"), run, data=data, resume="latest")


def test_nan_loss_stops_with_the_step_and_last_checkpoint(data, tmp_path, monkeypatch):
    import mdaug.training.autoencoder as recipe

    real = recipe.reconstruction_loss
    calls = {"n": 0}

    def poisoned(x_hat, x, kind="l1"):
        calls["n"] += 1
        loss, logs = real(x_hat, x, kind)
        return (loss * float("nan"), logs) if calls["n"] == 5 else (loss, logs)

    monkeypatch.setattr(recipe, "reconstruction_loss", poisoned)
    run = tmp_path / "run"
    with pytest.raises(MdaugError, match=r"NaN/inf at step 5; the last good checkpoint is .*step-0000003"):
        train_autoencoder(cfg_for("vq", "ae_train.steps=6"), run, data=data)
    calls["n"] = 0
    train_autoencoder(cfg_for("vq", "ae_train.steps=6", "ae_train.on_nan=skip"), tmp_path / "skip", data=data)
    rows = read_loss_log(tmp_path / "skip" / "losses.jsonl")
    assert [r["step"] for r in rows if r.get("skipped")] == [5]
    assert all(np.isfinite(r["loss"]) for r in rows if "loss" in r)


def test_perceptual_loss_takes_a_loss_recogniser_and_refuses_the_eval_one(data, tmp_path):
    from mdaug.training.recognizer import train_recognizer

    cfg = load_config("tiny")
    loss_net = train_recognizer(cfg, tmp_path / "rec-loss", role="loss", data=data)
    eval_net = train_recognizer(cfg, tmp_path / "rec-eval", role="eval", data=data)
    run = tmp_path / "run"
    train_autoencoder(cfg_for("vq", "ae_train.steps=2", f"ae_loss.perceptual_net={loss_net}",
                              "ae_loss.perceptual_weight=0.5"), run, data=data)
    rows = read_loss_log(run / "losses.jsonl")
    assert all(r["perceptual"] > 0 for r in rows)
    with pytest.raises(MdaugError, match="evaluation recogniser"):
        train_autoencoder(cfg_for("vq", "ae_train.steps=2", f"ae_loss.perceptual_net={eval_net}",
                                  "ae_loss.perceptual_weight=0.5"), tmp_path / "run2", data=data)
    with pytest.raises(MdaugError, match="needs ae_loss.perceptual_net"):
        train_autoencoder(cfg_for("vq", "ae_train.steps=2", "ae_loss.perceptual_weight=0.5"), tmp_path / "run3",
                          data=data)


def test_the_generator_meets_the_adversarial_loss_by_latest_start_and_the_discriminator_sees_augmented_inputs(
        data, tmp_path):
    # 8 steps cannot fill two plateau windows of 50: only gan.latest_start brings the adversarial loss in, at step 4
    cfg = cfg_for("vqgan", "ae_train.steps=8", "gan.gen_start=auto", "gan.disc_start=0", "gan.warmup_steps=2",
                  "gan.plateau_window=50", "gan.latest_start=0.5", "gan.augment=true")
    final = train_autoencoder(cfg, tmp_path / "run", data=data)
    assert load_pretrained_autoencoder(final).card.gan_generator_start == 4
    rows = read_loss_log(tmp_path / "run" / "losses.jsonl")
    assert [("g_adv" in r) for r in rows] == [False] * 4 + [True] * 4


def test_the_pixel_control_has_nothing_to_train_and_writes_final_at_once(data, tmp_path):
    final = train_autoencoder(load_config("tiny", ["ae.family=pixels"]), tmp_path / "px", data=data)
    pre = load_pretrained_autoencoder(final)
    assert pre.family == "pixels" and pre.card.steps == 0 and pre.latent_shape == (1, 32, 32)
    assert pre.card.texture.sigma_db == 0.0 and pre.floor_noise == 0.0  # the identity smooths nothing
    assert not (tmp_path / "px" / "checkpoints").exists()


def test_the_discriminator_sees_no_cutout_unless_asked(data, tmp_path, monkeypatch):
    """A cutout blinded the discriminator on corpus reconstructions (benchmarks/gan_discriminator.py), so it is off by
    default; gan.augment_cutout sets it, and every augmented input the discriminator sees is drawn with it."""
    import mdaug.training.autoencoder as trainer
    from mdaug.config.models import GanConfig

    assert GanConfig().augment_cutout == 0.0
    seen = []
    real = trainer.diff_augment
    monkeypatch.setattr(trainer, "diff_augment", lambda x, g, **kw: seen.append(kw["mask"]) or real(x, g, **kw))
    common = ["ae_train.steps=3", "gan.gen_start=1", "gan.disc_start=0", "gan.augment=true"]
    train_autoencoder(cfg_for("vqgan", *common), tmp_path / "a", data=data)
    assert seen and set(seen) == {0.0}
    seen.clear()
    train_autoencoder(cfg_for("vqgan", *common, "gan.augment_cutout=0.3"), tmp_path / "b", data=data)
    assert seen and set(seen) == {0.3}


def test_the_discriminator_learns_at_the_generators_rate_unless_gan_lr_is_set(data, tmp_path):
    """Fine-tuning from trained weights runs the generator at ae_train.finetune_lr; a discriminator left at
    ae_train.lr would learn 5x as fast as the generator it judges."""
    from mdaug.training.autoencoder import AutoencoderRecipe

    start = train_autoencoder(cfg_for("vq", "ae_train.steps=2"), tmp_path / "start", data=data)
    common = ["ae_train.steps=2", "ae_train.lr=1e-3", "ae_train.finetune_lr=2e-4", "ae_train.warmup_steps=0"]
    for extra, want in (([], 1e-3), ([f"ae.init={start}"], 2e-4), ([f"ae.init={start}", "gan.lr=5e-5"], 5e-5)):
        trainer = AutoencoderRecipe(cfg_for("vqgan", *common, *extra), tmp_path / f"run-{len(extra)}", data=data)
        assert trainer.opt_d.param_groups[0]["lr"] == pytest.approx(want)
