"""Tiny-config tests of every stage-1 family: shapes, determinism, save/load round trip, a training step,
and the loading checks."""

import pytest
import torch
import torch.nn.functional as F

from mdaug.config import load_config
from mdaug.errors import MdaugError
from mdaug.models import (
    AUTOENCODERS,
    FSQAutoencoder,
    KLAutoencoder,
    RQAutoencoder,
    VQAutoencoder,
    load_autoencoder,
    make_autoencoder,
)

FAMILIES = ["kl", "vq", "rq", "fsq"]


def tiny(family: str, **extra):
    over = [f"ae.family={family}", "ae.block_out_channels=[8,16]", "ae.norm_num_groups=8"]
    if family in ("vq", "rq"):
        over.append("ae.codebook_size=16")
    over += [f"ae.{k}={v}" for k, v in extra.items()]
    torch.manual_seed(0)
    return make_autoencoder(load_config(None, over).ae)


@pytest.fixture
def x():
    """Four smooth stripe patterns (learnable in a few steps), 16x24: non-square on purpose."""
    d = torch.linspace(0, 1, 16)[:, None]
    t = torch.linspace(0, 1, 24)[None, :]
    return torch.stack([torch.sin(6.28 * (k + 1) * (d + 0.3 * t))[None] * 0.8 for k in range(4)])


@pytest.mark.parametrize("family", FAMILIES)
def test_shapes_and_indices(family, x):
    m = tiny(family)
    m(x)  # training forward: k-means init and one EMA update of the codebook
    m.eval()  # no further codebook updates, so the codes can be compared with what the decoder saw
    out = m(x)
    assert out.sample.shape == x.shape
    assert out.latents.shape == (4, 4, 8, 12)
    if family == "kl":
        assert out.indices is None and set(out.reg_losses) == {"kl"}
    else:
        expected = (4, 8, 12, 4) if family == "rq" else (4, 8, 12)
        assert out.indices.shape == expected
        assert out.indices.min() >= 0 and out.indices.max() < m.codebook_size
        # the codes alone give back the quantized latents the decoder saw
        torch.testing.assert_close(m.latents_from_indices(out.indices), out.latents, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_eval_is_deterministic_and_round_trips(family, x, tmp_path):
    m = tiny(family)
    m(x)  # k-means initialisation happens on the first training forward
    m.eval()
    with torch.no_grad():
        a, b = m(x, sample_posterior=False).sample, m(x, sample_posterior=False).sample
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    m.save_pretrained(tmp_path / "m")
    loaded = load_autoencoder(tmp_path / "m")
    assert type(loaded) is type(m) and not loaded.training
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, sample_posterior=False).sample, a, rtol=0, atol=0)
    assert (tmp_path / "m" / "diffusion_pytorch_model.safetensors").exists()


def test_kl_mode_is_the_mean_and_sampling_is_not(x):
    m = tiny("kl").eval()
    enc = m.encode(x, mode=True)
    torch.testing.assert_close(enc.latents, enc.mean)
    torch.manual_seed(1)
    z = m.encode(x, mode=False).latents
    assert not torch.allclose(z, enc.mean)
    # the sample is mean + std * eps: its spread around the mean matches the posterior std
    std = torch.exp(0.5 * enc.logvar)
    eps = (z - enc.mean) / std
    assert abs(eps.std().item() - 1) < 0.2


@pytest.mark.parametrize("family", FAMILIES)
def test_a_few_steps_reduce_the_reconstruction_error(family, x):
    m = tiny(family)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        out = m(x)
        loss = F.l1_loss(out.sample, x) + sum(out.reg_losses.values()) * (1e-3 if family == "kl" else 1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(F.l1_loss(out.sample, x).item())
    assert losses[-1] < 0.8 * losses[0]


def test_commitment_pulls_the_encoder_not_the_codebook(x):
    """beta multiplies ||z_e - sg[z_q]||^2 (the legacy swap would put it on the codebook term); the EMA
    codebook gets no gradient at all."""
    beta = 0.37
    m = tiny("vq", commitment_weight=beta, cosine_codes=False, kmeans_init=False)
    z = m.quant_conv(m.encoder(x))
    q, _, commit = m.quantizer(z)
    torch.testing.assert_close(commit.sum(), beta * F.mse_loss(z, q.detach()), rtol=1e-4, atol=1e-7)
    commit.sum().backward()
    assert all(p.grad is None for n, p in m.quantizer.named_parameters() if "embed" in n)
    assert not any("embed" in n for n, _ in m.quantizer.named_parameters())  # EMA buffers, not parameters
    assert m.encoder.conv_in.weight.grad is not None and m.encoder.conv_in.weight.grad.abs().sum() > 0


def test_rq_residual_levels_refine(x):
    m = tiny("rq", num_quantizers=3)
    m(x)
    m.eval()
    with torch.no_grad():
        z = m.quant_conv(m.encoder(x))
        idx = m.encode(x).indices
        errs = [(m.latents_from_indices(torch.where(torch.arange(3) < k, idx, -1)) - z).square().mean().item()
                for k in (1, 2, 3)]
    assert errs[0] > errs[1] > errs[2]


def test_from_pretrained_refuses_another_family(tmp_path):
    tiny("kl").save_pretrained(tmp_path / "kl")
    with pytest.raises(MdaugError, match="holds a KLAutoencoder, not a VQAutoencoder"):
        VQAutoencoder.from_pretrained(tmp_path / "kl")
    with pytest.raises(MdaugError, match="no config.json"):
        load_autoencoder(tmp_path / "missing")


def test_make_autoencoder_dispatch():
    assert set(AUTOENCODERS) == {"kl", "vq", "vqgan", "rq", "fsq", "pixels"}
    assert isinstance(tiny("kl"), KLAutoencoder) and isinstance(tiny("rq"), RQAutoencoder)
    assert isinstance(tiny("fsq"), FSQAutoencoder) and tiny("fsq").codebook_size == 8 * 5 * 5 * 5
    cfg = load_config(None, ["ae.family=vqgan"]).ae
    assert type(make_autoencoder(cfg)) is VQAutoencoder
    with pytest.raises(ValueError, match="unknown autoencoder family"):
        make_autoencoder(cfg.model_construct(**(cfg.model_dump() | {"family": "gan"})))


def test_the_pixel_control_is_the_identity_and_has_nothing_to_train():
    model = tiny("pixels")
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    out = model(x)
    assert torch.equal(out.sample, x) and torch.equal(model.encode(x).latents, x)
    assert model.latent_shape((32, 32)) == (1, 32, 32) and model.downsampling == 1
    assert not list(model.parameters()) and out.reg_losses == {}
